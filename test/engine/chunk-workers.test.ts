/**
 * Worker-side packing (node/chunk-workers.ts, chunk-worker.ts, chunk-claims.ts): exact dedup
 * across workers and against the index, packs within the size, restic accepts and restores the
 * result, and the fallback to main-thread packing when the claim table is full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { backup } from '../../src/core/engine/backup/backup.js';
import { expectedPackSize } from '../../src/core/format/pack-header.js';
import { loadMasterIndex, type MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { CLAIM_NEW, ClaimTable } from '../../src/node/chunk-claims.js';
import { ChunkWorkerPool } from '../../src/node/chunk-workers.js';
import { NodeFileSource } from '../../src/node/fs-source.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { CHEAP_KDF, LOCK_OWNER, OWNER, PASSWORD } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, prng } from '../helpers/tree.js';

const MiB = 1024 * 1024;

/**
 * The same three contents many times over (a multi-chunk file, a small one, an empty one) in
 * different folders, so several workers meet the same chunks at the same moment, plus unique
 * files enough for several 4 MiB packs per worker.
 */
function makeSource(root: string): void {
  const big = prng('chunk-workers big', 2 * MiB + 12345);
  const small = prng('chunk-workers small', 20_000);
  for (let d = 0; d < 12; d++) {
    const dir = path.join(root, `copies-${d}`);
    fs.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < 3; i++) {
      fs.writeFileSync(path.join(dir, `big-${i}.bin`), big);
      fs.writeFileSync(path.join(dir, `small-${i}.txt`), small);
      fs.writeFileSync(path.join(dir, `empty-${i}`), '');
    }
  }
  const uniq = path.join(root, 'unique');
  fs.mkdirSync(uniq);
  for (let i = 0; i < 24; i++) fs.writeFileSync(path.join(uniq, `u-${i}.bin`), prng(`chunk-workers unique ${i}`, 700_000 + i * 1000));
}

async function openLocal(repoDir: string): Promise<Repository> {
  return openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password', packSize: 4 * MiB });
}

/** Every data blob of every pack: how often each ID is stored. */
function storedCounts(index: MasterIndex): Map<string, number> {
  const counts = new Map<string, number>();
  for (const p of index.packIds()) for (const b of index.packBlobs(p) ?? []) if (b.type === 'data') counts.set(b.id, (counts.get(b.id) ?? 0) + 1);
  return counts;
}

function assertPacksWithinSize(index: MasterIndex, packSize: number): void {
  for (const p of index.packIds()) {
    const blobs = index.packBlobs(p)!;
    const types = new Set(blobs.map((b) => b.type));
    assert.equal(types.size, 1, `pack ${p} mixes data and tree blobs`);
    const largest = Math.max(...blobs.map((b) => b.length));
    // Finished once it reaches the target: over it by at most its last blob (and the header).
    assert.ok(expectedPackSize(blobs) <= packSize + largest + 64 * 1024, `pack ${p} has ${expectedPackSize(blobs)} bytes`);
  }
}

