/**
 * Restore with blob workers that write plaintexts to the files themselves (node/blob-open-workers.ts
 * with direct writes, engine/restore/restorer.ts): the same files, bytes and reports as a restore
 * done on one thread, including a damaged blob (its files abandoned, kept as .coffer-partial) and
 * a blob shared by several files and repeated within one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { backup } from '../../src/core/engine/backup/backup.js';
import { restore, type RestoreOptions } from '../../src/core/engine/restore/restorer.js';
import type { Id } from '../../src/core/format/types.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { BlobOpenPool } from '../../src/node/blob-open-workers.js';
import { FsRestoreSink } from '../../src/node/fs-sink.js';
import { FakeSource, LOCK_OWNER, MemSink, damageBlob, describeSink, dir, file, newMemRepo, randomBytes, reopen } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

const POL = 0x3da3358b4dc173n;
const block = randomBytes(5, 700_000);
const repeated = new Uint8Array(3 * block.length);
for (let i = 0; i < 3; i++) repeated.set(block, i * block.length);

function tree() {
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 40; i++) files[`small-${i}.txt`] = file(`file ${i} `.repeat(i * 7));
  return dir({
    data: dir({
      ...files,
      'big.bin': file(randomBytes(6, 5_000_000)),
      'same-1.bin': file(randomBytes(7, 300_000)),
      'same-2.bin': file(randomBytes(7, 300_000)),
      'repeated.bin': file(repeated),
      'damaged.bin': file(randomBytes(8, 9000)),
      sub: dir({ 'empty.txt': file(''), 'deep.txt': file('deep') }),
    }),
  });
}

/** Every regular file below `root`: relative path -> content (base64). */
function listFiles(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.set(path.relative(root, p), fs.readFileSync(p).toString('base64'));
    }
  };
  walk(root);
  return out;
}

