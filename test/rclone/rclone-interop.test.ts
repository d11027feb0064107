/**
 * Coffer's CLI over `rclone:` (rclone's local backend as the remote): init, backup, restore; the
 * real restic checks the repository through its own rclone backend (`check --read-data`,
 * restore) and Coffer reads what restic adds.
 */
import { describe, it, before } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import { rcloneMissing } from './tool.js';

const missing = rcloneMissing();
if (missing) {
  it('coffer over rclone', (t) => t.skip(`missing: ${missing}`));
} else {
  describe('coffer CLI over rclone', () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    const store = path.join(dir, 'remote', 'repo');
    // rclone's "on the fly" local remote; no rclone config file needed.
    const location = `rclone::local:${store}`;
    const env = testEnv({ COFFER_REPOSITORY: location, RESTIC_REPOSITORY: location, RCLONE_CONFIG: path.join(dir, 'rclone.conf') });
    let snapshotId = '';

    before(() => makeSourceTree(src, { bigFiles: true }));

    it('init, backup and restore', { timeout: 120_000 }, async () => {
      const init = await runCoffer(['init'], { env });
      assert.equal(init.code, 0, init.stderr);
      assert.ok(fs.existsSync(path.join(store, 'config')), 'config written through rclone');
      const b = await runCoffer(['backup', '--json', src], { env });
      assert.equal(b.code, 0, b.stderr);
      snapshotId = JSON.parse(b.stdout.trim().split('\n').pop()!).snapshot_id;
      assert.match(snapshotId, /^[0-9a-f]{64}$/);
      assert.ok(fs.readdirSync(path.join(store, 'data')).length > 0, 'packs under data/');
      const target = path.join(dir, 'restore');
      const r = await runCoffer(['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    });

    for (const restic of resticBinaries()) {
      it(`${restic.name}: check --read-data over rclone passes, and it restores the snapshot`, { timeout: 120_000 }, async () => {
        assert.ok(snapshotId, 'the backup ran');
        const c = await runRestic(restic, ['check', '--read-data'], { env });
        assert.equal(c.code, 0, c.stdout + c.stderr);
        assert.match(c.stdout, /no errors were found/);
        const target = path.join(dir, `restic-restore-${restic.name}`);
        const r = await runRestic(restic, ['restore', snapshotId, '--target', target], { env });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
      });
    }

    it('coffer reads a snapshot restic added over rclone', { timeout: 120_000 }, async () => {
      const restic = resticBinaries()[0];
      assert.ok(restic, 'restic is needed');
      const extra = path.join(dir, 'extra');
      fs.mkdirSync(extra);
      fs.writeFileSync(path.join(extra, 'file.bin'), randomBytes(100_000));
      const b = await runRestic(restic, ['backup', extra], { env });
      assert.equal(b.code, 0, b.stdout + b.stderr);
      const s = await runCoffer(['snapshots', '--json'], { env });
      assert.equal(s.code, 0, s.stderr);
      assert.equal(JSON.parse(s.stdout).length, 2);
      const target = path.join(dir, 'restore-extra');
      const r = await runCoffer(['restore', 'latest', '--path', extra, '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readFileSync(path.join(target, extra, 'file.bin')), fs.readFileSync(path.join(extra, 'file.bin')));
    });

    it('an unusable remote fails with rclone\'s message and a non-zero exit code', async () => {
      const r = await runCoffer(['snapshots'], { env: { ...env, COFFER_REPOSITORY: 'rclone:no-such-remote-xyz:repo' } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /rclone exited/);
      assert.match(r.stderr, /didn't find section in config file|no-such-remote-xyz/);
    });
  });
}
