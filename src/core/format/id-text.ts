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

/** Value of a lowercase hex digit's code, -1 for every other code below 128. */
const NIBBLE = new Int8Array(128).fill(-1);
for (let v = 0; v < 16; v++) NIBBLE['0123456789abcdef'.charCodeAt(v)] = v;

/**
 * Parses a 64-lowercase-hex ID into 8 big-endian uint32 words at `out[at..at+8)`. False (out
 * partly written) when `id` is not exactly 64 lowercase hex digits.
 */
export function idToWords(id: string, out: Uint32Array, at: number): boolean {
  if (id.length !== 64) return false;
  let bad = 0;
  for (let w = 0; w < 8; w++) {
    let v = 0;
    for (let k = w * 8; k < w * 8 + 8; k++) {
      const c = id.charCodeAt(k);
      // A code >= 128 makes `n` negative through -(c >> 7).
      const n = NIBBLE[c & 127]! | -(c >> 7);
      bad |= n;
      v = (v << 4) | (n & 15);
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
