/**
 * The worker's one-copy decoder for zstd frames of raw/RLE blocks (web/worker/zstd-stored.ts),
 * against the core's wasm zstd (the reference library): whatever it accepts decodes exactly as
 * the library does, frames it must leave to the library (compressed blocks, a checksum, a wrong
 * size, damage) are left, and random damage to a stored frame never makes it disagree. The same
 * frames cut into pieces (as the worker's AES-CTR results come) decode exactly as in one array.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { concatBytes } from '../../src/core/bytes.js';
import { createWasmZstd } from '../../src/core/compress/zstd-wasm.js';
import { decodeStored, decodeStoredPieces } from '../../src/web/worker/zstd-stored.js';
import { randomBytes } from '../helpers/mem-repo.js';

const concat = concatBytes;

/** A frame by hand: FHD, optional window descriptor and content size, then blocks [type, size, bytes]. */
function frame(fhd: number, header: number[], blocks: [number, number, Uint8Array][]): Uint8Array {
  const parts: Uint8Array[] = [new Uint8Array([0x28, 0xb5, 0x2f, 0xfd, fhd, ...header])];
  blocks.forEach(([type, size, bytes], i) => {
    const bh = (i === blocks.length - 1 ? 1 : 0) | (type << 1) | (size << 3);
    parts.push(new Uint8Array([bh & 0xff, (bh >> 8) & 0xff, bh >> 16]), bytes);
  });
  return concat(...parts);
}

test('decodeStored: raw frames as the library decodes them; others left to it', async () => {
  const z = await createWasmZstd();
  for (const n of [1, 15, 16, 100, 128 * 1024, 128 * 1024 + 1, 700_000, 3 * 1024 * 1024 + 5]) {
    const plain = randomBytes(n, n);
    const stored = z.compress(plain, 3);
    const got = decodeStored(stored, n);
    assert.ok(got, `raw frame of ${n} bytes taken`);
    assert.deepEqual(got, plain);
    assert.deepEqual(got, z.decompress(stored, { expectedSize: n }));
    assert.equal(decodeStored(stored, n + 1), undefined, 'another expected size');
    assert.equal(decodeStored(stored.subarray(0, stored.length - 1), n), undefined, 'truncated');
    // Two frames in a row decode to both.
    assert.deepEqual(decodeStored(concat(stored, stored), 2 * n), concat(plain, plain));
  }
  // Compressible data (compressed blocks): the library's.
  const text = new TextEncoder().encode('the quick brown fox '.repeat(10_000));
  assert.equal(decodeStored(z.compress(text, 3), text.length), undefined);
  assert.equal(decodeStored(new Uint8Array(0), 0), undefined);

  // Hand-made frames: RLE blocks, a window descriptor, and what must be refused.
  const a = randomBytes(7, 1000);
  const rle = frame(0x00, [0x00], [[0, 1000, a], [1, 5000, new Uint8Array([9])]]); // window 1 KiB: the RLE block is larger
  assert.equal(decodeStored(rle, 6000), undefined, 'a block larger than the window');
  const ok = frame(0x00, [0x30], [[0, 1000, a], [1, 5000, new Uint8Array([9])]]); // window 2^16
  const want = concat(a, new Uint8Array(5000).fill(9));
  assert.deepEqual(decodeStored(ok, 6000), want);
  assert.deepEqual(z.decompress(ok, { expectedSize: 6000 }), want);
  const single = frame(0x60, [6000 - 256 & 0xff, (6000 - 256) >> 8], [[0, 1000, a], [1, 5000, new Uint8Array([9])]]); // single segment, 2-byte size
  assert.deepEqual(decodeStored(single, 6000), want);
  assert.deepEqual(z.decompress(single, { expectedSize: 6000 }), want);
  const wrongSize = frame(0x60, [6001 - 256 & 0xff, (6001 - 256) >> 8], [[0, 1000, a], [1, 5000, new Uint8Array([9])]]);
  assert.equal(decodeStored(wrongSize, 6000), undefined, 'declared size differs');
  assert.equal(decodeStored(frame(0x04, [0x30], [[0, 1000, a]]), 1000), undefined, 'content checksum: the library checks it');
  assert.equal(decodeStored(frame(0x01, [0x30, 0], [[0, 1000, a]]), 1000), undefined, 'dictionary ID field');
  assert.equal(decodeStored(frame(0x00, [0x30], [[2, 1000, a]]), 1000), undefined, 'compressed block');
  assert.equal(decodeStored(frame(0x00, [0x30], [[3, 1000, a]]), 1000), undefined, 'reserved block type');
  assert.equal(decodeStored(concat(new Uint8Array([0x50, 0x2a, 0x4d, 0x18, 0, 0, 0, 0]), ok), 6000), undefined, 'skippable frame');
});

