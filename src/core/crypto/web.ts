/**
 * @module crypto/web
 * `webCrypto`: the CryptoSuite (crypto/suite.ts) in pure JavaScript via @noble, for the browser
 * and as the reference the Node suite is cross-tested against. Primitives per spec §4.2 and §5.2:
 * SHA-256, AES-256-CTR (full 128-bit big-endian counter), one AES-128 block, Poly1305, scrypt.
 * Only modules in crypto/ may import @noble.
 */
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { scryptAsync } from '@noble/hashes/scrypt.js';
import { ctr, ecb } from '@noble/ciphers/aes.js';
import { poly1305 as noblePoly1305 } from '@noble/ciphers/_poly1305.js';
import type { CryptoSuite } from './suite.js';

/** getRandomValues refuses more than 65536 bytes per call. */
const RANDOM_PIECE = 65536;

export function randomBytesWeb(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let o = 0; o < n; o += RANDOM_PIECE) globalThis.crypto.getRandomValues(out.subarray(o, Math.min(n, o + RANDOM_PIECE)));
  return out;
}

/** Poly1305 (RFC 8439) with a 32-byte one-time key r‖s; the clamp of r happens inside. */
export function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError('poly1305 key must be 32 bytes');
  return noblePoly1305(msg, key);
}

function aes256CtrNoble(key: Uint8Array, iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError('AES-256 key must be 32 bytes');
  if (iv.length !== 16) throw new RangeError('CTR IV must be 16 bytes');
  const cipher = ctr(key, iv);
  if (out === undefined) return cipher.encrypt(data);
  if (out.length !== data.length) throw new RangeError('output length differs from input length');
  // noble writes into a caller buffer only when it is 4-byte aligned; otherwise copy once.
  if ((out.byteOffset & 3) === 0) return cipher.encrypt(data, out);
  out.set(cipher.encrypt(data));
  return out;
}

function aes128BlockNoble(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError('AES-128 key must be 16 bytes');
  if (block.length !== 16) throw new RangeError('AES block must be 16 bytes');
  return ecb(key, { disablePadding: true }).encrypt(block);
}

export const webCrypto: CryptoSuite = {
  name: 'web (noble)',
  sha256: (data) => nobleSha256(data),
  aes256Ctr: aes256CtrNoble,
  aes128Block: aes128BlockNoble,
  poly1305,
  async scrypt(password, salt, { N, r, p, dkLen }) {
    // noble's default memory cap (1 GiB) is far above what restic's parameters need.
    return scryptAsync(password, salt, { N, r, p, dkLen });
  },
  randomBytes: randomBytesWeb,
};
