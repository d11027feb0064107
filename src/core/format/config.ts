/**
 * @module format/config
 * The repository `config` plaintext (spec §6.1): compact JSON, no trailing newline, never
 * compressed:
 *
 *   {"version":1|2,"id":"<64 hex>","chunker_polynomial":"<bare lowercase hex>"}
 *
 * The polynomial is Go's `%x` of a uint64 (no 0x, no leading zeros) and is read with
 * ParseUint(s, 16, 64). Whether it is irreducible is checked by the chunker module, not here.
 */
import { utf8Encode } from '../bytes.js';
import { CofferError, corrupt } from '../errors.js';
import { fieldId, fieldMatcher, fieldObject, fieldString, fieldUint, parseJsonBytes, jsonMembers } from './json.js';
import type { Id, RepoConfig } from './types.js';

export function encodeConfig(c: RepoConfig): Uint8Array {
  return utf8Encode(
    '{"version":' + c.version + ',"id":"' + c.id + '","chunker_polynomial":"' + c.chunkerPolynomial.toString(16) + '"}',
  );
}

const configField = fieldMatcher(['version', 'id', 'chunker_polynomial'] as const);
const POL_RE = /^0*[0-9a-fA-F]{1,16}$/; // ParseUint(s, 16, 64): leading zeros allowed

/**
 * Parses config JSON. Throws CofferError 'unsupported' for a version other than 1 or 2, and
 * 'corrupt' (naming `what`) for anything malformed.
 */
export function decodeConfig(json: Uint8Array, what: string): RepoConfig {
  const o = fieldObject(parseJsonBytes(json, what), what, '(top level)');
  let version: number | undefined;
  let id: Id | undefined;
  let pol: string | undefined;
  for (const [key, v] of jsonMembers(o)) {
    switch (configField(key)) {
      case 'version': version = fieldUint(v, what, 'version'); break;
      case 'id': id = fieldId(v, what, 'id'); break;
      case 'chunker_polynomial':
        // Checked at each occurrence, as Go's Pol.UnmarshalJSON does (a repeated key is decoded twice).
        pol = fieldString(v, what, 'chunker_polynomial');
        if (!POL_RE.test(pol)) throw corrupt(what, 'invalid chunker_polynomial');
        break;
      default: break;
    }
  }
  if (version === undefined) throw corrupt(what, 'config has no version');
  if (version !== 1 && version !== 2) {
    throw new CofferError('unsupported', `${what}: repository version ${version} is not supported (only 1 and 2)`);
  }
  if (id === undefined) throw corrupt(what, 'config has no id');
  if (pol === undefined || !POL_RE.test(pol)) throw corrupt(what, 'invalid chunker_polynomial');
  const chunkerPolynomial = BigInt('0x' + pol);
  if (chunkerPolynomial === 0n) throw corrupt(what, 'chunker_polynomial is zero');
  return { version, id, chunkerPolynomial };
}
