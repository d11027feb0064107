/**
 * @module crypto/keys
 * Crypto keys (spec §4.1): random master keys, validity, the user key derived from a password
 * with scrypt (§5.2), the master key JSON inside a key file's `data` (§5.3), and scrypt
 * parameter calibration for new key files in the manner of restic.
 */
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../bytes.js';
import { corrupt } from '../errors.js';
import type { CryptoKey } from '../format/types.js';
import type { CryptoSuite } from './suite.js';

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

/** Fixed parameters a writer may use when it does not calibrate (§5.2): ~32 MiB of memory. */
export const DEFAULT_KDF: KdfParams = Object.freeze({ N: 32768, r: 8, p: 1 });

function isZero(b: Uint8Array): boolean {
  let acc = 0;
  for (let i = 0; i < b.length; i++) acc |= b[i]!;
  return acc === 0;
}

/** restic refuses a key with a wrong-sized or all-zero part (§4.1). */
export function isValidKey(k: CryptoKey): boolean {
  return (
    k.encrypt.length === 32 && k.macK.length === 16 && k.macR.length === 16 &&
    !isZero(k.encrypt) && !isZero(k.macK) && !isZero(k.macR)
  );
}

/** Clears the bits the Poly1305 clamp ignores (§4.2); idempotent. */
export function clampR(r: Uint8Array): Uint8Array {
  const c = r.slice();
  c[3]! &= 15; c[7]! &= 15; c[11]! &= 15; c[15]! &= 15;
  c[4]! &= 252; c[8]! &= 252; c[12]! &= 252;
  return c;
}

/**
 * A fresh random master key. `mac.r` is stored clamped, as restic ≤ 0.16 writes it (0.14 is the
 * oldest reader we target); readers clamp anyway, so either form is valid.
 */
export function newMasterKey(suite: CryptoSuite): CryptoKey {
  for (;;) {
    const b = suite.randomBytes(64);
    const k: CryptoKey = { encrypt: b.slice(0, 32), macK: b.slice(32, 48), macR: clampR(b.subarray(48, 64)) };
    if (isValidKey(k)) return k;
  }
}

/** The user key from a password (§5.2): scrypt with dkLen 64, split encrypt 32 / mac.k 16 / mac.r 16. */
export async function deriveUserKey(suite: CryptoSuite, password: Uint8Array, salt: Uint8Array, params: KdfParams): Promise<CryptoKey> {
  const { N, r, p } = params;
  if (!Number.isSafeInteger(N) || N < 2 || (N & (N - 1)) !== 0) throw corrupt('key file', `scrypt N=${N} is not a power of two > 1`);
  if (!Number.isSafeInteger(r) || r < 1 || !Number.isSafeInteger(p) || p < 1) throw corrupt('key file', `scrypt r=${r} p=${p} are invalid`);
  const dk = await suite.scrypt(password, salt, { N, r, p, dkLen: 64 });
  return { encrypt: dk.slice(0, 32), macK: dk.slice(32, 48), macR: dk.slice(48, 64) };
}

/** `{"mac":{"k":…,"r":…},"encrypt":…}`: compact, in restic's field order (§5.3). */
export function encodeMasterKeyJson(k: CryptoKey): Uint8Array {
  return utf8Encode(`{"mac":{"k":"${toBase64(k.macK)}","r":"${toBase64(k.macR)}"},"encrypt":"${toBase64(k.encrypt)}"}`);
}

/** Go's decoder matches JSON keys case-insensitively; an exact match wins. */
function field(o: Record<string, unknown>, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function b64Field(o: Record<string, unknown>, name: string, size: number, what: string): Uint8Array {
  const v = field(o, name);
  if (typeof v !== 'string') throw corrupt(what, `master key field "${name}" is missing or not a string`);
  let b: Uint8Array;
  try {
    b = fromBase64(v);
  } catch {
    throw corrupt(what, `master key field "${name}" is not valid base64`);
  }
  if (b.length !== size) throw corrupt(what, `master key field "${name}" has ${b.length} bytes, expected ${size}`);
  return b;
}

/** Parses the master key JSON; throws CofferError 'corrupt' naming `what`. Validity (§4.1) is checked separately with isValidKey. */
export function decodeMasterKeyJson(bytes: Uint8Array, what = 'master key'): CryptoKey {
  let j: unknown;
  try {
    j = JSON.parse(utf8Decode(bytes));
  } catch {
    throw corrupt(what, 'master key is not valid JSON');
  }
  if (!isObject(j)) throw corrupt(what, 'master key is not a JSON object');
  const mac = field(j, 'mac');
  if (!isObject(mac)) throw corrupt(what, 'master key has no "mac" object');
  return { macK: b64Field(mac, 'k', 16, what), macR: b64Field(mac, 'r', 16, what), encrypt: b64Field(j, 'encrypt', 32, what) };
}

/**
 * scrypt parameters for a new key file, calibrated on this machine as restic does (restic uses
 * simple-scrypt's Calibrate with 500 ms and 60 MiB): start from N=16384 r=8 p=1, double N while
 * the time stays under the target and 128·r·N bytes stays within `maxMemBytes`, then raise p to
 * use the remaining time. Instead of restic's repeated trial derivations this times one
 * derivation at the start parameters, extrapolates (time is linear in N·p), and when N grew
 * re-times one derivation at the chosen N to set p. Never returns less than N=16384 r=8 p=1.
 */
export async function calibrateScrypt(
  suite: CryptoSuite,
  targetMs = 500,
  maxMemBytes = 60 * 1024 * 1024,
  /** The clock (milliseconds); tests pass one their fake suite advances, so no result depends on load. */
  now: () => number = () => performance.now(),
): Promise<KdfParams> {
  const r = 8;
  const baseN = 16384;
  const password = utf8Encode('calibration');
  const salt = suite.randomBytes(64);
  const time = async (N: number): Promise<number> => {
    const t0 = now();
    await suite.scrypt(password, salt, { N, r, p: 1, dkLen: 64 });
    return Math.max(now() - t0, 0.01);
  };
  let perN = await time(baseN);
  let N = baseN;
  // Memory is 128·r·N for scrypt's V array (p lanes run one after another).
  while (128 * r * N * 2 <= maxMemBytes && perN * (N * 2) / baseN <= targetMs) N *= 2;
  if (N !== baseN) perN = ((await time(N)) * baseN) / N;
  const oneLane = (perN * N) / baseN;
  // Bounded so a mis-measured tiny time cannot produce an absurd p.
  const p = Math.min(64, Math.max(1, Math.floor(targetMs / oneLane)));
  return { N, r, p };
}
