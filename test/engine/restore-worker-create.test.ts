/**
 * Files created by the blob workers (FsRestoreSink.handOverFile, node/blob-open-worker.ts): a file
 * whose every blob is in one read is created under NAME.coffer-partial, written and completed off
 * the main thread. When one of its blobs fails there, the open file is handed back (adopted) and
 * the main thread retries the blob and completes it, or abandons it as NAME.coffer-partial with
 * the blobs that were good; when the worker cannot create it, the main thread tries itself and
 * reports what a restore without workers reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../../src/core/backend/backend.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { restore } from '../../src/core/engine/restore/restorer.js';
import type { RelPath } from '../../src/core/engine/restore/sink.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { isCofferError } from '../../src/core/errors.js';
import type { Id, TreeNode } from '../../src/core/format/types.js';
import { loadMasterIndex, plaintextSize } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { BlobOpenPool } from '../../src/node/blob-open-workers.js';
import { FsRestoreSink } from '../../src/node/fs-sink.js';
import { FakeSource, LOCK_OWNER, PASSWORD, damageBlob, dir, file, newMemRepo, randomBytes, reopen, type MemRepo } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

const POL = 0x3da3358b4dc173n;
const T0 = 1_700_000_000;
const MULTI = randomBytes(21, 3_500_000); // several blobs, all in one read

/** Counts the files the main thread creates itself. */
class CountingSink extends FsRestoreSink {
  creates = 0;
  override async createFile(p: RelPath, node: TreeNode) {
    this.creates++;
    return super.createFile(p, node);
  }
}

function meta(i: number) {
  return { mode: 0o600 | (i & 0o77), mtime: { sec: T0 + i * 3600, nsec: i * 1001, offsetSec: 0 }, atime: { sec: T0 - i, nsec: 0, offsetSec: 0 }, uid: 2000 + i, gid: 3000 + i };
}

async function setup(): Promise<{ m: MemRepo; repo: Repository; tree: Id; multiBlobs: Id[] }> {
  const m = await newMemRepo({ chunkerPolynomial: POL });
  const files: Record<string, ReturnType<typeof file>> = {};
  for (let i = 0; i < 30; i++) files[`f-${i}`] = file(`content ${i} `.repeat(i + 1), { meta: meta(i) });
  files['multi'] = file(MULTI, { meta: { ...meta(40), inode: 77n, links: 2n } });
  files['multi-link'] = file(MULTI, { meta: { ...meta(40), inode: 77n, links: 2n } });
  const r = await backup(m.repo, new FakeSource(dir({ d: dir(files) })), { targets: ['/d'], hostname: 'h', owner: LOCK_OWNER });
  const repo = await reopen(m);
  let multiBlobs: Id[] = [];
  await walkTree(new TreeLoader(repo, await loadMasterIndex(repo)), r.snapshot.tree, (e) => {
    if (e.path === '/d/multi') multiBlobs = [...e.node.content!];
  });
  assert.ok(multiBlobs.length >= 3, `multi has ${multiBlobs.length} blobs`);
  return { m, repo, tree: r.snapshot.tree, multiBlobs };
}

function checkFile(target: string, name: string, want: Uint8Array | string, i: number): void {
  const p = path.join(target, 'd', name);
  assert.deepEqual(fs.readFileSync(p), Buffer.from(want as Uint8Array));
  const st = fs.statSync(p, { bigint: true });
  assert.equal(Number(st.mode & 0o7777n), 0o600 | (i & 0o77), `mode of ${name}`);
  assert.equal(st.mtimeNs, BigInt(T0 + i * 3600) * 1_000_000_000n + BigInt(Math.floor((i * 1001) / 1000) * 1000), `mtime of ${name}`);
  if (process.geteuid?.() === 0) assert.deepEqual([Number(st.uid), Number(st.gid)], [2000 + i, 3000 + i], `owner of ${name}`);
}

async function restoreWith(repo: Repository, tree: Id, target: string, workers: boolean) {
  const sink = new CountingSink(target);
  const pool = workers ? new BlobOpenPool(repo, 2) : undefined;
  try {
    const res = await restore(repo, await loadMasterIndex(repo), tree, sink, pool ? { openBlobs: pool.open, readConcurrency: 3 } : {});
    return { res, sink };
  } finally {
    await pool?.close();
  }
}

const partials = (target: string) => fs.readdirSync(path.join(target, 'd')).filter((n) => n.endsWith('.coffer-partial'));

