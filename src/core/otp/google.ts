/**
 * @module otp/google
 * Google Authenticator's export, `otpauth-migration://offline?data=…` (otp-formats.md E): the
 * base64 of a protobuf MigrationPayload. Parts of one export share a batch_id; missing parts
 * are reported, never silently ignored.
 */
import { fromBase64, utf8DecodeStrict } from '../bytes.js';
import { badEntry, checkEntry, type OtpEntry } from './entry.js';
import { ProtobufError, readFields, type PbField } from './protobuf.js';
import type { ImportedEntry } from './vault.js';

export interface MigrationPart {
  readonly entries: ImportedEntry[];
  readonly batchSize: number;
  readonly batchIndex: number;
  readonly batchId: bigint;
}

const ALGORITHMS: Record<number, OtpEntry['algorithm'] | undefined> = { 0: 'SHA1', 1: 'SHA1', 2: 'SHA256', 3: 'SHA512' };
const DIGITS: Record<number, number | undefined> = { 0: 6, 1: 6, 2: 8 };

function varint(fields: PbField[], n: number): bigint {
  const f = fields.find((x) => x.number === n && x.wireType === 0);
  return f?.varint ?? 0n;
}

function bytes(fields: PbField[], n: number): Uint8Array {
  const f = fields.find((x) => x.number === n && x.wireType === 2);
  return f?.bytes ?? new Uint8Array(0);
}

function text(b: Uint8Array, what: string): string {
  const s = utf8DecodeStrict(b);
  if (s === undefined) throw badEntry(what, 'a name is not UTF-8');
  return s;
}

function otpParameters(buf: Uint8Array, what: string): OtpEntry {
  const f = readFields(buf);
  let name = text(bytes(f, 2), what);
  let issuer = text(bytes(f, 3), what);
  if (issuer === '' && name.includes(':')) {
    const i = name.indexOf(':');
    issuer = name.slice(0, i);
    name = name.slice(i + 1).replace(/^ +/, '');
  }
  const where = `${what} (${issuer ? `${issuer} / ${name}` : name})`;
  const secret = bytes(f, 1);
  if (secret.length === 0) throw badEntry(where, 'empty secret');
  const algo = Number(varint(f, 4));
  const algorithm = ALGORITHMS[algo];
  if (!algorithm) throw badEntry(where, algo === 4 ? 'unsupported algorithm MD5' : `unknown algorithm value ${algo}`);
  const digitsCode = Number(varint(f, 5));
  const digits = DIGITS[digitsCode];
  if (digits === undefined) throw badEntry(where, `unknown digits value ${digitsCode}`);
  const type = Number(varint(f, 6));
  if (type === 1) return checkEntry({ type: 'hotp', issuer, name, secret: secret.slice(), algorithm, digits, counter: varint(f, 7) & 0x7fffffffffffffffn }, where);
  if (type === 0 || type === 2) return checkEntry({ type: 'totp', issuer, name, secret: secret.slice(), algorithm, digits, period: 30 }, where);
  throw badEntry(where, `unknown type value ${type}`);
}

/** Decodes one `otpauth-migration://` URI. */
export function parseMigrationUri(uri: string, what: string): MigrationPart {
  const m = /^otpauth-migration:\/\/offline\/?\?(.*)$/i.exec(uri.trim());
  if (!m) throw badEntry(what, 'not an otpauth-migration://offline URI');
  const param = m[1]!.split('&').find((p) => p.startsWith('data='));
  if (!param) throw badEntry(what, 'no data parameter');
  let payload: Uint8Array;
  try {
    // A literal '+' is base64's '+', not a space (E.1); %-escapes decode to base64 characters.
    const b64 = decodeURIComponent(param.slice(5)).replace(/\s/g, '');
    payload = fromBase64(b64.length % 4 === 0 ? b64 : b64 + '='.repeat(4 - (b64.length % 4)));
  } catch {
    throw badEntry(what, 'data is not base64');
  }
  try {
    const top = readFields(payload);
    const entries = top
      .filter((x) => x.number === 1 && x.wireType === 2)
      .map((x, i) => ({ entry: otpParameters(x.bytes!, `${what} entry ${i + 1}`), groups: [], source: `${what} entry ${i + 1}` }));
    return { entries, batchSize: Number(varint(top, 3)), batchIndex: Number(varint(top, 4)), batchId: varint(top, 5) };
  } catch (e) {
    if (e instanceof ProtobufError) throw badEntry(what, `damaged export data (${e.message})`);
    throw e;
  }
}

/** Warnings for batches with missing parts ("part 2 of 3 missing"). */
export function missingParts(parts: readonly MigrationPart[]): string[] {
  const batches = new Map<bigint, { size: number; seen: Set<number> }>();
  for (const p of parts) {
    const b = batches.get(p.batchId) ?? { size: 0, seen: new Set<number>() };
    b.size = Math.max(b.size, p.batchSize);
    b.seen.add(p.batchIndex);
    batches.set(p.batchId, b);
  }
  const out: string[] = [];
  for (const b of batches.values()) {
    for (let i = 0; i < b.size; i++) if (!b.seen.has(i)) out.push(`Google Authenticator export: part ${i + 1} of ${b.size} missing (scan or add that QR code too)`);
  }
  return out;
}
