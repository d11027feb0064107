/**
 * server/web-app.ts in process, with a stand-in protocol: Host parsing and checks (loopback
 * names with any port, configured names, 'any'), Origin on state-changing requests, the login
 * token, account login at /login, anonymous mode, session expiry, extra /api routes, what is
 * logged (never the query), and no-store on everything but assets.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import bcrypt from 'bcryptjs';
import { createWebApp, hostName, type WebAppOptions } from '../../src/server/web-app.js';
import type { WebAssets } from '../../src/server/web-assets.js';

const assets: WebAssets = {
  build: 'b',
  prefix: '/assets/b/',
  count: 1,
  get: (p) => (p === '/' || p === '/assets/b/x.js' ? { body: new TextEncoder().encode('x'), type: 'text/plain', etag: '"e"' } : undefined),
};

function app(extra: Partial<WebAppOptions> = {}, log: string[] = []) {
  return createWebApp({
    assets,
    token: 'T'.repeat(43),
    protocol: async (_req, user) => new Response(`proto ${user ? (user.name ?? 'single') : 'anon'}`),
    protocolNeedsSession: true,
    info: (u) => ({ user: u.name ?? null }),
    log: (l) => log.push(l),
    ...extra,
  });
}

const req = (path: string, init: RequestInit & { host?: string } = {}): Request => {
  const h = new Headers(init.headers);
  h.set('host', init.host ?? '127.0.0.1:8080');
  return new Request('http://127.0.0.1:8080' + path, { ...init, headers: h });
};

async function login(a: ReturnType<typeof app>): Promise<string> {
  const r = await a(req('/?token=' + 'T'.repeat(43)));
  assert.equal(r.status, 303);
  return r.headers.get('set-cookie')!.split(';')[0]!;
}

test('hostName: names, ports, IPv6', () => {
  assert.equal(hostName('127.0.0.1:8080'), '127.0.0.1');
  assert.equal(hostName('LocalHost'), 'localhost');
  assert.equal(hostName('[::1]:9000'), '[::1]');
  assert.equal(hostName('nas.example:443'), 'nas.example');
});

test('web app: Host and Origin checks', async () => {
  const a = app({ allowedHosts: ['nas.local'] });
  const cookie = await login(a);
  for (const host of ['127.0.0.1:1', 'localhost:8080', '[::1]:8080', 'nas.local:8080', 'NAS.local']) assert.equal((await a(req('/repo/config', { host, headers: { cookie } }))).status, 200, host);
  for (const host of ['evil.example', 'nas.local.evil.example:8080', '']) assert.equal((await a(req('/repo/config', { host, headers: { cookie } }))).status, 421, host);
  const anyHost = app({ allowedHosts: 'any' });
  assert.notEqual((await anyHost(req('/', { host: 'whatever.example' }))).status, 421);
  // Writes: a foreign Origin is refused, our own or none (CLI clients) passes.
  assert.equal((await a(req('/repo/locks/x', { method: 'POST', headers: { cookie, origin: 'http://evil.example' } }))).status, 403);
  assert.equal((await a(req('/repo/locks/x', { method: 'POST', headers: { cookie, origin: 'http://127.0.0.1:8080' } }))).status, 200);
  assert.equal((await a(req('/repo/locks/x', { method: 'DELETE', headers: { cookie } }))).status, 200);
  // Reads may come with any Origin (the browser adds one to module scripts and fetches).
  assert.equal((await a(req('/repo/config', { headers: { cookie, origin: 'http://evil.example' } }))).status, 200);
});

test('web app: token, sessions, expiry, headers, api routes, log', async () => {
  const log: string[] = [];
  const a = app({ sessionMs: 50, api: { status: async () => ({ ok: 1 }) } }, log);
  assert.equal((await a(req('/?token=short'))).status, 403);
  assert.equal((await a(req('/repo/config'))).status, 401);
  const cookie = await login(a);
  const p = await a(req('/repo/config', { headers: { cookie } }));
  assert.equal(await p.text(), 'proto single');
  assert.equal(p.headers.get('cache-control'), 'no-store');
  assert.match(p.headers.get('content-security-policy') ?? '', /^default-src 'self'/);
  assert.deepEqual(await (await a(req('/api/status', { headers: { cookie } }))).json(), { ok: 1 });
  assert.equal((await a(req('/api/constructor', { headers: { cookie } }))).status, 404);
  const asset = await a(req('/assets/b/x.js'));
  assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
  assert.equal((await a(req('/assets/b/x.js', { headers: { 'if-none-match': '"e"' } }))).status, 304);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal((await a(req('/repo/config', { headers: { cookie } }))).status, 401, 'the session expired');
  assert.ok(log.length >= 8);
  assert.ok(log.every((l) => !l.includes('?') && !l.includes('T'.repeat(10))), log.join('\n'));
});

test('web app: account login at /login, anonymous mode, protocol logs left to the protocol', async () => {
  const hash = bcrypt.hashSync('pw', 4);
  const log: string[] = [];
  const a = app({ token: undefined, verify: (u, p) => u === 'alice' && bcrypt.compareSync(p, hash), protocolNeedsSession: false, logProtocol: false }, log);
  const unauth = await a(req('/api/info'));
  assert.equal(unauth.status, 401);
  assert.deepEqual(await unauth.json(), { error: 'not signed in', login: '/login' });
  assert.equal((await a(req('/login'))).status, 401);
  const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
  assert.equal((await a(req('/login', { headers: basic('alice', 'nope') }))).status, 401);
  const ok = await a(req('/login', { headers: basic('alice', 'pw') }));
  assert.equal(ok.status, 303);
  const cookie = ok.headers.get('set-cookie')!.split(';')[0]!;
  assert.deepEqual(await (await a(req('/api/info', { headers: { cookie } }))).json(), { user: 'alice' });
  assert.equal(await (await a(req('/alice/repo/config', { headers: { cookie } }))).text(), 'proto alice');
  assert.equal(await (await a(req('/alice/repo/config'))).text(), 'proto anon', 'no session: the protocol decides (Basic)');
  assert.ok(!log.some((l) => l.includes('/alice/repo/config')), 'protocol requests are logged by the protocol');
  assert.ok(log.some((l) => l.includes('GET /login 303')));
  const open = app({ token: undefined, anonymous: true, protocolNeedsSession: false });
  assert.equal((await open(req('/api/info'))).status, 200);
});
