/**
 * Backup and restore through injected faults (test/helpers/faulty-backend.ts) under the client's
 * timeout and retry decorators, on the in-memory backend, restoring into a real folder
 * (FsRestoreSink): transient faults are ridden out; damaged answers never reach a restored file
 * (files that cannot be read are left as NAME.coffer-partial and listed); a permanent fault stops
 * the operation with the storage's error and leaves the repository valid.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemBackend } from '../../src/core/backend/mem.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { checkRepository } from '../../src/core/engine/check/check.js';
import { isCofferError } from '../../src/core/errors.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import { BlobOpenPool } from '../../src/node/blob-open-workers.js';
import { FaultyBackend, type FaultOptions } from '../helpers/faulty-backend.js';
import { CHEAP_KDF, FakeSource, LOCK_OWNER, PASSWORD, dir, file, platform, randomBytes, type FakeDir } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { clientStack, PACK_SIZE, restoreAndCompare } from './soak.js';

function source(): FakeDir {
  return dir({
    data: dir({
      'empty': file(''),
      'small.txt': file('hello faults\n'),
      'mid.bin': file(randomBytes(11, 150_000)),
      'big.bin': file(randomBytes(12, 2_600_000)),
      sub: dir({ 'a.bin': file(randomBytes(13, 40_000)), 'b.bin': file(randomBytes(14, 1_300_000)) }),
      many: dir(Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`s${i}`, file(randomBytes(100 + i, 500 + i * 97))]))),
    }),
  });
}

function expected(root: FakeDir): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (d: FakeDir, p: string) => {
    for (const [n, e] of Object.entries(d.children)) {
      if (e.type === 'dir') walk(e, `${p}/${n}`);
      else if (e.type === 'file') out.set(`${p}/${n}`, e.data);
    }
  };
  walk(root, '');
  return out;
}

/** A repository with one snapshot of source(), written without faults. */
async function fixture() {
  const mem = new MemBackend();
  const p = await platform();
  await initRepository(mem, p, { password: PASSWORD, kdf: CHEAP_KDF, username: 'u', hostname: 'h' });
  const root = source();
  const clean = await openRepository(mem, p, { password: PASSWORD, packSize: PACK_SIZE });
  const r = await backup(clean, new FakeSource(root), { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
  return { mem, p, root, tree: r.snapshot.tree, want: expected(root) };
}

/** Reads of about one blob, so there are many calls to fault. */
const SMALL_READ = 16 * 1024;

async function faultyRepo(mem: MemBackend, opts: FaultOptions) {
  const faulty = new FaultyBackend(mem, opts);
  const repo = await openRepository(clientStack(faulty), await platform(), { password: PASSWORD, packSize: PACK_SIZE });
  return { faulty, repo };
}

test('transient faults on every call: backup and restore complete and restore exactly', async () => {
  const mem = new MemBackend();
  const p = await platform();
  await initRepository(mem, p, { password: PASSWORD, kdf: CHEAP_KDF, username: 'u', hostname: 'h' });
  const root = source();
  const faulty = new FaultyBackend(mem, { seed: 42, rates: { transient: 0.2, lostReply: 0.2, hang: 0.03, slow: 0.1, listBreak: 0.3 }, hangMs: 5000 });
  const repo = await openRepository(clientStack(faulty), p, { password: PASSWORD, packSize: PACK_SIZE });
  const r = await backup(repo, new FakeSource(root), { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER });
  const duringBackup = faulty.injected;
  const { problems, check } = await restoreAndCompare(repo, r.snapshot.tree, expected(root), path.join(tempDir(), 'out'));
  assert.deepEqual(problems, []);
  assert.equal(check.error, undefined);
  assert.deepEqual(check.result!.errors, []);
  const c = faulty.counts();
  assert.ok(duringBackup >= 8 && faulty.injected - duringBackup >= 2, `faults: ${duringBackup} in the backup, ${JSON.stringify(c)} in all`);
  for (const k of ['transient', 'lostReply', 'slow'] as const) assert.ok(c[k] > 0, `no ${k} fault injected: ${JSON.stringify(c)}`);
  // Hangs ended through the timeout layer's AbortSignal, not by running out their 5 s.
  assert.equal(faulty.hangsAborted, c.hang);
  faulty.enabled = false;
  assert.deepEqual((await checkRepository(await openRepository(mem, p, { password: PASSWORD }), { readData: true })).errors, []);
});

for (const workers of [false, true]) {
  test(`damaged answers (bit flips, short reads) never reach a restored file${workers ? ' (blobs opened in worker threads)' : ''}`, async () => {
    const { mem, tree, want } = await fixture();
    const { faulty, repo } = await faultyRepo(mem, { seed: 7, rates: { corrupt: 0.3, shortRead: 0.3 }, types: ['data'], ops: ['get'] });
    const pool = workers ? new BlobOpenPool(repo, 2) : undefined;
    try {
      const target = path.join(tempDir(), 'out');
      const { problems, check } = await restoreAndCompare(repo, tree, want, target, { maxRead: SMALL_READ, ...(pool ? { openBlobs: pool.open } : {}) });
      assert.deepEqual(problems, []);
      assert.equal(check.error, undefined);
      const c = faulty.counts();
      assert.ok(c.corrupt > 0 && c.shortRead > 0, JSON.stringify(c));
      // Damaged reads are re-read blob by blob: most files still restore.
      const restored = [...want.keys()].filter((p) => fs.existsSync(path.join(target, p)));
      assert.ok(restored.length >= 3, `restored ${restored.join(', ')}`);
      for (const e of check.result!.errors) assert.match(e.message, /blob [0-9a-f]{64}.*pack [0-9a-f]{64}/, e.message);
    } finally {
      await pool?.close();
    }
  });
}

test('every read damaged: the files hit are left as NAME.coffer-partial and listed, never under their real name', async () => {
  const { mem, p, tree, want } = await fixture();
  // Packs of file content only: the trees stay readable, so the walk reaches every file.
  const index = await loadMasterIndex(await openRepository(mem, p, { password: PASSWORD }));
  const treePacks = new Set([...index.packIds()].filter((id) => index.packBlobs(id)!.some((b) => b.type === 'tree')));
  const { faulty, repo } = await faultyRepo(mem, { seed: 3, rates: { corrupt: 1 }, ops: ['get'], match: (h) => h.type === 'data' && !treePacks.has(h.name) });
  const target = path.join(tempDir(), 'out');
  const { problems, check } = await restoreAndCompare(repo, tree, want, target);
  assert.deepEqual(problems, []);
  assert.equal(check.error, undefined);
  // One flipped bit per read damages one blob of the range; its re-read is damaged again.
  const failed = check.result!.errors.map((e) => e.path).sort();
  assert.ok(failed.length >= 3, `failed: ${failed.join(', ')}`);
  assert.ok(failed.includes('/data/big.bin'), 'a multi-blob file, written in part, is among them');
  for (const f of failed) {
    assert.equal(fs.existsSync(path.join(target, f)), false, `${f} exists under its real name`);
    assert.equal(check.incomplete.get(f), path.join(target, f) + '.coffer-partial');
    assert.ok(fs.existsSync(path.join(target, f) + '.coffer-partial'));
    assert.match(check.result!.errors.find((e) => e.path === f)!.message, /blob [0-9a-f]{64} in pack [0-9a-f]{64}/);
  }
  // The empty file needs no read and is restored.
  assert.equal(fs.statSync(path.join(target, '/data/empty')).size, 0);
  assert.ok(faulty.counts().corrupt >= failed.length);
});

test('a permanent fault stops a restore with the storage error; finished files are whole, started ones partial and listed', async () => {
  const { mem, tree, want } = await fixture();
  // Fail for good on the 6th data read: some files are done, some started.
  const faulty = new FaultyBackend(mem, { seed: 1, rates: {}, types: ['data'], ops: ['get'] });
  let reads = 0;
  const inner = faulty.get.bind(faulty);
  faulty.get = async (h, r, o) => {
    if (h.type === 'data' && ++reads === 6) faulty.kill(h);
    return inner(h, r, o);
  };
  const repo = await openRepository(clientStack(faulty), await platform(), { password: PASSWORD });
  const target = path.join(tempDir(), 'out');
  const { problems, check } = await restoreAndCompare(repo, tree, want, target, { maxRead: SMALL_READ, readConcurrency: 1 });
  assert.deepEqual(problems, []);
  assert.ok(isCofferError(check.error, 'permission'), String(check.error));
  assert.match((check.error as Error).message, /^injected fault: get data\/[0-9a-f]{64}: permission denied by the storage$/);
  const whole = [...want.keys()].filter((p) => fs.existsSync(path.join(target, p)));
  assert.ok(whole.length >= 1 && whole.length < want.size, `whole: ${whole.join(', ')}`);
});

test('a permanent fault stops a backup; the repository stays valid and the earlier snapshot restores', async () => {
  const { mem, p, root, tree, want } = await fixture();
  root.children.data = dir({ ...(root.children.data as FakeDir).children, 'new.bin': file(randomBytes(99, 900_000)) });
  const { faulty, repo } = await faultyRepo(mem, { seed: 5, rates: { permanent: 1 }, types: ['data'], ops: ['put'] });
  await assert.rejects(
    backup(repo, new FakeSource(root), { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER }),
    (e: unknown) => isCofferError(e, 'permission') && /put data\/[0-9a-f]{64}: permission denied/.test((e as Error).message),
  );
  assert.ok(faulty.counts().permanent >= 1);
  faulty.enabled = false;
  const clean = await openRepository(mem, p, { password: PASSWORD });
  assert.deepEqual((await checkRepository(clean, { readData: true })).errors, []);
  const snaps: string[] = [];
  for await (const f of mem.list('snapshots')) snaps.push(f.name);
  assert.equal(snaps.length, 1, 'no snapshot from the failed backup');
  const { problems, check } = await restoreAndCompare(clean, tree, want, path.join(tempDir(), 'out'));
  assert.deepEqual(problems, []);
  assert.equal(check.error, undefined);
});

test('retries give up on a fault that does not clear: a clear transient error, no partial file left looking complete', async () => {
  const { mem, tree, want } = await fixture();
  const { repo } = await faultyRepo(mem, { seed: 9, rates: { transient: 1 }, types: ['data'], ops: ['get'] });
  const target = path.join(tempDir(), 'out');
  const { problems, check } = await restoreAndCompare(repo, tree, want, target);
  assert.deepEqual(problems, []);
  assert.ok(isCofferError(check.error, 'transient'), String(check.error));
  for (const p of want.keys()) if (want.get(p)!.length > 0) assert.equal(fs.existsSync(path.join(target, p)), false, p);
});
