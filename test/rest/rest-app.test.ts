/** Routes and status codes of the REST app, in process (web Request in, Response out). */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { MemBackend } from '../../src/core/backend/mem.js';
import { createRestApp, parseRange, REST_V1, REST_V2, type RestAppOptions } from '../../src/server/rest-app.js';

const BASE = 'http://test.local/repo/';

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

async function setup(opts: Partial<RestAppOptions> = {}) {
  const backend = new MemBackend();
  const app = createRestApp({ backend, prefix: '/repo/', ...opts });
  const call = async (method: string, path: string, init: { body?: Uint8Array | string; headers?: Record<string, string> } = {}) => {
    const res = await app(new Request(BASE + path, { method, headers: init.headers ?? {}, ...(init.body !== undefined ? { body: init.body as BodyInit } : {}) }));
    return { status: res.status, headers: res.headers, body: new Uint8Array(await res.arrayBuffer()) };
  };
  return { backend, app, call };
}

const blob = new TextEncoder().encode('some sealed bytes 0123456789');
const id = sha(blob);

test('create, config create-only, HEAD/GET/DELETE of config', async () => {
  const { call } = await setup();
  assert.equal((await call('POST', '?create=true')).status, 200);
  assert.equal((await call('POST', '?create=true')).status, 200, 'create is idempotent');
  assert.equal((await call('POST', '?create=false')).status, 400);
  assert.equal((await call('GET', '')).status, 405);
  assert.equal((await call('HEAD', 'config')).status, 404);
  // config has no hash in its name: any bytes are accepted once.
  assert.equal((await call('POST', 'config', { body: 'cfg-bytes' })).status, 200);
  assert.equal((await call('POST', 'config', { body: 'other' })).status, 403, 'config is create-only');
  const head = await call('HEAD', 'config');
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('content-length'), '9');
  assert.equal(new TextDecoder().decode((await call('GET', 'config')).body), 'cfg-bytes');
  assert.equal((await call('DELETE', 'config')).status, 200);
  assert.equal((await call('HEAD', 'config')).status, 404);
  assert.equal((await call('DELETE', 'config')).status, 200, 'delete is idempotent');
});

test('uploads: hash checked against the name for every type but config, create-only', async () => {
  const { call, backend } = await setup();
  for (const type of ['data', 'keys', 'locks', 'snapshots', 'index']) {
    assert.equal((await call('POST', `${type}/${'0'.repeat(64)}`, { body: blob })).status, 400, `${type}: wrong hash`);
    assert.equal((await call('POST', `${type}/${id}`, { body: blob })).status, 200, `${type}: right hash`);
    assert.equal((await call('POST', `${type}/${id}`, { body: blob })).status, 403, `${type}: exists`);
  }
  assert.deepEqual(await backend.get({ type: 'data', name: id }), blob);
  const noVerify = await setup({ verifyUpload: false });
  assert.equal((await noVerify.call('POST', `data/${'0'.repeat(64)}`, { body: blob })).status, 200);
});

test('upload shorter than its Content-Length or over the size cap is refused', async () => {
  const { app, call } = await setup({ maxUploadBytes: 10 });
  assert.equal((await call('POST', `data/${id}`, { body: blob })).status, 507);
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new Uint8Array([1, 2, 3]));
      c.close();
    },
  });
  const res = await app(new Request(BASE + `data/${sha(new Uint8Array([1, 2, 3]))}`, { method: 'POST', body: stream, headers: { 'Content-Length': '5' }, duplex: 'half' } as RequestInit));
  assert.equal(res.status, 400);
  assert.equal((await call('HEAD', `data/${sha(new Uint8Array([1, 2, 3]))}`)).status, 404, 'nothing stored');
});

test('names and paths: 404 for bad IDs, unknown types, outside the prefix; 405 with Allow', async () => {
  const { call } = await setup();
  await call('POST', `data/${id}`, { body: blob });
  assert.equal((await call('GET', `data/${id.toUpperCase()}`)).status, 404);
  assert.equal((await call('GET', `data/${id.slice(0, 63)}`)).status, 404);
  assert.equal((await call('GET', `data/${id.slice(0, 2)}/${id}`)).status, 404);
  assert.equal((await call('GET', `tmp/${id}`)).status, 404);
  assert.equal((await call('GET', `data`)).status, 404);
  const outside = await (await setup()).app(new Request(`http://test.local/other/data/${id}`));
  assert.equal(outside.status, 404);
  const put = await call('PUT', `data/${id}`, { body: blob });
  assert.equal(put.status, 405);
  assert.match(put.headers.get('allow') ?? '', /POST/);
  assert.equal((await call('POST', 'data/')).status, 405);
});

