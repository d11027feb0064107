/**
 * Chunker throughput on pseudo-random data (reported as a test diagnostic).
 * Default 32 MiB so the suite stays fast; COFFER_CHUNKER_BENCH_MIB=256 for the real measurement.
 * Reports both the effective rate (skipped bytes included, what a backup sees) and the rate of
 * the hashing loop alone (minSize = 64, nothing skipped).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Chunker, MAX_SIZE, MIN_SIZE, type ChunkerOptions } from '../../src/core/chunker/chunker.js';

const MIB = 1024 * 1024;
const SIZE = Number(process.env.COFFER_CHUNKER_BENCH_MIB ?? 32) * MIB;
const READ = 4 * MIB; // the backup engine's read size
const POL = 0x2a24233fdc57b3n;

function randomData(n: number): Uint8Array {
  const out = new Uint8Array(n);
  const w = new Uint32Array(out.buffer);
  let s = 0x12345678;
  for (let i = 0; i < w.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    w[i] = s;
  }
  return out;
}

/** Chunks `data` in 4 MiB reads like the backup engine; returns the chunk lengths. */
function run(data: Uint8Array, opts?: ChunkerOptions): number[] {
  const c = new Chunker(POL, opts);
  const lens: number[] = [];
  let chunkStart = 0;
  for (let off = 0; off < data.length; off += READ) {
    const end = Math.min(data.length, off + READ);
    let s = off;
    for (;;) {
      const cut = c.next(data, s, end);
      if (cut < 0) break;
      lens.push(cut - chunkStart);
      chunkStart = s = cut;
    }
  }
  if (c.pending > 0) lens.push(c.pending);
  return lens;
}

function timeIt(fn: () => void): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
}

test(`chunker throughput over ${SIZE / MIB} MiB`, (t) => {
  const data = randomData(SIZE);
  run(data.subarray(0, 16 * MIB)); // warm-up
  run(data.subarray(0, 16 * MIB), { minSize: 64 });
  let lens: number[] = [];
  const secs = timeIt(() => (lens = run(data)));
  const secsHash = timeIt(() => run(data, { minSize: 64 }));
  assert.equal(lens.reduce((a, b) => a + b, 0), data.length);
  for (const [k, l] of lens.entries()) assert.ok(l <= MAX_SIZE && (l >= MIN_SIZE || k === lens.length - 1), `chunk ${k}: ${l}`);
  const mb = data.length / 1e6;
  t.diagnostic(`effective ${(mb / secs).toFixed(0)} MB/s (${lens.length} chunks, avg ${(data.length / lens.length / MIB).toFixed(2)} MiB)`);
  t.diagnostic(`hash loop ${(mb / secsHash).toFixed(0)} MB/s (minSize 64)`);
});
