/** Chunker tests: restic 0.14 boundary vectors, rolling hash, split independence, edge cases (§15.6). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readVector } from '../helpers/paths.js';
import { Chunker, chunkBoundaries, MAX_SIZE, MIN_SIZE } from '../../src/core/chunker/chunker.js';
import { computeTables, mod, parsePolynomial } from '../../src/core/chunker/polynomial.js';
import { makeInput, prng, sha256Hex, type InputSpec } from './inputs.js';

const V = readVector('chunker.json');
const POL = 0x3da3358b4dc173n;

const inputCache = new Map<string, Uint8Array>();
function input(name: string): Uint8Array {
  let d = inputCache.get(name);
  if (!d) {
    d = makeInput(V.inputs[name] as InputSpec);
    inputCache.set(name, d);
  }
  return d;
}

/** Chunks `data` feeding pieces whose sizes come from `sizes()`; returns [end, fingerprint|-1][]. */
function chunkPieces(pol: bigint, data: Uint8Array, sizes: () => number): Array<[number, number]> {
  const c = new Chunker(pol);
  const cuts: Array<[number, number]> = [];
  let off = 0;
  while (off < data.length) {
    const end = Math.min(data.length, off + Math.max(1, sizes()));
    // hand over a view of just this piece, as a reader would
    const piece = data.subarray(off, end);
    let s = 0;
    for (;;) {
      const cut = c.next(piece, s, piece.length);
      if (cut < 0) break;
      cuts.push([off + cut, c.lastCutFingerprint]);
      s = cut;
    }
    off = end;
  }
  assert.equal(c.pending, data.length - (cuts.length ? cuts[cuts.length - 1]![0] : 0));
  if (c.pending > 0) cuts.push([data.length, -1]);
  return cuts;
}

test('constants match the vectors', () => {
  assert.equal(MIN_SIZE, V.constants.min_size);
  assert.equal(MAX_SIZE, V.constants.max_size);
});

test('generated inputs have the documented SHA-256', () => {
  for (const [name, spec] of Object.entries<InputSpec>(V.inputs)) {
    const d = input(name);
    assert.equal(d.length, spec.length, name);
    assert.equal(sha256Hex(d), spec.sha256, name);
  }
});

test('restic 0.14 chunk vectors (24): offsets, lengths, sha256, end reason, fingerprint at cut', () => {
  assert.equal(V.vectors.length, 24);
  for (const v of V.vectors) {
    const pol = parsePolynomial(v.polynomial);
    const data = input(v.input);
    const what = `${v.polynomial}/${v.input}`;
    // one buffer, through the Chunker directly to see the cut fingerprints
    const c = new Chunker(pol);
    let start = 0;
    for (const [k, ch] of v.chunks.entries()) {
      assert.equal(ch.offset, start, `${what} chunk ${k} offset`);
      const cut = c.next(data, start, data.length);
      const end = cut < 0 ? data.length : cut;
      assert.equal(end - start, ch.length, `${what} chunk ${k} length`);
      const reason = cut < 0 ? 'eof' : c.lastCutFingerprint % 0x100000 === 0 ? 'fingerprint' : 'max_size';
      assert.equal(reason, ch.end_reason, `${what} chunk ${k} reason`);
      if (reason === 'max_size') assert.equal(ch.length, MAX_SIZE);
      if (cut >= 0) assert.equal(c.lastCutFingerprint.toString(16), ch.fingerprint_at_cut, `${what} chunk ${k} fingerprint`);
      assert.equal(sha256Hex(data.subarray(start, end)), ch.sha256, `${what} chunk ${k} sha256`);
      start = end;
    }
    assert.equal(start, data.length, `${what} covers the input`);
    // convenience function agrees
    assert.deepEqual(chunkBoundaries(pol, data), v.chunks.map((ch: any) => ch.offset + ch.length), what);
  }
});

test('window fingerprints: rolling hash from the reset state = direct reduction mod P', () => {
  const w = V.window_fingerprints;
  const pol = parsePolynomial(w.polynomial);
  assert.equal(w.windows.length, 6);
  for (const x of w.windows) {
    const bytes = new Uint8Array(Buffer.from(x.window_hex, 'hex'));
    assert.equal(bytes.length, 64);
    // direct: the 512-bit big-endian number as a polynomial, reduced mod P
    assert.equal(mod(BigInt('0x' + x.window_hex), pol).toString(16), x.fingerprint_hex);
    // rolling: MinSize 64 → nothing skipped, the first test happens after exactly 64 slides
    for (const pieces of [[64], [1, 63], [10, 20, 34], Array(64).fill(1)]) {
      const c = new Chunker(pol, { minSize: 64, maxSize: 1 << 20 });
      let off = 0;
      let cut = -1;
      for (const n of pieces) {
        cut = c.next(bytes, off, off + n);
        off += n;
      }
      const fp = cut >= 0 ? c.lastCutFingerprint : c.digest;
      assert.equal(fp.toString(16), x.fingerprint_hex);
      assert.equal(cut >= 0, x.low20_bits_zero, 'cut exactly when the low 20 bits are zero');
      assert.equal(cut >= 0 ? 64 : -1, cut);
    }
  }
});

