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
 *    first 64 bytes of a call and refilled from the input when the call ends without a cut.
 */
import { WINDOW_SIZE, splitTables } from './polynomial.js';

export const MIN_SIZE = 512 * 1024;
export const MAX_SIZE = 8 * 1024 * 1024;
/** Low 20 bits of the digest zero → cut (average ~1 MiB of hashed data). */
const SPLIT_MASK = 0xfffff;

export interface ChunkerOptions {
  minSize?: number;
  maxSize?: number;
}

export class Chunker {
  private readonly outHi: Int32Array;
  private readonly outLo: Int32Array;
  private readonly modHi: Int32Array;
  private readonly modLo: Int32Array;
  /** digest >> topShift of the high half = the 8 bits above degree k−1 (k−8−32). */
  private readonly topShift: number;
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
    const t = splitTables(pol);
    // The split representation needs the 8 "top" bits entirely in the high half: k ≥ 40.
    // restic itself only ever creates degree 53, and config validation requires it.
    if (t.degree < 40 || t.degree > 53) throw new RangeError(`unsupported chunker polynomial degree ${t.degree}`);
    this.outHi = t.outHi;
    this.outLo = t.outLo;
    this.modHi = t.modHi;
    this.modLo = t.modLo;
    this.topShift = t.degree - 8 - 32;
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
    const outHi = this.outHi;
    const outLo = this.outLo;
    const modHi = this.modHi;
    const modLo = this.modLo;
    const sh = this.topShift;
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
      hi ^= outHi[o]!;
      lo ^= outLo[o]!;
      const top = hi >>> sh;
      hi = ((hi << 8) | (lo >>> 24)) ^ modHi[top]!;
      lo = ((lo << 8) | b) ^ modLo[top]!;
      if ((lo & SPLIT_MASK) === 0 && i >= firstTest) {
        cut = i + 1;
        break;
      }
    }
    this.wpos = wpos;

    // Main loop: ≥ 64 bytes of this call have been hashed, so the leaving byte is buf[i − 64].
    // Here the chunk is already ≥ MinSize long (64 hashed bytes ⇒ length ≥ skip + 64).
    if (cut < 0) {
      for (; i < lim; i++) {
        const o = buf[i - WINDOW_SIZE]!;
        hi ^= outHi[o]!;
        lo ^= outLo[o]!;
        const top = hi >>> sh;
        hi = ((hi << 8) | (lo >>> 24)) ^ modHi[top]!;
        lo = ((lo << 8) | buf[i]!) ^ modLo[top]!;
        if ((lo & SPLIT_MASK) === 0) {
          cut = i + 1;
          break;
        }
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
