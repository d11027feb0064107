/**
 * @module node/platform
 * The Platform (core/platform.ts) for Node: node:crypto (with the shared Poly1305) and native
 * zstd when the optional addon loads, else zstd in WebAssembly. Overrides for cross-testing:
 * COFFER_ZSTD=wasm forces the wasm zstd, COFFER_CRYPTO=web forces the pure-JS @noble suite.
 */
import { createWasmZstd } from '../core/compress/zstd-wasm.js';
import { webCrypto } from '../core/crypto/web.js';
import type { Platform } from '../core/platform.js';
import { nodeCrypto } from './crypto-node.js';
import { createNativeZstd } from './zstd-native.js';

export type { Platform } from '../core/platform.js';

export async function nodePlatform(): Promise<Platform> {
  const crypto = process.env.COFFER_CRYPTO === 'web' ? webCrypto : nodeCrypto;
  const zstd = (process.env.COFFER_ZSTD === 'wasm' ? undefined : createNativeZstd()) ?? (await createWasmZstd());
  return { crypto, zstd };
}