test('reset state: digest 1 after reset, and the pushed 1 has left the window after 64 bytes', () => {
  const c = new Chunker(POL, { minSize: 64, maxSize: 1 << 20 });
  assert.equal(c.digest, 1);
  // 63 zero bytes: the 1 is still in the window → digest = x^(8·63) mod P = out[1]
  const z = new Uint8Array(63);
  assert.equal(c.next(z, 0, 63), -1);
  assert.equal(c.digest.toString(16), V.tables.out_table_hex[1]);
  // one more zero byte pushes it out → fingerprint 0 → cut at MinSize
  assert.equal(c.next(new Uint8Array(1), 0, 1), 1);
  assert.equal(c.lastCutFingerprint, 0);
  assert.equal(c.pending, 0);
});

test('boundaries do not depend on how the input is split into buffers', () => {
  const data = input('prng-20MiB-1.bin');
  const pol = parsePolynomial('2784077996ac57');
  const ref = chunkPieces(pol, data, () => data.length);
  assert.ok(ref.length > 5);
  // xorshift for reproducible "random" piece sizes across several scales
  let s = 0x9e3779b9;
  const rnd = (): number => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
  for (const scale of [100, 5000, 70_000, 600_000, 3_000_000]) {
    assert.deepEqual(chunkPieces(pol, data, () => Math.floor(rnd() * scale) + 1), ref, `scale ${scale}`);
  }
  // tiny pieces on a shorter input (byte-at-a-time around the first boundary too)
  const short = data.subarray(0, 3_000_000);
  const refShort = chunkPieces(pol, short, () => short.length);
  assert.deepEqual(chunkPieces(pol, short, () => Math.floor(rnd() * 70) + 1), refShort);
  assert.deepEqual(chunkPieces(pol, short, () => 64), refShort);
  assert.deepEqual(chunkPieces(pol, short, () => 65), refShort);
});

test('next() respects start/end inside a larger buffer', () => {
  const data = input('prng-7MiB-2.bin');
  const ref = chunkBoundaries(POL, data);
  // surround the data with garbage and scan only the middle
  const big = new Uint8Array(data.length + 200).fill(0x5c);
  big.set(data, 100);
  const c = new Chunker(POL);
  const got: number[] = [];
  let s = 100;
  for (;;) {
    const cut = c.next(big, s, 100 + data.length);
    if (cut < 0) break;
    got.push(cut - 100);
    s = cut;
  }
  if (c.pending) got.push(data.length);
  assert.deepEqual(got, ref);
  assert.throws(() => c.next(big, 10, 5), RangeError);
  assert.throws(() => c.next(big, 0, big.length + 1), RangeError);
});

test('edge cases: empty, below MinSize, exactly MinSize, MaxSize cut, zero runs', () => {
  assert.deepEqual(chunkBoundaries(POL, new Uint8Array(0)), []);
  const c = new Chunker(POL);
  assert.equal(c.next(new Uint8Array(0), 0, 0), -1);
  assert.equal(c.pending, 0);

  assert.deepEqual(chunkBoundaries(POL, prng('edge-1', 1)), [1]);
  assert.deepEqual(chunkBoundaries(POL, prng('edge-2', MIN_SIZE - 1)), [MIN_SIZE - 1]);
  // exactly MinSize of zeros: the fingerprint is 0 at MinSize → cut there, nothing pending
  const zc = new Chunker(POL);
  assert.equal(zc.next(new Uint8Array(MIN_SIZE), 0, MIN_SIZE), MIN_SIZE);
  assert.equal(zc.pending, 0);
  assert.deepEqual(chunkBoundaries(POL, new Uint8Array(MIN_SIZE)), [MIN_SIZE]);
  // MinSize + 1 zeros → 512 KiB + 1 byte
  assert.deepEqual(chunkBoundaries(POL, new Uint8Array(MIN_SIZE + 1)), [MIN_SIZE, MIN_SIZE + 1]);
  // A non-zero constant run never matches with this polynomial's vectors → MaxSize cuts
  const aa = input('const-aa-20MiB.bin');
  assert.deepEqual(chunkBoundaries(POL, aa), [MAX_SIZE, 2 * MAX_SIZE, aa.length]);
  // MaxSize cut exactly at the end of input: no empty trailing chunk
  assert.deepEqual(chunkBoundaries(POL, aa.subarray(0, MAX_SIZE)), [MAX_SIZE]);
  assert.deepEqual(chunkBoundaries(POL, aa.subarray(0, MAX_SIZE + 1)), [MAX_SIZE, MAX_SIZE + 1]);
  // custom sizes (small, for workers' tests): every chunk within [min, max]
  const d = prng('edge-3', 200_000);
  const ends = chunkBoundaries(POL, d, { minSize: 64, maxSize: 4096 });
  let prev = 0;
  for (const [k, e] of ends.entries()) {
    const len = e - prev;
    assert.ok(len <= 4096 && (len >= 64 || k === ends.length - 1), `chunk ${k} length ${len}`);
    prev = e;
  }
  assert.equal(ends[ends.length - 1], d.length);
  assert.ok(ends.length >= Math.ceil(d.length / 4096));
});

