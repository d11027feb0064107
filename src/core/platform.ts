/**
 * @module platform
 * What the core needs from its host besides storage: the crypto primitives (§4, §5) and a zstd
 * implementation (§8). Built by `src/node/platform.ts` (Node) or `core/platform-web.ts` (browser).
 */
import type { Compressor } from './compress/compressor.js';
import type { CryptoSuite } from './crypto/suite.js';

export interface Platform {
  readonly crypto: CryptoSuite;
  readonly zstd: Compressor;
}
