/**
 * The Backend conformance suite against a real Ceph RADOS Gateway: once with single PUTs, once
 * with a low multipart threshold so the large-file and in-flight tests go through multipart
 * uploads (5 MiB parts).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { S3Backend, type S3BackendOptions } from '../../src/core/backend/s3.js';
import { runBackendSuite, idOf } from '../backend/backend-suite.js';
import { freshPrefix, startS3, type S3Server } from './ceph.js';

let server: S3Server | undefined;
before(async (t) => {
  server = await startS3(t as never);
});
after(() => server?.stop());

function make(extra: Partial<S3BackendOptions> = {}) {
  return async () => {
    if (!server) server = await startS3();
    if (!server) throw new Error('no S3 server');
    const s = server;
    const backend = new S3Backend({
      endpoint: s.endpoint,
      bucket: s.bucket,
      prefix: freshPrefix('suite'),
      region: s.region,
      credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
      ...extra,
    });
    return { backend, cleanup: async () => undefined };
  };
}

runBackendSuite('s3 (Ceph RGW)', make());
runBackendSuite('s3 multipart (Ceph RGW)', make({ multipartThreshold: 6 * 1024 * 1024, partSize: 5 * 1024 * 1024 }), { bigSize: 12 * 1024 * 1024 + 17 });

describe('S3 specifics (Ceph RGW)', () => {
  it('lists past one page (continuation tokens) exactly once each', async () => {
    const { backend: b } = await make()();
    const names = new Set<string>();
    const files = Array.from({ length: 1100 }, (_, i) => idOf(`page-${i}`));
    const data = new Uint8Array([1, 2, 3]);
    for (let i = 0; i < files.length; i += 50) await Promise.all(files.slice(i, i + 50).map((n) => b.put({ type: 'locks', name: n }, data)));
    for await (const fi of b.list('locks')) {
      assert.ok(!names.has(fi.name), `listed twice: ${fi.name}`);
      assert.equal(fi.size, 3);
      names.add(fi.name);
    }
    assert.equal(names.size, files.length);
  });

  it('wrong secret key: permission error without the key in the message', async () => {
    if (!server) throw new Error('no S3 server');
    const secret = 'definitely-wrong-secret-' + randomBytes(4).toString('hex');
    const b = new S3Backend({ endpoint: server.endpoint, bucket: server.bucket, prefix: freshPrefix('bad'), credentials: { accessKeyId: server.accessKeyId, secretAccessKey: secret } });
    await assert.rejects(b.stat({ type: 'config', name: '' }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'permission');
      return true;
    });
    await assert.rejects(b.get({ type: 'config', name: '' }), (e: Error & { code: string }) => {
      assert.equal(e.code, 'permission');
      assert.ok(!e.message.includes(secret) && !e.message.includes(server!.secretAccessKey), e.message);
      return true;
    });
  });

  it('a failed multipart upload is aborted and leaves no object', async () => {
    if (!server) throw new Error('no S3 server');
    const calls: string[] = [];
    const b = new S3Backend({
      endpoint: server.endpoint,
      bucket: server.bucket,
      prefix: freshPrefix('abort'),
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      multipartThreshold: 5 * 1024 * 1024,
      partSize: 5 * 1024 * 1024,
      fetch: async (url, init) => {
        if (init?.method === 'PUT' && url.includes('partNumber=2')) return new Response('<Error><Code>InternalError</Code></Error>', { status: 500 });
        const res = await globalThis.fetch(url, init);
        if (url.includes('uploadId=')) calls.push(`${init?.method} ${res.status}`);
        return res;
      },
    });
    const data = randomBytes(11 * 1024 * 1024);
    const h = { type: 'data' as const, name: idOf(data) };
    await assert.rejects(b.put(h, data), { code: 'transient' });
    assert.ok(calls.includes('DELETE 204'), `abort sent: ${calls.join(', ')}`);
    await assert.rejects(b.stat(h), { code: 'not-found' });
  });

  it('the server checks the payload hash we send (a damaged body is refused)', async () => {
    if (!server) throw new Error('no S3 server');
    const good = randomBytes(10_000);
    let tamper = true;
    const b = new S3Backend({
      endpoint: server.endpoint,
      bucket: server.bucket,
      prefix: freshPrefix('tamper'),
      credentials: { accessKeyId: server.accessKeyId, secretAccessKey: server.secretAccessKey },
      fetch: (url, init) => {
        if (tamper && init?.method === 'PUT' && init.body instanceof Uint8Array) {
          const body = new Uint8Array(init.body as Uint8Array); // a copy
          body[5]! ^= 1; // flipped on the way, after signing
          return globalThis.fetch(url, { ...init, body });
        }
        return globalThis.fetch(url, init);
      },
    });
    const h = { type: 'data' as const, name: idOf(good) };
    await assert.rejects(b.put(h, good), { code: 'transient' });
    await assert.rejects(b.stat(h), { code: 'not-found' });
    tamper = false;
    await b.put(h, good);
    assert.equal(idOf(await b.get(h)), h.name);
  });
});
