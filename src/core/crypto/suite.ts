/**
 * @module crypto/suite
 * The primitives restic's format needs, behind one interface with two implementations:
 * `crypto/web.ts` (pure JS via @noble, runs anywhere) and `src/node/crypto-node.ts`
 * (node:crypto where it is faster). Both are cross-tested on the same vectors.
 * Everything is synchronous except scrypt, which is slow by design.
 */
export interface CryptoSuite {
  readonly name: string;
  sha256(data: Uint8Array): Uint8Array;
  /**
   * AES-256-CTR with the full 16-byte IV as a 128-bit big-endian counter (encrypt = decrypt).
   * When `out` is given (data.length bytes, not overlapping `data`), the result is written into
   * it and `out` is returned; lets a sealed box be built in one buffer without a copy.
   */
  aes256Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array;
  /** AES-128 encryption of exactly one 16-byte block (Poly1305-AES's `s`). */
  aes128Block(key: Uint8Array, block: Uint8Array): Uint8Array;
  /** Poly1305 with a 32-byte one-time key r‖s (r is clamped inside). */
  poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array;
  scrypt(password: Uint8Array, salt: Uint8Array, params: { N: number; r: number; p: number; dkLen: number }): Promise<Uint8Array>;
  randomBytes(n: number): Uint8Array;
}
