/**
 * @module compress/compressor
 * Zstandard for repository version 2 (§8). Two implementations behind one interface:
 * `compress/zstd-wasm.ts` (WebAssembly, browser and Node) and `src/node/zstd-native.ts`
 * (the native zstd-napi addon, faster; optional dependency). Any valid zstd frame is accepted
 * by restic, so the two need not produce identical bytes.
 */
export interface Compressor {
  readonly name: string;
  /** One zstd frame holding `data` (with the content size in the frame header). */
  compress(data: Uint8Array, level: number): Uint8Array;
  /**
   * Decompresses one or more concatenated frames. `expectedSize`, when known, is checked and
   * bounds memory; `maxSize` caps output for untrusted input. Throws CofferError 'corrupt'.
   */
  decompress(data: Uint8Array, opts?: { expectedSize?: number; maxSize?: number }): Uint8Array;
}

/** restic --compression modes mapped to zstd levels (spec §8). */
export const COMPRESSION_LEVELS = { auto: 3, max: 11, fastest: 1, better: 7 } as const;
export type CompressionMode = 'auto' | 'off' | 'max' | 'fastest' | 'better';
