/**
 * Coffer's CLI over SFTP against a real OpenSSH server: init, backup, restore; the real restic
 * (0.14 and the latest) checks the repository with `check --read-data` over SFTP; a wrong
 * known_hosts makes the CLI fail with a clear message and a non-zero exit code.
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import type { Service } from '../rest/services.js';
import { sftpEnv, sftpMissing, startSftp } from './server.js';

const missing = sftpMissing();
if (missing) {
  it('coffer over SFTP', (t) => t.skip(`missing: ${missing}`));
} else {
  describe('coffer CLI over SFTP', () => {
    let svc: Service;
    const dir = tempDir();
    const src = path.join(dir, 'src');
    let env: NodeJS.ProcessEnv;
    let repoPath: string;
    let snapshotId = '';

    before(async () => {
      svc = await startSftp();
      makeSourceTree(src, { bigFiles: true });
      repoPath = `${svc.env.SFTP_ROOT}/interop/repo`;
      env = testEnv({ ...sftpEnv(svc), HOME: dir, COFFER_REPOSITORY: `sftp:sftp-test:${repoPath}`, RESTIC_REPOSITORY: `sftp:sftp-test:${repoPath}` });
    });
    after(() => svc?.stop());

    it('init, backup and restore', { timeout: 120_000 }, async () => {
      const init = await runCoffer(['init'], { env });
      assert.equal(init.code, 0, init.stderr);
      assert.ok(fs.existsSync(path.join(repoPath, 'config')), 'config written on the server');
      assert.ok(fs.existsSync(path.join(repoPath, 'data', '00')), 'data shards created');
      const b = await runCoffer(['backup', '--json', src], { env });
      assert.equal(b.code, 0, b.stderr);
      snapshotId = JSON.parse(b.stdout.trim().split('\n').pop()!).snapshot_id;
      assert.match(snapshotId, /^[0-9a-f]{64}$/);
      const target = path.join(dir, 'restore');
      const r = await runCoffer(['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    });

    for (const restic of resticBinaries()) {
      it(`${restic.name}: check --read-data over sftp passes, and it restores the snapshot`, { timeout: 120_000 }, async () => {
        assert.ok(snapshotId, 'the backup ran');
        const opt = ['-o', `sftp.command=${svc.env.SFTP_RESTIC_COMMAND}`];
        const c = await runRestic(restic, [...opt, 'check', '--read-data'], { env });
        assert.equal(c.code, 0, c.stdout + c.stderr);
        assert.match(c.stdout, /no errors were found/);
        const target = path.join(dir, `restic-restore-${restic.name}`);
        const r = await runRestic(restic, [...opt, 'restore', snapshotId, '--target', target], { env });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
      });
    }

    it('coffer reads a snapshot restic added over sftp', { timeout: 120_000 }, async () => {
      const restic = resticBinaries()[0];
      assert.ok(restic, 'restic is needed');
      const extra = path.join(dir, 'extra');
      fs.mkdirSync(extra);
      fs.writeFileSync(path.join(extra, 'file.bin'), randomBytes(100_000));
      const b = await runRestic(restic, ['-o', `sftp.command=${svc.env.SFTP_RESTIC_COMMAND}`, 'backup', extra], { env });
      assert.equal(b.code, 0, b.stdout + b.stderr);
      const s = await runCoffer(['snapshots', '--json'], { env });
      assert.equal(s.code, 0, s.stderr);
      assert.equal(JSON.parse(s.stdout).length, 2);
      const target = path.join(dir, 'restore-extra');
      const r = await runCoffer(['restore', 'latest', '--path', extra, '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(fs.readFileSync(path.join(target, extra, 'file.bin')), fs.readFileSync(path.join(extra, 'file.bin')));
    });

    it('a wrong known_hosts makes the CLI fail clearly, without touching the repository', async () => {
      const kh = path.join(dir, 'wrong_known_hosts');
      const fake = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]);
      fs.writeFileSync(kh, `[${svc.env.SFTP_HOST}]:${svc.env.SFTP_PORT} ssh-ed25519 ${fake.toString('base64')}\n`);
      const r = await runCoffer(['snapshots'], { env: { ...env, COFFER_SFTP_KNOWN_HOSTS: kh } });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /HOST KEY MISMATCH/);
      assert.ok(r.stderr.includes(svc.env.SFTP_HOST_KEY_SHA256!), r.stderr);
      assert.doesNotMatch(r.stderr, /retrying/, 'a host key mismatch is not retried');
    });
  });
}
