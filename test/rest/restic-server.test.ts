/**
 * The real restic (Debian's 0.14 and the current one) against our REST server over a local-disk
 * backend: init, backup, check --read-data, restore, and an identical tree back. The folder the
 * server writes must also be a valid local restic repository (same layout as rest-server).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalBackend } from '../../src/node/local-backend.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { listen } from '../../src/server/node-listener.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';

for (const bin of resticBinaries()) {
  test(`${bin.name}: init, backup, check --read-data, restore through our REST server`, { timeout: 300_000 }, async () => {
    const work = tempDir('coffer-rest-restic-');
    const store = path.join(work, 'store');
    const src = path.join(work, 'src');
    const target = path.join(work, 'restored');
    makeSourceTree(src);
    const backend = new LocalBackend(store);
    const srv = await listen(createRestApp({ backend, prefix: '/repo/', auth: { username: 'backup', password: 'pw:with/odd@chars' } }));
    try {
      const repo = `rest:http://backup:pw%3Awith%2Fodd%40chars@127.0.0.1:${srv.port}/repo/`;
      const env = testEnv({ RESTIC_REPOSITORY: repo });
      const run = async (args: string[]) => {
        const r = await runRestic(bin, args, { env });
        assert.equal(r.code, 0, `restic ${args.join(' ')}:\n${r.stderr}`);
        return r;
      };
      await run(['init']);
      assert.ok(fs.existsSync(path.join(store, 'config')), 'config written to disk');
      await run(['backup', src, '--host', 'resthost']);
      await run(['backup', src, '--host', 'resthost']); // second, incremental
      const snaps = JSON.parse((await run(['snapshots', '--json'])).stdout) as { hostname: string }[];
      assert.equal(snaps.length, 2);
      assert.equal(snaps[0]!.hostname, 'resthost');
      await run(['check', '--read-data']);
      await run(['restore', 'latest', '--target', target]);
      const diff = diffTrees(describeTree(src), describeTree(path.join(target, src)));
      assert.deepEqual(diff, []);
      // The served folder is a plain restic repository too.
      const local = await runRestic(bin, ['-r', store, 'check'], { env: testEnv() });
      assert.equal(local.code, 0, local.stderr);
      // Wrong password: restic gives up (0.14 retries 401s for a long time, so only for newer ones).
      if (bin.name !== 'restic-0.14') {
        const bad = await runRestic(bin, ['snapshots'], { env: testEnv({ RESTIC_REPOSITORY: repo.replace('pw%3A', 'xx%3A') }) });
        assert.notEqual(bad.code, 0);
      }
    } finally {
      await srv.close();
    }
  });
}
