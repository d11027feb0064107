import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8Encode } from '../../src/core/bytes.js';
import { backup, type BackupOptions } from '../../src/core/engine/backup/backup.js';
import { restore, type RestoreOptions } from '../../src/core/engine/restore/restorer.js';
import { verifyRestored } from '../../src/core/engine/restore/verify.js';
import { resolveSubfolder, TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { isCofferError } from '../../src/core/errors.js';
import { anyMatch, parsePattern } from '../../src/core/filter/pattern.js';
import { encodeLock } from '../../src/core/format/lock.js';
import { nowGoTime } from '../../src/core/format/go-time.js';
import type { Id } from '../../src/core/format/types.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import {
  FakeSource,
  LOCK_OWNER,
  MemSink,
  describeFake,
  describeSink,
  dir,
  file,
  newMemRepo as newRepo,
  randomBytes,
  reopen,
  symlink,
  time,
  T0,
  type FakeDir,
  type MemRepo,
} from '../helpers/mem-repo.js';

const BIG = randomBytes(7, 3 * 1024 * 1024 + 123);

/** restic's test polynomial: chunk boundaries (and so blob counts) are deterministic. */
const POL = 0x3da3358b4dc173n;
const newMemRepo = (opts: Parameters<typeof newRepo>[0] = {}) => newRepo({ chunkerPolynomial: POL, ...opts });

function sampleTree(): FakeDir {
  return dir({
    data: dir({
      'a.txt': file('hello\n'),
      empty: file(''),
      'big.bin': file(BIG),
      link: symlink('a.txt'),
      sub: dir({ 'b.txt': file('bee'), deep: dir({ 'c.log': file('sea') }) }),
      emptydir: dir({}),
      'ünï 🙂': file('unicode name'),
    }),
    other: dir({ x: file('not backed up') }),
  });
}

async function doBackup(m: MemRepo, src: FakeSource, targets: string[], extra: Partial<BackupOptions> = {}) {
  const errors: { path: string; error: Error }[] = [];
  const r = await backup(m.repo, src, {
    targets,
    hostname: 'testhost',
    owner: LOCK_OWNER,
    events: { onError: (path, error) => errors.push({ path, error }) },
    ...extra,
  });
  return { r, errors };
}

async function doRestore(m: MemRepo, tree: Id, opts: RestoreOptions = {}) {
  const repo = await reopen(m);
  const index = await loadMasterIndex(repo);
  const sink = new MemSink();
  const reported: string[] = [];
  const res = await restore(repo, index, tree, sink, { ...opts, events: { onError: (p) => reported.push(p), ...opts.events } });
  return { repo, index, sink, res, reported };
}

function keys(sink: MemSink): string[] {
  return [...sink.entries.keys()].sort();
}

test('backup then restore round trip: content, symlinks, empty files and folders, metadata', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const src = new FakeSource(root);
  const { r, errors } = await doBackup(m, src, ['/data']);
  assert.deepEqual(errors, []);
  assert.ok(r.snapshotId);
  assert.deepEqual(r.snapshot.paths, ['/data']);
  assert.equal(r.counts.filesNew, 6);
  assert.equal(r.counts.totalBytes, 6 + BIG.length + 3 + 3 + 'unicode name'.length);
  assert.equal(r.summary.totalFilesProcessed, 6);
  assert.ok(r.summary.dataBlobs >= 6, 'big.bin is several chunks');

  const { sink, res, repo, index } = await doRestore(m, r.snapshot.tree);
  assert.deepEqual(res.errors, []);
  assert.deepEqual(describeSink(sink), describeFake(root.children.data!, '/data'));
  assert.equal(res.files, 6);
  assert.equal(res.bytes, r.counts.totalBytes);
  assert.equal(res.others, 1);
  // Metadata survives: times, mode, owner, symlink target.
  const a = sink.entries.get('/data/a.txt')!;
  assert.deepEqual(a.node.mtime, T0);
  assert.equal(a.node.mode, 0o644);
  assert.equal(a.node.uid, 1000);
  assert.equal(a.node.size, 6);
  assert.equal(sink.entries.get('/data/link')!.node.linktarget, 'a.txt');
  // Every restored entry got its metadata; folders after everything inside them.
  for (const [k, e] of sink.entries) assert.equal(e.metadataSet, 1, k);
  const order = sink.metadataOrder;
  for (const [k, e] of sink.entries) {
    if (e.type !== 'dir') continue;
    const at = order.indexOf(k);
    for (const [i, other] of order.entries()) if (other.startsWith(k + '/')) assert.ok(i < at, `${other} before ${k}`);
  }
  // --verify reads everything back fine, and notices a change.
  const v = await verifyRestored(repo, index, res.restoredFiles, sink);
  assert.equal(v.checked, 6);
  assert.deepEqual(v.mismatches, []);
  const big = sink.entries.get('/data/big.bin')!;
  big.data = new Uint8Array(big.data!);
  big.data[2_000_000] ^= 1;
  sink.entries.get('/data/a.txt')!.data = utf8Encode('hello\nmore');
  const v2 = await verifyRestored(repo, index, res.restoredFiles, sink);
  assert.deepEqual(v2.mismatches.map((x) => x.path).sort(), ['/data/a.txt', '/data/big.bin']);
});

