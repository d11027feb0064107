/**
 * zstd (spec §8) through both Compressors: round trips and cross-decoding wasm ↔ native, frames
 * with and without content size / checksum (made by the zstd CLI), several frames, restic's own
 * compressed blobs from repos/tiny-v2, the expectedSize/maxSize limits, and hostile input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as nc from 'node:crypto';
import { concatBytes, fromHex, readUint32LE, toHex, utf8Encode } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import type { Compressor } from '../../src/core/compress/compressor.js';
import { createWasmZstd } from '../../src/core/compress/zstd-wasm.js';
import { scanFrames } from '../../src/core/compress/zstd-frames.js';
import { open } from '../../src/core/crypto/sealed-box.js';
import { createNativeZstd } from '../../src/node/zstd-native.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { nodePlatform } from '../../src/node/platform.js';
import { ROOT, readVector, VECTORS } from '../helpers/paths.js';

const wasm = await createWasmZstd();
const native = createNativeZstd();
const ALL: Compressor[] = native ? [wasm, native] : [wasm];

/** "hello zstd frames, hello zstd frames, hello!" as written by `zstd` 1.5 with different flags. */
const TEXT = 'hello zstd frames, hello zstd frames, hello!';
const CLI_FRAMES = {
  noSizeNoChecksum: '28b52ffd0000d50000a068656c6c6f207a737464206672616d65732c202101000d9c61',
  sizeAndChecksum: '28b52ffd242cd50000a068656c6c6f207a737464206672616d65732c202101000d9c611027737c',
  sizeNoChecksum: '28b52ffd202cd50000a068656c6c6f207a737464206672616d65732c202101000d9c61',
  noSizeChecksum: '28b52ffd0400d50000a068656c6c6f207a737464206672616d65732c202101000d9c611027737c',
};

function sourceText(): Uint8Array {
  // Realistic compressible input: this project's own source files.
  const parts: Uint8Array[] = [];
  for (const dir of ['src/core', 'src/node', 'src/cli']) {
    const abs = path.join(ROOT, dir);
    if (!fs.existsSync(abs)) continue;
    for (const f of fs.readdirSync(abs, { recursive: true }) as string[]) if (f.endsWith('.ts')) parts.push(fs.readFileSync(path.join(abs, f)));
  }
  return concatBytes(...parts);
}

function isCorrupt(e: unknown): boolean {
  return isCofferError(e, 'corrupt');
}

/** A frame without content size made of raw blocks (header by hand, RFC 8878 §3.1.1). */
function rawBlocksFrame(blocks: Uint8Array[], windowDescriptor = 0x58): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, 0x00, windowDescriptor])];
  blocks.forEach((b, i) => {
    const h = (b.length << 3) | (0 << 1) | (i === blocks.length - 1 ? 1 : 0);
    parts.push(new Uint8Array([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), b);
  });
  return concatBytes(...parts);
}

/** A frame of `n` RLE blocks of 128 KiB each, without or with a (possibly false) content size. */
function rleFrame(n: number, fcs8?: bigint): Uint8Array {
  const header = fcs8 === undefined ? [0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x58] : [0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x58, ...new Uint8Array(new BigUint64Array([fcs8]).buffer)];
  const parts: number[] = [...header];
  for (let i = 0; i < n; i++) {
    const h = ((128 * 1024) << 3) | (1 << 1) | (i === n - 1 ? 1 : 0);
    parts.push(h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff, 0x61);
  }
  return new Uint8Array(parts);
}

test('native zstd addon is present here (else only wasm is tested)', (t) => {
  if (!native) t.diagnostic('zstd-napi not available: native tests skipped');
  assert.ok(wasm.name.length > 0);
});