test('decodeStored: damaged stored frames are refused or decoded exactly as the library does', async () => {
  const z = await createWasmZstd();
  const plain = randomBytes(3, 300_000);
  const stored = z.compress(plain, 3);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.integer({ min: -2, max: 2 }), (flips, dSize) => {
      const bad = stored.slice();
      // Mostly the headers: the first bytes and each block header.
      for (const [at, x] of flips) bad[at % 2 === 0 ? (at >> 1) % 16 : 6 + ((at >> 1) % 3) * (128 * 1024 + 3) + ((at >> 3) % 3)]! ^= x;
      const expected = plain.length + dSize;
      const got = decodeStored(bad, expected);
      if (got === undefined) return;
      assert.deepEqual(got, z.decompress(bad, { expectedSize: expected }));
    }),
    { numRuns: 400 },
  );
});

/** `d` cut into pieces of `size` bytes (the last shorter), as decodeStoredPieces takes them. */
const cut = (d: Uint8Array, size: number): Uint8Array[] => {
  const parts: Uint8Array[] = [];
  for (let o = 0; o < d.length; o += size) parts.push(d.slice(o, o + size));
  return parts;
};

test('decodeStoredPieces: frames cut anywhere (block and frame headers split too) decode as in one array', async () => {
  const z = await createWasmZstd();
  const a = randomBytes(7, 1000);
  const rle = frame(0x00, [0x30], [[0, 1000, a], [1, 5000, new Uint8Array([9])], [0, 1000, a]]);
  const rleWant = concat(a, new Uint8Array(5000).fill(9), a);
  const text = new TextEncoder().encode('the quick brown fox '.repeat(10_000));
  const cases: [string, Uint8Array, number][] = [
    ['raw 300000', z.compress(randomBytes(3, 300_000), 3), 300_000],
    ['raw 1 MiB + 5, two frames', concat(z.compress(randomBytes(4, 1024 * 1024 + 5), 3), z.compress(randomBytes(5, 1000), 3)), 1024 * 1024 + 1005],
    ['raw + RLE by hand', rle, 7000],
    ['compressed blocks', z.compress(text, 3), text.length],
  ];
  for (const [name, data, n] of cases) {
    const whole = decodeStored(data, n);
    if (name === 'compressed blocks') assert.equal(whole, undefined);
    else assert.deepEqual(whole, z.decompress(data, { expectedSize: n }), name);
    if (name === 'raw + RLE by hand') assert.deepEqual(whole, rleWant);
    for (const size of [1, 2, 3, 5, 7, 13, 4096, 128 * 1024 + 3, 512 * 1024, data.length, data.length + 10]) {
      assert.deepEqual(decodeStoredPieces(cut(data, size), size, n), whole, `${name} in pieces of ${size}`);
      assert.equal(decodeStoredPieces(cut(data, size), size, n + 1), undefined, `${name}: another expected size`);
    }
  }
  // Pieces that are not one size (but the last) are not taken.
  const d = cases[0]![1];
  const parts = cut(d, 4096);
  parts[1] = parts[1]!.subarray(1);
  assert.equal(decodeStoredPieces(parts, 4096, 300_000), undefined);
  assert.equal(decodeStoredPieces([...cut(d, 4096), new Uint8Array(0)], 4096, 300_000), undefined, 'an empty last piece');
  assert.equal(decodeStoredPieces([], 4096, 0), undefined);
});

test('decodeStoredPieces: damaged frames in pieces decode exactly as decodeStored (and the library) or are refused', async () => {
  const z = await createWasmZstd();
  const plain = randomBytes(9, 300_000);
  const stored = z.compress(plain, 3);
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), fc.integer({ min: -2, max: 2 }), fc.integer({ min: 1, max: 200_000 }), (flips, dSize, size) => {
      const bad = stored.slice();
      for (const [at, x] of flips) bad[at % 2 === 0 ? (at >> 1) % 16 : 6 + ((at >> 1) % 3) * (128 * 1024 + 3) + ((at >> 3) % 3)]! ^= x;
      const expected = plain.length + dSize;
      const got = decodeStoredPieces(cut(bad, size), size, expected);
      assert.deepEqual(got, decodeStored(bad, expected));
      if (got !== undefined) assert.deepEqual(got, z.decompress(bad, { expectedSize: expected }));
    }),
    { numRuns: 300 },
  );
});