test('the root tree holds the target path: absolute targets keep their ancestors, relative ones do not', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const abs = await doBackup(m, new FakeSource(root), ['/data/sub']);
  const { sink } = await doRestore(m, abs.r.snapshot.tree);
  assert.deepEqual(keys(sink), ['/data', '/data/sub', '/data/sub/b.txt', '/data/sub/deep', '/data/sub/deep/c.log']);
  assert.equal(sink.entries.get('/data')!.node.type, 'dir');

  const rel = await doBackup(m, new FakeSource(root, '/data'), ['sub', 'a.txt']);
  assert.deepEqual(rel.r.snapshot.paths, ['/data/sub', '/data/a.txt']);
  const { sink: s2 } = await doRestore(m, rel.r.snapshot.tree);
  assert.deepEqual(keys(s2), ['/a.txt', '/sub', '/sub/b.txt', '/sub/deep', '/sub/deep/c.log']);
});

test('unchanged files are not read again; changed ones are', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const src = new FakeSource(root);
  const first = await doBackup(m, src, ['/data']);
  assert.equal(src.opens.size, 6);

  src.opens.clear();
  const second = await doBackup(m, src, ['/data']);
  assert.equal(src.totalOpens, 0, `opened: ${[...src.opens.keys()].join(', ')}`);
  assert.equal(second.r.parent, first.r.snapshotId);
  assert.equal(second.r.snapshot.parent, first.r.snapshotId);
  assert.equal(second.r.snapshot.tree, first.r.snapshot.tree, 'nothing changed: same tree');
  assert.equal(second.r.counts.filesUnmodified, 6);
  assert.equal(second.r.counts.filesNew + second.r.counts.filesChanged, 0);
  assert.equal(second.r.summary.dataBlobs, 0);
  assert.equal(second.r.counts.totalBytes, first.r.counts.totalBytes);

  // A new mtime: read again. New content with a new size: read again. New inode: read again.
  const data = root.children.data as FakeDir;
  data.children['a.txt'] = { ...file('hello, changed\n'), meta: { mtime: time(50) } };
  (data.children.sub as FakeDir).children['b.txt'] = file('bee!');
  src.opens.clear();
  const third = await doBackup(m, src, ['/data']);
  assert.deepEqual([...src.opens.keys()].sort(), ['/data/a.txt', '/data/sub/b.txt']);
  assert.equal(third.r.counts.filesChanged, 2);
  assert.equal(third.r.counts.filesUnmodified, 4);
  assert.notEqual(third.r.snapshot.tree, second.r.snapshot.tree);
  const { sink } = await doRestore(m, third.r.snapshot.tree);
  assert.deepEqual(describeSink(sink), describeFake(data, '/data'));

  // Same size and times (and same inode object): restic's rule says unchanged, not read.
  const same = data.children['ünï 🙂']!;
  if (same.type !== 'file') throw new Error('fixture');
  same.data = utf8Encode('UNICODE NAME');
  src.opens.clear();
  await doBackup(m, src, ['/data']);
  assert.equal(src.totalOpens, 0);

  // force: everything is read.
  src.opens.clear();
  const forced = await doBackup(m, src, ['/data'], { force: true });
  assert.equal(src.opens.size, 6);
  assert.equal(forced.r.parent, undefined);
});

