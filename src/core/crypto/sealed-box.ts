/**
 * @module crypto/sealed-box
 * restic's encrypted container (spec §4.2): IV(16) ‖ AES-256-CTR(encrypt, IV)(P) ‖ MAC(16),
 * MAC = Poly1305 over the ciphertext only, one-time key r‖s with r = mac.r (clamped) and
 * s = AES-128(mac.k, IV). Opening verifies the MAC in constant time before decrypting.
 */
import { constantTimeEqual } from '../bytes.js';
import { corrupt } from '../errors.js';
import type { CryptoKey } from '../format/types.js';
import type { CryptoSuite } from './suite.js';

export const IV_SIZE = 16;
export const MAC_SIZE = 16;
/** Bytes a sealed box adds to its plaintext. */
export const SEAL_OVERHEAD = IV_SIZE + MAC_SIZE;

function isZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

/** The 32-byte Poly1305 one-time key r‖s for this IV; r is clamped here whatever the key stores. */
function polyKey(suite: CryptoSuite, key: CryptoKey, iv: Uint8Array): Uint8Array {
  const k = new Uint8Array(32);
  k.set(key.macR, 0);
  // The standard clamp (§4.2); restic ≥ 0.17 stores r unclamped.
  k[3]! &= 15; k[7]! &= 15; k[11]! &= 15; k[15]! &= 15;
  k[4]! &= 252; k[8]! &= 252; k[12]! &= 252;
  k.set(suite.aes128Block(key.macK, iv), 16);
  return k;
}

function checkedIv(suite: CryptoSuite, iv: Uint8Array | undefined): Uint8Array {
  if (iv !== undefined) {
    if (iv.length !== IV_SIZE) throw new RangeError('IV must be 16 bytes');
    if (isZero(iv)) throw new RangeError('an all-zero IV is invalid');
    return iv;
  }
  do iv = suite.randomBytes(IV_SIZE);
  while (isZero(iv));
  return iv;
}

/**
 * Seals `plaintext` into `target` at `offset` as IV‖CT‖MAC and returns the box's length
 * (plaintext.length + SEAL_OVERHEAD). `target` must have that room and must not overlap
 * `plaintext`. Lets a pack builder take the box without an intermediate buffer and copy.
 * `iv` is for tests and vectors only; normally a fresh random one is drawn.
 */
export function sealInto(suite: CryptoSuite, key: CryptoKey, plaintext: Uint8Array, target: Uint8Array, offset: number, iv?: Uint8Array): number {
  iv = checkedIv(suite, iv);
  const n = plaintext.length;
  const end = offset + IV_SIZE + n;
  if (offset < 0 || end + MAC_SIZE > target.length) throw new RangeError('sealed box does not fit its target');
  target.set(iv, offset);
  const ct = target.subarray(offset + IV_SIZE, end);
  suite.aes256Ctr(key.encrypt, iv, plaintext, ct);
  target.set(suite.poly1305(polyKey(suite, key, iv), ct), end);
  return n + SEAL_OVERHEAD;
}

/**
 * Seals `plaintext` into a new buffer IV‖CT‖MAC. `iv` is for tests and vectors only; normally
 * a fresh random one is drawn. The ciphertext is written straight into the output buffer.
 */
export function seal(suite: CryptoSuite, key: CryptoKey, plaintext: Uint8Array, iv?: Uint8Array): Uint8Array {
  const out = new Uint8Array(plaintext.length + SEAL_OVERHEAD);
  sealInto(suite, key, plaintext, out, 0, iv);
  return out;
}

/**
 * Verifies and decrypts a sealed box. Throws CofferError 'corrupt' naming `what` when the box is
 * too short, has an all-zero IV, or fails authentication (wrong key or damaged data).
 */
export function open(suite: CryptoSuite, key: CryptoKey, sealed: Uint8Array, what: string): Uint8Array {
  if (sealed.length < SEAL_OVERHEAD) throw corrupt(what, `encrypted data too short (${sealed.length} bytes, need at least ${SEAL_OVERHEAD})`);
  const iv = sealed.subarray(0, IV_SIZE);
  if (isZero(iv)) throw corrupt(what, 'encrypted data has an all-zero IV');
  const end = sealed.length - MAC_SIZE;
  const ct = sealed.subarray(IV_SIZE, end);
  const mac = suite.poly1305(polyKey(suite, key, iv), ct);
  if (!constantTimeEqual(mac, sealed.subarray(end))) throw corrupt(what, 'ciphertext verification failed (wrong key or damaged data)');
  return suite.aes256Ctr(key.encrypt, iv, ct);
}
