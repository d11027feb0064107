/**
 * `coffer web`'s pack reads (server/web-serve.ts withStreamedReads): chunks come from a shared
 * pool of buffers, each reused once its stream's consumer asks for the next chunk. Served by the
 * REST app over node:http as `coffer web` does, many ranged reads at once, some read slowly,
 * some aborted half way, must each return exactly the bytes on disk; other files and missing
 * packs behave as before.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { LocalBackend } from '../../src/node/local-backend.js';
import { listen } from '../../src/server/node-listener.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { withStreamedReads } from '../../src/server/web-serve.js';
import { randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { cliLike } from './web-helpers.js';

const MiB = 1024 * 1024;


/** GET with a Range header; `slow` stalls, then reads slowly; `abortAfter` bytes: cut. */
function get(url: string, range: [number, number] | undefined, slow: boolean, abortAfter?: number): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: range ? { Range: `bytes=${range[0]}-${range[1]}` } : {} }, (res) => {
      const parts: Buffer[] = [];
      let n = 0;
      res.on('data', (d: Buffer) => {
        parts.push(d);
        n += d.length;
        if (abortAfter !== undefined && n >= abortAfter) {
          req.destroy();
          resolve({ status: -1, body: Buffer.alloc(0) });
        }
        if (slow) {
          // A long stall first (the kernel's socket buffers fill, the server's write waits for
          // 'drain' with a chunk still queued), then slow reads.
          res.pause();
          setTimeout(() => res.resume(), parts.length === 1 ? 300 : 1);
        }
      });
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(parts) }));
      res.on('error', () => undefined);
    });
    req.on('error', (e) => (abortAfter !== undefined ? undefined : reject(e)));
  });
}

test('web-serve pack reads: pooled chunks stay byte-exact under concurrency, slow readers and aborts', { timeout: 60_000 }, async () => {
  const repo = tempDir('coffer-web-serve-');
  const packs: { name: string; data: Buffer }[] = [];
  for (let i = 0; i < 4; i++) {
    const name = (i + 1).toString(16).repeat(64);
    const data = Buffer.from(randomBytes(100 + i, 12 * MiB + 12345 * i));
    fs.mkdirSync(path.join(repo, 'data', name.slice(0, 2)), { recursive: true });
    fs.writeFileSync(path.join(repo, 'data', name.slice(0, 2), name), data);
    packs.push({ name, data });
  }
  fs.mkdirSync(path.join(repo, 'keys'), { recursive: true });
  fs.writeFileSync(path.join(repo, 'config'), 'not really a config');
  const server = await listen(createRestApp({ backend: withStreamedReads(cliLike(new LocalBackend(repo))), prefix: '/repo/' }));
  try {
    const url = (name: string): string => `${server.url}/repo/data/${name}`;
    const jobs: Promise<void>[] = [];
    for (let round = 0; round < 3; round++) {
      // Fast reads start while the slow ones stall with chunks queued for their sockets.
      if (round === 1) await new Promise((r) => setTimeout(r, 150));
      packs.forEach((p, i) => {
        const a = (round * 777_777 + i * 1000) % MiB;
        const b = p.data.length - 1 - ((round * 31 + i) % 5000);
        jobs.push(
          get(url(p.name), [a, b], round === 0).then((r) => {
            assert.equal(r.status, 206);
            assert.ok(r.body.equals(p.data.subarray(a, b + 1)), `pack ${i} bytes ${a}-${b} differ`);
          }),
        );
        // Aborted half way: its buffers must not end up under another response.
        jobs.push(get(url(p.name), undefined, false, 2 * MiB).then(() => undefined));
      });
    }
    jobs.push(
      get(url(packs[0]!.name), undefined, true).then((r) => {
        assert.equal(r.status, 200);
        assert.ok(r.body.equals(packs[0]!.data), 'whole pack differs');
      }),
    );
    await Promise.all(jobs);
    // After the aborts: still exact.
    for (const p of packs) assert.ok((await get(url(p.name), undefined, false)).body.equals(p.data));
    // A range past the end, a missing pack, and the config (not a pack: the backend's own stream).
    assert.equal((await get(url(packs[0]!.name), [packs[0]!.data.length + 10, packs[0]!.data.length + 20], false)).status, 416);
    assert.equal((await get(url('f'.repeat(64)), undefined, false)).status, 404);
    const config = await get(`${server.url}/repo/config`, undefined, false);
    assert.equal(config.status, 200);
    assert.equal(config.body.toString(), 'not really a config');
  } finally {
    await server.close();
  }
});
