/**
 * The inbox's model without the CLI: the key pair as a repository record (made once, read back,
 * kept by Coffer's record retention), the staged meta / decision codecs, placement, the keyed
 * dedup digest, and staged items backed up through StagedSource (placement, byte-identical
 * content, a swapped data part refused).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes as nodeRandom } from 'node:crypto';
import { createHash } from 'node:crypto';
import { backup } from '../../src/core/engine/backup/backup.js';
import { listRecords, isRecordSnapshot } from '../../src/core/engine/records/records.js';
import { planRecordRetention } from '../../src/core/engine/records/retention.js';
import { restore } from '../../src/core/engine/restore/restorer.js';
import { CofferError, isCofferError } from '../../src/core/errors.js';
import { INBOX_KEY_KIND, decodePublicKeyText, encodePublicKeyText, ensureInboxKeyPair, loadInboxKeyPair } from '../../src/core/inbox/keys.js';
import { InboxOpener, sealForInbox } from '../../src/core/inbox/seal.js';
import { StagedSource, type StagedEntry } from '../../src/core/inbox/source.js';
import { decodeDecisions, decodeMeta, dedupDigest, encodeDecisions, encodeMeta, placement, resolveIds, type StagedMeta } from '../../src/core/inbox/staged.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { LOCK_OWNER, MemSink, newMemRepo, reopen } from '../helpers/mem-repo.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function meta(name: string, data: Uint8Array, source: string, extra: Partial<StagedMeta> = {}): StagedMeta {
  return { v: 1, name, size: data.length, mtime: 1_700_000_000_000, sha256: sha(data), type: null, source, added: '2026-01-01T00:00:00.000Z', taken: null, ...extra };
}

test('inbox key: made once, stored as a record, read back the same; retention keeps the newest', async () => {
  const m = await newMemRepo();
  assert.equal(await loadInboxKeyPair(m.repo), undefined);
  const first = await ensureInboxKeyPair(m.repo, LOCK_OWNER);
  assert.equal(first.created, true);
  const again = await ensureInboxKeyPair(await reopen(m), LOCK_OWNER);
  assert.equal(again.created, false);
  assert.deepEqual(again.pair, first.pair);
  const entries = await loadSnapshots(m.repo);
  const recs = await listRecords(m.repo, INBOX_KEY_KIND, undefined, entries);
  assert.equal(recs.length, 1);
  assert.deepEqual(recs[0]!.snapshot.paths, ['/coffer/inbox-key']);
  assert.ok(recs[0]!.snapshot.tags!.includes('coffer-inbox-key') && recs[0]!.snapshot.tags!.includes('coffer-internal'));
  assert.ok(isRecordSnapshot(recs[0]!.snapshot, INBOX_KEY_KIND));
  // Coffer's record retention, even ten years on, keeps the only inbox key.
  const plan = planRecordRetention(entries, Date.now() + 10 * 365 * 86_400_000);
  const group = plan.find((g) => g.keep.some((k) => k.id === recs[0]!.id) || g.remove.some((k) => k.id === recs[0]!.id))!;
  assert.ok(group.keep.some((k) => k.id === recs[0]!.id));
  assert.deepEqual(decodePublicKeyText(encodePublicKeyText(first.pair.publicKey)), first.pair.publicKey);
  assert.throws(() => decodePublicKeyText('AAAA\n'), (e: unknown) => isCofferError(e, 'corrupt'));
});

test('staged codecs: meta and decisions round trip and are checked; placement; dedup digest is keyed', () => {
  const data = new Uint8Array(nodeRandom(100));
  const m = meta('a.jpg', data, 'watch:/home/u/phone', { path: '/home/u/phone/DCIM/a.jpg', taken: '2024-05-06T07:08:09' });
  assert.deepEqual(decodeMeta(encodeMeta(m), 'm'), m);
  assert.throws(() => decodeMeta(new TextEncoder().encode('{"v":1,"name":"../x"}'), 'm'), (e: unknown) => isCofferError(e, 'corrupt'));
  assert.deepEqual(placement(m), { root: '/home/u/phone', file: '/home/u/phone/DCIM/a.jpg' });
  assert.deepEqual(placement({ ...m, path: '/etc/passwd' }), { root: '/home/u/phone', file: '/home/u/phone/a.jpg' }, 'a path outside its folder is not trusted');
  assert.deepEqual(placement(meta('b.png', data, 'upload:Pixel/7')), { root: '/inbox/Pixel_7', file: '/inbox/Pixel_7/b.png' });
  assert.deepEqual(placement(meta('c', data, 'add:laptop')), { root: '/inbox/laptop', file: '/inbox/laptop/c' });
  const d = [{ sha256: sha(data), decision: 'reject' as const, time: 't' }, { sha256: sha(data), decision: 'approve' as const, time: 't', snapshot: 'ab' }];
  assert.deepEqual(decodeDecisions(encodeDecisions(d), 'd'), d);
  assert.throws(() => decodeDecisions('[{"sha256":"x","decision":"approve","time":"t"}]', 'd'), CofferError);
  const k1 = new Uint8Array(32).fill(1);
  const k2 = new Uint8Array(32).fill(2);
  assert.notEqual(dedupDigest(k1, sha(data)), dedupDigest(k2, sha(data)));
  assert.notEqual(dedupDigest(k1, sha(data)), sha(data));
  assert.equal(dedupDigest(k1, sha(data)), dedupDigest(k1, sha(data)));
  assert.throws(() => resolveIds(['a'.repeat(32)], ['a'.repeat(32), 'nope']), (e: unknown) => isCofferError(e, 'bad-input') && /nope/.test((e as Error).message));
  assert.deepEqual(resolveIds(['a'.repeat(32)], ['a'.repeat(32), 'a'.repeat(32)]), ['a'.repeat(32)]);
  const ids = ['abcdef01' + '0'.repeat(24), 'abcdef02' + '0'.repeat(24)];
  assert.deepEqual(resolveIds(ids, ['abcdef02', 'ABCDEF01']), [ids[1], ids[0]], 'unique prefixes');
  assert.throws(() => resolveIds(ids, ['abcdef0']), (e: unknown) => isCofferError(e, 'bad-input') && /ambiguous/.test((e as Error).message));
  assert.throws(() => resolveIds(ids, ['abcde']), (e: unknown) => isCofferError(e, 'bad-input') && /no pending inbox item abcde/.test((e as Error).message), 'too short');
});

test('StagedSource: staged items back up at their places, byte-identical; a swapped data part aborts', async () => {
  const m = await newMemRepo();
  const { pair } = await ensureInboxKeyPair(m.repo, LOCK_OWNER);
  const opener = new InboxOpener(pair);
  const big = new Uint8Array(nodeRandom(2 * 1024 * 1024 + 17));
  const small = new Uint8Array(nodeRandom(10));
  const empty = new Uint8Array(0);
  const entry = (id: string, mt: StagedMeta, data: Uint8Array): StagedEntry => {
    const sealed = sealForInbox(pair.publicKey, data);
    return { id, meta: mt, sealedLength: sealed.length, read: async (o, l) => sealed.slice(o, o + l) };
  };
  const src = new StagedSource([
    entry('1'.repeat(32), meta('big.bin', big, 'watch:/phone', { path: '/phone/DCIM/big.bin' }), big),
    entry('2'.repeat(32), meta('x.bin', small, 'upload:pixel'), small),
    entry('3'.repeat(32), meta('x.bin', empty, 'upload:pixel'), empty),
  ], opener, { uid: 1000, gid: 1000 });
  assert.deepEqual(src.roots, ['/inbox/pixel', '/phone']);
  const r = await backup(m.repo, src, { targets: src.roots, hostname: 'h', owner: LOCK_OWNER, tags: ['coffer-inbox'], force: true });
  assert.equal(r.counts.errors, 0);
  assert.deepEqual(r.snapshot.paths, ['/inbox/pixel', '/phone']);
  const repo = await reopen(m);
  const sink = new MemSink();
  await restore(repo, await loadMasterIndex(repo), r.snapshot.tree, sink);
  assert.deepEqual(Buffer.from(sink.entries.get('/phone/DCIM/big.bin')!.data!), Buffer.from(big));
  assert.deepEqual(Buffer.from(sink.entries.get('/inbox/pixel/x.bin')!.data!), Buffer.from(small));
  const other = [...sink.entries.keys()].find((k) => k.startsWith('/inbox/pixel/x (') && k.endsWith(').bin'));
  assert.ok(other, `the second x.bin is renamed, not lost: ${[...sink.entries.keys()].join(' ')}`);
  assert.equal(sink.entries.get(other)!.node.size ?? 0, 0);

  // The data part of one item replaced by another sealed file: refused (its meta's SHA-256).
  const swapped = new StagedSource([{ ...entry('4'.repeat(32), meta('s.bin', small, 'add:h'), new Uint8Array(nodeRandom(10))) }], opener, { uid: 0, gid: 0 });
  await assert.rejects(backup(m.repo, swapped, { targets: swapped.roots, hostname: 'h', owner: LOCK_OWNER, force: true }), (e: unknown) => isCofferError(e, 'corrupt'));
});
