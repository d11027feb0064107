/**
 * Fuzzing the REST server (server.ts): generated hostile requests against `coffer serve`'s
 * handler on a local folder, in an open mode and in an authenticated, private, append-only mode.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { repoOf } from '../../src/server/serve-app.js';
import { layoutProblem, runRawHttpFuzz, runServerFuzz } from './server.js';

const RUNS = Number(process.env.COFFER_FUZZ_SERVER_RUNS ?? 250);

test('the layout check itself: repository files pass, strays and nested repositories do not', () => {
  const id = 'a'.repeat(64);
  assert.equal(layoutProblem('config', 'x'), undefined);
  assert.equal(layoutProblem(`alice/keys/${id}`, id), undefined);
  assert.equal(layoutProblem(`data/aa/${id}`, id), undefined);
  assert.match(layoutProblem(`data/config`, 'x')!, /inside another repository/);
  assert.match(layoutProblem(`alice/data/keys/${id}`, id)!, /inside another repository/);
  assert.match(layoutProblem(`keys/${id}`, 'b'.repeat(64))!, /hash/);
  assert.match(layoutProblem('secret.txt', 'x')!, /not a repository file/);
});

test('serve: a repository path never holds a type folder name, config, or an over-long name (found by the fuzzer)', () => {
  const id = 'a'.repeat(64);
  // These used to address a repository inside another one's folders (root/data/config,
  // root/alice/data/keys/ID), which restic would then list as the outer repository's files.
  assert.equal(repoOf('/data/config', false), undefined);
  assert.equal(repoOf(`/alice/data/keys/${id}`, false), undefined);
  assert.equal(repoOf('/keys/?create=true', true), undefined);
  assert.equal(repoOf('/alice/config/', true), undefined);
  assert.equal(repoOf(`/index/locks/${id}`, false), undefined);
  // A 256-character folder name made the file system fail (ENAMETOOLONG) and the server answer 500.
  assert.equal(repoOf(`/${'x'.repeat(256)}/config`, false), undefined);
  assert.equal(repoOf(`/${'x'.repeat(255)}/config`, false), 'x'.repeat(255));
  assert.equal(repoOf(`/alice/data-2/keys/${id}`, false), 'alice/data-2');
  assert.equal(repoOf('/config', false), '');
});

test('server fuzz: every request answered with a status, no 500, nothing written outside the root or the layout, auth and append-only hold', async () => {
  const r = await runServerFuzz(RUNS);
  assert.deepEqual(r.failures, []);
  assert.ok(r.tried >= RUNS * 2);
});

test('raw HTTP fuzz: malformed requests on a real listener never take the server down nor answer 500', async () => {
  const r = await runRawHttpFuzz(Math.round(RUNS / 2));
  assert.deepEqual(r.failures, []);
  assert.ok(r.tried >= RUNS / 2 - 1);
});

test('node listener: a request target starting with // names a path, not a host (found while fuzzing)', async () => {
  const net = await import('node:net');
  const { listen } = await import('../../src/server/node-listener.js');
  const { createServeApp } = await import('../../src/server/serve-app.js');
  const { MemBackend } = await import('../../src/core/backend/mem.js');
  const backends = new Map<string, InstanceType<typeof MemBackend>>();
  const app = createServeApp({ backendFor: (repo) => { const b = new MemBackend(); backends.set(repo, b); return b; } });
  const server = await listen(app);
  try {
    // The root repository has a config; "//alice/config" used to be read as host "alice", path "/config".
    const put = await fetch(`${server.url}/config`, { method: 'POST', body: 'root config' });
    assert.equal(put.status, 200);
    const raw = (target: string): Promise<string> => new Promise((resolve) => {
      const s = net.connect(server.port, '127.0.0.1');
      let got = '';
      s.on('data', (d) => { got += d.toString('latin1'); });
      s.on('close', () => resolve(got));
      s.end(`GET ${target} HTTP/1.1\r\nHost: fuzz\r\nConnection: close\r\n\r\n`);
    });
    assert.match(await raw('//alice/config'), /^HTTP\/1\.1 404/);
    assert.match(await raw('/config'), /^HTTP\/1\.1 200[\s\S]*root config$/);
    assert.match(await raw('http://other/config'), /^HTTP\/1\.1 200/); // absolute form: its path
  } finally {
    await server.close();
    await app.close();
  }
});