for (const z of ALL) {
  test(`${z.name}: round trips; the frame records the content size`, () => {
    const inputs = [new Uint8Array(0), new Uint8Array([7]), utf8Encode(TEXT), sourceText(), new Uint8Array(nc.randomBytes(300_000)), new Uint8Array(3 << 20)];
    for (const input of inputs) {
      for (const level of [1, 3, 11]) {
        const frame = z.compress(input, level);
        const f = scanFrames(frame);
        assert.equal(f.length, 1);
        assert.equal(f[0]!.contentSize, input.length, 'content size in header');
        assert.deepEqual(z.decompress(frame, { expectedSize: input.length }), input);
        assert.deepEqual(z.decompress(frame), input);
      }
    }
  });

  test(`${z.name}: frames with and without content size and checksum`, () => {
    for (const [name, hex] of Object.entries(CLI_FRAMES)) {
      assert.equal(new TextDecoder().decode(z.decompress(fromHex(hex))), TEXT, name);
      assert.equal(new TextDecoder().decode(z.decompress(fromHex(hex), { expectedSize: TEXT.length })), TEXT, name);
    }
    // A wrong checksum is corrupt.
    const bad = fromHex(CLI_FRAMES.sizeAndChecksum);
    bad[bad.length - 1]! ^= 1;
    assert.throws(() => z.decompress(bad), isCorrupt);
  });

  test(`${z.name}: several frames back to back, skippable frames ignored`, () => {
    const a = z.compress(utf8Encode('first,'), 3);
    const skip = new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0, 9, 9, 9]);
    const b = fromHex(CLI_FRAMES.noSizeNoChecksum);
    const out = z.decompress(concatBytes(a, skip, b, a), { expectedSize: 6 + TEXT.length + 6 });
    assert.equal(new TextDecoder().decode(out), 'first,' + TEXT + 'first,');
  });

  test(`${z.name}: frames without content size spanning several blocks`, () => {
    const blocks = [0, 1, 2, 3].map(() => new Uint8Array(nc.randomBytes(100_000)));
    const frame = rawBlocksFrame(blocks);
    assert.deepEqual(z.decompress(frame), concatBytes(...blocks));
    // 2.1 MB of output from a 15-byte frame without content size: grows past the first guess.
    const rle = rleFrame(16);
    assert.equal(z.decompress(rle, { expectedSize: 16 * 131072 }).length, 16 * 131072);
  });

  test(`${z.name}: expectedSize and maxSize are enforced`, () => {
    const input = sourceText().subarray(0, 50_000);
    const frame = z.compress(input, 3);
    assert.throws(() => z.decompress(frame, { expectedSize: input.length - 1 }), isCorrupt);
    assert.throws(() => z.decompress(frame, { expectedSize: input.length + 1 }), isCorrupt);
    assert.throws(() => z.decompress(frame, { maxSize: input.length - 1 }), isCorrupt);
    assert.equal(z.decompress(frame, { maxSize: input.length }).length, input.length);
    const noSize = rawBlocksFrame([input.subarray(0, 30_000), input.subarray(30_000)]);
    assert.throws(() => z.decompress(noSize, { maxSize: 40_000 }), isCorrupt);
    assert.throws(() => z.decompress(noSize, { expectedSize: 40_000 }), isCorrupt);
    assert.deepEqual(z.decompress(noSize, { maxSize: 50_000 }), input);
  });

  test(`${z.name}: hostile input is corrupt, quickly and without big allocations`, () => {
    const frame = z.compress(sourceText().subarray(0, 20_000), 3);
    // Every truncation.
    for (let n = 0; n < frame.length; n++) assert.throws(() => z.decompress(frame.subarray(0, n)), isCorrupt, `prefix ${n}`);
    // Garbage, and garbage behind a valid magic.
    for (let i = 0; i < 300; i++) {
      const g = new Uint8Array(nc.randomBytes(1 + (i % 97)));
      if (i % 2) g.set([0x28, 0xb5, 0x2f, 0xfd].slice(0, g.length));
      try {
        z.decompress(g, { maxSize: 1 << 20 });
      } catch (e) {
        assert.ok(isCorrupt(e), `garbage ${toHex(g)}: ${String(e)}`);
      }
    }
    // Bit flips inside a real frame: either still decodes (to the right size) or is corrupt.
    for (let i = 0; i < 400; i++) {
      const bad = frame.slice();
      bad[i % bad.length]! ^= 1 << (i % 8);
      try {
        assert.equal(z.decompress(bad, { expectedSize: 20_000 }).length, 20_000);
      } catch (e) {
        assert.ok(isCorrupt(e), String(e));
      }
    }
    // A frame claiming 2^40 bytes of content (more than its one block can hold).
    const t0 = performance.now();
    assert.throws(() => z.decompress(rleFrame(1, 1n << 40n)), isCorrupt);
    // Claiming as much as its blocks could hold, but more than the limit.
    assert.throws(() => z.decompress(rleFrame(2000, 2000n * 131072n), { maxSize: 1 << 20 }), isCorrupt);
    assert.throws(() => z.decompress(rleFrame(2000, 2000n * 131072n), { expectedSize: 1000 }), isCorrupt);
    // No content size, 262 MB of potential output, capped at 1 MiB.
    assert.throws(() => z.decompress(rleFrame(2000), { maxSize: 1 << 20 }), isCorrupt);
    // Default cap without limits (1 GiB) still applies to a declared size.
    assert.throws(() => z.decompress(rleFrame(9000, 9000n * 131072n)), isCorrupt);
    assert.ok(performance.now() - t0 < 2000);
    // A dictionary ID, reserved bits, reserved block type.
    assert.throws(() => z.decompress(fromHex('28b52ffd21' + '05' + '2c' + 'd50000')), isCorrupt);
    assert.throws(() => z.decompress(fromHex('28b52ffd28' + '2c' + '010000')), isCorrupt);
    assert.throws(() => z.decompress(fromHex('28b52ffd20' + '01' + '070000')), isCorrupt);
    assert.throws(() => z.decompress(new Uint8Array(0)), isCorrupt);
  });
}