test('blob workers writing to the files directly restore exactly what one thread restores, damaged blob included', async () => {
  const m = await newMemRepo({ chunkerPolynomial: POL });
  const src = new FakeSource(tree());
  const r = await backup(m.repo, src, { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
  const repo = await reopen(m);
  let index = await loadMasterIndex(repo);
  // The damaged file's only blob.
  const { TreeLoader, walkTree } = await import('../../src/core/engine/walk/tree-walker.js');
  let damagedBlob: Id | undefined;
  await walkTree(new TreeLoader(repo, index), r.snapshot.tree, (e) => {
    if (e.path === '/data/damaged.bin') damagedBlob = e.node.content![0];
  });
  await damageBlob(m, damagedBlob!);
  index = await loadMasterIndex(repo);

  const run = async (opts: RestoreOptions) => {
    const target = tempDir();
    const sink = new FsRestoreSink(target);
    const res = await restore(repo, index, r.snapshot.tree, sink, opts);
    return { target, res };
  };
  const single = await run({});
  const pool = new BlobOpenPool(repo, 2);
  try {
    const direct = await run({ openBlobs: pool.open, readConcurrency: 3, maxRead: 1 << 20 });
    assert.deepEqual(direct.res.errors.map((e) => e.path), ['/data/damaged.bin']);
    const shown = (x: typeof single) => x.res.errors.map((e) => ({ ...e, leftAs: e.leftAs?.slice(x.target.length) }));
    assert.deepEqual(shown(direct), shown(single));
    assert.equal(direct.res.files, single.res.files);
    assert.equal(direct.res.bytes, single.res.bytes);
    const a = listFiles(single.target);
    const b = listFiles(direct.target);
    assert.deepEqual(b, a);
    assert.ok(b.has('data/damaged.bin.coffer-partial') && !b.has('data/damaged.bin'), 'the damaged file stays partial');
    assert.equal(b.get('data/repeated.bin'), Buffer.from(repeated).toString('base64'));
    assert.equal(b.get('data/same-1.bin'), b.get('data/same-2.bin'));
    assert.equal(b.size, 40 + 7);
    // A sink without descriptors gets plaintexts back from the same workers.
    const mem = new MemSink();
    const res = await restore(repo, index, r.snapshot.tree, mem, { openBlobs: pool.open });
    assert.deepEqual(res.errors.map((e) => e.path), ['/data/damaged.bin']);
    assert.equal(describeSink(mem).get('/data/repeated.bin')?.data, Buffer.from(repeated).toString('hex'));
  } finally {
    await pool.close();
  }
});

test('files completed by the blob workers (close, real name, metadata) get the same names, ownership, modes and times; a damaged one stays partial', async () => {
  const m = await newMemRepo({ chunkerPolynomial: POL });
  const files: Record<string, ReturnType<typeof file>> = {};
  const t0 = 1_700_000_000;
  for (let i = 0; i < 60; i++) {
    files[`f-${i}`] = file(`content ${i} `.repeat(i + 1), {
      meta: { mode: 0o600 | (i & 0o77), mtime: { sec: t0 + i * 3600, nsec: i * 1001, offsetSec: 0 }, atime: { sec: t0 - i, nsec: 0, offsetSec: 0 }, uid: 2000 + i, gid: 3000 + i },
    });
  }
  files['broken'] = file(randomBytes(9, 5000));
  files['link-a'] = file('linked content', { meta: { inode: 9999n, links: 2n } });
  files['link-b'] = file('linked content', { meta: { inode: 9999n, links: 2n } });
  const r = await backup(m.repo, new FakeSource(dir({ d: dir(files) })), { targets: ['/d'], hostname: 'h', owner: LOCK_OWNER });
  const repo = await reopen(m);
  let index = await loadMasterIndex(repo);
  const { TreeLoader, walkTree } = await import('../../src/core/engine/walk/tree-walker.js');
  let broken: Id | undefined;
  await walkTree(new TreeLoader(repo, index), r.snapshot.tree, (e) => {
    if (e.path === '/d/broken') broken = e.node.content![0];
  });
  await damageBlob(m, broken!);
  index = await loadMasterIndex(repo);
  const target = tempDir();
  const pool = new BlobOpenPool(repo, 2);
  let res;
  try {
    // All files in one or two reads: every file's last blob is in the read that completes it.
    res = await restore(repo, index, r.snapshot.tree, new FsRestoreSink(target), { openBlobs: pool.open, readConcurrency: 3 });
  } finally {
    await pool.close();
  }
  assert.deepEqual(res.errors.map((e) => e.path), ['/d/broken']);
  assert.equal(res.files, 60 + 2);
  const names = fs.readdirSync(path.join(target, 'd')).sort();
  assert.ok(names.includes('broken.coffer-partial') && !names.includes('broken'));
  assert.equal(names.filter((n) => n.endsWith('.coffer-partial')).length, 1, names.join(' '));
  const asRoot = process.geteuid?.() === 0;
  for (let i = 0; i < 60; i++) {
    const st = fs.statSync(path.join(target, 'd', `f-${i}`), { bigint: true });
    assert.equal(fs.readFileSync(path.join(target, 'd', `f-${i}`), 'utf8'), `content ${i} `.repeat(i + 1));
    assert.equal(Number(st.mode & 0o7777n), 0o600 | (i & 0o77), `mode of f-${i}`);
    assert.equal(st.mtimeNs, BigInt(t0 + i * 3600) * 1_000_000_000n + BigInt(Math.floor((i * 1001) / 1000) * 1000), `mtime of f-${i}`);
    assert.equal(st.atimeNs, BigInt(t0 - i) * 1_000_000_000n, `atime of f-${i}`);
    if (asRoot) assert.deepEqual([Number(st.uid), Number(st.gid)], [2000 + i, 3000 + i], `owner of f-${i}`);
  }
  const a = fs.statSync(path.join(target, 'd', 'link-a'));
  const b = fs.statSync(path.join(target, 'd', 'link-b'));
  assert.equal(a.ino, b.ino, 'hard link restored to the completed file');
  assert.equal(fs.readFileSync(path.join(target, 'd', 'link-b'), 'utf8'), 'linked content');
});
