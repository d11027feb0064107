/**
 * The index read while a lock settles (IndexReadAhead; backup, restore and check use it). An
 * index file written or removed after the early listing (a concurrent backup or prune acting
 * during the settle wait) must give what a fresh load gives once the lock is held; when nothing
 * changed, the early result is used as is. The concurrent writer is placed deterministically:
 * right after the early listing of the index files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backup } from '../../src/core/engine/backup/backup.js';
import { checkIndexAhead, checkRepository, type CheckResult } from '../../src/core/engine/check/check.js';
import { restore } from '../../src/core/engine/restore/restorer.js';
import { encodeIndex } from '../../src/core/format/index-file.js';
import type { FileType } from '../../src/core/backend/backend.js';
import type { Id } from '../../src/core/format/types.js';
import { RepositoryLock } from '../../src/core/repository/locks.js';
import { IndexReadAhead, loadMasterIndex, masterIndexAhead, type MasterIndex } from '../../src/core/repository/master-index.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { FakeSource, LOCK_OWNER, MemSink, describeFake, describeSink, dir, file, newMemRepo, type FakeDir, type MemRepo } from '../helpers/mem-repo.js';

const hex = (c: string) => c.repeat(64);
const blob = (c: string) => ({ type: 'data' as const, id: hex(c), offset: 0, length: 40, uncompressedLength: 0 });

/** The change made during the settle wait, if any (underLock waits for it before the lock counts as held). */
let changing: Promise<void> | undefined;

/** Runs `change` once, right after the first listing of the index files (the early one). */
function afterFirstIndexListing(repo: Repository, change: () => Promise<void>): { listings: () => number } {
  const list = repo.listIds.bind(repo);
  let n = 0;
  repo.listIds = async (type: FileType, o?) => {
    const ids = await list(type, o);
    if (type === 'index' && n++ === 0) {
      changing = change();
      await changing;
    }
    return ids;
  };
  return { listings: () => n };
}

/** Takes a lock whose settle wait starts `start`, as the commands do, and runs `held` once it is held. */
async function lockedRun<T>(repo: Repository, start: () => void, held: () => Promise<T>, exclusive = false): Promise<T> {
  changing = undefined;
  const lock = await RepositoryLock.acquire(repo, exclusive, LOCK_OWNER, { settleMs: 20, onWritten: start });
  try {
    // A concurrent change that takes longer than the settle wait is finished first: the test is
    // about changes made while the lock settles (one made later is missed by a fresh load too).
    await new Promise((r) => setTimeout(r, 0));
    await changing;
    return await held();
  } finally {
    await lock.release();
  }
}

const underLock = <T>(repo: Repository, ahead: IndexReadAhead<T>) => lockedRun(repo, ahead.start, () => ahead.get());

function sameIndex(a: MasterIndex, b: MasterIndex): void {
  assert.deepEqual([...a.indexFiles].sort(), [...b.indexFiles].sort());
  assert.deepEqual([...a.packIds()].sort(), [...b.packIds()].sort());
  for (const p of a.packIds()) {
    assert.deepEqual(a.packBlobs(p), b.packBlobs(p));
    for (const bl of a.packBlobs(p)!) assert.deepEqual(a.lookupAll(bl.type, bl.id), b.lookupAll(bl.type, bl.id));
  }
}

test('nothing changed during the settle wait: the early index is used, read once', async () => {
  const m = await newMemRepo();
  await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('a'), blobs: [blob('1')] }] }));
  let reads = 0;
  const ahead = new IndexReadAhead(m.repo, (ids) => {
    reads++;
    return loadMasterIndex(m.repo, { ids });
  });
  const index = await underLock(m.repo, ahead);
  assert.equal(reads, 1, 'read only early');
  assert.ok(index.has('data', hex('1')));
  sameIndex(index, await loadMasterIndex(m.repo));
});

