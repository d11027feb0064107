/**
 * check --read-data verifies packs while the tree walk runs (engine/check/check.ts): the report
 * keeps its order (tree findings before pack findings, phases in order, read-data progress only in
 * its phase) and finds the same damage as before. Also the Node suite's reused AES-128 block
 * cipher (node/crypto-node.ts) against @noble's AES.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ecb } from '@noble/ciphers/aes.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { checkRepository, type CheckPhase } from '../../src/core/engine/check/check.js';
import { verifyPack } from '../../src/core/engine/check/pack-file.js';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo, randomBytes, reopen } from '../helpers/mem-repo.js';

test('check verifies packs during the tree walk; findings and phases keep their order', async () => {
  const m = await newMemRepo();
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 30; i++) files[`f${i}`] = file(randomBytes(100 + i, 40_000 + i));
  await backup(m.repo, new FakeSource(dir({ d: dir(files) })), { targets: ['/d'], hostname: 'h', owner: LOCK_OWNER });
  const repo = await reopen(m);
  const index = await loadMasterIndex(repo);
  const dataPacks = [...index.packIds()].filter((p) => index.packBlobs(p)!.every((b) => b.type === 'data')).sort();
  assert.ok(dataPacks.length >= 1);
  // Damage one data pack (a blob's ciphertext) and add a snapshot whose tree does not exist.
  const victim = dataPacks[0]!;
  const bytes = new Uint8Array(await m.backend.get({ type: 'data', name: victim }));
  bytes[40] ^= 0x55;
  m.backend.corrupt({ type: 'data', name: victim }, bytes);
  const T = fromUnixNanos(1_700_000_000_000_000_000n, 0);
  await repo.saveUnpacked('snapshots', encodeSnapshot({ time: T, tree: 'ab'.repeat(32), paths: ['/x'], hostname: 'h' }));

  const log: string[] = [];
  let phase: CheckPhase | undefined;
  const verifiedIn: (CheckPhase | undefined)[] = [];
  const res = await checkRepository(
    repo,
    {
      readData: true,
      readConcurrency: 2,
      // Slow enough that the first packs are verified while the trees are being walked.
      verifyPack: async (id, b, indexed) => {
        verifiedIn.push(phase);
        await new Promise((r) => setTimeout(r, 5));
        return verifyPack(repo, id, b, indexed);
      },
    },
    {
      onPhase: (p) => {
        phase = p;
        log.push(`phase ${p}`);
      },
      onError: (e) => log.push(`error ${e.includes(victim) ? 'pack' : 'tree'}`),
      onProgress: (p) => {
        if (p === 'read-data') assert.equal(phase, 'read-data', 'read-data progress before its phase');
      },
    },
  );
  assert.equal(verifiedIn[0], 'snapshots', `first pack verified during ${verifiedIn[0]}`);
  assert.deepEqual(
    log.filter((l) => l.startsWith('phase')),
    ['phase keys', 'phase index', 'phase packs', 'phase snapshots', 'phase read-data'],
  );
  const firstPack = log.indexOf('error pack');
  assert.ok(firstPack > log.indexOf('phase read-data'), log.join(', '));
  assert.ok(log.indexOf('error tree') > log.indexOf('phase snapshots') && log.indexOf('error tree') < log.indexOf('phase read-data'), log.join(', '));
  assert.deepEqual(res.brokenPacks, [victim]);
  assert.equal(res.packsRead, [...index.packIds()].length);
  // The same findings as verifying on this thread with no hook.
  const plain = await checkRepository(repo, { readData: true });
  assert.deepEqual([...res.errors].sort(), [...plain.errors].sort());
});

test('the reused AES-128 block cipher matches AES-128 and follows a changed key', () => {
  const key = randomBytes(1, 16);
  for (let i = 0; i < 5; i++) {
    const block = randomBytes(10 + i, 16);
    assert.deepEqual(nodeCrypto.aes128Block(key, block), ecb(key, { disablePadding: true }).encrypt(block));
  }
  key[0] ^= 1; // same array, new key
  const block = randomBytes(20, 16);
  assert.deepEqual(nodeCrypto.aes128Block(key, block), ecb(key, { disablePadding: true }).encrypt(block));
  assert.deepEqual(nodeCrypto.aes128Block(new Uint8Array(key), block), ecb(key, { disablePadding: true }).encrypt(block));
});
