/**
 * Streamed reads (rest-app over LocalBackend.openReadStream, through node-listener): whole files
 * and ranges that cross the 1 MiB read chunks come back byte-exact with the right headers; a
 * missing file is 404, a range past the end 416; the stream errors if the file shrinks.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { LocalBackend } from '../../src/node/local-backend.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { listen } from '../../src/server/node-listener.js';
import { tempDir } from '../helpers/paths.js';

const MiB = 1024 * 1024;

async function drain(s: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s).arrayBuffer());
}

test('REST GET streams files and ranges from the local backend byte-exact', async () => {
  const root = await tempDir('stream-read');
  const backend = new LocalBackend(root);
  await backend.create();
  const data = randomBytes(2 * MiB + 12345);
  const name = createHash('sha256').update(data).digest('hex');
  await backend.put({ type: 'data', name }, data);
  const srv = await listen(createRestApp({ backend }));
  try {
    const whole = await fetch(`${srv.url}/data/${name}`);
    assert.equal(whole.status, 200);
    assert.equal(whole.headers.get('content-length'), String(data.length));
    assert.ok(Buffer.from(await whole.arrayBuffer()).equals(data));

    for (const [a, b] of [[0, 0], [MiB - 3, MiB + 7], [100, 2 * MiB + 100], [2 * MiB, data.length - 1]] as const) {
      const r = await fetch(`${srv.url}/data/${name}`, { headers: { range: `bytes=${a}-${b}` } });
      assert.equal(r.status, 206);
      assert.equal(r.headers.get('content-range'), `bytes ${a}-${b}/${data.length}`);
      assert.equal(r.headers.get('content-length'), String(b - a + 1));
      assert.ok(Buffer.from(await r.arrayBuffer()).equals(data.subarray(a, b + 1)), `range ${a}-${b}`);
    }
    const suffix = await fetch(`${srv.url}/data/${name}`, { headers: { range: 'bytes=-10' } });
    assert.equal(suffix.status, 206);
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(data.subarray(data.length - 10)));
    const past = await fetch(`${srv.url}/data/${name}`, { headers: { range: `bytes=${data.length}-` } });
    assert.equal(past.status, 416);
    await past.arrayBuffer();
    const missing = await fetch(`${srv.url}/data/${'0'.repeat(64)}`);
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();
    const head = await fetch(`${srv.url}/data/${name}`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(data.length));
  } finally {
    await srv.close();
  }
});

test('openReadStream: range checks before the stream, not-found, and a file that shrinks errors the stream', async () => {
  const root = await tempDir('stream-read2');
  const backend = new LocalBackend(root);
  await backend.create();
  const data = randomBytes(3 * MiB);
  const name = createHash('sha256').update(data).digest('hex');
  const h = { type: 'data' as const, name };
  await backend.put(h, data);
  assert.ok(Buffer.from(await drain(await backend.openReadStream(h, { offset: 5, length: MiB }))).equals(data.subarray(5, 5 + MiB)));
  await assert.rejects(backend.openReadStream({ type: 'data', name: 'f'.repeat(64) }), { code: 'not-found' });
  await assert.rejects(backend.openReadStream(h, { offset: 3 * MiB + 1, length: 1 }), { code: 'range' });
  const s = await backend.openReadStream(h);
  const reader = s.getReader();
  const first = await reader.read();
  assert.equal(first.value?.length, MiB);
  const file = backend.pathOf(h);
  fs.chmodSync(file, 0o600);
  fs.truncateSync(file, MiB + 10);
  await assert.rejects(
    (async () => {
      for (;;) if ((await reader.read()).done) break;
    })(),
    { code: 'range' },
  );
});
