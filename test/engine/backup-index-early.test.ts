/**
 * backup.ts reads the index while its lock settles and keeps that index only if the same index
 * files are listed once the lock is held (`indexAfterLock`). An index file written or removed in
 * between must not be missed, and a backup must still see what a concurrent writer indexed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backup, indexAfterLock } from '../../src/core/engine/backup/backup.js';
import { encodeIndex } from '../../src/core/format/index-file.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo } from '../helpers/mem-repo.js';

const hex = (c: string) => c.repeat(64);

test('indexAfterLock keeps an early index only when the same index files are listed', async () => {
  const m = await newMemRepo();
  const blob = (c: string) => ({ type: 'data' as const, id: hex(c), offset: 0, length: 40, uncompressedLength: 0 });
  await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('a'), blobs: [blob('1')] }] }));
  const early = await loadMasterIndex(m.repo);
  assert.equal(await indexAfterLock(m.repo, Promise.resolve(early)), early, 'nothing changed: the early index is used');

  // Written after the early read (a concurrent backup's index): the index is loaded again.
  const added = await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('b'), blobs: [blob('2')] }] }));
  const after = await indexAfterLock(m.repo, Promise.resolve(early));
  assert.notEqual(after, early);
  assert.ok(after.has('data', hex('2')) && after.indexFiles.has(added));

  // Removed after the early read (a prune rewrote it): loaded again, without it.
  const both = await loadMasterIndex(m.repo);
  await m.backend.delete({ type: 'index', name: added });
  const third = await indexAfterLock(m.repo, Promise.resolve(both));
  assert.notEqual(third, both);
  assert.ok(!third.has('data', hex('2')));

  // The early read failed: loaded now.
  const fresh = await indexAfterLock(m.repo, Promise.resolve(undefined));
  assert.ok(fresh.has('data', hex('1')));
});

test('a backup after another one reuses its blobs (the early index saw them)', async () => {
  const m = await newMemRepo();
  const src = new FakeSource(dir({ data: dir({ a: file('one'), b: file('two') }) }));
  const run = () => backup(m.repo, src, { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
  const first = await run();
  const second = await run();
  assert.equal(second.snapshot.tree, first.snapshot.tree);
  assert.equal(second.counts.filesUnmodified, 2);
  assert.equal(second.summary.dataBlobs, 0);
});
