/**
 * Chunker invariants (spec §15): the chunks concatenate to the input, respect MinSize/MaxSize,
 * and their boundaries do not depend on how the input is split into reads.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { concatBytes } from '../../src/core/bytes.js';
import { Chunker, chunkBoundaries, MAX_SIZE, MIN_SIZE } from '../../src/core/chunker/chunker.js';
import { randomBytes } from '../helpers/mem-repo.js';
import { RUNS } from './arbitraries.js';

const POLS = [0x3da3358b4dc173n, 0x2784077996ac57n, 0x2a24233fdc57b3n];

/** Feeds `data` in pieces of the given sizes (cycled); returns the chunk end offsets. */
function chunkInReads(pol: bigint, data: Uint8Array, sizes: number[], opts?: { minSize: number; maxSize: number }): number[] {
  const c = new Chunker(pol, opts);
  const ends: number[] = [];
  let off = 0;
  let k = 0;
  while (off < data.length) {
    const end = Math.min(data.length, off + sizes[k++ % sizes.length]!);
    const piece = data.subarray(off, end);
    let s = 0;
    for (;;) {
      const cut = c.next(piece, s, piece.length);
      if (cut < 0) break;
      ends.push(off + cut);
      s = cut;
    }
    off = end;
  }
  if ((ends[ends.length - 1] ?? 0) < data.length) ends.push(data.length);
  return ends;
}

function checkChunks(data: Uint8Array, ends: number[], min: number, max: number): void {
  const chunks: Uint8Array[] = [];
  let prev = 0;
  ends.forEach((e, i) => {
    assert.ok(e > prev, 'boundaries strictly increase');
    const len = e - prev;
    assert.ok(len <= max, `chunk ${i} is ${len} bytes > MaxSize`);
    if (i < ends.length - 1) assert.ok(len >= min, `chunk ${i} is ${len} bytes < MinSize`);
    chunks.push(data.subarray(prev, e));
    prev = e;
  });
  assert.equal(prev, data.length);
  assert.deepEqual(concatBytes(...chunks), data);
}

/** Inputs with structure: random runs, repeated patterns and zeros. */
const input = (maxLen: number): fc.Arbitrary<Uint8Array> =>
  fc.array(
    fc.oneof(
      fc.tuple(fc.integer(), fc.integer({ min: 1, max: maxLen / 4 })).map(([seed, n]) => randomBytes(seed, n)),
      fc.tuple(fc.nat(255), fc.integer({ min: 1, max: maxLen / 4 })).map(([v, n]) => new Uint8Array(n).fill(v)),
      fc.uint8Array({ maxLength: 300 }),
    ),
    { maxLength: 6 },
  ).map((parts) => concatBytes(...parts));

test('chunker (small MinSize/MaxSize): chunks concatenate to the input; boundaries independent of read sizes', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...POLS),
      input(64 * 1024),
      fc.integer({ min: 64, max: 2048 }),
      fc.integer({ min: 0, max: 8192 }),
      fc.array(fc.integer({ min: 1, max: 70000 }), { minLength: 1, maxLength: 5 }),
      (pol, data, min, extra, sizes) => {
        const opts = { minSize: min, maxSize: min + extra };
        const whole = chunkBoundaries(pol, data, opts);
        checkChunks(data, whole, opts.minSize, opts.maxSize);
        assert.deepEqual(chunkInReads(pol, data, sizes, opts), whole);
        assert.deepEqual(chunkInReads(pol, data, [1, 63, 64, 65], opts), whole);
      },
    ),
    { numRuns: RUNS },
  );
});

test("chunker (restic's sizes): fingerprint and MaxSize cuts do not depend on read sizes", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...POLS),
      fc.integer(),
      fc.integer({ min: 1, max: 5 * 1024 * 1024 }),
      fc.boolean(),
      fc.array(fc.integer({ min: 1, max: 3 * 1024 * 1024 }), { minLength: 1, maxLength: 4 }),
      (pol, seed, n, zeros, sizes) => {
        const data = zeros ? concatBytes(randomBytes(seed, n >> 2), new Uint8Array(MAX_SIZE + 1000), randomBytes(seed + 1, n >> 2)) : randomBytes(seed, n);
        const whole = chunkBoundaries(pol, data);
        checkChunks(data, whole, MIN_SIZE, MAX_SIZE);
        assert.deepEqual(chunkInReads(pol, data, sizes), whole);
      },
    ),
    { numRuns: Math.max(4, Math.round(RUNS / 20)) },
  );
});
