/**
 * @module chunker/chunker
 * Restic's content-defined chunker (Rabin fingerprint over a 64-byte window), bit-exact with
 * restic's boundaries (spec §15.1, §15.6; reset state and cut test per §24 items 13–14).
 *
 * Incremental: the caller feeds buffers of any size with `next()`; boundaries do not depend on
 * how the input is split. This is the hottest loop of a backup, so:
 *  - the 53-bit digest lives in two int32 halves (hi = bits 32…52, lo = bits 0…31) and the
 *    tables are Int32Array pairs: no BigInt, no allocation per byte;
 *  - the first MinSize−64 bytes of each chunk are skipped without being read (restic does not
 *    hash them either);
 *  - once 64 bytes of the current call have been hashed, the byte leaving the window is read
 *    straight from the input (buf[i−64]) instead of a ring buffer; the ring is only used for the
 *    first 64 bytes of a call and refilled from the input when the call ends without a cut;
 *  - the leaving byte's table entry is folded so that its load is off the digest's dependency
 *    chain (slideOut tables), and long ranges are scanned by two interleaved chains (scan2).
 * Only degree-53 polynomials are supported (what restic creates and validatePolynomial requires).
 */
import { POLYNOMIAL_DEGREE, WINDOW_SIZE, deg, splitTables } from './polynomial.js';

export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
/** Low 20 bits of the digest zero → cut (average ~1 MiB of hashed data). */
const SPLIT_MASK = 0xfffff;

export interface ChunkerOptions {
  minSize?: number;
  maxSize?: number;
}

// The tables of the polynomial in use, in module-level constants: V8 then embeds their
// addresses in the optimized loop instead of keeping four more base pointers in registers
// (measured ~1.5x faster than reading them from the instance). Reloaded (2 KiB copy) when a
// Chunker with another polynomial runs in the same thread.
const MOD_HI = new Int32Array(256);
const MOD_LO = new Int32Array(256);
const OUT_HI = new Int32Array(256);
const OUT_LO = new Int32Array(256);
let loadedPol: bigint | undefined;

function loadTables(pol: bigint): void {
  const t = splitTables(pol);
  MOD_HI.set(t.modHi);
  MOD_LO.set(t.modLo);
  OUT_HI.set(t.slideOutHi);
  OUT_LO.set(t.slideOutLo);
  loadedPol = pol;
}

// In/out digest halves of scan() (a function cannot return three numbers without allocating).
let stHi = 0;
let stLo = 0;

/** Segment length for the two-chain scan (see scan2). */
const SEG = 64 * 1024;
// Second chain's digest halves and which chain cut (0 none, 1 A, 2 B): outputs of lockstep().
let stHj = 0;
let stLj = 0;
let stWho = 0;

/**
 * Two independent digest chains in one loop: chain A hashes [i, i+SEG), chain B [i+SEG, i+2·SEG),
 * B having first rebuilt the digest of the 64 bytes before its segment (the digest depends only
 * on the window, §15.6). The per-byte recurrence is latency-bound (a table load sits on the
 * critical path), so two interleaved chains cost little more than one. A cut found by A wins;
 * one found by B counts only once A has finished its segment without a cut. Same contract as
 * scan(). The loops live in small functions without rarely taken calls: V8 compiled the
 * combined version with incomplete feedback and kept deoptimizing it.
 */
function scan2(buf: Uint8Array, i: number, lim: number): number {
  while (lim - i >= 2 * SEG) {
    const b = i + SEG;
    warmup(buf, b - WINDOW_SIZE, b);
    const r = lockstep(buf, i, b);
    if (stWho === 1) return r;
    if (stWho === 2) {
      // stHi/stLo hold A's state after byte r − 1 − SEG; A finishes its segment first.
      const a = scan(buf, r - SEG, b);
      if (a >= 0) return a;
      stHi = stHj;
      stLo = stLj;
      return r;
    }
    // Neither cut: B's state is the rolling state at b + SEG.
    stHi = stHj;
    stLo = stLj;
    i = b + SEG;
  }
  return scan(buf, i, lim);
}

/** Digest of buf[from..to) (64 bytes) from the zero state into stHj/stLj; leaving bytes are 0. */
function warmup(buf: Uint8Array, from: number, to: number): void {
  let hj = 0;
  let lj = 0;
  for (let j = from; j < to; j++) {
    const top = (hj >>> 13) & 255;
    hj = ((hj << 8) | (lj >>> 24)) ^ MOD_HI[top]!;
    lj = ((lj << 8) | buf[j]!) ^ MOD_LO[top]!;
  }
  stHj = hj;
  stLj = lj;
}

