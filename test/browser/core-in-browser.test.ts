/**
 * The core in a real browser (headless Chromium): the crypto libraries reproduce a restic seal
 * vector, zstd WebAssembly round-trips (and Node reads the page's frame), the web platform suite
 * when it exists, and RestBackend lists and reads repos/tiny-v2 through our REST server.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { ROOT, VECTORS, readVector } from '../helpers/paths.js';
import { requireBrowser, withBrowserPage } from './harness.js';

const TINY_V2 = path.join(VECTORS, 'repos', 'tiny-v2');

interface SealCase {
  plaintext_hex: string;
  nonce_hex: string;
  sealed_hex: string;
}
const seal = readVector<{ restic_seal: { encrypt_key_hex: string; mac_k_hex: string; mac_r_hex_unclamped: string; cases: SealCase[] } }>('crypto.json').restic_seal;

test('browser: @noble reproduces restic seal vectors; zstd wasm round-trips', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const result = await withBrowserPage({}, (page) =>
    page.evaluate(async (v) => {
      const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const unhex = (s: string) => new Uint8Array((s.match(/../g) ?? []).map((x) => parseInt(x, 16)));
      const { ctr, ecb } = await import('@noble/ciphers/aes.js' as string);
      const { poly1305 } = await import('@noble/ciphers/_poly1305.js' as string);
      const sealed = v.cases.map((c) => {
        const iv = unhex(c.nonce_hex);
        const ct: Uint8Array = ctr(unhex(v.encrypt_key_hex), iv).encrypt(unhex(c.plaintext_hex));
        const s: Uint8Array = ecb(unhex(v.mac_k_hex), { disablePadding: true }).encrypt(iv);
        const key = new Uint8Array(32);
        key.set(unhex(v.mac_r_hex_unclamped));
        key.set(s, 16);
        const tag: Uint8Array = poly1305(ct, key);
        return hex(iv) + hex(ct) + hex(tag);
      });
      const zstd = await import('@bokuweb/zstd-wasm' as string);
      await zstd.init();
      const input = new TextEncoder().encode('coffer '.repeat(5000));
      const frame: Uint8Array = zstd.compress(input, 3);
      const back: Uint8Array = zstd.decompress(frame);
      return { sealed, frameHex: hex(frame), roundTrip: back.length === input.length && back.every((x, i) => x === input[i]), userAgent: navigator.userAgent };
    }, seal),
  );
  assert.match(result.userAgent, /HeadlessChrome|Chrome/);
  assert.deepEqual(result.sealed, seal.cases.map((c) => c.sealed_hex));
  assert.equal(result.roundTrip, true);
  assert.ok(result.frameHex.startsWith('28b52ffd'), 'a zstd frame');
  assert.ok(result.frameHex.length / 2 < 35000 / 4, 'actually compressed');
  // The page's frame is a real zstd frame: Node's build of the same library reads it.
  const require = createRequire(path.join(ROOT, 'package.json'));
  const nodeZstd = require('@bokuweb/zstd-wasm') as { init(): Promise<void>; decompress(b: Uint8Array): Uint8Array };
  await nodeZstd.init();
  assert.equal(Buffer.from(nodeZstd.decompress(Buffer.from(result.frameHex, 'hex'))).toString(), 'coffer '.repeat(5000));
});

test('browser: webPlatform() seals the vector and round-trips zstd', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  if (!fs.existsSync(path.join(ROOT, 'src', 'core', 'platform-web.ts'))) {
    t.skip('src/core/platform-web.ts has not landed yet');
    return;
  }
  const result = await withBrowserPage({}, (page) =>
    page.evaluate(async (v) => {
      const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      const unhex = (s: string) => new Uint8Array((s.match(/../g) ?? []).map((x) => parseInt(x, 16)));
      const mod = await import('/dist/src/core/platform-web.js' as string);
      const platform = await mod.webPlatform();
      const c = platform.crypto;
      const out = v.cases.map((k) => {
        const iv = unhex(k.nonce_hex);
        const ct: Uint8Array = c.aes256Ctr(unhex(v.encrypt_key_hex), iv, unhex(k.plaintext_hex));
        const key = new Uint8Array(32);
        key.set(unhex(v.mac_r_hex_unclamped));
        key.set(c.aes128Block(unhex(v.mac_k_hex), iv), 16);
        return hex(iv) + hex(ct) + hex(c.poly1305(key, ct));
      });
      const input = new TextEncoder().encode('restic '.repeat(3000));
      const z = platform.zstd;
      const back: Uint8Array = z.decompress(z.compress(input, 3), { expectedSize: input.length });
      return { out, sha: hex(c.sha256(new TextEncoder().encode('abc'))), roundTrip: back.length === input.length && back.every((x, i) => x === input[i]) };
    }, seal),
  );
  assert.deepEqual(result.out, seal.cases.map((c) => c.sealed_hex));
  assert.equal(result.sha, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.equal(result.roundTrip, true);
});

test('browser: RestBackend lists and reads repos/tiny-v2 through our REST server', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const snapDir = path.join(TINY_V2, 'snapshots');
  const expected = fs.readdirSync(snapDir).map((name) => ({ name, size: fs.statSync(path.join(snapDir, name)).size }));
  const packs = fs.readdirSync(path.join(TINY_V2, 'data')).flatMap((s) => fs.readdirSync(path.join(TINY_V2, 'data', s)));
  assert.ok(expected.length > 0 && packs.length > 0);
  const pack = packs[0]!;
  const packBytes = fs.readFileSync(path.join(TINY_V2, 'data', pack.slice(0, 2), pack));
  const result = await withBrowserPage({ repoDir: TINY_V2, auth: { username: 'web', password: 'pw' } }, (page, baseUrl) =>
    page.evaluate(
      async ({ base, pack, size }) => {
        const { RestBackend } = await import('/dist/src/core/backend/rest.js' as string);
        const b = new RestBackend(base.replace('http://', 'http://web:pw@') + '/repo/');
        const snapshots: { name: string; size: number }[] = [];
        for await (const f of b.list('snapshots')) snapshots.push(f);
        const whole: Uint8Array<ArrayBuffer> = await b.get({ type: 'data', name: pack });
        const tail: Uint8Array = await b.get({ type: 'data', name: pack }, { offset: size - 40, length: 40 });
        const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', whole));
        let missing = '';
        try {
          await b.stat({ type: 'index', name: 'f'.repeat(64) });
        } catch (e) {
          missing = (e as { code: string }).code;
        }
        const hex = (x: Uint8Array) => Array.from(x, (v) => v.toString(16).padStart(2, '0')).join('');
        return { snapshots, location: b.location as string, digest: hex(digest), tail: hex(tail), missing };
      },
      { base: baseUrl, pack, size: packBytes.length },
    ),
  );
  assert.deepEqual(result.snapshots, expected);
  assert.equal(result.digest, pack, 'the pack read in the page hashes to its name');
  assert.equal(result.tail, packBytes.subarray(packBytes.length - 40).toString('hex'));
  assert.equal(result.missing, 'not-found');
  assert.doesNotMatch(result.location, /pw/);
  assert.equal(createHash('sha256').update(packBytes).digest('hex'), pack);
});