test('a file whose blobs are missing from the index is read again even if unchanged', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const src = new FakeSource(root);
  const first = await doBackup(m, src, ['/data']);
  // Drop every data pack and the index (as if pruned wrongly): trees survive only in the snapshot.
  for (const id of await m.repo.listIds('index')) await m.backend.delete({ type: 'index', name: id });
  for (const id of await m.repo.listIds('data')) await m.backend.delete({ type: 'data', name: id });
  src.opens.clear();
  const second = await doBackup(m, src, ['/data']);
  assert.equal(src.opens.size, 6, 'parent tree unreadable: everything is read');
  assert.equal(second.r.snapshot.tree, first.r.snapshot.tree);
  const { sink } = await doRestore(m, second.r.snapshot.tree);
  assert.deepEqual(describeSink(sink), describeFake(root.children.data!, '/data'));
});

test('a different host or a different set of paths is not a parent', async () => {
  const m = await newMemRepo();
  const src = new FakeSource(sampleTree());
  const first = await doBackup(m, src, ['/data']);
  const other = await doBackup(m, src, ['/data'], { hostname: 'elsewhere' });
  assert.equal(other.r.parent, undefined);
  const more = await doBackup(m, src, ['/data', '/other']);
  assert.equal(more.r.parent, undefined);
  const again = await doBackup(m, src, ['/data']);
  assert.equal(again.r.parent, first.r.snapshotId);
  const explicit = await doBackup(m, src, ['/data', '/other'], { parent: first.r.snapshotId!.slice(0, 8) });
  assert.equal(explicit.r.parent, first.r.snapshotId);
});

test('identical folders give identical tree IDs', async () => {
  const m = await newMemRepo();
  const shared = dir({ f: file('same content'), g: dir({ h: file('x') }), l: symlink('f') });
  const root = dir({ data: dir({ one: shared, two: shared, three: dir({ f: file('same content') }) }) });
  const src = new FakeSource(root);
  const { r } = await doBackup(m, src, ['/data']);
  // And across snapshots: the same folder (same inodes) seen at another place.
  src.root = dir({ elsewhere: shared });
  const { r: r2 } = await doBackup(m, src, ['/elsewhere']);
  const repo = await reopen(m);
  const loader = new TreeLoader(repo, await loadMasterIndex(repo));
  const subtree = async (p: string) => resolveSubfolder(loader, r.snapshot.tree, p);
  assert.equal(await subtree('data/one'), await subtree('data/two'));
  assert.notEqual(await subtree('data/one'), await subtree('data/three'));
  assert.equal(await resolveSubfolder(loader, r2.snapshot.tree, 'elsewhere'), await subtree('data/one'));
});

test('source errors are reported and the item left out; everything else is stored', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const data = root.children.data as FakeDir;
  data.children['unreadable'] = file('secret', { openError: true });
  data.children['breaks'] = file(randomBytes(9, 2_500_000), { readErrorAfter: 1_500_000 });
  data.children['gone'] = file('vanished', { statError: true });
  data.children['locked-dir'] = dir({ inside: file('never seen') }, { listError: true });
  const src = new FakeSource(root);
  const { r, errors } = await doBackup(m, src, ['/data', '/missing']);
  assert.deepEqual(
    errors.map((e) => e.path).sort(),
    ['/data/breaks', '/data/gone', '/data/locked-dir', '/data/unreadable', '/missing'],
  );
  for (const e of errors) assert.ok(isCofferError(e.error, 'source'), e.error.message);
  assert.equal(r.counts.errors, 5);
  assert.ok(r.snapshotId, 'the snapshot is still written');
  assert.equal(r.counts.filesNew, 6);
  assert.equal(r.summary.totalFilesProcessed, 6);
  const { sink } = await doRestore(m, r.snapshot.tree);
  const expected = describeFake(sampleTree().children.data!, '/data');
  assert.deepEqual(describeSink(sink), expected);
});

