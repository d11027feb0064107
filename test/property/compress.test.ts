/**
 * zstd frames (spec §8) through both Compressors: round trips, cross-decoding, several frames,
 * the expectedSize/maxSize limits, and damaged frames: every outcome is either bytes or a
 * CofferError 'corrupt', and the wasm and native decoders agree on which.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { concatBytes, utf8Encode } from '../../src/core/bytes.js';
import type { Compressor } from '../../src/core/compress/compressor.js';
import { createWasmZstd } from '../../src/core/compress/zstd-wasm.js';
import { isCofferError } from '../../src/core/errors.js';
import { decodeUnpacked, encodeUnpacked } from '../../src/core/format/unpacked.js';
import { createNativeZstd } from '../../src/node/zstd-native.js';
import { RUNS } from './arbitraries.js';

const wasm = await createWasmZstd();
const native = createNativeZstd();
const ALL: Compressor[] = native ? [wasm, native] : [wasm];

/** Compressible and incompressible inputs: text, repeats, zeros, random bytes. */
const payload: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 2000 }),
  fc.string({ maxLength: 2000 }).map(utf8Encode),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 16 }), fc.integer({ min: 1, max: 20000 })).map(([unit, n]) => {
    const out = new Uint8Array(unit.length * n);
    for (let i = 0; i < n; i++) out.set(unit, i * unit.length);
    return out;
  }),
);

function outcome(z: Compressor, data: Uint8Array, opts?: { expectedSize?: number; maxSize?: number }): Uint8Array | 'corrupt' {
  try {
    return z.decompress(data, opts);
  } catch (e) {
    if (isCofferError(e, 'corrupt')) return 'corrupt';
    throw new Error(`${z.name}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of bytes or CofferError 'corrupt'`);
  }
}

test('zstd: round trip at every restic level, decodable by every implementation', () => {
  fc.assert(
    fc.property(payload, fc.constantFrom(1, 3, 7, 11), fc.constantFrom(...ALL), (data, level, enc) => {
      const frame = enc.compress(data, level);
      for (const dec of ALL) {
        assert.deepEqual(dec.decompress(frame), data);
        assert.deepEqual(dec.decompress(frame, { expectedSize: data.length }), data);
      }
    }),
    { numRuns: RUNS },
  );
});

test('zstd: concatenated frames decode to the concatenation; limits are enforced as corrupt', () => {
  fc.assert(
    fc.property(fc.array(payload, { minLength: 1, maxLength: 3 }), fc.integer({ min: 1, max: 50 }), (parts, delta) => {
      const frames = concatBytes(...parts.map((p) => wasm.compress(p, 3)));
      const all = concatBytes(...parts);
      for (const z of ALL) {
        assert.deepEqual(z.decompress(frames), all);
        assert.equal(outcome(z, frames, { expectedSize: all.length + delta }), 'corrupt');
        if (all.length >= delta) {
          assert.equal(outcome(z, frames, { expectedSize: all.length - delta }), 'corrupt');
          assert.equal(outcome(z, frames, { maxSize: all.length - delta }), 'corrupt');
        }
      }
    }),
    { numRuns: RUNS },
  );
});

/** Applies a few byte-level changes to a frame. */
const damage = fc.array(fc.tuple(fc.nat(), fc.constantFrom('flip', 'set', 'cut', 'dup'), fc.nat(255)), { minLength: 1, maxLength: 3 });

function applyDamage(frame: Uint8Array, ops: [number, string, number][]): Uint8Array {
  let b: Uint8Array = frame.slice();
  for (const [pos, op, v] of ops) {
    if (b.length === 0) break;
    const i = pos % b.length;
    if (op === 'flip') b[i]! ^= 1 << (v & 7);
    else if (op === 'set') b[i] = v;
    else if (op === 'cut') b = b.slice(0, i);
    else b = concatBytes(b.subarray(0, i), b.subarray(i - (v % (i + 1))));
  }
  return b;
}

test('zstd: damaged frames give bytes or corrupt, never another error; wasm and native agree', () => {
  fc.assert(
    fc.property(payload, damage, (data, ops) => {
      const bad = applyDamage(wasm.compress(data, 3), ops);
      const results = ALL.map((z) => outcome(z, bad));
      for (const r of results.slice(1)) {
        if (r === 'corrupt' || results[0] === 'corrupt') assert.equal(r === 'corrupt', results[0] === 'corrupt', 'implementations disagree on accepting the frame');
        else assert.deepEqual(r, results[0]);
      }
      // With the size known (as for every blob), a frame that decodes must decode to that size.
      for (const z of ALL) {
        const r = outcome(z, bad, { expectedSize: data.length });
        if (r !== 'corrupt') assert.equal(r.length, data.length);
      }
    }),
    { numRuns: RUNS * 2 },
  );
});

test('unpacked framing: round trip through real zstd for v1 and v2', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(1 as const, 2 as const), fc.constantFrom(...ALL), (v, version, z) => {
      const json = utf8Encode(JSON.stringify({ v }));
      const framed = encodeUnpacked(json, version, z);
      for (const d of ALL) assert.deepEqual(decodeUnpacked(framed, version, d, 'u'), json);
    }),
    { numRuns: RUNS },
  );
});
