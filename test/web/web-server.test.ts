/**
 * `coffer web`'s server side, as a child process, from Node's fetch: the token login (303, the
 * cookie's flags, a wrong token refused), what needs a session (/repo/, /api/), /api/info, the
 * security headers of design §2 on every answer, Host and Origin checks, immutable assets, the
 * request log (no query, no token), and that it starts without any password and refuses a
 * missing repository with exit 10.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { mustRun, startWeb, webEnv } from './web-helpers.js';

const HEADERS = {
  'content-security-policy': /^default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'$/,
  'x-content-type-options': /^nosniff$/,
  'referrer-policy': /^no-referrer$/,
  'cross-origin-opener-policy': /^same-origin$/,
  'cross-origin-resource-policy': /^same-origin$/,
  'permissions-policy': /camera=\(\).*microphone=\(\).*geolocation=\(\)/,
};

function checkHeaders(r: Response, what: string): void {
  for (const [k, re] of Object.entries(HEADERS)) assert.match(r.headers.get(k) ?? '', re, `${k} on ${what}`);
}

test('coffer web: token login, sessions, headers, Host and Origin checks, log', { timeout: 60_000 }, async () => {
  const dir = tempDir('coffer-web-srv-');
  const repo = path.join(dir, 'repo');
  await mustRun(['-r', repo, 'init'], { env: testEnv() }, 0);
  // COFFER_PASSWORD is set to something else entirely: coffer web must neither need nor use it.
  const server = await startWeb(repo, webEnv({ COFFER_PASSWORD: 'never-used-by-web' }));
  const base = `http://127.0.0.1:${server.port}`;
  try {
    assert.match(server.stdout(), /^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}\n$/, 'the URL alone on a line');

    // No session yet: the app shell loads, the data does not.
    const shell = await fetch(base + '/');
    assert.equal(shell.status, 200);
    checkHeaders(shell, '/');
    const html = await shell.text();
    const script = /<script type="module" src="([^"]+)"/.exec(html)?.[1];
    assert.ok(script?.startsWith('/assets/'), html);
    assert.ok(!/<script>|<script type="importmap"/.test(html), 'no inline script');
    assert.equal((await fetch(base + '/repo/config')).status, 401);
    assert.equal((await fetch(base + '/api/info')).status, 401);

    // Assets: hashed URL, immutable; the worker and core are served the same way.
    const js = await fetch(base + script!);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    checkHeaders(js, script!);
    const body = await js.text();
    assert.ok(!/from\s*['"]@/.test(body), 'bare specifiers rewritten');
    const prefix = script!.slice(0, script!.indexOf('dist/'));
    for (const p of ['dist/src/web/worker/worker.js', 'dist/src/core/repository/open.js', 'node_modules/@noble/hashes/scrypt.js', 'node_modules/@bokuweb/zstd-wasm/dist/web/zstd.wasm']) {
      const r = await fetch(base + prefix + p);
      assert.equal(r.status, 200, p);
      await r.arrayBuffer();
    }
    assert.notEqual((await fetch(base + prefix + '../../package.json')).status, 200);
    assert.equal((await fetch(base + prefix + 'package.json')).status, 404);
    assert.equal((await fetch(base + '/assets/x/dist/src/cli/main.js')).status, 404);
    const sw = await fetch(base + '/sw.js');
    assert.equal(sw.status, 200);
    assert.equal(sw.headers.get('service-worker-allowed'), '/');

    // A wrong token, then the right one.
    const bad = await fetch(base + '/?token=' + 'A'.repeat(43), { redirect: 'manual' });
    assert.equal(bad.status, 403);
    assert.equal(bad.headers.get('set-cookie'), null);
    const login = await fetch(server.url, { redirect: 'manual' });
    assert.equal(login.status, 303);
    assert.equal(login.headers.get('location'), '/');
    const cookie = login.headers.get('set-cookie') ?? '';
    assert.match(cookie, /^coffer_session=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/);
    assert.equal(login.headers.get('cache-control'), 'no-store');
    checkHeaders(login, 'login');
    const session = cookie.split(';')[0]!;

    const info = await fetch(base + '/api/info', { headers: { cookie: session } });
    assert.equal(info.status, 200);
    assert.equal(info.headers.get('cache-control'), 'no-store');
    const j = (await info.json()) as { version: string; repo: string; features: string[] };
    assert.equal(j.repo, '/repo/');
    assert.ok(Array.isArray(j.features) && j.version);
    const config = await fetch(base + '/repo/config', { headers: { cookie: session } });
    assert.equal(config.status, 200);
    assert.equal(config.headers.get('cache-control'), 'no-store');
    checkHeaders(config, '/repo/config');
    const keys = await fetch(base + '/repo/keys/', { headers: { cookie: session, accept: 'application/vnd.x.restic.rest.v2' } });
    assert.equal(keys.status, 200);
    assert.equal(((await keys.json()) as unknown[]).length, 1);

    // DNS rebinding: an unknown Host is refused, even with a session.
    const { request } = await import('node:http');
    const status = (headers: Record<string, string>, method = 'GET', p = '/repo/config'): Promise<number> =>
      new Promise((resolve, reject) => {
        const r = request({ host: '127.0.0.1', port: server.port, path: p, method, headers }, (res) => {
          res.resume();
          resolve(res.statusCode!);
        });
        r.on('error', reject);
        r.end();
      });
    assert.equal(await status({ host: `evil.example:${server.port}`, cookie: session }), 421);
    assert.equal(await status({ host: `localhost:${server.port}`, cookie: session }), 200);
    // A state-changing request from another origin is refused; from ours it reaches the REST app.
    const lock = '/repo/locks/' + 'ab'.repeat(32);
    assert.equal(await status({ host: `127.0.0.1:${server.port}`, cookie: session, origin: 'http://evil.example' }, 'DELETE', lock), 403);
    assert.equal(await status({ host: `127.0.0.1:${server.port}`, cookie: session, origin: base }, 'DELETE', lock), 200);
    assert.equal(await status({ host: `127.0.0.1:${server.port}` }, 'DELETE', lock), 401);
    // Logout ends the session.
    assert.equal((await fetch(base + '/logout', { method: 'POST', headers: { cookie: session, origin: base } })).status, 204);
    assert.equal((await fetch(base + '/repo/config', { headers: { cookie: session } })).status, 401);
  } finally {
    assert.equal(await server.stop(), 0, 'SIGTERM stops it cleanly');
  }
  const log = server.stderr();
  assert.match(log, /GET \/repo\/config 200 155 \d+ms/);
  assert.match(log, /GET \/ 303 /);
  assert.ok(!log.includes(server.token) && !log.includes('token='), 'the log never holds the token');
  assert.ok(!log.includes('never-used-by-web') && !server.stdout().includes('never-used-by-web'));
});

test('coffer web: a missing repository is exit 10; a bad --listen is a usage error', async () => {
  const dir = tempDir('coffer-web-srv-');
  const r = await runCoffer(['-r', path.join(dir, 'none'), 'web', '--listen', '127.0.0.1:0'], { env: webEnv() });
  assert.equal(r.code, 10, r.stderr);
  assert.match(r.stderr, /no repository/);
  const u = await runCoffer(['-r', path.join(dir, 'none'), 'web', '--listen', 'nonsense'], { env: webEnv() });
  assert.notEqual(u.code, 0);
  assert.match(u.stderr, /--listen/);
});
