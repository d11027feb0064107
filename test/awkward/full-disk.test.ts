/**
 * Full disks (small tmpfs mounts; needs root, as CI runs):
 *  - a local repository that fills up during a backup: exit 1 with a clear "disk is full" error,
 *    no lock left behind, restic check passes; once space is back the next backup completes,
 *    restic check --read-data passes and the snapshot restores exactly;
 *  - a restore target that fills up: exit 1 with a clear error, no file left looking complete
 *    (full size under its real name) with the wrong content; with space back, the restore
 *    completes exactly and leaves no partial file;
 *  - a source on a full file system, and on a read-only one: backed up and restored exactly.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { lastJson, MiB, repoFiles, seededBytes } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import { mountTmpfs, needsRoot, remount } from './support.js';

const restics = resticBinaries();
const restic = restics[restics.length - 1];
const skip = needsRoot('mounting a tmpfs') || (!restic && 'restic not installed');

/** Every regular file below `root` (relative path -> content), partial ones included. */
function files(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string, rel: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(d, e.name), `${rel}/${e.name}`);
      else if (e.isFile()) out.set(`${rel}/${e.name}`, fs.readFileSync(path.join(d, e.name)));
    }
  };
  walk(root, '');
  return out;
}

describe('full and read-only disks', { skip }, () => {
  const dir = tempDir('coffer-awk-disk-');
  const src = path.join(dir, 'src');
  let want: Map<string, ReturnType<typeof describeTree> extends Map<string, infer V> ? V : never>;

  before(() => {
    fs.mkdirSync(src);
    for (let i = 0; i < 5; i++) fs.writeFileSync(path.join(src, `f${i}.bin`), seededBytes(`full${i}`, 8 * MiB + i));
    fs.writeFileSync(path.join(src, 'small.txt'), 'small\n');
    want = describeTree(src);
  });

  it('a repository disk that fills up during a backup: clear error, valid repository, the next run completes', async (t) => {
    const disk = path.join(dir, 'repo-disk');
    mountTmpfs(disk, 24);
    const repo = path.join(disk, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const full = await runCoffer(['backup', src], { env });
    assert.equal(full.code, 1, `exit ${full.code}: ${full.stdout}${full.stderr}`);
    assert.match(full.stderr, /disk is full/);
    assert.doesNotMatch(full.stderr, /^\s+at /m, 'no stack trace');
    assert.equal(full.stderr.trim().split('\n').length, 1, `one line: ${full.stderr}`);
    assert.deepEqual(repoFiles(repo, 'locks'), [], 'the lock is released');
    assert.deepEqual(repoFiles(repo, 'snapshots'), []);
    const c1 = await runRestic(restic!, ['check', '--read-data'], { env });
    assert.equal(c1.code, 0, `restic check after the full disk: ${c1.stdout}${c1.stderr}`);
    t.diagnostic(`after the failed run: ${repoFiles(repo, 'data').length} packs, ${repoFiles(repo, 'index').length} index files`);

    remount(disk, 'size=200m');
    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    t.diagnostic(`the run with space back added ${lastJson(b.stdout).data_added} bytes of ${5 * 8 * MiB}`);
    const c2 = await runRestic(restic!, ['check', '--read-data'], { env });
    assert.equal(c2.code, 0, c2.stdout + c2.stderr);
    const target = path.join(dir, 'restore-after-full');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(want, describeTree(path.join(target, src))), []);
  });

  it('a restore target that fills up: clear error, nothing looks complete that is not; with space back it completes', async () => {
    const repo = path.join(dir, 'restore-repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    assert.equal((await runCoffer(['backup', src], { env })).code, 0);
    const disk = path.join(dir, 'target-disk');
    mountTmpfs(disk, 20);
    const target = path.join(disk, 'target');
    const full = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(full.code, 1, `exit ${full.code}: ${full.stdout}${full.stderr}`);
    assert.match(full.stderr, /disk is full/);
    assert.doesNotMatch(full.stderr, /^\s+at /m, 'no stack trace');
    const originals = new Map([...files(src)].map(([k, v]) => [k, v]));
    for (const [rel, data] of files(path.join(target, src))) {
      if (rel.includes('.coffer-partial')) continue;
      assert.ok(originals.get(rel)?.equals(data), `${rel} is left under its real name but is not complete`);
    }
    assert.deepEqual(repoFiles(repo, 'locks'), [], 'the lock is released');
    const c = await runRestic(restic!, ['check'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);

    remount(disk, 'size=120m');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(want, describeTree(path.join(target, src))), []);
  });

  it('a source on a full file system, then remounted read-only: backed up and restored exactly', async () => {
    const disk = path.join(dir, 'source-disk');
    mountTmpfs(disk, 16);
    const s = path.join(disk, 'tree');
    makeSourceTree(s);
    // Fill the file system to the last byte.
    const fd = fs.openSync(path.join(s, 'filler'), 'w');
    const block = seededBytes('filler', MiB);
    try {
      for (;;) fs.writeSync(fd, block);
    } catch (e) {
      assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
    } finally {
      fs.closeSync(fd);
    }
    assert.throws(() => fs.writeFileSync(path.join(s, 'one-more'), 'x'.repeat(8192)), /ENOSPC/);
    fs.rmSync(path.join(s, 'one-more'), { force: true });
    const repo = path.join(dir, 'ro-repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    for (const state of ['full', 'read-only'] as const) {
      if (state === 'read-only') remount(disk, 'ro');
      const expected = describeTree(s);
      const b = await runCoffer(['backup', '--json', s], { env });
      assert.equal(b.code, 0, `${state}: ${b.stderr}`);
      const target = path.join(dir, `restore-${state}`);
      const r = await runCoffer(['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(diffTrees(expected, describeTree(path.join(target, s))), [], `${state} source`);
      fs.rmSync(target, { recursive: true, force: true });
    }
    assert.throws(() => fs.writeFileSync(path.join(s, 'x'), 'x'), /EROFS/, 'the source really is read-only');
    const c = await runRestic(restic!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
  });
});
