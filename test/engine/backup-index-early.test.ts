/**
 * backup.ts reads the index while its lock settles and keeps that index only if the same index
 * files are listed once the lock is held (IndexReadAhead, tested with index files added and
 * removed in test/repository/index-read-ahead.test.ts); a backup must still see what an earlier
 * one indexed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backup } from '../../src/core/engine/backup/backup.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo } from '../helpers/mem-repo.js';

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
