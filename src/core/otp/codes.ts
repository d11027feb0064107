/**
 * @module otp/codes
 * One-time codes (otp-formats.md A): HOTP (RFC 4226), TOTP (RFC 6238) and Steam Guard.
 * Counters and times are bigint-safe: the 8-byte counter is built with BigInt, so times beyond
 * 2^32 and counters up to 2^64−1 lose nothing.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256, sha512 } from '@noble/hashes/sha2.js';
import { CofferError } from '../errors.js';

export type OtpAlgorithm = 'SHA1' | 'SHA256' | 'SHA512';

const HASHES = { SHA1: sha1, SHA256: sha256, SHA512: sha512 } as const;
const STEAM_ALPHABET = '23456789BCDFGHJKMNPQRTVWXY';

/** RFC 4226 steps 1–3: the 31-bit value before `mod 10^d`. */
export function hotpValue(key: Uint8Array, counter: bigint, algorithm: OtpAlgorithm): number {
  if (counter < 0n || counter > 0xffffffffffffffffn) throw new CofferError('bad-input', 'HOTP counter out of range');
  const msg = new Uint8Array(8);
  new DataView(msg.buffer).setBigUint64(0, counter, false);
  const mac = hmac(HASHES[algorithm], key, msg);
  const o = mac[mac.length - 1]! & 0x0f;
  return ((mac[o]! & 0x7f) << 24) | (mac[o + 1]! << 16) | (mac[o + 2]! << 8) | mac[o + 3]!;
}

export function hotp(key: Uint8Array, counter: bigint, algorithm: OtpAlgorithm, digits: number): string {
  if (!Number.isInteger(digits) || digits < 1 || digits > 10) throw new CofferError('bad-input', `unsupported digit count ${digits}`);
  return (hotpValue(key, counter, algorithm) % 10 ** digits).toString().padStart(digits, '0');
}

/** The TOTP step for Unix time `t` (seconds; number or bigint) and a period in seconds. */
export function totpCounter(t: number | bigint, period: number): bigint {
  const time = typeof t === 'bigint' ? t : BigInt(Math.floor(t));
  if (time < 0n) throw new CofferError('bad-input', 'time before 1970 is not supported');
  if (!Number.isInteger(period) || period < 1) throw new CofferError('bad-input', `invalid period ${period}`);
  return time / BigInt(period);
}

/** Seconds until the current step ends. */
export function secondsLeft(t: number | bigint, period: number): number {
  const time = typeof t === 'bigint' ? t : BigInt(Math.floor(t));
  return period - Number(time % BigInt(period));
}

export function totp(key: Uint8Array, t: number | bigint, algorithm: OtpAlgorithm, digits: number, period: number): string {
  return hotp(key, totpCounter(t, period), algorithm, digits);
}

/** Steam Guard: the TOTP value (SHA-1, 30 s) written as 5 characters of Steam's alphabet. */
export function steam(key: Uint8Array, t: number | bigint, period = 30): string {
  let v = hotpValue(key, totpCounter(t, period), 'SHA1');
  let out = '';
  for (let i = 0; i < 5; i++) {
    out += STEAM_ALPHABET[v % 26];
    v = Math.floor(v / 26);
  }
  return out;
}
