/**
 * Awkward shapes of a source tree:
 *  - a 1,000-level deep tree: backed up, checked by restic, restored exactly through Coffer and
 *    through restic;
 *  - paths over 4 KiB (PATH_MAX): the kernel refuses them by absolute path, so Coffer does as
 *    restic 0.14 does (same entries in both snapshots, exit 3, the unreachable entry listed);
 *  - 100,000 empty files in one folder: backed up (then again, unchanged) in bounded time, a tree
 *    restic reads, restored exactly.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { lastJson } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';

const restics = resticBinaries();
const restic014 = restics.find((r) => r.name === 'restic-0.14');
const restic = restics[restics.length - 1];
/** Files in the wide folder (COFFER_AWKWARD_WIDE overrides, e.g. for a quick local run). */
const WIDE = Number(process.env.COFFER_AWKWARD_WIDE ?? 100_000);

/**
 * Creates or removes 18 nested 250-byte folders (and a file at the bottom) below `root`. Paths
 * past PATH_MAX only work relative to the current folder, so a child process walks down with
 * chdir (the shell's cd and rm -r give up on them).
 */
function longTree(root: string, op: 'create' | 'remove'): void {
  const script = `
    const fs = require('node:fs');
    const name = 'n'.repeat(250);
    process.chdir(process.argv[1]);
    if (process.argv[2] === 'create') {
      for (let i = 0; i < 18; i++) { fs.mkdirSync(name); process.chdir(name); }
      fs.writeFileSync('file.txt', 'deep\\n');
    } else {
      let depth = 0;
      while (fs.existsSync(name)) { process.chdir(name); depth++; }
      fs.rmSync('file.txt', { force: true });
      for (; depth > 0; depth--) { process.chdir('..'); fs.rmdirSync(name); }
    }`;
  execFileSync(process.execPath, ['-e', script, root, op]);
}

/** `restic ls --json latest`: type and path of every node. */
async function lsNodes(repo: string): Promise<string[]> {
  const r = await runRestic(restic014!, ['ls', '--json', 'latest'], { env: testEnv({ RESTIC_REPOSITORY: repo }) });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((n) => n.struct_type === 'node')
    .map((n) => `${n.type} ${n.path}`);
}

describe('awkward tree shapes', { skip: !(restic && restic014) && 'restic not installed' }, () => {
  it('a 1,000-level deep tree restores exactly through Coffer and restic', async () => {
    const dir = tempDir('coffer-awk-deep-');
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    const leaf = path.join(src, ...Array<string>(1000).fill('d'));
    fs.mkdirSync(leaf, { recursive: true });
    fs.writeFileSync(path.join(leaf, 'leaf.txt'), 'at the bottom\n');
    fs.writeFileSync(path.join(src, 'd', 'd', 'near-top.txt'), 'near the top\n');
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    assert.ok(lastJson(b.stdout).dirs_new > 1000, b.stdout);
    const c = await runRestic(restic!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const want = describeTree(src);
    for (const via of ['coffer', 'restic'] as const) {
      const target = path.join(dir, `restore-${via}`);
      const r = via === 'coffer' ? await runCoffer(['restore', 'latest', '--target', target], { env }) : await runRestic(restic!, ['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, `${via}: ${r.stdout}${r.stderr}`);
      assert.deepEqual(diffTrees(want, describeTree(path.join(target, src))), [], `restored through ${via}`);
    }
  });

  it('paths over 4 KiB: the same entries as restic 0.14, exit 3, the unreachable one listed', async () => {
    const dir = tempDir('coffer-awk-long-');
    const src = path.join(dir, 'src');
    fs.mkdirSync(src);
    // 18 levels of 250-byte names: 4.5 KiB, built (and removed at the end) by relative steps.
    longTree(src, 'create');
    try {
      fs.writeFileSync(path.join(src, 'short.txt'), 'short\n');
      const cofferRepo = path.join(dir, 'coffer-repo');
      const resticRepo = path.join(dir, 'restic-repo');
      const env = (repo: string) => testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
      assert.equal((await runCoffer(['init'], { env: env(cofferRepo) })).code, 0);
      assert.equal((await runRestic(restic014!, ['init'], { env: env(resticRepo) })).code, 0);
      const ours = await runCoffer(['backup', src], { env: env(cofferRepo) });
      const theirs = await runRestic(restic014!, ['backup', src], { env: env(resticRepo) });
      assert.equal(theirs.code, 3, theirs.stderr.slice(0, 500));
      assert.equal(ours.code, 3, ours.stderr.slice(0, 500));
      assert.match(ours.stderr, /1 source file could not be read/);
      assert.match(ours.stderr, /name too long/i);
      assert.deepEqual(await lsNodes(cofferRepo), await lsNodes(resticRepo));
      const c = await runRestic(restic014!, ['check'], { env: env(cofferRepo) });
      assert.equal(c.code, 0, c.stdout + c.stderr);
    } finally {
      // tempDir's clean-up at exit cannot remove paths past PATH_MAX.
      longTree(src, 'remove');
    }
  });

  it(`${WIDE} empty files in one folder: backed up twice in bounded time, restored exactly`, async (t) => {
    const dir = tempDir('coffer-awk-wide-');
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    fs.mkdirSync(src);
    for (let i = 0; i < WIDE; i++) fs.closeSync(fs.openSync(path.join(src, `f${String(i).padStart(6, '0')}`), 'w'));
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    let t0 = Date.now();
    const b1 = await runCoffer(['backup', '--json', src], { env });
    const firstMs = Date.now() - t0;
    assert.equal(b1.code, 0, b1.stderr);
    assert.equal(lastJson(b1.stdout).files_new, WIDE);
    t0 = Date.now();
    const b2 = await runCoffer(['backup', '--json', src], { env });
    const secondMs = Date.now() - t0;
    assert.equal(b2.code, 0, b2.stderr);
    assert.equal(lastJson(b2.stdout).files_unmodified, WIDE);
    t.diagnostic(`first backup ${firstMs} ms, unchanged ${secondMs} ms`);
    // Generous bounds for a shared 2-core machine; restic 0.14 takes ~4 s here.
    assert.ok(firstMs < 60_000 && secondMs < 60_000, `backups took ${firstMs} and ${secondMs} ms`);
    const c = await runRestic(restic!, ['check'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    assert.equal((await lsNodes(repo)).filter((l) => l.startsWith('file ')).length, WIDE);
    const target = path.join(dir, 'restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    // Names, types, sizes, modes and mtimes (describeTree would also read every empty file).
    const names = fs.readdirSync(src).sort();
    assert.deepEqual(fs.readdirSync(path.join(target, src)).sort(), names);
    for (const n of names) {
      const a = fs.lstatSync(path.join(src, n), { bigint: true });
      const b = fs.lstatSync(path.join(target, src, n), { bigint: true });
      const dt = a.mtimeNs > b.mtimeNs ? a.mtimeNs - b.mtimeNs : b.mtimeNs - a.mtimeNs;
      assert.ok(b.isFile() && b.size === 0n && a.mode === b.mode && dt < 1000n, `${n} restored differently`);
    }
  });
});
