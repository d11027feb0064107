/**
 * Interop, Coffer -> restic: repositories Coffer writes (v1 and v2) pass the real restic's
 * `check --read-data`, restic restores them exactly, and restic's incremental backup on top of a
 * Coffer snapshot finds every file unmodified and produces the very same tree IDs.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it, before } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, subtreeId, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';

const restics = resticBinaries();


for (const version of ['2', '1'] as const) {
  describe(`coffer-written repository v${version}`, () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    let snapshotId = '';
    let tree = '';

    before(async () => {
      makeSourceTree(src, { bigFiles: true });
      const init = await runCoffer(['init', '--repository-version', version], { env });
      assert.equal(init.code, 0, init.stderr);
      const b = await runCoffer(['backup', '--json', src], { env });
      assert.equal(b.code, 0, b.stderr);
      const summary = JSON.parse(b.stdout.trim().split('\n').pop()!);
      assert.equal(summary.message_type, 'summary');
      snapshotId = summary.snapshot_id;
      const snaps = await runCoffer(['snapshots', '--json'], { env });
      tree = JSON.parse(snaps.stdout)[0].tree;
    });

    for (const restic of restics) {
      it(`${restic.name}: check --read-data passes`, async () => {
        const r = await runRestic(restic, ['check', '--read-data'], { env });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /no errors were found/);
      });

      it(`${restic.name}: restore gives back the source exactly`, async () => {
        const target = path.join(dir, `restic-restore-${restic.name}`);
        const r = await runRestic(restic, ['restore', snapshotId, '--target', target], { env });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const diffs = diffTrees(describeTree(src), describeTree(path.join(target, src)));
        assert.deepEqual(diffs, []);
      });
    }

    it('restic backup on top finds every file unmodified and the same tree', async () => {
      const restic = restics[0];
      assert.ok(restic, 'restic is needed for this test');
      const r = await runRestic(restic, ['backup', '--json', src], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      const summary = JSON.parse(r.stdout.trim().split('\n').pop()!);
      assert.equal(summary.files_new, 0);
      assert.equal(summary.files_changed, 0);
      assert.ok(summary.files_unmodified > 5);
      const snaps = JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env })).stdout) as { id: string; tree: string }[];
      const resticSnap = snaps.find((s) => s.id.startsWith(summary.snapshot_id))!;
      assert.ok(resticSnap, `restic's snapshot ${summary.snapshot_id} not listed`);
      // The folders above src change meanwhile (other tests use /tmp), so compare src's own tree.
      const ours = await subtreeId(restic, env, tree, src);
      const theirs = await subtreeId(restic, env, resticSnap.tree, src);
      assert.equal(theirs, ours, 'restic serialized the same folder differently: tree JSON differs from restic\'s');
    });

    it('coffer restores its own snapshot exactly, and --verify agrees', async () => {
      const target = path.join(dir, 'coffer-restore');
      const r = await runCoffer(['restore', 'latest', '--target', target, '--verify'], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
      const restored = describeTree(path.join(target, src));
      assert.equal(restored.get('/hardlink.txt')!.ino, restored.get('/hello.txt')!.ino, 'hard links restored as links');
    });
  });
}

describe('incremental backups', () => {
  it('a second backup reads nothing again; a change is found', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo });
    makeSourceTree(src);
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const first = JSON.parse((await runCoffer(['backup', '--json', src], { env })).stdout.trim().split('\n').pop()!);
    const second = JSON.parse((await runCoffer(['backup', '--json', src], { env })).stdout.trim().split('\n').pop()!);
    assert.equal(second.files_new, 0);
    assert.equal(second.files_changed, 0);
    assert.equal(second.files_unmodified, first.files_new);
    // Folders above src (/tmp) may change meanwhile, so new tree blobs are possible; no file data is.
    assert.equal(second.data_blobs, 0);
    fs.appendFileSync(path.join(src, 'sub', 'nested.txt'), 'more\n');
    const third = JSON.parse((await runCoffer(['backup', '--json', src], { env })).stdout.trim().split('\n').pop()!);
    assert.equal(third.files_changed, 1);
    assert.equal(third.files_new, 0);
  });
});