test('a non-source error (storage) aborts the backup and writes no snapshot', async () => {
  const m = await newMemRepo();
  const src = new FakeSource(sampleTree());
  const orig = m.backend.put.bind(m.backend);
  m.backend.put = async (h, d, o) => {
    if (h.type === 'data') throw Object.assign(new Error('boom'));
    return orig(h, d, o);
  };
  await assert.rejects(doBackup(m, src, ['/data']));
  assert.deepEqual(await m.repo.listIds('snapshots'), []);
  assert.deepEqual(await m.repo.listIds('locks'), [], 'the lock is released');
});

test('backup excludes and dry run', async () => {
  const m = await newMemRepo();
  const root = sampleTree();
  const pats = ['*.txt', '/data/sub/deep'].map(parsePattern);
  const { r } = await doBackup(m, new FakeSource(root), ['/data'], {
    exclude: (item) => anyMatch(pats, item.path),
    excludes: ['*.txt', '/data/sub/deep'],
  });
  assert.deepEqual(r.snapshot.excludes, ['*.txt', '/data/sub/deep']);
  const { sink } = await doRestore(m, r.snapshot.tree);
  assert.deepEqual(keys(sink), ['/data', '/data/big.bin', '/data/empty', '/data/emptydir', '/data/link', '/data/sub', '/data/ünï 🙂']);

  const m2 = await newMemRepo();
  const dry = await doBackup(m2, new FakeSource(root), ['/data'], { dryRun: true });
  assert.equal(dry.r.snapshotId, undefined);
  assert.ok(dry.r.summary.dataBlobs > 0);
  for (const t of ['data', 'index', 'snapshots', 'locks'] as const) assert.deepEqual(await m2.repo.listIds(t), [], t);
});

test('backup takes a shared lock: an exclusive lock makes it fail with locked', async () => {
  const m = await newMemRepo();
  await m.repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), exclusive: true, hostname: 'h', username: 'u', pid: 1 }));
  await assert.rejects(doBackup(m, new FakeSource(sampleTree()), ['/data']), (e: unknown) => isCofferError(e, 'locked'));
  assert.deepEqual(await m.repo.listIds('snapshots'), []);
});

test('restore include / exclude patterns', async () => {
  const m = await newMemRepo();
  const { r } = await doBackup(m, new FakeSource(sampleTree()), ['/data']);
  const p = (xs: string[]) => xs.map(parsePattern);

  const inc = await doRestore(m, r.snapshot.tree, { include: p(['/data/sub']) });
  assert.deepEqual(keys(inc.sink), ['/data', '/data/sub', '/data/sub/b.txt', '/data/sub/deep', '/data/sub/deep/c.log']);

  const txt = await doRestore(m, r.snapshot.tree, { include: p(['*.txt']) });
  const files = keys(txt.sink).filter((k) => txt.sink.entries.get(k)!.type !== 'dir');
  assert.deepEqual(files, ['/data/a.txt', '/data/sub/b.txt']);
  assert.equal(txt.res.files, 2);

  const exc = await doRestore(m, r.snapshot.tree, { exclude: p(['*.txt', 'deep', '/data/big.bin']) });
  assert.deepEqual(keys(exc.sink), ['/data', '/data/empty', '/data/emptydir', '/data/link', '/data/sub', '/data/ünï 🙂']);

  const both = await doRestore(m, r.snapshot.tree, { include: p(['/data/sub']), exclude: p(['c.log']) });
  assert.deepEqual(keys(both.sink), ['/data', '/data/sub', '/data/sub/b.txt', '/data/sub/deep']);

  const file1 = await doRestore(m, r.snapshot.tree, { include: p(['/data/sub/deep/c.log']) });
  assert.deepEqual(keys(file1.sink), ['/data', '/data/sub', '/data/sub/deep', '/data/sub/deep/c.log']);

  const none = await doRestore(m, r.snapshot.tree, { include: p(['/nothing/here']) });
  assert.deepEqual(keys(none.sink), []);
});

test(
  'restore --include creates only the folders leading to selected items (restic)',
  async () => {
    // restic (internal/restorer/restorer.go, traverseTreeInner): a folder is created when it is
    // selected itself (enterDir) or as the parent of a selected node (ensureDir(Dir(target))).
    const m = await newMemRepo();
    const { r } = await doBackup(m, new FakeSource(sampleTree()), ['/data']);
    const txt = await doRestore(m, r.snapshot.tree, { include: [parsePattern('*.txt')] });
    assert.deepEqual(keys(txt.sink), ['/data', '/data/a.txt', '/data/sub', '/data/sub/b.txt']);
  },
);

