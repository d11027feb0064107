/**
 * @module compress/zstd-frames
 * Safe decompression driver shared by both zstd Compressors (spec §8). Before any zstd library
 * sees the input, the frame headers and block headers (RFC 8878 §3.1) are walked in JS to split
 * the input into frames and to bound each frame's output: a declared content size larger than
 * its blocks could produce, or than the caller's limit, is rejected without allocating. The
 * library then decodes one frame at a time into a buffer of exactly that bound.
 */
import { concatBytes, readUint32LE } from '../bytes.js';
import { corrupt } from '../errors.js';

const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames use magics 0x184D2A50..0x184D2A5F. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
/** RFC 8878 §3.1.1.2.4: a block never decodes to more than 128 KiB. */
const BLOCK_MAX = 128 * 1024;

/** Output cap when the caller gives neither expectedSize nor maxSize. */
export const DEFAULT_MAX_DECOMPRESSED = 1024 * 1024 * 1024;

/** What names the data in errors; callers wrap with the object's name. */
const WHAT = 'zstd data';

export interface ZstdFrame {
  /** The frame's bytes (a view into the input). */
  readonly bytes: Uint8Array;
  /** Frame_Content_Size when the header declares it. */
  readonly contentSize: number | undefined;
  /** Most bytes the frame's blocks can decode to (exact for raw and RLE blocks). */
  readonly maxOutput: number;
}

/**
 * Splits `data` into zstd frames, skipping skippable frames. Throws CofferError 'corrupt' on a bad
 * magic, reserved bits, a dictionary ID (restic never uses dictionaries), a truncated frame, or a
 * declared content size its blocks cannot produce.
 */
