/**
 * @module node/pack-verify-worker-zstd
 * The verify worker's zstd: native zstd-napi decoding into one reused output buffer, so checking
 * a blob allocates no plaintext (1.6 GiB of garbage per full check of the bench corpus). Frames
 * are bounded by the shared driver (core/compress/zstd-frames.ts) exactly as in zstd-native.ts.
 *
 * Only for a caller that drops each result before the next call: the returned bytes are a view
 * of the scratch buffer and are overwritten by the next `decompress`. The worker's verification
 * (hash the plaintext, then forget it) is such a caller; nothing else may use this Compressor.
 * Returns undefined without the addon (the worker then uses the platform's zstd).
 */
import { createRequire } from 'node:module';
import type { Compressor } from '../core/compress/compressor.js';
import { decompressFrames } from '../core/compress/zstd-frames.js';
import { CofferError } from '../core/errors.js';

interface DCtx {
  decompress(dst: Uint8Array, src: Uint8Array): number;
}

const DST_TOO_SMALL = /destination buffer is too small/i;

export function createScratchZstd(): Compressor | undefined {
  let DCtxClass: (new () => DCtx) | undefined;
  try {
    DCtxClass = (createRequire(import.meta.url)('zstd-napi/binding') as { DCtx: new () => DCtx }).DCtx;
  } catch {
    return undefined;
  }
  const dctx = new DCtxClass();
  let scratch = new Uint8Array(1 << 20);
  // Bytes of `scratch` used by the frames of the current call (a blob may hold several frames).
  let used = 0;
  const decodeFrame = (frame: Uint8Array, capacity: number): Uint8Array | 'too-small' => {
    if (scratch.length - used < capacity) {
      // Earlier frames of this call keep the old buffer alive through their views; the new one is
      // sized for the rest of the call, rounded up so a run of growing blobs reallocates rarely.
      scratch = new Uint8Array(Math.max(scratch.length * 2, roundUp(capacity, 1 << 20)));
      used = 0;
    }
    const dst = scratch.subarray(used, used + capacity);
    let n: number;
    try {
      n = dctx.decompress(dst, frame);
    } catch (e) {
      if (e instanceof Error && DST_TOO_SMALL.test(e.message)) return 'too-small';
      throw e;
    }
    used += n;
    return dst.subarray(0, n);
  };
  return {
    name: 'zstd-native-scratch',
    compress(): Uint8Array {
      throw new CofferError('internal', 'the verify worker does not compress');
    },
    decompress(data: Uint8Array, limits?: { expectedSize?: number; maxSize?: number }): Uint8Array {
      used = 0;
      return decompressFrames(data, limits, decodeFrame);
    },
  };
}

function roundUp(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}