test('restore of a subfolder (ID:path) with basePath patterns', async () => {
  const m = await newMemRepo();
  const { r } = await doBackup(m, new FakeSource(sampleTree()), ['/data']);
  const repo = await reopen(m);
  const loader = new TreeLoader(repo, await loadMasterIndex(repo));
  const sub = await resolveSubfolder(loader, r.snapshot.tree, '/data/sub/');
  const all = await doRestore(m, sub);
  assert.deepEqual(keys(all.sink), ['/b.txt', '/deep', '/deep/c.log']);
  const inc = await doRestore(m, sub, { basePath: '/data/sub', include: [parsePattern('/data/sub/deep')] });
  assert.deepEqual(keys(inc.sink), ['/deep', '/deep/c.log']);
  const exc = await doRestore(m, sub, { basePath: '/data/sub', exclude: [parsePattern('/data/sub/b.txt')] });
  assert.deepEqual(keys(exc.sink), ['/deep', '/deep/c.log']);
  await assert.rejects(resolveSubfolder(loader, r.snapshot.tree, 'data/nope'), (e: unknown) => isCofferError(e, 'usage'));
  await assert.rejects(resolveSubfolder(loader, r.snapshot.tree, 'data/a.txt'), (e: unknown) => isCofferError(e, 'usage'));
});

/** Backs up `base`, then `base` + extra files in a second run, so the extra content sits in its own pack. */
async function twoRuns(m: MemRepo, extra: Record<string, ReturnType<typeof file>>) {
  const root = sampleTree();
  const src = new FakeSource(root);
  await doBackup(m, src, ['/data']);
  const data = root.children.data as FakeDir;
  Object.assign(data.children, extra);
  const { r } = await doBackup(m, src, ['/data']);
  return { root, r };
}

async function corruptPackOf(m: MemRepo, blobId: Id, at: 'start' | 'end' = 'start'): Promise<string> {
  const index = await loadMasterIndex(m.repo);
  const loc = index.lookup('data', blobId)!;
  const h = { type: 'data' as const, name: loc.packId };
  const bytes = new Uint8Array(await m.backend.get(h));
  bytes[at === 'start' ? loc.offset + 20 : loc.offset + loc.length - 20] ^= 0xff;
  m.backend.corrupt(h, bytes);
  return loc.packId;
}

test('a corrupted pack makes restore abandon that file and report it; other files restore', async () => {
  const m = await newMemRepo();
  const { root, r } = await twoRuns(m, { 'new.bin': file(randomBytes(33, 5000)) });
  const repo = await reopen(m);
  const loader = new TreeLoader(repo, await loadMasterIndex(repo));
  let blob: Id | undefined;
  await walkTree(loader, r.snapshot.tree, (e) => {
    if (e.path === '/data/new.bin') blob = e.node.content![0];
  });
  const packId = await corruptPackOf(m, blob!);
  const { sink, res, reported } = await doRestore(m, r.snapshot.tree);
  assert.deepEqual(sink.abandoned, ['/data/new.bin']);
  assert.deepEqual(reported, ['/data/new.bin']);
  assert.equal(res.errors.length, 1);
  assert.equal(res.errors[0]!.path, '/data/new.bin');
  assert.ok(res.errors[0]!.message.includes(blob!) && res.errors[0]!.message.includes(packId), res.errors[0]!.message);
  assert.equal(res.files, 6);
  const expected = describeFake(root.children.data!, '/data');
  expected.delete('/data/new.bin');
  assert.deepEqual(describeSink(sink), expected);
  assert.ok(!res.restoredFiles.some((f) => f.path === '/data/new.bin'));
});