test('constructor rejects unusable parameters', () => {
  assert.throws(() => new Chunker(0b1011n), RangeError); // degree 3
  assert.throws(() => new Chunker(POL, { minSize: 63 }), RangeError);
  assert.throws(() => new Chunker(POL, { minSize: 1024, maxSize: 1000 }), RangeError);
});

/** The §15.6 pseudo-code, literally, with BigInt: the reference for crafted inputs. */
function referenceBoundaries(pol: bigint, data: Uint8Array, minSize = MIN_SIZE, maxSize = MAX_SIZE): number[] {
  const { out, mod: modT } = computeTables(pol);
  const mask53 = (1n << 53n) - 1n;
  let window = new Uint8Array(64);
  let wpos = 0;
  let digest = 0n;
  let count = 0;
  const slide = (b: number): void => {
    const o = window[wpos]!;
    window[wpos] = b;
    wpos = (wpos + 1) % 64;
    digest ^= out[o]!;
    const top = Number(digest >> 45n);
    digest = (((digest << 8n) | BigInt(b)) ^ modT[top]!) & mask53;
  };
  const reset = (): void => {
    window = new Uint8Array(64);
    wpos = 0;
    digest = 0n;
    slide(1);
    count = 0;
  };
  reset();
  const ends: number[] = [];
  for (let i = 0; i < data.length; i++) {
    count++;
    if (count <= minSize - 64) continue;
    slide(data[i]!);
    if (count >= minSize && ((digest & 0xfffffn) === 0n || count >= maxSize)) {
      ends.push(i + 1);
      reset();
    }
  }
  if (count > 0) ends.push(data.length);
  return ends;
}

test('agrees with the literal §15.6 algorithm, including cuts found by the second scan chain', () => {
  const hashFrom = MIN_SIZE; // the ring covers the first 64 hashed bytes; then two 64 KiB segments
  const base = prng('two-chains', MIN_SIZE + 400_000);
  const zeroRun = (d: Uint8Array, endAt: number): void => {
    d.fill(0, endAt - 64, endAt);
  };
  // only chain B's segment has a zero window → its cut is the answer
  const b = base.slice();
  zeroRun(b, hashFrom + 65_536 + 5_000);
  // chain B finds its window first (after 5 000 steps) but chain A's later-found one comes first
  const ab = b.slice();
  zeroRun(ab, hashFrom + 60_000);
  // chain A only
  const a = base.slice();
  zeroRun(a, hashFrom + 100);
  for (const [name, d] of Object.entries({ b, ab, a })) {
    const ref = referenceBoundaries(POL, d);
    assert.ok(ref.length >= 2, name);
    assert.deepEqual(chunkBoundaries(POL, d), ref, name);
  }
  assert.equal(chunkBoundaries(POL, b)[0], hashFrom + 65_536 + 5_000);
  assert.equal(chunkBoundaries(POL, ab)[0], hashFrom + 60_000);
  assert.equal(chunkBoundaries(POL, a)[0], hashFrom + 100);
  // many fingerprint cuts at small MinSize, and a small MaxSize
  const r = prng('reference-small', 1_500_000);
  assert.deepEqual(chunkBoundaries(POL, r, { minSize: 64, maxSize: 1 << 23 }), referenceBoundaries(POL, r, 64, 1 << 23));
  assert.deepEqual(chunkBoundaries(POL, r, { minSize: 4096, maxSize: 300_000 }), referenceBoundaries(POL, r, 4096, 300_000));
});