test('files whose every blob is in one read are created by the blob workers: no create call here; same bytes, modes, times; stale partials replaced', async () => {
  const { repo, tree } = await setup();
  const target = tempDir();
  fs.mkdirSync(path.join(target, 'd'), { recursive: true });
  fs.writeFileSync(path.join(target, 'd', 'f-3.coffer-partial'), 'stale bytes of a killed restore, longer than the content');
  fs.writeFileSync(path.join(target, 'd', 'multi.coffer-partial'), 'stale');
  const { res, sink } = await restoreWith(repo, tree, target, true);
  assert.deepEqual(res.errors, []);
  assert.equal(res.files, 32);
  assert.equal(sink.creates, 0, 'every file was created by a worker');
  for (let i = 0; i < 30; i++) checkFile(target, `f-${i}`, `content ${i} `.repeat(i + 1), i);
  checkFile(target, 'multi', MULTI, 40);
  assert.equal(fs.statSync(path.join(target, 'd', 'multi-link')).ino, fs.statSync(path.join(target, 'd', 'multi')).ino, 'hard link made to the worker-created file');
  assert.deepEqual(partials(target), []);
  // Without workers the main thread creates every file (the count above could fail).
  const single = await restoreWith(repo, tree, tempDir(), false);
  assert.equal(single.sink.creates, 31);
});

test('a blob failing in the read of a worker-created file: the open file is adopted, the blob retried here, the file completed with its metadata', async () => {
  const { m, repo: plain, tree, multiBlobs } = await setup();
  const index = await loadMasterIndex(plain);
  const loc = index.lookup('data', multiBlobs[1]!)!;
  let damaged = 0;
  // Planned reads (longer than the blob) see it damaged; the retry (exactly the blob) does not.
  const backend: Backend = {
    location: m.backend.location,
    connections: m.backend.connections,
    stat: (h, o) => m.backend.stat(h, o),
    get: async (h, range, o) => {
      const bytes = await m.backend.get(h, range, o);
      const off = range?.offset ?? 0;
      if (h.type !== 'data' || h.name !== loc.packId || bytes.length <= loc.length || off > loc.offset || off + bytes.length < loc.offset + loc.length) return bytes;
      damaged++;
      const copy = new Uint8Array(bytes);
      copy[loc.offset - off + 20] ^= 0xff;
      return copy;
    },
    put: (h, d, o) => m.backend.put(h, d, o),
    delete: (h, o) => m.backend.delete(h, o),
    list: (t, o) => m.backend.list(t, o),
    create: (o) => m.backend.create(o),
  };
  const repo = await openRepository(backend, m.platform, { password: PASSWORD });
  const target = tempDir();
  const { res, sink } = await restoreWith(repo, tree, target, true);
  assert.ok(damaged >= 1, 'the planned read was damaged');
  assert.deepEqual(res.errors, []);
  assert.equal(sink.creates, 0, 'adopted, not created again');
  checkFile(target, 'multi', MULTI, 40);
  assert.equal(fs.statSync(path.join(target, 'd', 'multi-link')).ino, fs.statSync(path.join(target, 'd', 'multi')).ino);
  assert.deepEqual(partials(target), []);
});

test('a damaged blob of a worker-created file with no good copy: kept as NAME.coffer-partial with its good blobs, reported as without workers; its hard link not made', async () => {
  const { m, repo, tree, multiBlobs } = await setup();
  await damageBlob(m, multiBlobs[1]!);
  const index = await loadMasterIndex(repo);
  const first = index.lookup('data', multiBlobs[0]!)!;
  const firstLen = plaintextSize(first);

  const target = tempDir();
  const { res } = await restoreWith(repo, tree, target, true);
  const single = tempDir();
  const one = await restoreWith(repo, tree, single, false);
  const shown = (r: typeof res, t: string) => r.errors.map((e) => ({ ...e, leftAs: e.leftAs?.slice(t.length) }));
  assert.deepEqual(shown(res, target), shown(one.res, single));
  assert.deepEqual(res.errors.map((e) => e.path), ['/d/multi', '/d/multi-link']);
  assert.equal(res.errors[0]!.leftAs, path.join(target, 'd', 'multi.coffer-partial'));
  assert.equal(fs.existsSync(path.join(target, 'd', 'multi')), false, 'never under its real name');
  assert.equal(fs.existsSync(path.join(target, 'd', 'multi-link')), false);
  const kept = fs.readFileSync(path.join(target, 'd', 'multi.coffer-partial'));
  assert.deepEqual(kept.subarray(0, firstLen), Buffer.from(MULTI.subarray(0, firstLen)), 'the good first blob was written');
  assert.deepEqual(partials(target), ['multi.coffer-partial']);
  for (let i = 0; i < 30; i++) checkFile(target, `f-${i}`, `content ${i} `.repeat(i + 1), i);
});

test('a partial name a worker cannot create (a folder is in the way): the restore stops with the error it has without workers', async () => {
  const { repo, tree } = await setup();
  const codes: string[] = [];
  for (const workers of [true, false]) {
    const target = tempDir();
    fs.mkdirSync(path.join(target, 'd', 'f-7.coffer-partial'), { recursive: true });
    fs.writeFileSync(path.join(target, 'd', 'f-7.coffer-partial', 'inside'), 'x');
    await assert.rejects(restoreWith(repo, tree, target, workers), (e) => {
      assert.ok(isCofferError(e), String(e));
      assert.match((e as Error).message, /f-7/);
      codes.push(e.code);
      return true;
    });
    assert.equal(fs.existsSync(path.join(target, 'd', 'f-7')), false);
  }
  assert.equal(codes[0], codes[1]);
});