test('a multi-blob file with one damaged blob is abandoned after partial writes', async () => {
  const m = await newMemRepo();
  const big2 = randomBytes(44, 3_000_000);
  const { r } = await twoRuns(m, { 'big2.bin': file(big2) });
  const repo = await reopen(m);
  const loader = new TreeLoader(repo, await loadMasterIndex(repo));
  let content: readonly Id[] = [];
  await walkTree(loader, r.snapshot.tree, (e) => {
    if (e.path === '/data/big2.bin') content = e.node.content!;
  });
  assert.ok(content.length >= 2, `${content.length} chunks`);
  await corruptPackOf(m, content[content.length - 1]!, 'end');
  const { sink, res } = await doRestore(m, r.snapshot.tree, { fileConcurrency: 1 });
  assert.deepEqual(sink.abandoned, ['/data/big2.bin']);
  assert.deepEqual(res.errors.map((e) => e.path), ['/data/big2.bin']);
  assert.ok(sink.entries.has('/data/big.bin'));
});

test('hard links (links > 1, same inode and device) restore as one file plus hardlink calls', async () => {
  const m = await newMemRepo();
  const linkMeta = { meta: { inode: 777n, links: 3n } };
  const root = dir({
    data: dir({
      h1: file('linked content', linkMeta),
      sub: dir({ h2: file('linked content', linkMeta), h3: file('linked content', linkMeta) }),
      otherdev: file('linked content', { meta: { inode: 777n, links: 2n, deviceId: 43n } }),
      single: file('linked content', { meta: { inode: 777n, links: 1n } }),
    }),
  });
  const { r } = await doBackup(m, new FakeSource(root), ['/data']);
  const { sink, res } = await doRestore(m, r.snapshot.tree);
  assert.deepEqual(
    sink.hardlinks.sort((a, b) => a.path.localeCompare(b.path)),
    [
      { path: '/data/sub/h2', existing: '/data/h1' },
      { path: '/data/sub/h3', existing: '/data/h1' },
    ],
  );
  assert.equal(res.files, 5);
  assert.deepEqual(res.restoredFiles.map((f) => f.path).sort(), ['/data/h1', '/data/otherdev', '/data/single']);
  for (const k of ['/data/h1', '/data/sub/h2', '/data/otherdev', '/data/single']) {
    assert.deepEqual(sink.entries.get(k)!.data, utf8Encode('linked content'), k);
  }
});

test('a hard link whose original cannot be restored is reported, not linked', async () => {
  const m = await newMemRepo();
  const linkMeta = { meta: { inode: 555n, links: 2n } };
  const content = randomBytes(66, 4000);
  const { r } = await twoRuns(m, { l1: file(content, linkMeta), l2: file(content, linkMeta) });
  const id = (await reopen(m)).sha256Hex(content);
  await corruptPackOf(m, id);
  const { sink, res, reported } = await doRestore(m, r.snapshot.tree);
  assert.deepEqual(sink.hardlinks, []);
  assert.deepEqual(sink.abandoned, ['/data/l1']);
  assert.deepEqual(reported.sort(), ['/data/l1', '/data/l2']);
  assert.deepEqual(res.errors.map((e) => e.path).sort(), ['/data/l1', '/data/l2']);
  assert.ok(!sink.entries.has('/data/l2'));
});

test('cancelling a backup indexes what was uploaded and leaves no snapshot or lock', async () => {
  const m = await newMemRepo({ packSize: 64 * 1024, compression: 'off' });
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 40; i++) files[`f${String(i).padStart(2, '0')}`] = file(randomBytes(100 + i, 20_000));
  const ac = new AbortController();
  let done = 0;
  const src = new FakeSource(dir({ data: dir(files) }));
  await assert.rejects(
    backup(m.repo, src, {
      targets: ['/data'],
      hostname: 'h',
      owner: LOCK_OWNER,
      signal: ac.signal,
      fileConcurrency: 1,
      events: { onFileDone: () => ++done === 25 && ac.abort() },
    }),
    (e: unknown) => isCofferError(e, 'cancelled'),
  );
  assert.deepEqual(await m.repo.listIds('snapshots'), []);
  assert.deepEqual(await m.repo.listIds('locks'), []);
  const packs = await m.repo.listIds('data');
  const index = await loadMasterIndex(await reopen(m));
  assert.deepEqual([...index.packIds()].sort(), packs.sort(), 'every uploaded pack is indexed');
  // The next run reuses those blobs.
  const again = await doBackup(m, src, ['/data']);
  assert.ok(again.r.summary.dataBlobs < 40, `${again.r.summary.dataBlobs} new blobs`);
});