/** Chain A over [i, b), chain B over [b, b + SEG) in lockstep; see scan2. */
function lockstep(buf: Uint8Array, i: number, b: number): number {
  let hi = stHi;
  let lo = stLo;
  let hj = stHj;
  let lj = stLj;
  let who = 0;
  let r = -1;
  for (let x = i, y = b; x < b; x++, y++) {
    const ox = buf[x - WINDOW_SIZE]!;
    const oy = buf[y - WINDOW_SIZE]!;
    const tx = (hi >>> 13) & 255;
    const ty = (hj >>> 13) & 255;
    hi = ((hi << 8) | (lo >>> 24)) ^ MOD_HI[tx]! ^ OUT_HI[ox]!;
    lo = ((lo << 8) | buf[x]!) ^ MOD_LO[tx]! ^ OUT_LO[ox]!;
    hj = ((hj << 8) | (lj >>> 24)) ^ MOD_HI[ty]! ^ OUT_HI[oy]!;
    lj = ((lj << 8) | buf[y]!) ^ MOD_LO[ty]! ^ OUT_LO[oy]!;
    if ((lo & SPLIT_MASK) === 0) {
      who = 1;
      r = x + 1;
      break;
    }
    if ((lj & SPLIT_MASK) === 0) {
      who = 2;
      r = y + 1;
      break;
    }
  }
  stHi = hi;
  stLo = lo;
  stHj = hj;
  stLj = lj;
  stWho = who;
  return r;
}

/**
 * The hot loop, kept in its own small function so that V8 optimizes it once with complete type
 * feedback (inlined into next(), rarely taken paths there kept deoptimizing it). Hashes
 * buf[i..lim) with the leaving byte read from buf[i − 64] (requires i ≥ 64 bytes into the
 * hashed part of this buffer). Returns the index just past the first byte whose digest has the
 * low 20 bits zero, or -1.
 */
function scan(buf: Uint8Array, i: number, lim: number): number {
  let hi = stHi;
  let lo = stLo;
  for (; i < lim; i++) {
    const o = buf[i - WINDOW_SIZE]!;
    const top = (hi >>> 13) & 255; // digest bits 45…52 (the mask only helps V8 drop a bounds check)
    hi = ((hi << 8) | (lo >>> 24)) ^ MOD_HI[top]! ^ OUT_HI[o]!;
    lo = ((lo << 8) | buf[i]!) ^ MOD_LO[top]! ^ OUT_LO[o]!;
    if ((lo & SPLIT_MASK) === 0) {
      stHi = hi;
      stLo = lo;
      return i + 1;
    }
  }
  stHi = hi;
  stLo = lo;
  return -1;
}

export class Chunker {
  private readonly pol: bigint;
  private readonly minSize: number;
  private readonly maxSize: number;
  /** Bytes of a chunk that are counted but not hashed. */
  private readonly skip: number;

  private readonly window = new Uint8Array(WINDOW_SIZE);
  private wpos = 0;
  private hi = 0;
  private lo = 0;
  private count = 0;
  private cutHi = 0;
  private cutLo = 0;

  constructor(pol: bigint, opts: ChunkerOptions = {}) {
    // The hot loop takes the top byte from bit 45 (= 53 − 8): degree 53 is what restic creates
    // and what config validation (validatePolynomial) requires.
    if (deg(pol) !== POLYNOMIAL_DEGREE) throw new RangeError(`unsupported chunker polynomial degree ${deg(pol)}`);
    splitTables(pol); // compute (and cache) now rather than in the first next()
    this.pol = pol;
    this.minSize = opts.minSize ?? MIN_SIZE;
    this.maxSize = opts.maxSize ?? MAX_SIZE;
    // restic skips MinSize−64 bytes (an unsigned value); smaller MinSize has no sensible meaning.
    if (!Number.isSafeInteger(this.minSize) || this.minSize < WINDOW_SIZE) throw new RangeError('chunker minSize must be at least 64');
    if (!Number.isSafeInteger(this.maxSize) || this.maxSize < this.minSize) throw new RangeError('chunker maxSize must be at least minSize');
    this.skip = this.minSize - WINDOW_SIZE;
    this.reset();
  }

