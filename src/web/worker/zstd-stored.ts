/**
 * @module web/worker/zstd-stored
 * The common case of a zstd frame that holds its data as is: restic (and Coffer) compress every
 * data blob, and zstd stores incompressible data (photos, videos, archives) as raw blocks, so such
 * a "compressed" blob is the plaintext cut into ≤ 128 KiB pieces behind 3-byte block headers
 * (RFC 8878 §3.1.1.2). The wasm library decodes it with three copies and two mallocs per blob
 * (into its heap, the memcpy, out again); here it is one copy into a buffer of the expected size,
 * straight from the decryption's pieces when the caller has them (decodeStoredPieces).
 *
 * Only frames that are plainly valid are taken: zstd frames only (no skippable frames), no
 * dictionary, no content checksum, only raw and RLE blocks within the block size the frame
 * allows, a declared content size (if any) equal to the blocks' total, and that total equal to
 * `expectedSize`. Anything else returns undefined and goes to the library as before, which
 * decodes it or reports what is wrong. The caller still checks the SHA-256 of the result.
 */

const ZSTD_MAGIC = 0xfd2fb528;
const BLOCK_MAX = 128 * 1024;
/** The reference decoder's default window limit (ZSTD_WINDOWLOG_LIMIT_DEFAULT): beyond it, ask the library. */
const WINDOW_LOG_LIMIT = 27;

/**
 * The input as consecutive pieces, all but the last `size` bytes long: one array, or the
 * results of the AES-CTR calls that decrypted it (so the blocks go straight from those results
 * to their place in the output, without first being gathered into one plaintext).
 */
interface Pieces {
  readonly parts: readonly Uint8Array[];
  readonly size: number;
  readonly length: number;
}

function byte(d: Pieces, pos: number): number {
  return d.parts[Math.floor(pos / d.size)]![pos % d.size]!;
}

/** Copies `n` bytes of `d` from `pos` into `out` at `at`. */
function copy(d: Pieces, pos: number, n: number, out: Uint8Array, at: number): void {
  while (n > 0) {
    const part = d.parts[Math.floor(pos / d.size)]!;
    const o = pos % d.size;
    const k = Math.min(n, part.length - o);
    out.set(k === part.length ? part : part.subarray(o, o + k), at);
    pos += k;
    at += k;
    n -= k;
  }
}

/** Where one frame's blocks start and the most a block may hold, or undefined when not taken. */
function frameHeader(d: Pieces, pos: number): { blocks: number; blockMax: number; contentSize: number | undefined } | undefined {
  if (d.length - pos < 6 || (byte(d, pos) | (byte(d, pos + 1) << 8) | (byte(d, pos + 2) << 16) | (byte(d, pos + 3) << 24)) >>> 0 !== ZSTD_MAGIC) return undefined;
  const fhd = byte(d, pos + 4);
  // Reserved bit, content checksum or a dictionary ID field: the library's case.
  if (fhd & 0x0f) return undefined;
  const single = (fhd & 0x20) !== 0;
  const fcsFlag = fhd >> 6;
  const fcsSize = fcsFlag === 0 ? (single ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
  let p = pos + 5;
  let window = 0;
  if (!single) {
    const wd = byte(d, p++);
    const log = 10 + (wd >> 3);
    if (log > WINDOW_LOG_LIMIT) return undefined;
    window = 2 ** log + (2 ** log / 8) * (wd & 7);
  }
  if (d.length - p < fcsSize) return undefined;
  let contentSize: number | undefined;
  if (fcsSize > 0) {
    let v = 0;
    for (let i = 0; i < fcsSize; i++) v += byte(d, p + i) * 2 ** (8 * i);
    contentSize = fcsSize === 2 ? v + 256 : v;
    p += fcsSize;
  }
  if (single) window = contentSize!;
  return { blocks: p, blockMax: Math.min(window, BLOCK_MAX), contentSize };
}

/**
 * Walks the frames of `d`; with `out`, also writes the blocks' bytes into it. Returns the total
 * decoded size, or -1 when the input is not one this module takes.
 */
function walk(d: Pieces, out?: Uint8Array): number {
  let pos = 0;
  let total = 0;
  while (pos < d.length) {
    const h = frameHeader(d, pos);
    if (!h) return -1;
    pos = h.blocks;
    let frameTotal = 0;
    for (;;) {
      if (d.length - pos < 3) return -1;
      const bh = byte(d, pos) | (byte(d, pos + 1) << 8) | (byte(d, pos + 2) << 16);
      pos += 3;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type > 1 || size > h.blockMax) return -1;
      const wire = type === 0 ? size : 1;
      if (d.length - pos < wire) return -1;
      if (out) {
        if (type === 0) copy(d, pos, size, out, total + frameTotal);
        else out.fill(byte(d, pos), total + frameTotal, total + frameTotal + size);
      }
      pos += wire;
      frameTotal += size;
      if (bh & 1) break;
    }
    if (h.contentSize !== undefined && h.contentSize !== frameTotal) return -1;
    total += frameTotal;
  }
  return total;
}

/** The decoded bytes when `data` is zstd frames of raw/RLE blocks decoding to exactly `expectedSize`, else undefined. */
export function decodeStored(data: Uint8Array, expectedSize: number): Uint8Array | undefined {
  return decodeStoredPieces([data], data.length, expectedSize);
}

/**
 * decodeStored of the concatenation of `parts`, each `pieceSize` bytes long but the last (which
 * may be shorter, not empty): one copy from the parts into a new buffer of `expectedSize`.
 */
export function decodeStoredPieces(parts: readonly Uint8Array[], pieceSize: number, expectedSize: number): Uint8Array | undefined {
  const length = parts.reduce((n, p) => n + p.length, 0);
  if (length === 0 || parts.some((p, i) => (i < parts.length - 1 ? p.length !== pieceSize : p.length === 0 || p.length > pieceSize))) return undefined;
  const d: Pieces = { parts, size: pieceSize, length };
  if (walk(d) !== expectedSize) return undefined;
  const out = new Uint8Array(expectedSize);
  walk(d, out);
  return out;
}
