/**
 * @module platform-web
 * The Platform (core/platform.ts) for browsers and other non-Node hosts: @noble crypto and zstd
 * in WebAssembly. Pure core code, so it also runs in Node (used for cross-tests).
 */
import { createWasmZstd, type WasmZstdOptions } from './compress/zstd-wasm.js';
import { webCrypto } from './crypto/web.js';
import type { Platform } from './platform.js';

export async function webPlatform(opts: WasmZstdOptions = {}): Promise<Platform> {
  return { crypto: webCrypto, zstd: await createWasmZstd(opts) };
}
