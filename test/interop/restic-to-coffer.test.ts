/**
 * Interop, restic -> Coffer: Coffer lists, browses and restores exactly what the real restic
 * wrote: the vector repositories made by restic 0.14 and fresh repositories made by every
 * restic binary available (0.14 and the current one).
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, before } from 'node:test';
import { VECTORS, tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, subtreeId, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';

for (const v of ['tiny-v1', 'tiny-v2']) {
  describe(`vector repository ${v} (restic 0.14)`, () => {
    const dir = tempDir();
    const repo = path.join(dir, 'repo');
    // The shared copy is read-only; locking needs a writable repository.
    fs.cpSync(path.join(VECTORS, 'repos', v), repo, { recursive: true });
    const env = testEnv({ COFFER_REPOSITORY: repo, COFFER_PASSWORD: 'vectors' });

    it('lists its snapshot', async () => {
      const r = await runCoffer(['snapshots', '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
      const snaps = JSON.parse(r.stdout);
      assert.equal(snaps.length, 1);
      assert.equal(snaps[0].hostname, 'vectorhost');
      assert.deepEqual(snaps[0].paths, ['/src/tiny']);
      assert.deepEqual(snaps[0].tags, ['vec']);
      assert.match(snaps[0].tree, /^c863fc75/);
    });

    it('restores every file exactly', async () => {
      const target = path.join(dir, 'restore');
      const r = await runCoffer(['restore', 'latest', '--target', target, '--verify'], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const root = path.join(target, 'src', 'tiny');
      assert.equal(fs.readFileSync(path.join(root, 'hello.txt'), 'utf8'), 'hello restic\n');
      assert.equal(fs.readFileSync(path.join(root, 'dir', 'nested.txt'), 'utf8'), 'nested file\n');
      assert.equal(fs.statSync(path.join(root, 'empty')).size, 0);
      assert.equal(fs.readlinkSync(path.join(root, 'link')), 'hello.txt');
      const zeros = fs.readFileSync(path.join(root, 'zeros.bin'));
      assert.equal(zeros.length, 525288);
      assert.ok(zeros.every((b) => b === 0));
      const st = fs.statSync(path.join(root, 'hello.txt'), { bigint: true });
      assert.equal(st.mtimeNs, 1704164645500000000n);
    });

    it('ls, dump and cat work on it', async () => {
      const ls = await runCoffer(['ls', 'latest'], { env });
      assert.equal(ls.code, 0, ls.stderr);
      for (const p of ['/src/tiny/hello.txt', '/src/tiny/dir/nested.txt', '/src/tiny/link', '/src/tiny/zeros.bin']) assert.ok(ls.stdout.includes(p + '\n'), p);
      const dump = await runCoffer(['dump', 'latest', '/src/tiny/hello.txt'], { env });
      assert.equal(dump.stdout, 'hello restic\n');
      const sub = await runCoffer(['dump', 'latest:/src/tiny', 'dir/nested.txt'], { env });
      assert.equal(sub.stdout, 'nested file\n');
      const cfg = JSON.parse((await runCoffer(['cat', 'config'], { env })).stdout);
      assert.equal(cfg.version, v === 'tiny-v1' ? 1 : 2);
    });
  });
}

for (const restic of resticBinaries()) {
  describe(`repository written by ${restic.name}`, () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });

    before(async () => {
      makeSourceTree(src, { bigFiles: true });
      assert.equal((await runRestic(restic, ['init'], { env })).code, 0);
      const b = await runRestic(restic, ['backup', src], { env });
      assert.equal(b.code, 0, b.stderr);
    });

    it('coffer restores it exactly', async () => {
      const target = path.join(dir, 'restore');
      const r = await runCoffer(['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    });

    it('coffer dumps a multi-chunk file byte for byte', async () => {
      const r = await runCoffer(['dump', 'latest', path.join(src, 'big', 'random.bin')], { env });
      assert.equal(r.code, 0, r.stderr);
      const want = createHash('sha256').update(fs.readFileSync(path.join(src, 'big', 'random.bin'))).digest('hex');
      assert.equal(createHash('sha256').update(r.stdoutBytes).digest('hex'), want);
    });

    it('a coffer backup on top reuses restic\'s parent and adds nothing', async () => {
      const r = await runCoffer(['backup', '--json', src], { env });
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(s.files_new, 0);
      assert.equal(s.files_changed, 0);
      // Folders above src change meanwhile (/tmp); src's own tree must be restic's, byte for byte.
      const snaps = JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env })).stdout) as { id: string; tree: string }[];
      const ours = snaps.find((x) => x.id === s.snapshot_id)!;
      const theirs = snaps.find((x) => x.id !== s.snapshot_id)!;
      assert.equal(await subtreeId(restic, env, ours.tree, src), await subtreeId(restic, env, theirs.tree, src));
      const check = await runRestic(restic, ['check', '--read-data'], { env });
      assert.equal(check.code, 0, check.stdout + check.stderr);
    });
  });
}