export function scanFrames(data: Uint8Array): ZstdFrame[] {
  const frames: ZstdFrame[] = [];
  let pos = 0;
  if (data.length === 0) throw corrupt(WHAT, 'empty input (no zstd frame)');
  while (pos < data.length) {
    if (data.length - pos < 4) throw corrupt(WHAT, 'truncated frame magic');
    const magic = readUint32LE(data, pos);
    if (((magic & SKIPPABLE_MASK) >>> 0) === SKIPPABLE_MAGIC) {
      if (data.length - pos < 8) throw corrupt(WHAT, 'truncated skippable frame');
      const size = readUint32LE(data, pos + 4);
      if (data.length - pos - 8 < size) throw corrupt(WHAT, 'truncated skippable frame');
      pos += 8 + size;
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw corrupt(WHAT, `not a zstd frame (magic ${magic.toString(16)} at byte ${pos})`);
    const start = pos;
    pos += 4;
    if (pos >= data.length) throw corrupt(WHAT, 'truncated frame header');
    const fhd = data[pos++]!;
    const fcsFlag = fhd >> 6;
    const singleSegment = (fhd & 0x20) !== 0;
    if (fhd & 0x08) throw corrupt(WHAT, 'reserved bit set in frame header');
    const hasChecksum = (fhd & 0x04) !== 0;
    const dictIdSize = [0, 1, 2, 4][fhd & 3]!;
    const fcsSize = fcsFlag === 0 ? (singleSegment ? 1 : 0) : [0, 2, 4, 8][fcsFlag]!;
    const headerRest = (singleSegment ? 0 : 1) + dictIdSize + fcsSize;
    if (data.length - pos < headerRest) throw corrupt(WHAT, 'truncated frame header');
    // The window descriptor only matters to streaming decoders; one-shot decoding needs none.
    if (!singleSegment) pos++;
    let dictId = 0;
    for (let i = 0; i < dictIdSize; i++) dictId += data[pos + i]! * 2 ** (8 * i);
    pos += dictIdSize;
    if (dictId !== 0) throw corrupt(WHAT, 'frame needs a dictionary');
    let contentSize: number | undefined;
    if (fcsSize > 0) {
      let v = 0;
      for (let i = 0; i < fcsSize; i++) v += data[pos + i]! * 2 ** (8 * i);
      if (fcsSize === 2) v += 256;
      // Above 2^53 the sum is inexact, but such a size fails every limit below anyway.
      contentSize = v;
      pos += fcsSize;
    }
    // Bounds use the 128 KiB absolute block limit, not min(window, 128 KiB): looser, never unsafe,
    // and it cannot reject a frame the real decoder accepts.
    const blockMax = BLOCK_MAX;
    let maxOutput = 0;
    for (;;) {
      if (data.length - pos < 3) throw corrupt(WHAT, 'truncated block header');
      const bh = data[pos]! | (data[pos + 1]! << 8) | (data[pos + 2]! << 16);
      pos += 3;
      const last = (bh & 1) !== 0;
      const type = (bh >> 1) & 3;
      const size = bh >>> 3;
      if (type === 3) throw corrupt(WHAT, 'reserved block type');
      // RLE blocks are one byte on the wire but `size` bytes decoded.
      const wire = type === 1 ? 1 : size;
      if (size > blockMax) throw corrupt(WHAT, 'block larger than the maximum block size');
      if (data.length - pos < wire) throw corrupt(WHAT, 'truncated block');
      pos += wire;
      maxOutput += type === 2 ? blockMax : size;
      if (last) break;
    }
    if (hasChecksum) {
      if (data.length - pos < 4) throw corrupt(WHAT, 'truncated content checksum');
      pos += 4;
    }
    if (contentSize !== undefined && contentSize > maxOutput) throw corrupt(WHAT, `declared content size ${contentSize} exceeds what its blocks can hold`);
    frames.push({ bytes: data.subarray(start, pos), contentSize, maxOutput });
  }
  if (frames.length === 0) throw corrupt(WHAT, 'no zstd frame (only skippable frames)');
  return frames;
}

/**
 * Decodes one frame into at most `capacity` bytes. Returns 'too-small' when the output did not
 * fit; throws (anything) when the frame is malformed.
 */
export type FrameDecoder = (frame: Uint8Array, capacity: number) => Uint8Array | 'too-small';

export interface DecompressLimits {
  expectedSize?: number;
  maxSize?: number;
}

/**
 * Decompresses all frames of `data` with `decode`, enforcing the limits of Compressor.decompress
 * (`expectedSize` exact, `maxSize` cap; `hardMax` is the implementation's own ceiling).
 * Every failure is a CofferError 'corrupt'.
 */
export function decompressFrames(data: Uint8Array, limits: DecompressLimits | undefined, decode: FrameDecoder, hardMax = Number.MAX_SAFE_INTEGER): Uint8Array {
  const expected = limits?.expectedSize;
  if (expected !== undefined && (!Number.isSafeInteger(expected) || expected < 0)) throw new RangeError('expectedSize must be a non-negative integer');
  const budget = Math.min(expected ?? Infinity, limits?.maxSize ?? (expected === undefined ? DEFAULT_MAX_DECOMPRESSED : Infinity), hardMax);
  const frames = scanFrames(data);
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const f of frames) {
    const remaining = budget - total;
    let out: Uint8Array;
    if (f.contentSize !== undefined) {
      if (f.contentSize > remaining) throw corrupt(WHAT, `decompressed size ${f.contentSize} exceeds the limit of ${budget} bytes`);
      out = decodeChecked(f.bytes, f.contentSize, decode);
      if (out.length !== f.contentSize) throw corrupt(WHAT, 'decompressed size differs from the frame header');
    } else {
      // No declared size: grow the buffer from a modest guess up to the block bound, so a hostile
      // frame of many empty-looking blocks cannot make us allocate its whole theoretical bound.
      const ceiling = Math.min(f.maxOutput, remaining);
      let cap = Math.min(ceiling, Math.max(1 << 20, f.bytes.length * 8));
      for (;;) {
        const r = decodeChecked(f.bytes, cap, decode, true);
        if (r !== 'too-small') {
          out = r;
          break;
        }
        if (cap >= ceiling) {
          throw corrupt(WHAT, ceiling < f.maxOutput ? `decompressed size exceeds the limit of ${budget} bytes` : 'frame decodes to more than its blocks allow');
        }
        cap = Math.min(ceiling, cap * 4);
      }
    }
    parts.push(out);
    total += out.length;
  }
  if (expected !== undefined && total !== expected) throw corrupt(WHAT, `decompressed to ${total} bytes, expected ${expected}`);
  return parts.length === 1 ? parts[0]! : concatBytes(...parts);
}

function decodeChecked(frame: Uint8Array, cap: number, decode: FrameDecoder, allowTooSmall?: false): Uint8Array;
function decodeChecked(frame: Uint8Array, cap: number, decode: FrameDecoder, allowTooSmall: true): Uint8Array | 'too-small';
function decodeChecked(frame: Uint8Array, cap: number, decode: FrameDecoder, allowTooSmall = false): Uint8Array | 'too-small' {
  let r: Uint8Array | 'too-small';
  try {
    r = decode(frame, cap);
  } catch (e) {
    throw corrupt(WHAT, `invalid zstd frame (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (r === 'too-small' && !allowTooSmall) throw corrupt(WHAT, 'damaged frame (its output does not match its declared content size)');
  return r;
}
