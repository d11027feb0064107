/**
 * Mutation of seed inputs as fast-check arbitraries (so failures shrink and replay by seed):
 * byte-level edits (bit flips, interesting bytes, inserted tokens, deletions, duplications,
 * truncation, splicing with another seed) and, for JSON seeds, structure-aware edits (a value
 * replaced by a hostile one, a key dropped, renamed or case-changed, a value duplicated under
 * another key). The operations are plain data, applied deterministically.
 */
import fc from 'fast-check';
import { concatBytes, utf8Decode, utf8Encode } from '../../src/core/bytes.js';

/** Tokens that matter to the decoders: JSON syntax, escapes, numbers at the edges of the types. */
const TOKENS = [
  '"', '\\', '{', '}', '[', ']', ',', ':', 'null', 'true', '-', '0', '-0', '1e999', '1.5', '4294967296',
  '9007199254740993', '18446744073709551616', '-1', '\\u0000', '\\ud800', '\\udc00\\ud800', '\\ufffd', '\\x', '\\U0010ffff',
  '\u2028', '\xff', '%', '..', '/', 'Z', '+25:00', '.0000000001', '==', '0x', ' ', '\n', '\t', '\r',
].map(utf8Encode);

const INTERESTING_BYTES = [0, 1, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x5c, 0x7b, 0x7d, 0x5b, 0x5d, 0x30, 0x02, 0x28, 0xb5, 0x2f, 0xfd];

/** Hostile JSON values for structure-aware replacement. */
const HOSTILE_JSON: unknown[] = [
  null, true, false, 0, -1, 1.5, 1e308, 2 ** 53, 2 ** 32, -(2 ** 31), '', 'x', '\u0000', '\ud800', 'ſ', [], {}, [[[]]], { a: null },
  'a'.repeat(300), '0'.repeat(64), 'Z'.repeat(64), '0001-01-01T00:00:00Z', '9999-12-31T23:59:59.999999999+23:59', '2024-02-30T00:00:00Z',
  'AAAA', 'AA==', '====', '\\x', 'scrypt', 'data', 'tree', 'dir', 'file',
];

export type Op =
  | { k: 'flip'; pos: number; bit: number }
  | { k: 'set'; pos: number; byte: number }
  | { k: 'insert'; pos: number; bytes: Uint8Array }
  | { k: 'token'; pos: number; token: number }
  | { k: 'delete'; pos: number; len: number }
  | { k: 'dup'; pos: number; len: number; at: number }
  | { k: 'truncate'; pos: number }
  | { k: 'splice'; pos: number; other: number; from: number }
  | { k: 'json-replace'; pick: number; value: unknown }
  | { k: 'json-key'; pick: number; how: number };

const pos = fc.nat();
export const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('flip' as const), pos, bit: fc.nat(7) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('set' as const), pos, byte: fc.oneof(fc.constantFrom(...INTERESTING_BYTES), fc.nat(255)) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('insert' as const), pos, bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('token' as const), pos, token: fc.nat(TOKENS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('delete' as const), pos, len: fc.integer({ min: 1, max: 16 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('dup' as const), pos, len: fc.integer({ min: 1, max: 64 }), at: pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('truncate' as const), pos }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('splice' as const), pos, other: fc.nat(), from: fc.nat() }) },
  { weight: 4, arbitrary: fc.record({ k: fc.constant('json-replace' as const), pick: fc.nat(), value: fc.oneof(fc.constantFrom(...HOSTILE_JSON), fc.jsonValue({ maxDepth: 2 })) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('json-key' as const), pick: fc.nat(), how: fc.nat(5) }) },
);

