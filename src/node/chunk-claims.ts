/**
 * @module node/chunk-claims
 * A set of data blob IDs in shared memory, so the chunk workers (and the main thread) dedup
 * exactly without a message per chunk: whoever inserts an ID first stores the blob, everyone
 * else finds it. Filled at the start with the index's data blobs.
 *
 * Layout (two SharedArrayBuffers): `slots` is an open-addressing table of Int32 (0 = empty,
 * else the number of an entry in `ids`); `ids` holds [count, 7 unused words] then 8 words
 * (32 bytes) per ID, appended with Atomics.add. An inserter writes its ID into a fresh entry,
 * then publishes the entry with a compare-and-swap on the empty slot; a loser of that race
 * compares against the winner's entry (written before the CAS, so visible after it). IDs are
 * SHA-256 digests, so a word of the ID is the hash. When the entries run out, `claim` answers
 * 'full' and the caller falls back to the main thread's own records.
 */
import { fromHex } from '../core/bytes.js';
import type { BlobClaims } from '../core/repository/blob-saver.js';

export interface ClaimBuffers {
  readonly slots: SharedArrayBuffer;
  readonly ids: SharedArrayBuffer;
}

export const CLAIM_NEW = 0;
export const CLAIM_KNOWN = 1;
export const CLAIM_FULL = 2;
export type ClaimResult = typeof CLAIM_NEW | typeof CLAIM_KNOWN | typeof CLAIM_FULL;

/** Free IDs kept beyond the index's blobs for the new blobs of one run. */
const HEADROOM = 256 * 1024;

export class ClaimTable {
  private readonly slots: Int32Array;
  private readonly ids: Int32Array;
  private readonly mask: number;
  /** Largest entry number (at most half the slots: probes stay short). */
  private readonly limit: number;
  private readonly words = new Int32Array(8);
  private readonly wordBytes = new Uint8Array(this.words.buffer);
  /** An entry this thread took but lost the race with (same ID): reused for its next insert. */
  private spare = 0;

  constructor(readonly buffers: ClaimBuffers) {
    this.slots = new Int32Array(buffers.slots);
    this.ids = new Int32Array(buffers.ids);
    this.mask = this.slots.length - 1;
    this.limit = this.ids.length / 8 - 1;
  }

  /** A table for `known` IDs plus a run's worth of new ones. */
  static create(known: number, headroom = HEADROOM): ClaimTable {
    const entries = known + headroom;
    let slots = 1024;
    while (slots < entries * 2) slots *= 2;
    // Pages of `ids` not yet reached are never touched: they cost no memory.
    return new ClaimTable({ slots: new SharedArrayBuffer(slots * 4), ids: new SharedArrayBuffer((entries + 1) * 32) });
  }

  /** Claims a 32-byte digest (see module doc). */
  claimDigest(digest: Uint8Array): ClaimResult {
    this.wordBytes.set(digest);
    return this.claimWords(this.words);
  }

  private claimWords(w: Int32Array): ClaimResult {
    const { slots, ids } = this;
    let i = w[0]! & this.mask;
    let entry = 0;
    for (;;) {
      let v = Atomics.load(slots, i);
      if (v === 0) {
        if (entry === 0) {
          entry = this.spare || Atomics.add(ids, 0, 1) + 1;
          this.spare = 0;
          if (entry > this.limit) return CLAIM_FULL;
          const base = entry * 8;
          for (let k = 0; k < 8; k++) ids[base + k] = w[k]!;
        }
        v = Atomics.compareExchange(slots, i, 0, entry);
        if (v === 0) return CLAIM_NEW;
      }
      if (this.equals(v, w)) {
        this.spare = entry;
        return CLAIM_KNOWN;
      }
      i = (i + 1) & this.mask;
    }
  }

  private equals(entry: number, w: Int32Array): boolean {
    const base = entry * 8;
    const ids = this.ids;
    for (let k = 0; k < 8; k++) if (ids[base + k] !== w[k]) return false;
    return true;
  }

  /** The ID's words, parsed in place (the main thread asks once per chunk: no allocation). */
  private hexWords(id: string): Int32Array {
    const b = this.wordBytes;
    if (id.length !== 64) {
      b.set(fromHex(id)); // throws the usual error for a malformed ID
      return this.words;
    }
    for (let i = 0; i < 32; i++) b[i] = (hexValue(id.charCodeAt(2 * i)) << 4) | hexValue(id.charCodeAt(2 * i + 1));
    return this.words;
  }

  /** For the main thread (BlobClaims). */
  claim(id: string): boolean | undefined {
    const r = this.claimWords(this.hexWords(id));
    return r === CLAIM_NEW ? true : r === CLAIM_KNOWN ? false : undefined;
  }

  has(id: string): boolean {
    const w = this.hexWords(id);
    let i = w[0]! & this.mask;
    for (;;) {
      const v = Atomics.load(this.slots, i);
      if (v === 0) return false;
      if (this.equals(v, w)) return true;
      i = (i + 1) & this.mask;
    }
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  throw new RangeError('invalid hex digit in a blob ID');
}

/** The main thread's view as the saver's claims. */
export function claimsOf(t: ClaimTable): BlobClaims {
  return { claim: (id) => t.claim(id), has: (id) => t.has(id) };
}