  /** Start a new file (also done internally after each cut). */
  reset(): void {
    // restic: zero window and digest, then slide(1) → window[0] = 1, wpos = 1, digest = 1.
    this.window.fill(0);
    this.window[0] = 1;
    this.wpos = 1;
    this.hi = 0;
    this.lo = 1;
    this.count = 0;
  }

  /** Bytes consumed so far in the current, not yet cut chunk. */
  get pending(): number {
    return this.count;
  }

  /** The 53-bit rolling digest right now (state of the window; for tests and diagnostics). */
  get digest(): number {
    return this.hi * 0x100000000 + (this.lo >>> 0);
  }

  /** The digest after the last byte of the most recent cut chunk (restic's chunk "Cut" value). */
  get lastCutFingerprint(): number {
    return this.cutHi * 0x100000000 + (this.cutLo >>> 0);
  }

  /**
   * Scans buf[start..end) continuing the current chunk. Returns the index just past the byte that
   * ends a chunk, or -1 if no boundary occurs in the range (all bytes consumed into the current
   * chunk). After a boundary the chunker is already reset for the next chunk: call again with
   * start = returned index. The end of a file is not a boundary here; the caller emits the
   * pending bytes (if any) as the last chunk.
   */
  next(buf: Uint8Array, start: number, end: number): number {
    if (!(start >= 0 && start <= end && end <= buf.length)) throw new RangeError('chunker: bad range');
    let i = start;
    let count = this.count;

    // Skip phase: these bytes only count.
    if (count < this.skip) {
      const n = Math.min(end - i, this.skip - count);
      i += n;
      count += n;
      if (i === end) {
        this.count = count;
        return -1;
      }
    }

    // Hash phase. `base + i + 1` is the chunk length after byte i.
    const base = count - i;
    // A MaxSize cut happens after byte lim−1 at the latest.
    const lim = Math.min(end, this.maxSize - base);
    // Tests are allowed once the chunk length reaches MinSize, i.e. from byte firstTest on.
    const firstTest = this.minSize - base - 1;
    if (loadedPol !== this.pol) loadTables(this.pol);
    let hi = this.hi;
    let lo = this.lo;
    let cut = -1;
    const hashStart = i;

    // Up to the first 64 bytes of this call: the leaving byte comes from the ring.
    const win = this.window;
    let wpos = this.wpos;
    const ringEnd = Math.min(lim, i + WINDOW_SIZE);
    for (; i < ringEnd; i++) {
      const b = buf[i]!;
      const o = win[wpos]!;
      win[wpos] = b;
      wpos = (wpos + 1) & (WINDOW_SIZE - 1);
      const top = hi >>> 13; // digest bits 45…52
      hi = ((hi << 8) | (lo >>> 24)) ^ MOD_HI[top]! ^ OUT_HI[o]!;
      lo = ((lo << 8) | b) ^ MOD_LO[top]! ^ OUT_LO[o]!;
      if ((lo & SPLIT_MASK) === 0 && i >= firstTest) {
        cut = i + 1;
        break;
      }
    }
    this.wpos = wpos;

    // Main loop: ≥ 64 bytes of this call have been hashed, so the leaving byte is buf[i − 64].
    // Here the chunk is already ≥ MinSize long (64 hashed bytes ⇒ length ≥ skip + 64).
    if (cut < 0) {
      if (i < lim) {
        stHi = hi;
        stLo = lo;
        cut = scan2(buf, i, lim);
        hi = stHi;
        lo = stLo;
      }
      if (cut < 0 && base + lim >= this.maxSize) cut = lim;
    }

    if (cut >= 0) {
      this.cutHi = hi;
      this.cutLo = lo;
      this.reset();
      return cut;
    }

    // No cut: keep the state. If the main loop ran, the window is the last 64 input bytes.
    if (lim - hashStart > WINDOW_SIZE) {
      win.set(buf.subarray(lim - WINDOW_SIZE, lim));
      this.wpos = 0;
    }
    this.hi = hi;
    this.lo = lo;
    this.count = base + lim;
    return -1;
  }
}

/**
 * Chunks a whole in-memory file and returns the end offset of every chunk (the last one is
 * data.length; empty input → []). Convenience for tests and small inputs.
 */
export function chunkBoundaries(pol: bigint, data: Uint8Array, opts?: ChunkerOptions): number[] {
  const c = new Chunker(pol, opts);
  const ends: number[] = [];
  let start = 0;
  for (;;) {
    const cut = c.next(data, start, data.length);
    if (cut < 0) break;
    ends.push(cut);
    start = cut;
  }
  if (start < data.length) ends.push(data.length);
  return ends;
}
