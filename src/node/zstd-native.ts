/**
 * @module node/zstd-native
 * Zstandard (spec §8) through the optional native addon zstd-napi (libzstd). Returns undefined
 * when the addon is not installed or not built, so callers fall back to compress/zstd-wasm.ts.
 * Decompression goes through core/compress/zstd-frames.ts, which bounds every frame first, and
 * then decodes each frame straight into a buffer of that size.
 */
import { createRequire } from 'node:module';
import { CofferError } from '../core/errors.js';
import type { Compressor } from '../core/compress/compressor.js';
import { decompressFrames } from '../core/compress/zstd-frames.js';

/** The parts of zstd-napi's low-level binding we use. */
interface Binding {
  compressBound(srcSize: number): number;
  CCtx: new () => { compress(dst: Uint8Array, src: Uint8Array, level: number): number };
  DCtx: new () => { decompress(dst: Uint8Array, src: Uint8Array): number };
}

const DST_TOO_SMALL = /destination buffer is too small/i;

function loadBinding(): Binding | undefined {
  try {
    const require = createRequire(import.meta.url);
    return require('zstd-napi/binding') as Binding;
  } catch {
    return undefined;
  }
}

export function createNativeZstd(): Compressor | undefined {
  const b = loadBinding();
  if (!b) return undefined;
  // Contexts are reused across calls (JS is single-threaded per isolate): saves their setup
  // cost, which dominates for small blobs.
  const cctx = new b.CCtx();
  const dctx = new b.DCtx();
  const decodeFrame = (frame: Uint8Array, capacity: number): Uint8Array | 'too-small' => {
    const out = new Uint8Array(capacity);
    let n: number;
    try {
      n = dctx.decompress(out, frame);
    } catch (e) {
      if (e instanceof Error && DST_TOO_SMALL.test(e.message)) return 'too-small';
      throw e;
    }
    return n === capacity ? out : out.slice(0, n);
  };
  return {
    name: 'zstd-native',
    compress(data: Uint8Array, level: number): Uint8Array {
      const out = new Uint8Array(b.compressBound(data.length));
      let n: number;
      try {
        // ZSTD_compressCCtx records the content size in the frame header.
        n = cctx.compress(out, data, level);
      } catch (e) {
        throw new CofferError('internal', `zstd compression failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
      // A copy of the exact size: the bound buffer would otherwise stay alive behind a view.
      return out.slice(0, n);
    },
    decompress(data: Uint8Array, limits?: { expectedSize?: number; maxSize?: number }): Uint8Array {
      return decompressFrames(data, limits, decodeFrame);
    },
  };
}
