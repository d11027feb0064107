/**
 * The share store and its routes without a browser (design §2, §7): a share is served only once
 * its manifest is in; files answer Range requests; expiry (on lookup and by the sweep) and
 * revoke delete the folder and answer the same 404 as an id never seen; another account can
 * neither list, upload to nor revoke a share; uploads past the limit or of impossible sizes are
 * refused; the API needs a session; meta.json holds no name and no key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../../src/core/errors.js';
import { ShareClient } from '../../src/core/share/client.js';
import { createShare } from '../../src/core/share/create.js';
import { newShareId, openFile, openManifest, parseShareLink, sealedSize } from '../../src/core/share/format.js';
import { createShareRoutes, parseRange } from '../../src/server/share-routes.js';
import { ShareStore } from '../../src/server/share-store.js';
import type { WebUser } from '../../src/server/web-app.js';
import { tempDir } from '../helpers/paths.js';

const isCode = (code: string) => (e: unknown) => e instanceof CofferError && e.code === code;

function routesClient(store: ShareStore, user: WebUser | undefined) {
  const route = createShareRoutes({ store, assetPrefix: '/assets/x/' });
  const call = async (p: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> => {
    const url = new URL(p, 'http://127.0.0.1:1');
    const res = await route.handle(new Request(url, init), url, user);
    return res ?? new Response('unauthenticated', { status: 401 });
  };
  return { call, fetch: ((input: string, init?: RequestInit) => call(String(input).replace(/^http:\/\/s/, ''), init)) as unknown as typeof fetch };
}

test('create over the API, read publicly with Range, revoke: 404 alike', async () => {
  const store = new ShareStore(tempDir('coffer-share-store-'));
  const alice = routesClient(store, { name: 'alice' });
  const bob = routesClient(store, { name: 'bob' });
  const anon = routesClient(store, undefined);
  const client = new ShareClient({ server: 'http://s', fetch: alice.fetch });
  const original = new Uint8Array(Buffer.from('x'.repeat(3 * 1024 * 1024 + 5)));
  const made = await createShare(client, [{ name: 'secret-name.bin', mime: 'application/octet-stream', size: original.length, read: () => [original] }], { expiresIn: 3600_000, base: 'https://h' });
  const { id, key } = parseShareLink(made.url);
  assert.equal(id, made.id);

  const shell = await anon.call(`/s/${id}`);
  assert.equal(shell.status, 200);
  assert.match(await shell.text(), /dist\/src\/web\/share\/main\.js/);
  const m = await anon.call(`/s/${id}/m`);
  assert.equal(m.status, 200);
  assert.equal(openManifest(key, id, new Uint8Array(await m.arrayBuffer())).items[0]!.name, 'secret-name.bin');
  const f = await anon.call(`/s/${id}/f/0`);
  assert.equal(f.headers.get('content-length'), String(sealedSize(original.length)));
  assert.deepEqual(openFile(key, id, 0, new Uint8Array(await f.arrayBuffer())), original);
  const part = await anon.call(`/s/${id}/f/0`, { headers: { Range: 'bytes=10-19' } });
  assert.equal(part.status, 206);
  assert.equal(part.headers.get('content-range'), `bytes 10-19/${sealedSize(original.length)}`);
  assert.equal((await part.arrayBuffer()).byteLength, 10);
  assert.equal((await anon.call(`/s/${id}/f/0`, { headers: { Range: `bytes=${sealedSize(original.length)}-` } })).status, 416);
  assert.equal((await anon.call(`/s/${id}/f/1`)).status, 404);

  // The API needs a session, and a share belongs to its account.
  assert.equal((await anon.call('/api/shares')).status, 401);
  assert.deepEqual(((await (await bob.call('/api/shares')).json()) as { shares: unknown[] }).shares, []);
  assert.equal(((await (await alice.call('/api/shares')).json()) as { shares: { id: string }[] }).shares[0]!.id, id);
  assert.equal((await bob.call(`/api/shares/${id}`, { method: 'DELETE' })).status, 404);
  assert.equal((await bob.call(`/api/shares/${id}/f/9`, { method: 'PUT', body: new Uint8Array(sealedSize(1)) })).status, 404);
  // Complete shares are immutable.
  assert.equal((await alice.call(`/api/shares/${id}/f/9`, { method: 'PUT', body: new Uint8Array(sealedSize(1)) })).status, 409);

  // meta.json: sizes and dates only.
  const meta = fs.readFileSync(path.join(store.dir, id, 'meta.json'), 'utf8');
  assert.ok(!meta.includes('secret-name'));
  assert.deepEqual(Object.keys(JSON.parse(meta)).sort(), ['bytes', 'created', 'expires', 'files', 'id', 'manifest', 'owner', 'version']);

  const never = newShareId();
  const gone = async (sid: string) => [(await anon.call(`/s/${sid}`)).status, (await anon.call(`/s/${sid}/m`)).status, (await anon.call(`/s/${sid}/f/0`)).status];
  assert.deepEqual(await gone(never), [404, 404, 404]);
  assert.equal((await alice.call(`/api/shares/${id}`, { method: 'DELETE' })).status, 204);
  assert.deepEqual(await gone(id), [404, 404, 404]);
  assert.equal(fs.existsSync(path.join(store.dir, id)), false);
  assert.equal((await alice.call(`/api/shares/${id}`, { method: 'DELETE' })).status, 404);
});

test('expiry: on lookup and by the sweep; unfinished uploads are not served', async () => {
  let now = 1_800_000_000_000;
  const store = new ShareStore(tempDir('coffer-share-store-'), {}, () => now);
  const a = await store.create({ expires: now + 2000 });
  const b = await store.create({ expires: now + 2000 });
  await store.put(a.id, 0, new Uint8Array(sealedSize(4)));
  assert.equal(await store.file(a.id, 0), undefined, 'served before its manifest');
  await store.put(a.id, 'm', new Uint8Array(sealedSize(10)));
  await store.put(b.id, 'm', new Uint8Array(sealedSize(10)));
  assert.ok(await store.file(a.id, 0));
  now += 2000;
  assert.equal(await store.file(a.id, 0), undefined);
  assert.equal(fs.existsSync(path.join(store.dir, a.id)), false, 'deleted on lookup');
  assert.ok(fs.existsSync(path.join(store.dir, b.id)));
  assert.equal(await store.sweep(), 1);
  assert.equal(fs.existsSync(path.join(store.dir, b.id)), false, 'deleted by the sweep');
  // An upload never finished is dropped after a day.
  const c = await store.create({ expires: now + 7 * 86400_000 });
  now += 86400_000;
  assert.equal(await store.sweep(), 1);
  assert.equal(await store.meta(c.id), undefined);
  await assert.rejects(store.create({ expires: now - 1 }), isCode('usage'));
});

test('limits and impossible lengths are refused; files are write-once', async () => {
  const store = new ShareStore(tempDir('coffer-share-store-'), { maxShareBytes: 4096 });
  const s = await store.create({ expires: Date.now() + 60_000 });
  await assert.rejects(store.put(s.id, 0, new Uint8Array(5000)), isCode('no-space'));
  await assert.rejects(store.put(s.id, 0, new Uint8Array(10)), isCode('usage'), 'shorter than a tag');
  await store.put(s.id, 0, new Uint8Array(sealedSize(100)));
  await assert.rejects(store.put(s.id, 0, new Uint8Array(sealedSize(100))), isCode('already-exists'));
  await assert.rejects(store.put(s.id, 1, new Uint8Array(sealedSize(4000))), isCode('no-space'));
  // No temporary file left behind.
  assert.deepEqual(fs.readdirSync(path.join(store.dir, s.id, 'f')), ['0']);
  assert.deepEqual(parseRange('bytes=-5', 10), { start: 5, end: 9 });
  assert.equal(parseRange('bytes=10-', 10), null);
});
