/**
 * @module otp/entry
 * One OTP entry as Coffer reasons about it (type, issuer, account, raw secret, parameters),
 * checked against Aegis' own limits (otp-formats.md A.4) so that Coffer never accepts what Aegis
 * would refuse nor refuses what Aegis wrote, and converted to and from an Aegis `db` entry.
 * The stored form stays the Aegis JSON object (unknown fields kept); this view is derived.
 */
import { CofferError } from '../errors.js';
import { base32Decode, base32Encode } from './base32.js';
import type { OtpAlgorithm } from './codes.js';
import { isJsonObject, type Json, type JsonObject } from './json.js';

export const ENTRY_TYPES = ['totp', 'hotp', 'steam', 'motp', 'yandex'] as const;
export type EntryType = (typeof ENTRY_TYPES)[number];
/** Types Coffer computes codes for; the others are kept and exported unchanged. */
export const COMPUTABLE: ReadonlySet<EntryType> = new Set(['totp', 'hotp', 'steam']);

export const MAX_PERIOD = 2147483;
export const MAX_COUNTER = (1n << 63n) - 1n;

export interface OtpEntry {
  readonly type: EntryType;
  readonly issuer: string;
  /** The account ("name" in Aegis). */
  readonly name: string;
  readonly secret: Uint8Array;
  readonly algorithm: OtpAlgorithm | 'MD5';
  readonly digits: number;
  /** totp, steam, motp, yandex. */
  readonly period?: number;
  /** hotp. */
  readonly counter?: bigint;
  /** motp, yandex. */
  readonly pin?: string;
}

/** "Issuer / account" (or just the account): how entries are named in messages. Never the secret. */
export function entryLabel(e: { issuer: string; name: string }): string {
  return e.issuer ? `${e.issuer} / ${e.name}` : e.name;
}

export function badEntry(what: string, problem: string): CofferError {
  return new CofferError('bad-input', `${what}: ${problem}`);
}

/** Aegis' algorithm repair: upper case, no leading "HMAC", MD5 only for motp. */
export function normalizeAlgorithm(type: EntryType, algo: string, what: string): OtpAlgorithm | 'MD5' {
  let a = algo.toUpperCase();
  if (a.startsWith('HMAC')) a = a.slice(4);
  if (type === 'motp') return 'MD5';
  if (a === 'MD5') a = 'SHA1';
  if (a !== 'SHA1' && a !== 'SHA256' && a !== 'SHA512') throw badEntry(what, `unsupported algorithm ${JSON.stringify(algo)}`);
  return a;
}

export function parseEntryType(t: string, what: string): EntryType {
  const type = t.toLowerCase();
  if (!(ENTRY_TYPES as readonly string[]).includes(type)) throw badEntry(what, `unsupported otp type ${JSON.stringify(t)}`);
  return type as EntryType;
}

function intIn(v: Json | undefined, min: number, max: number): number | undefined {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max ? v : undefined;
}

function counterOf(v: Json | undefined): bigint | undefined {
  const c = typeof v === 'bigint' ? v : typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : undefined;
  return c !== undefined && c >= 0n && c <= MAX_COUNTER ? c : undefined;
}

/** Checks the parameters of an entry from any source. */
export function checkEntry(e: OtpEntry, what: string): OtpEntry {
  if (e.secret.length === 0) throw badEntry(what, 'empty secret');
  if (!Number.isInteger(e.digits) || e.digits < 1 || e.digits > 10) throw badEntry(what, `unsupported digit count ${e.digits}`);
  if (e.type === 'hotp') {
    if (e.counter === undefined || e.counter < 0n || e.counter > MAX_COUNTER) throw badEntry(what, 'hotp needs a counter from 0 to 2^63-1');
  } else if (e.period === undefined || !Number.isInteger(e.period) || e.period < 1 || e.period > MAX_PERIOD) {
    throw badEntry(what, `invalid period ${e.period ?? '(none)'}`);
  }
  return e;
}

/** The view of an Aegis db entry; refuses what Aegis would refuse. `what` names it in errors. */
export function entryFromAegis(raw: Json, what: string): OtpEntry {
  if (!isJsonObject(raw)) throw badEntry(what, 'an entry is not a JSON object');
  if (typeof raw.type !== 'string') throw badEntry(what, 'entry without a type');
  const issuer = typeof raw.issuer === 'string' ? raw.issuer : '';
  const name = typeof raw.name === 'string' ? raw.name : '';
  const label = `${what} (${entryLabel({ issuer, name })})`;
  const type = parseEntryType(raw.type, label);
  const info = raw.info;
  if (!isJsonObject(info)) throw badEntry(label, 'entry without info');
  const secret = typeof info.secret === 'string' ? base32Decode(info.secret) : undefined;
  if (!secret) throw badEntry(label, 'bad secret (not base32)');
  const algorithm = normalizeAlgorithm(type, typeof info.algo === 'string' ? info.algo : 'SHA1', label);
  const digits = intIn(info.digits, 1, 10);
  if (digits === undefined) throw badEntry(label, 'unsupported digit count');
  const base = { type, issuer, name, secret, algorithm, digits };
  let e: OtpEntry;
  if (type === 'hotp') {
    const counter = counterOf(info.counter);
    if (counter === undefined) throw badEntry(label, 'hotp needs a counter from 0 to 2^63-1');
    e = { ...base, counter };
  } else {
    const period = intIn(info.period, 1, MAX_PERIOD);
    if (period === undefined) throw badEntry(label, 'invalid period');
    e = { ...base, period, ...(typeof info.pin === 'string' ? { pin: info.pin } : {}) };
  }
  return checkEntry(e, label);
}

/** A counter as JSON: a number while it is exact, a bigint beyond 2^53. */
export function counterJson(c: bigint): number | bigint {
  return c <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(c) : c;
}

/** A new Aegis db entry for an entry imported from elsewhere or added by hand. */
export function aegisEntry(e: OtpEntry, uuid: string, groupUuids: readonly string[]): JsonObject {
  const info: JsonObject = { secret: base32Encode(e.secret), algo: e.algorithm, digits: e.digits };
  if (e.type === 'hotp') info.counter = counterJson(e.counter ?? 0n);
  else info.period = e.period ?? 30;
  if (e.pin !== undefined) info.pin = e.pin;
  return { type: e.type, uuid, name: e.name, issuer: e.issuer, note: '', favorite: false, icon: null, info, groups: [...groupUuids] };
}

/** Same type, secret bytes, issuer and account (otp-formats.md F.3). */
export function sameEntry(a: OtpEntry, b: OtpEntry): boolean {
  if (a.type !== b.type || a.issuer !== b.issuer || a.name !== b.name || a.secret.length !== b.secret.length) return false;
  for (let i = 0; i < a.secret.length; i++) if (a.secret[i] !== b.secret[i]) return false;
  return true;
}

/** A random UUID v4 from `random` bytes. */
export function uuidV4(random: (n: number) => Uint8Array): string {
  const b = random(16);
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
