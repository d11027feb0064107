/**
 * RestBackend against our REST app: in process (fetch → handler) for the error mapping, old
 * servers (v1 listings, Range ignored) and credentials; and over real sockets through
 * node-listener for streaming.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MemBackend } from '../../src/core/backend/mem.js';
import { RestBackend, type FetchLike } from '../../src/core/backend/rest.js';
import { CofferError } from '../../src/core/errors.js';
import { createRestApp, type RestApp, type RestAppOptions } from '../../src/server/rest-app.js';
import { listen } from '../../src/server/node-listener.js';
import type { Backend, FileType } from '../../src/core/backend/backend.js';

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
function bytes(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}
function inProcess(app: RestApp, tweak?: (req: Request) => Request): FetchLike {
  return async (url, init) => {
    const req = new Request(url, init);
    return app(tweak ? tweak(req) : req);
  };
}
async function rejectsCode(p: Promise<unknown>, code: string, msg?: string): Promise<CofferError> {
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  assert.ok(err instanceof CofferError, `${msg ?? ''}: expected CofferError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, msg);
  return err;
}
async function listAll(b: Backend, t: FileType) {
  const out: { name: string; size: number }[] = [];
  for await (const f of b.list(t)) out.push({ name: f.name, size: f.size });
  return out.sort((x, y) => x.name.localeCompare(y.name));
}
function setup(opts: Partial<RestAppOptions> = {}, tweak?: (req: Request) => Request) {
  const mem = new MemBackend();
  const app = createRestApp({ backend: mem, prefix: '/repo/', ...opts });
  const rest = new RestBackend('http://test.local/repo', { fetch: inProcess(app, tweak) });
  return { mem, app, rest };
}

test('round trip: create, put, stat, get ranges, list, delete; contract errors', async () => {
  const { rest } = setup();
  await rest.create();
  const data = bytes(1000);
  const h = { type: 'data' as const, name: sha(data) };
  await rest.put(h, data);
  await rest.put(h, data); // a retried upload that already landed is fine
  assert.deepEqual(await rest.stat(h), { name: h.name, size: 1000 });
  assert.deepEqual(await rest.get(h), data);
  assert.deepEqual(await rest.get(h, { offset: 10, length: 20 }), data.slice(10, 30));
  assert.deepEqual(await rest.get(h, { offset: 990 }), data.slice(990));
  assert.deepEqual(await rest.get(h, { offset: 1000 }), new Uint8Array(0), 'read from exactly the end');
  assert.deepEqual(await rest.get(h, { offset: 5, length: 0 }), new Uint8Array(0));
  await rejectsCode(rest.get(h, { offset: 990, length: 11 }), 'range', 'past the end');
  await rejectsCode(rest.get(h, { offset: 1001 }), 'range', 'offset past the end');
  await rejectsCode(rest.get(h, { offset: 1001, length: 0 }), 'range', 'empty range past the end');
  assert.deepEqual(await listAll(rest, 'data'), [{ name: h.name, size: 1000 }]);
  assert.deepEqual(await listAll(rest, 'index'), []);
  await rest.delete(h);
  await rejectsCode(rest.stat(h), 'not-found');
  await rejectsCode(rest.get(h), 'not-found');
  await rejectsCode(rest.delete(h), 'not-found', 'delete of a missing file');
  const cfg = { type: 'config' as const, name: '' };
  await rest.put(cfg, bytes(50));
  assert.deepEqual(await rest.get(cfg), bytes(50));
});

test('uploads: mismatched hash is corrupt; a different existing file is replaced, unless append-only', async () => {
  const { rest } = setup();
  await rejectsCode(rest.put({ type: 'index', name: 'a'.repeat(64) }, bytes(10)), 'corrupt');
  const loose = setup({ verifyUpload: false }).rest;
  await loose.put({ type: 'index', name: 'a'.repeat(64) }, bytes(10));
  await loose.put({ type: 'index', name: 'a'.repeat(64) }, bytes(11));
  assert.deepEqual(await loose.get({ type: 'index', name: 'a'.repeat(64) }), bytes(11));
  const ao = setup({ appendOnly: true }).rest;
  await ao.put({ type: 'config', name: '' }, bytes(5, 1));
  await rejectsCode(ao.put({ type: 'config', name: '' }, bytes(5, 2)), 'permission', 'replace on append-only');
  assert.deepEqual(await ao.get({ type: 'config', name: '' }), bytes(5, 1));
  await rejectsCode(rest.get({ type: 'data', name: 'xyz' }), 'internal', 'invalid names never reach the server');
});

test('append-only server: deleting a snapshot is permission, a lock can go', async () => {
  const { rest } = setup({ appendOnly: true });
  const d = bytes(64);
  await rest.put({ type: 'snapshots', name: sha(d) }, d);
  await rest.put({ type: 'locks', name: sha(d) }, d);
  await rejectsCode(rest.delete({ type: 'snapshots', name: sha(d) }), 'permission');
  await rest.delete({ type: 'locks', name: sha(d) });
});

test('credentials: from the URL userinfo or options, sent as Basic auth, never in location or messages', async () => {
  const mem = new MemBackend();
  const app = createRestApp({ backend: mem, auth: { username: 'user', password: 's3cr:et/é' } });
  const url = 'http://user:s3cr%3Aet%2F%C3%A9@test.local/';
  const rest = new RestBackend(url, { fetch: inProcess(app) });
  assert.equal(rest.location, 'rest:http://test.local/');
  await rest.create();
  await rest.put({ type: 'config', name: '' }, bytes(3));
  const viaOpts = new RestBackend('http://test.local/', { fetch: inProcess(app), username: 'user', password: 's3cr:et/é' });
  assert.equal((await viaOpts.stat({ type: 'config', name: '' })).size, 3);
  const wrong = new RestBackend('http://user:nope@test.local/', { fetch: inProcess(app) });
  const err = await rejectsCode(wrong.stat({ type: 'config', name: '' }), 'permission', '401');
  assert.doesNotMatch(err.message, /nope|s3cr/);
  const bad = new RestBackend('http://test.local/', { fetch: inProcess(app) });
  await rejectsCode(bad.get({ type: 'config', name: '' }), 'permission');
  assert.throws(() => new RestBackend('ftp://user:pw@x/'), (e: unknown) => e instanceof CofferError && !e.message.includes('pw'));
});

test('old servers: v1 listing (Accept ignored) and Range ignored still give the right answers', async () => {
  const strip = (names: string[]) => (req: Request) => {
    const headers = new Headers(req.headers);
    for (const n of names) headers.delete(n);
    return new Request(req, { headers });
  };
  const { rest, mem } = setup({}, strip(['accept', 'range']));
  const files = [bytes(10, 1), bytes(20, 2), bytes(30, 3)];
  for (const f of files) await mem.put({ type: 'snapshots', name: sha(f) }, f);
  await mem.put({ type: 'data', name: sha(files[2]!) }, files[2]!);
  assert.deepEqual(await listAll(rest, 'snapshots'), files.map((f) => ({ name: sha(f), size: f.length })).sort((x, y) => x.name.localeCompare(y.name)));
  const h = { type: 'data' as const, name: sha(files[2]!) };
  assert.deepEqual(await rest.get(h, { offset: 7, length: 5 }), files[2]!.slice(7, 12));
  await rejectsCode(rest.get(h, { offset: 25, length: 10 }), 'range');
});

test('listing oddities: null and 404 are empty, junk names skipped', async () => {
  const id = 'b'.repeat(64);
  const fake = async (url: string): Promise<Response> => {
    if (url.endsWith('/keys/')) return new Response('null', { headers: { 'Content-Type': 'application/vnd.x.restic.rest.v2' } });
    if (url.endsWith('/locks/')) return new Response('gone', { status: 404 });
    return new Response(JSON.stringify([{ name: id, size: 5 }, { name: 'tmp-file', size: 1 }, { name: id, size: 5 }]), { headers: { 'Content-Type': 'application/vnd.x.restic.rest.v2' } });
  };
  const rest = new RestBackend('http://x/', { fetch: fake });
  assert.deepEqual(await listAll(rest, 'keys'), []);
  assert.deepEqual(await listAll(rest, 'locks'), []);
  assert.deepEqual(await listAll(rest, 'index'), [{ name: id, size: 5 }]);
});

test('status and network failures map to error codes', async () => {
  const statusOf = (s: number): FetchLike => async () => new Response('x', { status: s });
  const h = { type: 'keys' as const, name: 'c'.repeat(64) };
  for (const [status, code] of [[500, 'transient'], [503, 'transient'], [429, 'transient'], [401, 'permission'], [403, 'permission'], [404, 'not-found'], [416, 'range'], [507, 'no-space']] as const) {
    await rejectsCode(new RestBackend('http://x/', { fetch: statusOf(status) }).get(h, { offset: 0, length: 4 }), code, `HTTP ${status}`);
  }
  await rejectsCode(new RestBackend('http://x/', { fetch: statusOf(507) }).put(h, bytes(3)), 'no-space');
  const down: FetchLike = async () => {
    throw new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
  };
  const err = await rejectsCode(new RestBackend('http://u:hunter2@x/', { fetch: down }).stat(h), 'transient');
  assert.doesNotMatch(err.message, /hunter2/);
  // rclone's answer to a start past the end: 206, empty body, "bytes 101-99/100".
  const rclone: FetchLike = async () => new Response(new Uint8Array(0), { status: 206, headers: { 'Content-Range': 'bytes 101-99/100' } });
  await rejectsCode(new RestBackend('http://x/', { fetch: rclone }).get(h, { offset: 101 }), 'range');
  // A short 206 body is a range error, never short data.
  const short: FetchLike = async () => new Response(new Uint8Array(3), { status: 206, headers: { 'Content-Range': 'bytes 0-2/3' } });
  await rejectsCode(new RestBackend('http://x/', { fetch: short }).get(h, { offset: 0, length: 4 }), 'range');
  // An aborted call rejects with the abort reason, not as a transient failure.
  const ac = new AbortController();
  ac.abort(new Error('stop'));
  const aborting: FetchLike = async (_u, init) => {
    init?.signal?.throwIfAborted();
    return new Response(null);
  };
  await assert.rejects(new RestBackend('http://x/', { fetch: aborting }).stat(h, { signal: ac.signal }), /stop/);
});

test('over real sockets via node-listener: a 5 MiB pack, ranges and listings stream through', async () => {
  const mem = new MemBackend();
  const srv = await listen(createRestApp({ backend: mem, prefix: '/r/' }));
  try {
    const rest = new RestBackend(`${srv.url}/r/`);
    await rest.create();
    const big = bytes(5 * 1024 * 1024, 9);
    const h = { type: 'data' as const, name: sha(big) };
    await rest.put(h, big);
    assert.deepEqual(await mem.get(h), big);
    assert.deepEqual(await rest.get(h), big);
    assert.deepEqual(await rest.get(h, { offset: big.length - 651, length: 651 }), big.slice(big.length - 651));
    assert.equal((await rest.stat(h)).size, big.length);
    assert.deepEqual(await listAll(rest, 'data'), [{ name: h.name, size: big.length }]);
    await rest.delete(h);
    assert.deepEqual(await listAll(rest, 'data'), []);
    const raw = await fetch(`${srv.url}/r/data/${h.name}`, { method: 'HEAD' });
    assert.equal(raw.status, 404);
  } finally {
    await srv.close();
  }
});
