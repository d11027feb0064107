import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CofferError } from '../../src/core/errors.js';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import type { Snapshot } from '../../src/core/format/types.js';
import { compareSnapshots, findSnapshot, loadSnapshots, matchesFilter, splitSnapshotSpec, type SnapshotEntry } from '../../src/core/repository/snapshots.js';
import { newMemRepo, time } from '../helpers/mem-repo.js';

const TREE = 'ee'.repeat(32);

function snap(t: number, extra: Partial<Snapshot> = {}): Snapshot {
  return { time: time(t), tree: TREE, paths: ['/home/u'], hostname: 'h1', ...extra };
}

function entry(id: string, t: number, extra: Partial<Snapshot> = {}): SnapshotEntry {
  return { id: id.padEnd(64, '0'), snapshot: snap(t, extra) };
}

function code(c: string) {
  return (e: unknown) => {
    assert.ok(e instanceof CofferError, String(e));
    assert.equal(e.code, c, e.message);
    return true;
  };
}

const ENTRIES = [entry('abc1', 10), entry('abc2', 20), entry('f00d', 30), entry('1234', 5)].sort(compareSnapshots);

test('findSnapshot: latest is the newest', () => {
  assert.equal(findSnapshot(ENTRIES, 'latest').id, 'f00d'.padEnd(64, '0'));
  assert.throws(() => findSnapshot([], 'latest'), code('not-found-snapshot'));
});

test('findSnapshot: full ID, unique prefix, ambiguous prefix, unknown, invalid', () => {
  const full = 'abc2'.padEnd(64, '0');
  assert.equal(findSnapshot(ENTRIES, full).id, full);
  assert.equal(findSnapshot(ENTRIES, 'abc2').id, full);
  assert.equal(findSnapshot(ENTRIES, 'f').id, 'f00d'.padEnd(64, '0'));
  assert.equal(findSnapshot(ENTRIES, '12').id, '1234'.padEnd(64, '0'));
  assert.throws(() => findSnapshot(ENTRIES, 'abc'), code('usage'));
  assert.throws(() => findSnapshot(ENTRIES, 'dead'), code('not-found-snapshot'));
  assert.throws(() => findSnapshot(ENTRIES, 'xyz'), code('usage'));
  assert.throws(() => findSnapshot(ENTRIES, ''), code('usage'));
});

test('compareSnapshots orders by time then ID', () => {
  assert.deepEqual(
    ENTRIES.map((e) => e.id.slice(0, 4)),
    ['1234', 'abc1', 'abc2', 'f00d'],
  );
  const same = [entry('bb', 1), entry('aa', 1)].sort(compareSnapshots);
  assert.deepEqual(same.map((e) => e.id.slice(0, 2)), ['aa', 'bb']);
  // Time zones do not matter, instants do.
  const a: SnapshotEntry = { id: '01'.repeat(32), snapshot: { ...snap(0), time: { ...time(100), offsetSec: 3600 } } };
  const b: SnapshotEntry = { id: '00'.repeat(32), snapshot: { ...snap(0), time: time(50) } };
  assert.deepEqual([a, b].sort(compareSnapshots).map((e) => e.id), [b.id, a.id]);
});

test('matchesFilter: hosts, paths (all required), tags (any list, all tags of a list)', () => {
  const s = snap(0, { hostname: 'h1', paths: ['/a', '/b'], tags: ['x', 'y'] });
  assert.equal(matchesFilter(s, {}), true);
  assert.equal(matchesFilter(s, { hosts: ['h1'] }), true);
  assert.equal(matchesFilter(s, { hosts: ['h2', 'h1'] }), true);
  assert.equal(matchesFilter(s, { hosts: ['h2'] }), false);
  assert.equal(matchesFilter(s, { paths: ['/a'] }), true);
  assert.equal(matchesFilter(s, { paths: ['/a', '/b'] }), true);
  assert.equal(matchesFilter(s, { paths: ['/a', '/c'] }), false);
  assert.equal(matchesFilter(s, { tags: ['x'] }), true);
  assert.equal(matchesFilter(s, { tags: ['x,y'] }), true);
  assert.equal(matchesFilter(s, { tags: ['x,z'] }), false);
  assert.equal(matchesFilter(s, { tags: ['z', 'y'] }), true);
  assert.equal(matchesFilter(snap(0, { tags: undefined }), { tags: ['x'] }), false);
  assert.equal(matchesFilter(snap(0, { hostname: undefined }), { hosts: ['h1'] }), false);
  assert.equal(matchesFilter(s, { hosts: ['h1'], paths: ['/a'], tags: ['nope'] }), false);
});

test('splitSnapshotSpec', () => {
  assert.deepEqual(splitSnapshotSpec('latest'), { ref: 'latest', subfolder: '' });
  assert.deepEqual(splitSnapshotSpec('latest:/home/u'), { ref: 'latest', subfolder: '/home/u' });
  assert.deepEqual(splitSnapshotSpec('abc:sub/dir'), { ref: 'abc', subfolder: 'sub/dir' });
  assert.deepEqual(splitSnapshotSpec('abc:'), { ref: 'abc', subfolder: '' });
  assert.deepEqual(splitSnapshotSpec('abc:a:b'), { ref: 'abc', subfolder: 'a:b' });
});

test('loadSnapshots reads every snapshot, oldest first', async () => {
  const { repo } = await newMemRepo();
  const ids: string[] = [];
  for (const t of [30, 10, 20]) ids.push(await repo.saveUnpacked('snapshots', encodeSnapshot(snap(t, { tags: [`t${t}`] }))));
  const got = await loadSnapshots(repo);
  assert.deepEqual(got.map((e) => e.snapshot.tags?.[0]), ['t10', 't20', 't30']);
  assert.deepEqual(got.map((e) => e.id), [ids[1], ids[2], ids[0]]);
  assert.equal(findSnapshot(got, 'latest').id, ids[0]);
  assert.equal(findSnapshot(got, ids[1]!.slice(0, 10)).snapshot.tags?.[0], 't10');
});