test('listings: v2 with sizes on exact Accept, v1 names otherwise, empty type is []', async () => {
  const { call } = await setup();
  await call('POST', `snapshots/${id}`, { body: blob });
  const v2 = await call('GET', 'snapshots/', { headers: { Accept: REST_V2 } });
  assert.equal(v2.status, 200);
  assert.equal(v2.headers.get('content-type'), REST_V2);
  assert.deepEqual(JSON.parse(new TextDecoder().decode(v2.body)), [{ name: id, size: blob.length }]);
  for (const accept of [undefined, REST_V1, `${REST_V2}; q=1`]) {
    const v1 = await call('GET', 'snapshots/', { headers: accept ? { Accept: accept } : {} });
    assert.equal(v1.headers.get('content-type'), REST_V1, `Accept ${accept}`);
    assert.deepEqual(JSON.parse(new TextDecoder().decode(v1.body)), [id]);
  }
  assert.deepEqual(JSON.parse(new TextDecoder().decode((await call('GET', 'index/', { headers: { Accept: REST_V2 } })).body)), []);
});

test('ranged reads: 206 with Content-Range, truncation at the end, 416 past it', async () => {
  const { call } = await setup();
  await call('POST', `data/${id}`, { body: blob });
  const n = blob.length;
  const whole = await call('GET', `data/${id}`);
  assert.equal(whole.status, 200);
  assert.deepEqual(whole.body, blob);
  const cases: [string, number, number][] = [
    ['bytes=0-', 0, n - 1],
    ['bytes=2-5', 2, 5],
    [`bytes=${n - 3}-${n + 100}`, n - 3, n - 1],
    ['bytes=-4', n - 4, n - 1],
  ];
  for (const [range, a, b] of cases) {
    const r = await call('GET', `data/${id}`, { headers: { Range: range } });
    assert.equal(r.status, 206, range);
    assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${n}`, range);
    assert.deepEqual(r.body, blob.slice(a, b + 1), range);
  }
  const past = await call('GET', `data/${id}`, { headers: { Range: `bytes=${n}-` } });
  assert.equal(past.status, 416);
  assert.equal(past.headers.get('content-range'), `bytes */${n}`);
  assert.equal((await call('GET', `data/${'1'.repeat(64)}`)).status, 404);
  assert.deepEqual(parseRange('bytes=0-1,3-4', 10), undefined, 'multi-range: whole file');
  assert.deepEqual(parseRange('bytes=5-2', 10), undefined);
});

test('append-only: deletes refused except locks; uploads still work', async () => {
  const { call } = await setup({ appendOnly: true });
  for (const type of ['data', 'keys', 'snapshots', 'index', 'locks']) {
    assert.equal((await call('POST', `${type}/${id}`, { body: blob })).status, 200);
    const del = await call('DELETE', `${type}/${id}`);
    assert.equal(del.status, type === 'locks' ? 200 : 403, type);
  }
  assert.equal((await call('DELETE', 'config')).status, 403);
  assert.equal((await call('HEAD', `data/${id}`)).status, 200, 'still there');
  assert.equal((await call('HEAD', `locks/${id}`)).status, 404, 'lock removed');
});

test('basic auth: 401 without or with wrong credentials, no challenge header', async () => {
  const { call } = await setup({ auth: { username: 'alice', password: 'pä:ss' } });
  const basic = (s: string) => 'Basic ' + Buffer.from(s, 'utf8').toString('base64');
  const none = await call('HEAD', 'config');
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), null);
  assert.equal((await call('HEAD', 'config', { headers: { Authorization: basic('alice:wrong') } })).status, 401);
  assert.equal((await call('HEAD', 'config', { headers: { Authorization: 'Basic !!!' } })).status, 401);
  assert.equal((await call('HEAD', 'config', { headers: { Authorization: basic('alice:pä:ss') } })).status, 404);
});

test('backend failures map to statuses', async () => {
  const backend = new MemBackend();
  const failing = Object.create(backend) as MemBackend;
  failing.stat = async () => {
    throw new Error('disk on fire');
  };
  const app = createRestApp({ backend: failing, prefix: '/repo' });
  const res = await app(new Request(BASE + 'config', { method: 'HEAD' }));
  assert.equal(res.status, 500);
  assert.doesNotMatch(await res.text(), /fire/, 'internal details stay on the server');
});
