/**
 * The inbox's server routes (src/server/inbox-routes.ts) without a browser: resumable chunked
 * PUTs at checked offsets, size limits, commit only when complete, no overwrite, Range reads and
 * deletes for the session only, the decision logged in the store, and the upload token refused
 * for anything but adding.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InboxStore } from '../../src/node/inbox-store.js';
import { createInboxRoute, MAX_PUT } from '../../src/server/inbox-routes.js';
import type { WebAssets } from '../../src/server/web-assets.js';
import type { WebUser } from '../../src/server/web-app.js';
import { tempDir } from '../helpers/paths.js';

const TOKEN = 'u'.repeat(43);
const assets = { build: 'b', prefix: '/assets/b/', count: 0, get: () => undefined } as WebAssets;

function setup(limits = {}, minFreeBytes?: number) {
  const dir = tempDir('coffer-inbox-routes-');
  const store = new InboxStore(path.join(dir, 'stage'));
  const route = createInboxRoute({
    assets,
    uploadToken: TOKEN,
    store: () => store,
    publicKey: () => new Uint8Array(32).fill(7),
    origins: () => ['http://192.0.2.5:8080'],
    hostname: 'box',
    username: 'me',
    copies: () => [{ name: 'cloud', excludeTags: ['private'], onlyTags: [] }],
    qrSvg: (t) => `<svg>${t.length}</svg>`,
    limits,
    ...(minFreeBytes !== undefined ? { minFreeBytes } : {}),
  });
  const call = async (method: string, p: string, opts: { body?: Uint8Array | string; user?: WebUser; token?: string; headers?: Record<string, string> } = {}) => {
    const url = new URL(p, 'http://127.0.0.1:8080');
    const headers: Record<string, string> = { ...(opts.headers ?? {}), ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}) };
    const req = new Request(url, { method, headers, ...(opts.body !== undefined ? { body: opts.body as BodyInit } : {}) });
    return route.handle(req, url, opts.user);
  };
  return { dir, store, call };
}

const ID = '0123456789abcdef0123456789abcdef';
const me: WebUser = {};

test('inbox routes: a resumable chunked upload, committed only when complete, then read and decided by the session', async () => {
  const { store, call } = setup();
  const data = new Uint8Array(3000).map((_, i) => (i * 7) & 0xff);
  // Pieces at checked offsets; a wrong offset says where the server is.
  let r = (await call('PUT', `/api/inbox/items/${ID}/data?offset=0`, { body: data.subarray(0, 1000), token: TOKEN }))!;
  assert.equal(r.status, 200);
  r = (await call('PUT', `/api/inbox/items/${ID}/data?offset=0`, { body: data.subarray(0, 1000), token: TOKEN }))!;
  assert.equal(r.status, 409);
  assert.equal(((await r.json()) as { size: number }).size, 1000);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}`, { token: TOKEN }))!.status, 409, 'not complete yet');
  r = (await call('PUT', `/api/inbox/items/${ID}/data?offset=1000&last=1`, { body: data.subarray(1000), token: TOKEN }))!;
  assert.equal(r.status, 200);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/data?offset=3000`, { body: 'x', token: TOKEN }))!.status, 409, 'a complete part is final');
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/meta?offset=0&last=1`, { body: 'sealed-meta', token: TOKEN }))!.status, 200);
  assert.deepEqual(store.listStaged(), [], 'nothing listed before the commit');
  assert.equal((await call('PUT', `/api/inbox/items/${ID}`, { token: TOKEN }))!.status, 201);
  assert.deepEqual(store.listStaged().map((i) => i.id), [ID]);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/thumb?offset=0&last=1`, { body: 'x', token: TOKEN }))!.status, 409, 'no overwrite or addition after the commit');
  assert.ok(!fs.readdirSync(path.join(store.dir, 'items', ID)).some((n) => n.endsWith('.up')));

  // The upload token adds only; without anything it is 401.
  for (const [m, p] of [['GET', '/api/inbox/items'], ['GET', `/api/inbox/items/${ID}/data`], ['DELETE', `/api/inbox/items/${ID}`]] as const) {
    assert.equal((await call(m, p, { token: TOKEN }))!.status, 403, `${m} ${p} with the upload token`);
    assert.equal((await call(m, p))!.status, 401, `${m} ${p} without a session`);
  }
  assert.equal((await call('PUT', `/api/inbox/items/${'f'.repeat(32)}/data?offset=0`, { body: 'x', token: 'v'.repeat(43) }))!.status, 403);

  // The session lists, reads (with Range) and deletes.
  const list = (await (await call('GET', '/api/inbox/items', { user: me }))!.json()) as { items: { id: string; sizes: Record<string, number> }[] };
  assert.deepEqual(list.items.map((i) => [i.id, i.sizes.data, i.sizes.meta, i.sizes.thumb]), [[ID, 3000, 11, 0]]);
  r = (await call('GET', `/api/inbox/items/${ID}/data`, { user: me, headers: { Range: 'bytes=1000-1999' } }))!;
  assert.equal(r.status, 206);
  assert.deepEqual(new Uint8Array(await r.arrayBuffer()), data.subarray(1000, 2000));
  assert.deepEqual(new Uint8Array(await (await call('GET', `/api/inbox/items/${ID}/data`, { user: me }))!.arrayBuffer()), data);
  const sha = 'ab'.repeat(32);
  assert.equal((await call('DELETE', `/api/inbox/items/${ID}?decision=approve&sha256=${sha}`, { user: me }))!.status, 400, 'a stored item names its snapshot');
  assert.equal((await call('DELETE', `/api/inbox/items/${ID}?decision=approve&sha256=${sha}&snapshot=${'cd'.repeat(32)}`, { user: me }))!.status, 204);
  assert.deepEqual(store.listStaged(), []);
  assert.deepEqual(store.readDecisions().map((d) => [d.sha256, d.decision, d.snapshot]), [[sha, 'approve', 'cd'.repeat(32)]]);
  assert.equal((await call('DELETE', `/api/inbox/items/${ID}`, { user: me }))!.status, 404);
});

test('inbox routes: size limits per request and per part; the page, the key and the setup', async () => {
  const { call } = setup({ meta: 100 });
  const big = new Uint8Array(MAX_PUT + 1);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/data?offset=0`, { body: big, token: TOKEN }))!.status, 413);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/meta?offset=0`, { body: new Uint8Array(60), token: TOKEN }))!.status, 200);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/meta?offset=60`, { body: new Uint8Array(60), token: TOKEN }))!.status, 413);
  assert.equal((await call('PUT', `/api/inbox/items/not-an-id/data?offset=0`, { body: 'x', token: TOKEN }))!.status, 404);
  assert.equal((await call('PUT', `/api/inbox/items/${ID}/other?offset=0`, { body: 'x', token: TOKEN }))!.status, 404);

  const page = (await call('GET', `/u/${TOKEN}`))!;
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<script type="module" src="\/assets\/b\/dist\/src\/web\/inbox\/upload\.js">/);
  assert.equal((await call('GET', `/u/${'x'.repeat(43)}`))!.status, 404);
  const key = (await (await call('GET', '/api/inbox/key'))!.json()) as { publicKey: string };
  assert.deepEqual(new Uint8Array(Buffer.from(key.publicKey, 'base64url')), new Uint8Array(32).fill(7));
  assert.equal(await call('GET', '/api/inbox/setup'), undefined, 'the generic 401 answers without a session');
  const s = (await (await call('GET', '/api/inbox/setup', { user: me }))!.json()) as { uploadUrls: string[]; qrSvg: string; hostname: string; copies: unknown[] };
  assert.deepEqual(s.uploadUrls, [`http://192.0.2.5:8080/u/${TOKEN}`]);
  assert.equal(s.qrSvg, `<svg>${s.uploadUrls[0]!.length}</svg>`);
  assert.equal(s.hostname, 'box');
  assert.deepEqual(s.copies, [{ name: 'cloud', excludeTags: ['private'], onlyTags: [] }]);
  assert.equal(await call('GET', '/api/other'), undefined, 'other paths pass on');

  // A staging disk without room refuses uploads (a stranger with the upload address cannot fill it).
  const full = setup({}, Number.MAX_SAFE_INTEGER);
  assert.equal((await full.call('PUT', `/api/inbox/items/${ID}/data?offset=0`, { body: 'x', token: TOKEN }))!.status, 507);
});

test('inbox routes: the signed-in page hands over the public key once; a different one is refused', async () => {
  let key: Uint8Array | undefined;
  const remembered: string[] = [];
  const route = createInboxRoute({
    assets, uploadToken: TOKEN, store: () => undefined, publicKey: () => key, origins: () => [], copies: () => [], qrSvg: () => '',
    rememberKey: (repoId, pk) => {
      remembered.push(repoId);
      key = pk;
    },
  });
  const post = (body: unknown, user?: WebUser) => {
    const url = new URL('http://127.0.0.1/api/inbox/key');
    return route.handle(new Request(url, { method: 'POST', body: JSON.stringify(body) }), url, user) as Promise<Response>;
  };
  const pk = Buffer.alloc(32, 9).toString('base64url');
  const repoId = 'ab'.repeat(32);
  assert.equal((await post({ publicKey: pk, repoId })).status, 401);
  assert.equal((await post({ publicKey: 'short', repoId }, me)).status, 400);
  assert.equal((await post({ publicKey: pk, repoId: 'nope' }, me)).status, 400);
  assert.equal((await post({ publicKey: pk, repoId }, me)).status, 201);
  assert.deepEqual(remembered, [repoId]);
  assert.equal((await post({ publicKey: pk, repoId }, me)).status, 200, 'the same key again is fine');
  assert.equal((await post({ publicKey: Buffer.alloc(32, 1).toString('base64url'), repoId }, me)).status, 409, 'never replaced from the web');
  assert.deepEqual(remembered, [repoId]);
  // Without a store (no key yet), uploads are refused and the session's list is empty.
  const url = new URL(`http://127.0.0.1/api/inbox/items`);
  assert.equal((await (route.handle(new Request(url), url, me) as Promise<Response>)).status, 200);
});
