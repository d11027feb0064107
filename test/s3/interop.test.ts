/**
 * Coffer's CLI and the real restic (0.14 and the current one) on the same S3 repositories, on a
 * real Ceph RADOS Gateway: Coffer init/backup/check --read-data/restore on `s3:…`, then restic
 * check --read-data and restore of it; and a restic-written S3 repository read by Coffer.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { S3Backend } from '../../src/core/backend/s3.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import { freshPrefix, startS3, type S3Server } from './ceph.js';

const restics = resticBinaries();

describe('S3 repositories: Coffer CLI and restic on Ceph RGW', { timeout: 300_000 }, () => {
  let server: S3Server | undefined;
  const dir = tempDir('coffer-s3-interop-');
  const src = path.join(dir, 'src');
  let repo = '';
  let env: NodeJS.ProcessEnv = {};

  before(async (t) => {
    server = await startS3(t as never);
    if (!server) return;
    makeSourceTree(src, { bigFiles: true });
    repo = `s3:${server.endpoint}/${server.bucket}/${freshPrefix('interop')}`;
    env = testEnv({
      COFFER_REPOSITORY: repo,
      RESTIC_REPOSITORY: repo,
      AWS_ACCESS_KEY_ID: server.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.secretAccessKey,
      AWS_DEFAULT_REGION: server.region,
    });
  });
  after(() => server?.stop());

  it('coffer init, backup, check --read-data and restore over s3:', async () => {
    assert.ok(server, 'S3 server');
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
    assert.ok(!(init.stdout + init.stderr).includes(server.secretAccessKey), 'secret key printed');
    const again = await runCoffer(['init'], { env });
    assert.notEqual(again.code, 0, 'init over an existing repository must fail');
    const b1 = await runCoffer(['backup', src], { env });
    assert.equal(b1.code, 0, b1.stderr);
    const b2 = await runCoffer(['backup', src], { env });
    assert.equal(b2.code, 0, b2.stderr);
    const check = await runCoffer(['check', '--read-data'], { env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const target = path.join(dir, 'coffer-restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    // restic's layout under the prefix: config, keys/<id>, data/<xx>/<id>
    const prefix = repo.slice(repo.indexOf(server.bucket) + server.bucket.length + 1);
    const be = new S3Backend({ endpoint: server.endpoint, bucket: server.bucket, prefix, credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey } });
    assert.ok((await be.stat({ type: 'config', name: '' })).size > 0);
    let packs = 0;
    for await (const _ of be.list('data')) packs++;
    assert.ok(packs > 0, 'packs listed under data/<xx>/');
  });

  for (const restic of restics) {
    it(`${restic.name}: check --read-data and restore of the Coffer-written S3 repository`, async () => {
      assert.ok(server, 'S3 server');
      const c = await runRestic(restic, ['check', '--read-data'], { env });
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.match(c.stdout, /no errors were found/);
      const target = path.join(dir, `restore-${restic.name}`);
      const r = await runRestic(restic, ['restore', 'latest', '--target', target], { env });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    });

    it(`${restic.name}: a restic-written S3 repository is read by Coffer`, async () => {
      assert.ok(server, 'S3 server');
      const other = `s3:${server.endpoint}/${server.bucket}/${freshPrefix('restic')}`;
      const renv = { ...env, COFFER_REPOSITORY: other, RESTIC_REPOSITORY: other };
      for (const args of [['init'], ['backup', src]]) {
        const r = await runRestic(restic, args, { env: renv });
        assert.equal(r.code, 0, `restic ${args.join(' ')}: ${r.stdout}${r.stderr}`);
      }
      const check = await runCoffer(['check', '--read-data'], { env: renv });
      assert.equal(check.code, 0, check.stdout + check.stderr);
      const target = path.join(dir, `coffer-from-${restic.name}`);
      const r = await runCoffer(['restore', 'latest', '--target', target], { env: renv });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    });
  }
});
