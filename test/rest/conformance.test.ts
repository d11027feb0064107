/**
 * The shared Backend conformance suite through the REST stack: RestBackend → node:http →
 * our REST app → MemBackend. The suite writes names
 * that are not the hash of their content, so our server runs without upload verification (as
 * rest-server --no-verify-upload); creating over an existing repository succeeds on REST servers.
 */
import { MemBackend } from '../../src/core/backend/mem.js';
import { RestBackend } from '../../src/core/backend/rest.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { listen } from '../../src/server/node-listener.js';
import { runBackendSuite } from '../backend/backend-suite.js';

runBackendSuite(
  'rest → our server → mem',
  async () => {
    const srv = await listen(createRestApp({ backend: new MemBackend(), prefix: '/suite/', verifyUpload: false, auth: { username: 'u', password: 'p@ss' } }));
    const backend = new RestBackend(`http://u:p%40ss@${srv.url.slice('http://'.length)}/suite/`);
    return { backend, cleanup: () => srv.close() };
  },
  { createRejectsExisting: false },
);

// Not run against rclone 1.60's `serve restic`: it writes uploads in place, so a listing during
// an upload shows the partial size (the suite's atomicity test fails). rclone.test.ts covers the
// rest of RestBackend against it.
