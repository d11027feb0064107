/**
 * @module format/key-file
 * Key files (spec §5.1): plain JSON stored unencrypted under `keys/<sha256 of these bytes>`.
 * Compact, no trailing newline, keys in restic's order:
 *
 *   {"created":<time>,"username":<string>,"hostname":<string>,"kdf":"scrypt",
 *    "N":<int>,"r":<int>,"p":<int>,"salt":<base64, 64 bytes>,"data":<base64 sealed master key>}
 *
 * Keys are matched case-insensitively on read, like Go (`n`, `R`, `P` are accepted). The
 * caller hashes the exact bytes for the file name; this module does no crypto.
 */
import { toBase64, utf8Encode } from '../bytes.js';
import { corrupt } from '../errors.js';
import { formatGoTime, GO_ZERO_TIME, parseGoTime } from './go-time.js';
import { fieldBase64, fieldInt, fieldMatcher, fieldObject, fieldString, goJsonString, parseJsonBytes, jsonMembers } from './json.js';
import type { GoTime, KeyFile } from './types.js';

export const KEY_SALT_LENGTH = 64;
/** Bounds on scrypt parameters accepted from a key file (restic calibrates to <= 60 MiB). */
export const SCRYPT_LIMITS = { maxN: 1 << 24, maxR: 1024, maxP: 1024, maxMemoryBytes: 2 ** 32 } as const;

export function encodeKeyFile(k: KeyFile): Uint8Array {
  return utf8Encode(
    '{"created":"' + formatGoTime(k.created) + '","username":' + goJsonString(k.username) +
      ',"hostname":' + goJsonString(k.hostname) + ',"kdf":' + goJsonString(k.kdf) +
      ',"N":' + k.N + ',"r":' + k.r + ',"p":' + k.p +
      ',"salt":"' + toBase64(k.salt) + '","data":"' + toBase64(k.data) + '"}',
  );
}

const keyField = fieldMatcher(['created', 'username', 'hostname', 'kdf', 'N', 'r', 'p', 'salt', 'data'] as const);

/**
 * Parses a key file. Throws CofferError 'corrupt' naming `what` for malformed JSON, a KDF other
 * than scrypt, implausible scrypt parameters, a salt that is not 64 bytes, or missing data.
 */
export function decodeKeyFile(json: Uint8Array, what: string): KeyFile {
  const o = fieldObject(parseJsonBytes(json, what), what, '(top level)');
  let created: GoTime = GO_ZERO_TIME;
  let username = '';
  let hostname = '';
  let kdf = '';
  let N = 0;
  let r = 0;
  let p = 0;
  let salt: Uint8Array | undefined;
  let data: Uint8Array | undefined;
  for (const [key, v] of jsonMembers(o)) {
    switch (keyField(key)) {
      case 'created':
        if (v !== null) {
          if (typeof v !== 'string') throw corrupt(what, 'field "created" should be a time string');
          created = parseGoTime(v, `${what}: field "created"`);
        }
        break;
      case 'username': username = fieldString(v, what, 'username'); break;
      case 'hostname': hostname = fieldString(v, what, 'hostname'); break;
      case 'kdf': kdf = fieldString(v, what, 'kdf'); break;
      case 'N': N = fieldInt(v, what, 'N'); break;
      case 'r': r = fieldInt(v, what, 'r'); break;
      case 'p': p = fieldInt(v, what, 'p'); break;
      case 'salt': salt = fieldBase64(v, what, 'salt'); break;
      case 'data': data = fieldBase64(v, what, 'data'); break;
      default: break;
    }
  }
  if (kdf !== 'scrypt') throw corrupt(what, `unknown KDF ${JSON.stringify(kdf)} (only scrypt is supported)`);
  const L = SCRYPT_LIMITS;
  if (N < 2 || N > L.maxN || (N & (N - 1)) !== 0) throw corrupt(what, `invalid scrypt N=${N} (a power of two > 1 is required)`);
  if (r < 1 || r > L.maxR || p < 1 || p > L.maxP) throw corrupt(what, `invalid scrypt parameters r=${r} p=${p}`);
  if (128 * N * r > L.maxMemoryBytes) throw corrupt(what, `scrypt parameters need too much memory (N=${N}, r=${r})`);
  if (salt === undefined || salt.length !== KEY_SALT_LENGTH) {
    throw corrupt(what, `salt must be ${KEY_SALT_LENGTH} bytes, found ${salt?.length ?? 0}`);
  }
  // A sealed box is at least IV + MAC (32 bytes).
  if (data === undefined || data.length < 32) throw corrupt(what, 'key data is missing or too short');
  return { created, username, hostname, kdf: 'scrypt', N, r, p, salt, data };
}
