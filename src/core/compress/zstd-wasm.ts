/**
 * @module compress/zstd-wasm
 * Zstandard (spec §8) through @bokuweb/zstd-wasm: the reference zstd library compiled to
 * WebAssembly, in Node and in the browser. The package resolves to a Node build (reads its .wasm
 * from node_modules) or a browser build (fetches zstd.wasm next to its own URL, or takes the URL
 * or bytes passed here). Decompression goes through compress/zstd-frames.ts, which validates and
 * bounds every frame before the library allocates anything.
 */
import { CofferError } from '../errors.js';
import type { Compressor } from './compressor.js';
import { decompressFrames } from './zstd-frames.js';

interface ZstdWasmModule {
  init(path?: string | Uint8Array | ArrayBuffer): Promise<void>;
  compress(buf: Uint8Array, level?: number): Uint8Array;
  decompress(buf: Uint8Array, opts?: { defaultHeapSize?: number }): Uint8Array;
}

export interface WasmZstdOptions {
  /** Browser only: where to fetch zstd.wasm, or its bytes (default: next to the package's module). */
  wasm?: string | URL | Uint8Array | ArrayBuffer;
}

/** The wasm heap is 32-bit and the library reads sizes as 32-bit numbers: stay well inside. */
const WASM_MAX_OUTPUT = 1024 * 1024 * 1024;
/** zstd's ZSTD_error_dstSize_tooSmall, as the library reports it ("… with code -70"). */
const DST_TOO_SMALL = /code -70\b/;

let loaded: Promise<ZstdWasmModule> | undefined;

/** The package holds one wasm instance per page/process; initialise it once. */
function load(opts: WasmZstdOptions): Promise<ZstdWasmModule> {
  loaded ??= (async () => {
    const mod = (await import('@bokuweb/zstd-wasm')) as unknown as ZstdWasmModule & { default?: ZstdWasmModule };
    // The Node build is CommonJS; its functions may sit on `default` only.
    const z: ZstdWasmModule = typeof mod.init === 'function' ? mod : mod.default!;
    const w = opts.wasm;
    await z.init(w instanceof URL ? w.href : w);
    return z;
  })();
  loaded.catch(() => (loaded = undefined));
  return loaded;
}

export async function createWasmZstd(opts: WasmZstdOptions = {}): Promise<Compressor> {
  const z = await load(opts);
  const decodeFrame = (frame: Uint8Array, capacity: number): Uint8Array | 'too-small' => {
    try {
      // With a declared content size (already checked against the limits) the library allocates
      // exactly that; without one it allocates defaultHeapSize.
      return z.decompress(frame, { defaultHeapSize: Math.max(capacity, 1) });
    } catch (e) {
      if (e instanceof Error && DST_TOO_SMALL.test(e.message)) return 'too-small';
      throw e;
    }
  };
  return {
    name: 'zstd-wasm',
    compress(data: Uint8Array, level: number): Uint8Array {
      try {
        // ZSTD_compress always records the content size in the frame header.
        return z.compress(data, level);
      } catch (e) {
        throw new CofferError('internal', `zstd compression failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
      }
    },
    decompress(data: Uint8Array, limits?: { expectedSize?: number; maxSize?: number }): Uint8Array {
      return decompressFrames(data, limits, decodeFrame, WASM_MAX_OUTPUT);
    },
  };
}
