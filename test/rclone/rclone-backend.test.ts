/**
 * RcloneBackend: `rclone serve restic --stdio` as a child, REST over HTTP/2 on its stdio, with
 * rclone's local backend (a plain path as the remote). Needs the rclone binary (CI installs it).
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RcloneBackend } from '../../src/node/rclone-backend.js';
import { isCofferError } from '../../src/core/errors.js';
import { runBackendSuite } from '../backend/backend-suite.js';
import { tempDir } from '../helpers/paths.js';
import { rcloneMissing } from './tool.js';

const missing = rcloneMissing();
if (missing) {
  it('rclone backend', (t) => t.skip(`missing: ${missing}`));
} else {
  runBackendSuite('rclone → serve restic --stdio → local', async () => {
    const dir = tempDir();
    return { backend: new RcloneBackend(`rclone:${dir}/repo`), cleanup: async () => undefined };
  }, { createRejectsExisting: false, atomicPut: false });

  describe('rclone child process', () => {
    it('writes into the remote in restic\'s layout and ends the child on close', async () => {
      const dir = tempDir();
      const b = new RcloneBackend(`rclone::local:${dir}/repo`);
      await b.create();
      const data = new Uint8Array([9, 8, 7]);
      const name = 'a'.repeat(64);
      await b.put({ type: 'data', name }, data);
      assert.deepEqual(fs.readFileSync(path.join(dir, 'repo', 'data', 'aa', name)), Buffer.from(data));
      await b.close();
      await assert.rejects(b.stat({ type: 'data', name }), (e: unknown) => isCofferError(e) && /rclone exited/.test((e as Error).message));
    });

    it('reports rclone\'s own error when the remote is unusable', async () => {
      const b = new RcloneBackend('rclone:no-such-remote-xyz:repo', { env: { ...process.env, RCLONE_CONFIG: path.join(tempDir(), 'none.conf') } });
      await assert.rejects(b.stat({ type: 'config', name: '' }), (e: unknown) => {
        assert.ok(isCofferError(e, 'internal'), String(e));
        assert.match((e as Error).message, /rclone exited \(status \d+\)/);
        assert.match((e as Error).message, /no-such-remote-xyz/);
        return true;
      });
      await b.close();
    });

    it('hides inline option values of a connection-string remote', () => {
      const b = new RcloneBackend('rclone::s3,access_key_id=AKIA,secret_access_key=sekrit:bucket/repo');
      assert.doesNotMatch(b.location, /sekrit|AKIA/);
      assert.equal(b.location, 'rclone::s3,access_key_id=***,secret_access_key=***:bucket/repo');
    });
  });
}
