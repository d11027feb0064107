/**
 * @module otp/twofas
 * 2FAS Authenticator backups (`.2fas`, otp-formats.md D), plain or encrypted
 * (PBKDF2-HMAC-SHA256 10000 iterations, AES-256-GCM with the tag at the end of the data),
 * converted to entries with the rules of Aegis' TwoFASImporter, plus group names.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { pbkdf2Async } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, utf8Decode, utf8Encode } from '../bytes.js';
import { CofferError } from '../errors.js';
import { base32Decode } from './base32.js';
import { badEntry, checkEntry, MAX_COUNTER, type OtpEntry } from './entry.js';
import { isJsonObject, parseJson, type Json, type JsonObject } from './json.js';
import type { ImportBatch, ImportedEntry } from './vault.js';

export function isTwoFasJson(j: Json): j is JsonObject {
  return isJsonObject(j) && 'schemaVersion' in j && ('services' in j || 'servicesEncrypted' in j);
}

function b64(s: string, what: string): Uint8Array {
  try {
    return fromBase64(s);
  } catch {
    throw badEntry(what, 'damaged encrypted data (not base64)');
  }
}

async function decryptField(field: string, password: string, what: string): Promise<Uint8Array | undefined> {
  const parts = field.split(':');
  if (parts.length !== 3) throw badEntry(what, 'damaged encrypted data (expected data:salt:iv)');
  const [data, salt, iv] = parts.map((p) => b64(p, what)) as [Uint8Array, Uint8Array, Uint8Array];
  if (iv.length !== 12 || data.length < 16 || salt.length === 0) throw badEntry(what, 'damaged encrypted data (sizes)');
  const key = await pbkdf2Async(sha256, utf8Encode(password), salt, { c: 10000, dkLen: 32 });
  try {
    return gcm(key, iv).decrypt(data);
  } catch {
    return undefined;
  }
}

function str(v: Json | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function serviceEntry(s: Json, i: number, groups: ReadonlyMap<string, string>, what: string): ImportedEntry {
  const where0 = `${what} service ${i + 1}`;
  if (!isJsonObject(s)) throw badEntry(where0, 'not a JSON object');
  const otp = isJsonObject(s.otp) ? s.otp : {};
  const issuer = str(s.name) || str(otp.issuer) || '';
  const name = str(otp.account) ?? '';
  const where = `${where0} (${issuer ? `${issuer} / ${name}` : name})`;
  const secret = typeof s.secret === 'string' ? base32Decode(s.secret) : undefined;
  if (!secret) throw badEntry(where, 'bad secret (not base32)');
  const tokenType = str(otp.tokenType) ?? 'TOTP';
  const algo = (str(otp.algorithm) ?? 'SHA1').toUpperCase();
  if (algo !== 'SHA1' && algo !== 'SHA256' && algo !== 'SHA512') throw badEntry(where, `unsupported algorithm ${JSON.stringify(algo.slice(0, 20))}`);
  const num = (v: Json | undefined, d: number) => (v === undefined || v === null ? d : typeof v === 'number' ? v : NaN);
  const digits = num(otp.digits, 6);
  let e: OtpEntry;
  if (tokenType === 'TOTP') e = { type: 'totp', issuer, name, secret, algorithm: algo, digits, period: num(otp.period, 30) };
  else if (tokenType === 'STEAM') e = { type: 'steam', issuer, name, secret, algorithm: 'SHA1', digits: 5, period: num(otp.period, 30) };
  else if (tokenType === 'HOTP') {
    const c = otp.counter ?? 0;
    const counter = typeof c === 'bigint' ? c : typeof c === 'number' && Number.isInteger(c) ? BigInt(c) : -1n;
    if (counter < 0n || counter > MAX_COUNTER) throw badEntry(where, 'invalid counter');
    e = { type: 'hotp', issuer, name, secret, algorithm: algo, digits, counter };
  } else throw badEntry(where, `unsupported token type ${JSON.stringify(tokenType.slice(0, 20))}`);
  const g = str(s.groupId);
  const groupName = g !== undefined ? groups.get(g) : undefined;
  return { entry: checkEntry(e, where), groups: groupName !== undefined ? [groupName] : [], source: where0 };
}

/** Reads a 2FAS backup; `password` is asked only for an encrypted one. */
export async function readTwoFas(j: JsonObject, what: string, password: () => Promise<string>): Promise<ImportBatch> {
  const v = j.schemaVersion;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 4) throw badEntry(what, `unsupported 2FAS schema version ${String(v).slice(0, 20)}`);
  const groups = new Map<string, string>();
  for (const g of Array.isArray(j.groups) ? j.groups : []) {
    if (isJsonObject(g) && typeof g.id === 'string' && typeof g.name === 'string') groups.set(g.id, g.name);
  }
  let services: Json;
  if (typeof j.servicesEncrypted === 'string' && j.servicesEncrypted !== '') {
    const pw = await password();
    const plain = await decryptField(j.servicesEncrypted, pw, what);
    if (!plain) {
      // The reference opens with the right password: then the services themselves are damaged.
      const ref = typeof j.reference === 'string' ? await decryptField(j.reference, pw, what).catch(() => undefined) : undefined;
      if (ref) throw new CofferError('corrupt', `${what}: the password is right but the encrypted services are damaged`);
      throw new CofferError('wrong-password', `${what}: wrong password (or a damaged file)`);
    }
    services = parseJson(utf8Decode(plain), `${what} (decrypted services)`);
  } else services = j.services ?? [];
  if (!Array.isArray(services)) throw badEntry(what, 'services is not a list');
  return { format: '2fas', entries: services.map((s, i) => serviceEntry(s, i, groups, what)), warnings: [] };
}
