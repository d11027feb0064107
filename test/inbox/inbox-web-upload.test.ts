/**
 * The phone page's upload logic (src/web/inbox/stage-upload.ts) in Node against the real routes
 * and staging store: a multi-chunk file sealed and sent in pieces, with answers lost on the way
 * (the server applied the piece or the commit, the phone never heard back) and a server error to retry; the
 * staged item opens with the private key to the same bytes and the meta the core reads.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as path from 'node:path';
import { CHUNK_SIZE } from '../../src/core/crypto/chunked-gcm.js';
import { generateInboxKeyPair, InboxOpener } from '../../src/core/inbox/seal.js';
import { decodeMeta, dedupDigest } from '../../src/core/inbox/staged.js';
import { InboxStore } from '../../src/node/inbox-store.js';
import { createInboxRoute } from '../../src/server/inbox-routes.js';
import type { WebAssets } from '../../src/server/web-assets.js';
import { stageUpload } from '../../src/web/inbox/stage-upload.js';
import { randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

const TOKEN = 't'.repeat(43);

test('phone upload logic: sealed multi-chunk upload survives lost answers and a 503; the item opens to the same bytes', async (t) => {
  const pair = generateInboxKeyPair();
  const store = new InboxStore(path.join(tempDir('coffer-inbox-upload-'), 'stage'));
  const route = createInboxRoute({
    assets: { build: 'b', prefix: '/assets/b/', count: 0, get: () => undefined } as WebAssets,
    uploadToken: TOKEN,
    store: () => store,
    publicKey: () => pair.publicKey,
    origins: () => [],
    copies: () => [],
    qrSvg: () => '',
  });
  const log: string[] = [];
  let puts = 0;
  let lostCommit = false;
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input), 'http://127.0.0.1:8080');
    const req = new Request(url, init);
    const isPut = req.method === 'PUT';
    if (isPut) puts++;
    // The third PUT: a server error before anything is written (retried).
    if (isPut && puts === 3) {
      log.push(`${req.method} ${url.pathname} 503`);
      return new Response('{"error":"busy"}', { status: 503 });
    }
    const res = (await route.handle(req, url, undefined)) ?? new Response('not found', { status: 404 });
    log.push(`${req.method} ${url.pathname}${url.search} ${res.status}`);
    // The second and fifth PUTs: applied, but the answer is lost (the phone sees a network error).
    if (isPut && (puts === 2 || puts === 5)) throw new TypeError('network connection was lost');
    // And the commit's first answer too.
    if (isPut && /\/items\/[0-9a-f]{32}$/.test(url.pathname) && !lostCommit) {
      lostCommit = true;
      throw new TypeError('network connection was lost');
    }
    return res;
  }) as typeof fetch;
  t.after(() => {
    globalThis.fetch = realFetch;
  });

  const data = randomBytes(12, 5 * CHUNK_SIZE + 12345);
  const file = new File([data as Uint8Array<ArrayBuffer>], 'VID_0001.mp4', { type: 'video/mp4', lastModified: 1_700_000_000_000 });
  const thumb = randomBytes(13, 2000);
  const progress: number[] = [];
  const r = await stageUpload(file, thumb, { token: TOKEN, publicKey: pair.publicKey, source: 'upload:phone' }, (sent) => progress.push(sent));

  assert.deepEqual(store.listStaged().map((i) => i.id), [r.id]);
  const opener = new InboxOpener(pair);
  const opened = opener.open(store.readStaged(r.id, 'data')!, 'data');
  assert.ok(Buffer.from(opened).equals(Buffer.from(data)), 'the staged data opens to the file');
  assert.ok(Buffer.from(opener.open(store.readStaged(r.id, 'thumb')!, 'thumb')).equals(Buffer.from(thumb)));
  const meta = decodeMeta(opener.open(store.readStaged(r.id, 'meta')!, 'meta'), 'meta');
  assert.equal(meta.name, 'VID_0001.mp4');
  assert.equal(meta.size, data.length);
  assert.equal(meta.mtime, 1_700_000_000_000);
  assert.equal(meta.type, 'video/mp4');
  assert.equal(meta.source, 'upload:phone');
  assert.equal(meta.sha256, createHash('sha256').update(data).digest('hex'));
  assert.deepEqual(meta, r.meta);
  assert.equal(Buffer.from(store.readStaged(r.id, 'dedup')!).toString(), dedupDigest(pair.publicKey, meta.sha256) + '\n');
  // Six chunks, two per request: three pieces of data, each reported once, in order.
  assert.deepEqual(progress, [2 * CHUNK_SIZE, 4 * CHUNK_SIZE, data.length]);
  assert.ok(log.some((l) => / 503$/.test(l)), log.join('\n'));
  assert.ok(log.filter((l) => / 409$/.test(l)).length >= 3, `lost answers (a middle piece, the last piece, the commit) are recognised:\n${log.join('\n')}`);
  assert.ok(lostCommit);
});