test('an index file added or removed during the settle wait: the same index as a fresh load', async () => {
  for (const kind of ['added', 'removed'] as const) {
    const m = await newMemRepo();
    await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('a'), blobs: [blob('1')] }] }));
    const second = await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('b'), blobs: [blob('2')] }] }));
    if (kind === 'added') await m.backend.delete({ type: 'index', name: second });
    const hook = afterFirstIndexListing(m.repo, async () => {
      if (kind === 'added') await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('b'), blobs: [blob('2')] }] }));
      else await m.backend.delete({ type: 'index', name: second });
    });
    let reads = 0;
    const ahead = new IndexReadAhead(m.repo, (ids) => {
      reads++;
      return loadMasterIndex(m.repo, { ids });
    });
    const index = await underLock(m.repo, ahead);
    assert.equal(hook.listings(), 2, kind);
    assert.equal(reads, 2, `${kind}: read again once the lock is held`);
    assert.equal(index.has('data', hex('2')), kind === 'added', kind);
    sameIndex(index, await loadMasterIndex(m.repo));
  }
});

test('an early read that fails, or one never started (no lock), is read when asked for', async () => {
  const m = await newMemRepo();
  await m.repo.saveUnpacked('index', encodeIndex({ packs: [{ id: hex('a'), blobs: [blob('1')] }] }));
  let reads = 0;
  const flaky = new IndexReadAhead(m.repo, async (ids) => {
    if (reads++ === 0) throw new Error('connection reset');
    return loadMasterIndex(m.repo, { ids });
  });
  assert.ok((await underLock(m.repo, flaky)).has('data', hex('1')));
  assert.equal(reads, 2);
  const never = masterIndexAhead(m.repo);
  assert.ok((await never.get()).has('data', hex('1')));
});

function tree(n: number): FakeDir {
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < n; i++) files[`f${i}`] = file(`content of file ${i} in backup ${n}${'!'.repeat(n)}`); // sizes differ: no parent reuse
  return dir({ data: dir(files) });
}

async function twoBackups(m: MemRepo): Promise<{ first: Id; second: Id }> {
  const run = async (n: number) => (await backup(m.repo, new FakeSource(tree(n)), { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER })).snapshotId!;
  return { first: await run(3), second: await run(5) };
}

test('restore: a backup indexed during the settle wait is restorable (the index is read again)', async () => {
  const m = await newMemRepo();
  const src = new FakeSource(tree(4));
  await backup(m.repo, src, { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
  // A concurrent backup finishes right after the early listing: its index file is new.
  let snap: { tree: Id } | undefined;
  const later = new FakeSource(tree(6));
  afterFirstIndexListing(m.repo, async () => {
    snap = (await backup(m.repo, later, { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER })).snapshot;
  });
  const index = await underLock(m.repo, masterIndexAhead(m.repo));
  sameIndex(index, await loadMasterIndex(m.repo));
  const sink = new MemSink();
  const res = await restore(m.repo, index, snap!.tree, sink, {});
  assert.deepEqual(res.errors, []);
  assert.deepEqual(describeSink(sink), describeFake(later.root.children.data!, '/data'));
});

function findings(r: CheckResult) {
  return { errors: [...r.errors].sort(), hints: [...r.hints].sort(), repair: r.suggestRepairIndex, prune: r.suggestPrune };
}

test('check: an index file removed or added during the settle wait gives the fresh result', async () => {
  for (const kind of ['removed', 'added'] as const) {
    const m = await newMemRepo();
    await twoBackups(m);
    const ids = (await m.repo.listIds('index')).sort();
    assert.ok(ids.length >= 2);
    const victim = ids[ids.length - 1]!;
    const saved = await m.backend.get({ type: 'index', name: victim });
    if (kind === 'added') await m.backend.delete({ type: 'index', name: victim });
    afterFirstIndexListing(m.repo, async () => {
      if (kind === 'removed') await m.backend.delete({ type: 'index', name: victim });
      else await m.backend.put({ type: 'index', name: victim }, saved);
    });
    const ahead = checkIndexAhead(m.repo);
    const result = await lockedRun(m.repo, ahead.start, () => checkRepository(m.repo, { indexAhead: ahead }), true);
    const fresh = await checkRepository(m.repo);
    assert.deepEqual(findings(result), findings(fresh), kind);
    // The change matters: without the victim, its packs are unreferenced and its blobs missing.
    if (kind === 'removed') assert.ok(fresh.errors.length > 0 && fresh.suggestPrune, 'removed: errors found');
    else assert.deepEqual(fresh.errors, [], 'added: a sound repository');
  }
});