if (native) {
  test('wasm and native decode each other', () => {
    const inputs = [sourceText(), new Uint8Array(nc.randomBytes(200_000)), utf8Encode(TEXT)];
    for (const input of inputs) {
      for (const level of [1, 3, 11]) {
        assert.deepEqual(native.decompress(wasm.compress(input, level), { expectedSize: input.length }), input);
        assert.deepEqual(wasm.decompress(native.compress(input, level), { expectedSize: input.length }), input);
      }
    }
  });
}

test("restic 0.14's compressed blobs in repos/tiny-v2 decompress with both", () => {
  const repo = readVector('tiny-repos.json').repos[1];
  assert.equal(repo.repository_dir, 'repos/tiny-v2');
  const m = repo.key_file.master;
  const key = { encrypt: fromHex(m.encrypt_hex), macK: fromHex(m.mac_k_hex), macR: fromHex(m.mac_r_hex) };
  let n = 0;
  for (const pack of repo.packs) {
    const bytes = new Uint8Array(fs.readFileSync(path.join(VECTORS, repo.repository_dir, 'data', pack.name.slice(0, 2), pack.name)));
    assert.equal(readUint32LE(bytes, bytes.length - 4), pack.header_length_field);
    for (const b of pack.blobs) {
      if (!b.compressed) continue;
      const plain = open(nodeCrypto, key, bytes.subarray(b.offset, b.offset + b.length), `blob ${b.id}`);
      for (const z of ALL) {
        const out = z.decompress(plain, { expectedSize: b.uncompressed_length });
        assert.equal(toHex(nodeCrypto.sha256(out)), b.id, `${z.name} blob ${b.id}`);
        n++;
      }
    }
  }
  assert.ok(n >= 8, `${n} blob decodings`);
});

test('nodePlatform: native zstd when available; COFFER_ZSTD / COFFER_CRYPTO overrides', async () => {
  const saved = { z: process.env.COFFER_ZSTD, c: process.env.COFFER_CRYPTO };
  try {
    delete process.env.COFFER_ZSTD;
    delete process.env.COFFER_CRYPTO;
    const p = await nodePlatform();
    assert.equal(p.zstd.name, native ? 'zstd-native' : 'zstd-wasm');
    assert.equal(p.crypto.name, 'node');
    process.env.COFFER_ZSTD = 'wasm';
    process.env.COFFER_CRYPTO = 'web';
    const q = await nodePlatform();
    assert.equal(q.zstd.name, 'zstd-wasm');
    assert.equal(q.crypto.name, 'web (noble)');
  } finally {
    for (const [k, v] of [['COFFER_ZSTD', saved.z], ['COFFER_CRYPTO', saved.c]] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});