test('chunk workers: the same content many times is stored once; restic checks and restores it', { timeout: 120_000 }, async () => {
  const tmp = tempDir('coffer-chunk-workers-');
  const src = path.join(tmp, 'src');
  const repoDir = path.join(tmp, 'repo');
  makeSource(src);
  const env = testEnv({ COFFER_WORKERS: '3' });
  assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
  const r = await runCoffer(['--pack-size', '4', '-r', repoDir, 'backup', src], { env });
  assert.equal(r.code, 0, r.stderr);

  let repo = await openLocal(repoDir);
  let index = await loadMasterIndex(repo);
  let counts = storedCounts(index);
  const dups = [...counts].filter(([, n]) => n > 1);
  assert.deepEqual(dups, [], 'no data blob stored twice');
  // 1 small + 1 empty + the big file's chunks + the unique files' chunks: far fewer than the files.
  assert.ok(counts.size >= 2 + 24 && counts.size < 2 + 24 + 24 + 8, `${counts.size} data blobs`);
  assert.ok(index.packIds().next().done === false);
  assertPacksWithinSize(index, 4 * MiB);
  const dataPacks = [...index.packIds()].filter((p) => index.packBlobs(p)![0]!.type === 'data');
  assert.ok(dataPacks.length >= 3, `${dataPacks.length} data packs (several per worker expected)`);

  // A second backup with one new file: against the index, only that file's blobs are new.
  fs.writeFileSync(path.join(src, 'copies-0', 'new.bin'), prng('chunk-workers new', 300_000));
  fs.writeFileSync(path.join(src, 'copies-1', 'same-as-big.bin'), fs.readFileSync(path.join(src, 'copies-0', 'big-0.bin')));
  const r2 = await runCoffer(['--pack-size', '4', '-r', repoDir, 'backup', '--force', src], { env });
  assert.equal(r2.code, 0, r2.stderr);
  repo = await openLocal(repoDir);
  index = await loadMasterIndex(repo);
  counts = storedCounts(index);
  assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no data blob stored twice after the second backup');

  for (const restic of resticBinaries()) {
    const c = await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env });
    assert.equal(c.code, 0, `${restic.name} check: ${c.stdout}\n${c.stderr}`);
  }
  const restic = resticBinaries().at(-1);
  if (restic) {
    const target = path.join(tmp, 'restored');
    const rr = await runRestic(restic, ['-r', repoDir, 'restore', 'latest', '--target', target], { env });
    assert.equal(rr.code, 0, rr.stderr);
    const restored = fs.existsSync(path.join(target, src)) ? path.join(target, src) : target;
    assert.deepEqual(diffTrees(describeTree(src), describeTree(restored)), []);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('chunk workers: a full claim table falls back to main-thread packing, still stored once', { timeout: 120_000 }, async () => {
  const tmp = tempDir('coffer-chunk-full-');
  const src = path.join(tmp, 'src');
  makeSource(src);
  const p = await nodePlatform();
  const repo = await initRepository(new LocalBackend(path.join(tmp, 'repo')), p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, packSize: 4 * MiB });
  // Room for 5 new blobs: the rest go to the main thread sealed, deduplicated there.
  const pool = new ChunkWorkerPool(repo, 2, 5);
  try {
    const res = await backup(repo, new NodeFileSource(), { targets: [src], hostname: OWNER.hostname, owner: LOCK_OWNER, processor: pool, fileConcurrency: pool.fileConcurrency });
    assert.ok(res.snapshotId);
  } finally {
    await pool.close();
  }
  const again = await openRepository(repo.backend, p, { password: PASSWORD });
  const index = await loadMasterIndex(again);
  const counts = storedCounts(index);
  assert.deepEqual([...counts].filter(([, n]) => n > 1), [], 'no data blob stored twice');
  assert.ok(counts.size > 5 + 20, `${counts.size} data blobs: most went the fallback way`);
  for (const restic of resticBinaries()) {
    const c = await runRestic(restic, ['-r', path.join(tmp, 'repo'), 'check', '--read-data'], { env: testEnv({ RESTIC_PASSWORD: PASSWORD }) });
    assert.equal(c.code, 0, `${restic.name} check: ${c.stdout}\n${c.stderr}`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('claim table: threads racing over the same IDs claim each exactly once', { timeout: 60_000 }, async () => {
  const ids = 20_000;
  const table = ClaimTable.create(0, ids + 100);
  const url = new URL('../../src/node/chunk-claims.js', import.meta.url).href;
  // Each thread claims the same IDs (SHA-256-like: random bytes from one seed) in its own order.
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ ClaimTable, CLAIM_NEW }) => {
      const t = new ClaimTable(workerData.buffers);
      const { createHash } = require('node:crypto');
      const order = [...Array(workerData.ids).keys()];
      for (let i = order.length - 1; i > 0; i--) { const j = (i * 7919 + workerData.seed * 104729) % (i + 1); [order[i], order[j]] = [order[j], order[i]]; }
      const won = new Uint8Array(workerData.ids);
      for (const k of order) if (t.claimDigest(createHash('sha256').update('id ' + k).digest()) === CLAIM_NEW) won[k] = 1;
      parentPort.postMessage(won);
    });`;
  const results = await Promise.all(
    [1, 2, 3, 4].map(
      (seed) =>
        new Promise<Uint8Array>((resolve, reject) => {
          const w = new Worker(code, { eval: true, workerData: { url, buffers: table.buffers, ids, seed } });
          w.once('message', (m: Uint8Array) => {
            resolve(m);
            void w.terminate();
          });
          w.once('error', reject);
        }),
    ),
  );
  for (let k = 0; k < ids; k++) {
    const winners = results.reduce((n, r) => n + r[k]!, 0);
    if (winners !== 1) assert.fail(`ID ${k} claimed ${winners} times`);
  }
  // Every ID is now known to a reader, and a fresh one is not.
  const { createHash } = await import('node:crypto');
  assert.equal(table.has(createHash('sha256').update('id 123').digest('hex')), true);
  assert.equal(table.has(createHash('sha256').update('id none').digest('hex')), false);
  assert.equal(table.claim(createHash('sha256').update('id 5').digest('hex')), false);
  assert.equal(table.claimDigest(createHash('sha256').update('id fresh').digest()), CLAIM_NEW);
  // Full: no entry left for a new ID.
  const small = ClaimTable.create(0, 2);
  assert.equal(small.claim('aa'.repeat(32)), true);
  assert.equal(small.claim('bb'.repeat(32)), true);
  assert.equal(small.claim('cc'.repeat(32)), undefined);
  assert.equal(small.claim('aa'.repeat(32)), false);
});
