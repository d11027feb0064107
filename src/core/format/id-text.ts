/**
 * @module format/id-text
 * 64-hex IDs as flat strings and as 8 uint32 words.
 *
 * Why flat copies: `text.slice(i, i + 64)` gives a V8 "sliced string" that points into `text`,
 * so an ID kept from a decoded index file or tree keeps that whole document's text alive.
 * `flatId` copies the 64 codes into a scratch buffer and decodes them with TextDecoder (a fresh,
 * flat string; browser-safe; ~0.2 µs per ID, measured cheaper than String.fromCharCode.apply).
 * The words form is how the MasterIndex stores blob IDs (32 bytes instead of a string object).
 */

const decoder = new TextDecoder();
const scratch = new Uint8Array(64);

/** The 64 characters of `s` from `at` as a new flat string (the caller has checked they are ASCII). */
export function flatId(s: string, at = 0): string {
  for (let k = 0; k < 64; k++) scratch[k] = s.charCodeAt(at + k);
  return decoder.decode(scratch);
}

/** Value (0..255) of two lowercase hex digits by their codes `(c1 << 7) | c2`, -1 for any other pair below 128. */
const PAIR = new Int16Array(1 << 14).fill(-1);
for (let a = 0; a < 16; a++) {
  for (let b = 0; b < 16; b++) PAIR[('0123456789abcdef'.charCodeAt(a) << 7) | '0123456789abcdef'.charCodeAt(b)] = a * 16 + b;
}

/**
 * Parses a 64-lowercase-hex ID into 8 big-endian uint32 words at `out[at..at+8)`. False (out
 * partly written) when `id` is not exactly 64 lowercase hex digits. Two digits per table read
 * (about half the cost of V8 hashing a fresh 64-char string for a Map lookup).
 */
export function idToWords(id: string, out: Uint32Array, at: number): boolean {
  return id.length === 64 && hexToWords(id, 0, out, at);
}

/** As idToWords, for the 64 characters of `s` from `from` (false when they are not all lowercase hex, or past its end). */
export function hexToWords(s: string, from: number, out: Uint32Array, at: number): boolean {
  let bad = 0;
  let k = from;
  for (let w = 0; w < 8; w++) {
    let v = 0;
    for (let j = 0; j < 4; j++, k += 2) {
      const c1 = s.charCodeAt(k);
      const c2 = s.charCodeAt(k + 1);
      // A code >= 128 makes `n` negative through -((c1 | c2) >> 7); past the end, NaN reads PAIR[0] = -1.
      const n = PAIR[((c1 & 127) << 7) | (c2 & 127)]! | -((c1 | c2) >> 7);
      bad |= n;
      v = (v << 8) | (n & 255);
    }
    out[at + w] = v;
  }
  return bad >= 0;
}

const HEX_CODES = new Uint8Array(16);
for (let v = 0; v < 16; v++) HEX_CODES[v] = '0123456789abcdef'.charCodeAt(v);

/** The ID stored as 8 words at `words[at..at+8)`, as a flat 64-hex string. */
export function wordsToId(words: Uint32Array, at: number): string {
  for (let w = 0; w < 8; w++) {
    const v = words[at + w]!;
    for (let k = 0; k < 8; k++) scratch[w * 8 + k] = HEX_CODES[(v >>> (28 - 4 * k)) & 15]!;
  }
  return decoder.decode(scratch);
}