/** Every container (object or array) and key in a parsed JSON document, in visit order. */
function slots(doc: unknown): { parent: Record<string, unknown> | unknown[]; key: string | number }[] {
  const out: { parent: Record<string, unknown> | unknown[]; key: string | number }[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach((x, i) => { out.push({ parent: v, key: i }); walk(x); });
    else if (v !== null && typeof v === 'object') for (const k of Object.keys(v)) { out.push({ parent: v as Record<string, unknown>, key: k }); walk((v as Record<string, unknown>)[k]); }
  };
  walk(doc);
  return out;
}

function jsonEdit(b: Uint8Array, o: Extract<Op, { k: 'json-replace' | 'json-key' }>): Uint8Array {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8Decode(b));
  } catch {
    return b;
  }
  const s = slots(doc);
  if (s.length === 0) return b;
  const { parent, key } = s[o.pick % s.length]!;
  if (o.k === 'json-replace') {
    (parent as Record<string | number, unknown>)[key] = o.value;
  } else if (!Array.isArray(parent) && typeof key === 'string') {
    const v = parent[key];
    const renamed = [key.toUpperCase(), key.slice(0, -1), key + key, key.replace(/k/g, '\u212a'), '__proto__'][o.how % 5]!;
    if (o.how % 6 !== 5) delete parent[key];
    Object.defineProperty(parent, renamed, { value: v, enumerable: true, writable: true, configurable: true });
  } else if (Array.isArray(parent)) {
    parent.splice(key as number, o.how % 2, ...(o.how % 3 === 0 ? [parent[key as number], parent[key as number]] : []));
  }
  let text = JSON.stringify(doc);
  if (utf8Decode(b).endsWith('\n')) text += '\n';
  return utf8Encode(text);
}

export function applyOps(seed: Uint8Array, ops: readonly Op[], seeds: readonly Uint8Array[]): Uint8Array {
  let b = seed;
  for (const o of ops) {
    const n = b.length;
    const at = (p: number): number => (n === 0 ? 0 : p % (n + 1));
    switch (o.k) {
      case 'flip':
        if (n > 0) { b = b.slice(); b[o.pos % n]! ^= 1 << o.bit; }
        break;
      case 'set':
        if (n > 0) { b = b.slice(); b[o.pos % n] = o.byte; }
        break;
      case 'insert':
        b = concatBytes(b.subarray(0, at(o.pos)), o.bytes, b.subarray(at(o.pos)));
        break;
      case 'token':
        b = concatBytes(b.subarray(0, at(o.pos)), TOKENS[o.token]!, b.subarray(at(o.pos)));
        break;
      case 'delete':
        b = concatBytes(b.subarray(0, at(o.pos)), b.subarray(at(o.pos) + o.len));
        break;
      case 'dup': {
        const from = at(o.pos);
        const piece = b.slice(from, from + o.len);
        const to = at(o.at);
        b = concatBytes(b.subarray(0, to), piece, b.subarray(to));
        break;
      }
      case 'truncate':
        b = b.slice(0, at(o.pos));
        break;
      case 'splice': {
        const other = seeds[o.other % seeds.length]!;
        const from = other.length === 0 ? 0 : o.from % other.length;
        b = concatBytes(b.subarray(0, at(o.pos)), other.subarray(from));
        break;
      }
      default:
        b = jsonEdit(b, o);
    }
  }
  return b;
}

/** Inputs for a parser: mutated seeds mostly, plus unmodified seeds and random bytes. */
export function fuzzInput(seeds: readonly Uint8Array[], extra: fc.Arbitrary<Uint8Array>[] = []): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(fc.nat(Math.max(0, seeds.length - 1)), fc.array(op, { minLength: 1, maxLength: 4 }))
    .map(([i, ops]) => applyOps(seeds[i] ?? new Uint8Array(0), ops, seeds));
  return fc.oneof(
    { weight: 12, arbitrary: mutated },
    { weight: 1, arbitrary: fc.constantFrom(...(seeds.length ? seeds : [new Uint8Array(0)])) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }) },
    ...extra.map((a) => ({ weight: 2, arbitrary: a })),
  );
}
