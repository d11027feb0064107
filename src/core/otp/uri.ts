/**
 * @module otp/uri
 * `otpauth://` key URIs (otp-formats.md B): reading with Coffer's rules (the `issuer=`
 * parameter wins over the label prefix; `+` is a space in query values only; lenient base32;
 * `hotp` needs a counter; unknown types and algorithms refused) and writing (B.2).
 * Error messages never contain the URI or its secret.
 */
import { base32Decode, base32Encode } from './base32.js';
import { badEntry, checkEntry, MAX_COUNTER, MAX_PERIOD, type EntryType, type OtpEntry } from './entry.js';

const URI_RE = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/([^/?#]*)(?:\/([^?#]*))?(?:\?([^#]*))?(?:#.*)?$/;

function pct(s: string, what: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw badEntry(what, 'bad percent-encoding');
  }
}

/** URLSearchParams' reading (`+` is a space, then %XX as UTF-8), first occurrence wins. */
export function parseQuery(q: string, what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of q.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const k = pct((eq < 0 ? part : part.slice(0, eq)).replace(/\+/g, ' '), what);
    const v = pct((eq < 0 ? '' : part.slice(eq + 1)).replace(/\+/g, ' '), what);
    if (!out.has(k)) out.set(k, v);
  }
  return out;
}

function decimal(v: string | undefined, what: string, field: string, min: number, max: number, dflt?: number): number | undefined {
  if (v === undefined) return dflt;
  if (!/^\d{1,10}$/.test(v) || Number(v) < min || Number(v) > max) throw badEntry(what, `invalid ${field} ${JSON.stringify(v.slice(0, 20))}`);
  return Number(v);
}

/**
 * Parses one `otpauth://` URI into a checked entry. `what` names the source in errors
 * (e.g. "urls.txt line 3"); the account found is added once the label is known.
 */
export function parseOtpauthUri(uri: string, what: string): OtpEntry {
  const m = URI_RE.exec(uri.trim());
  if (!m || m[1]!.toLowerCase() !== 'otpauth') throw badEntry(what, 'not an otpauth:// URI');
  const typeText = m[2]!.toLowerCase();
  if (typeText !== 'totp' && typeText !== 'hotp' && typeText !== 'steam') throw badEntry(what, `unsupported type ${JSON.stringify(m[2]!.slice(0, 20))}`);
  const type = typeText as EntryType;
  const label = pct(m[3] ?? '', what);
  const q = parseQuery(m[4] ?? '', what);
  const colon = label.indexOf(':');
  const labelIssuer = colon >= 0 ? label.slice(0, colon) : '';
  const name = colon >= 0 ? label.slice(colon + 1).replace(/^ +/, '') : label;
  const issuerParam = q.get('issuer');
  const issuer = issuerParam ? issuerParam : labelIssuer;
  const where = `${what} (${issuer ? `${issuer} / ${name}` : name})`;
  const secretText = q.get('secret');
  if (secretText === undefined || secretText === '') throw badEntry(where, 'missing secret');
  const secret = base32Decode(secretText);
  if (!secret) throw badEntry(where, 'bad secret (not base32)');
  let algorithm: OtpEntry['algorithm'] = 'SHA1';
  const algo = q.get('algorithm');
  if (algo !== undefined) {
    const a = algo.toUpperCase();
    if (a !== 'SHA1' && a !== 'SHA256' && a !== 'SHA512') throw badEntry(where, `unsupported algorithm ${JSON.stringify(algo.slice(0, 20))}`);
    algorithm = a;
  }
  let digits = decimal(q.get('digits'), where, 'digits', 1, 10, 6)!;
  if (type === 'steam') {
    algorithm = 'SHA1';
    digits = 5;
  }
  if (type === 'hotp') {
    const c = q.get('counter');
    if (c === undefined) throw badEntry(where, 'hotp needs a counter');
    if (!/^\d{1,19}$/.test(c) || BigInt(c) > MAX_COUNTER) throw badEntry(where, `invalid counter ${JSON.stringify(c.slice(0, 20))}`);
    return checkEntry({ type, issuer, name, secret, algorithm, digits, counter: BigInt(c) }, where);
  }
  const period = decimal(q.get('period'), where, 'period', 1, MAX_PERIOD, 30)!;
  return checkEntry({ type, issuer, name, secret, algorithm, digits, period }, where);
}

/** The URI of an entry (B.2); undefined for motp/yandex, which have no otpauth form. */
export function formatOtpauthUri(e: OtpEntry): string | undefined {
  if (e.type !== 'totp' && e.type !== 'hotp' && e.type !== 'steam') return undefined;
  const enc = encodeURIComponent;
  const label = e.issuer ? `${enc(e.issuer)}:${enc(e.name)}` : enc(e.name);
  let uri = `otpauth://${e.type}/${label}?secret=${base32Encode(e.secret)}`;
  if (e.issuer) uri += `&issuer=${enc(e.issuer)}`;
  uri += `&algorithm=${e.algorithm}&digits=${e.digits}`;
  uri += e.type === 'hotp' ? `&counter=${e.counter ?? 0n}` : `&period=${e.period ?? 30}`;
  return uri;
}
