/**
 * @module format/index-file
 * Index documents (spec §11), the JSON inside `index/<id>` (an unpacked file, §7):
 *
 *   {"packs":[{"id":<pack id>,"blobs":[{"id":<blob id>,"type":"data"|"tree","offset":<uint>,
 *     "length":<uint>[,"uncompressed_length":<uint>]},...]},...]}\n
 *
 * `uncompressed_length` only for compressed blobs (omitted when 0). restic writes it with a
 * streaming encoder, hence the trailing newline. `supersedes` (restic <= 0.16, written first) is
 * read but never written. Legacy format: the whole document is an array of pack objects.
 * Blob order is whatever the writer used (restic: hash-map order) and is preserved.
 */
import { utf8Encode } from '../bytes.js';
import { corrupt } from '../errors.js';
import { flatId, hexToWords } from './id-text.js';
import {
  fieldArray,
  fieldId,
  fieldMatcher,
  fieldObject,
  fieldString,
  fieldUint,
  isLowerHexRun,
  jsonText,
  parseJson,
  type JsonValue,
  jsonMembers,
  earlierMembers,
} from './json.js';
import type { BlobType, Id, IndexFile, IndexPack, PackedBlob } from './types.js';

export function encodeIndex(idx: IndexFile): Uint8Array {
  const parts: string[] = [];
  for (const p of idx.packs) {
    let s = '{"id":"' + p.id + '","blobs":[';
    for (let i = 0; i < p.blobs.length; i++) {
      const b = p.blobs[i]!;
      s += (i ? ',' : '') + '{"id":"' + b.id + '","type":"' + b.type + '","offset":' + b.offset + ',"length":' + b.length;
      if (b.uncompressedLength) s += ',"uncompressed_length":' + b.uncompressedLength;
      s += '}';
    }
    parts.push(s + ']}');
  }
  return utf8Encode('{"packs":[' + parts.join(',') + ']}\n');
}

const topField = fieldMatcher(['supersedes', 'packs'] as const);
const packField = fieldMatcher(['id', 'blobs'] as const);
const blobField = fieldMatcher(['id', 'type', 'offset', 'length', 'uncompressed_length'] as const);

function decodeBlob(v: JsonValue, what: string): PackedBlob {
  const o = fieldObject(v, what, 'blobs[]');
  let id: Id | undefined;
  let type: BlobType | undefined;
  let offset = 0;
  let length = 0;
  let uncompressedLength = 0;
  // Hot loop (every blob of every index): no pair allocated per member; see tree.ts decodeNode.
  const earlier = earlierMembers(o);
  const keys = Object.keys(o);
  for (let m = 0; m < earlier.length + keys.length; m++) {
    let key: string;
    let x: JsonValue;
    if (m < earlier.length) [key, x] = earlier[m]!;
    else {
      key = keys[m - earlier.length]!;
      x = o[key]!;
    }
    switch (blobField(key)) {
      case 'id': id = fieldId(x, what, 'blobs[].id'); break;
      case 'type': {
        const t = fieldString(x, what, 'blobs[].type');
        if (t !== 'data' && t !== 'tree') throw corrupt(what, `unknown blob type ${JSON.stringify(t)}`);
        type = t;
        break;
      }
      case 'offset': offset = fieldUint(x, what, 'blobs[].offset'); break;
      case 'length': length = fieldUint(x, what, 'blobs[].length'); break;
      case 'uncompressed_length': uncompressedLength = fieldUint(x, what, 'blobs[].uncompressed_length'); break;
      default: break;
    }
  }
  if (id === undefined) throw corrupt(what, 'index entry without a blob ID');
  if (type === undefined) throw corrupt(what, `index entry for blob ${id} has no type`);
  return { type, id, offset, length, uncompressedLength };
}

function decodePack(v: JsonValue, what: string): IndexPack {
  const o = fieldObject(v, what, 'packs[]');
  let id: Id | undefined;
  let blobs: PackedBlob[] = [];
  for (const [key, x] of jsonMembers(o)) {
    switch (packField(key)) {
      case 'id': id = fieldId(x, what, 'packs[].id'); break;
      case 'blobs': {
        const arr = fieldArray(x, what, 'packs[].blobs') ?? [];
        blobs = new Array<PackedBlob>(arr.length);
        for (let i = 0; i < arr.length; i++) blobs[i] = decodeBlob(arr[i]!, what);
        break;
      }
      default: break;
    }
  }
  if (id === undefined) throw corrupt(what, 'index pack without an ID');
  return { id, blobs };
}

// ---- fast path -------------------------------------------------------------------------------
//
// Every index restic (and Coffer) writes has one layout: compact JSON, keys in struct order,
// lowercase hex IDs, plain integers, no escapes, a final newline. `scanIndex` reads exactly that
// layout straight into the result, without a generic value tree, matching each run of fixed text
// at once; on anything else (whitespace included) it gives up (returns undefined) and the generic
// decoder below decides, so both always agree (test/format/doc-scan.test.ts compares them on
// generated and mutated documents).

class IndexScan {
  i = 0;
  ok = true;
  constructor(readonly s: string) {}

  /** Consumes `lit`, or fails. */
  lit(lit: string): void {
    if (this.s.startsWith(lit, this.i)) this.i += lit.length;
    else this.ok = false;
  }

  /** Consumes the character `c` if it is next. */
  opt(c: number): boolean {
    if (this.s.charCodeAt(this.i) !== c) return false;
    this.i++;
    return true;
  }

  /** 64 lowercase hex digits (the quotes are part of the literals around), as a flat copy (see id-text.ts). */
  hex(): string {
    const s = this.s;
    const i = this.i;
    if (!isLowerHexRun(s, i)) {
      this.ok = false;
      return '';
    }
    this.i = i + 64;
    return flatId(s, i);
  }

  /** A plain unsigned integer of at most 15 digits (exact as a number, as the parser reads it). */
  uint(): number {
    const s = this.s;
    const start = this.i;
    let i = start;
    let n = 0;
    let c = s.charCodeAt(i);
    while (c >= 48 && c <= 57) {
      n = n * 10 + (c - 48);
      c = s.charCodeAt(++i);
    }
    const len = i - start;
    // "0" alone, or no leading zero; a fraction, exponent or longer literal takes the slow path.
    if (len === 0 || len > 15 || (len > 1 && s.charCodeAt(start) === 48) || c === 46 || c === 101 || c === 69) this.ok = false;
    this.i = i;
    return n;
  }
}

/**
 * A canonical index document as columns (what the MasterIndex stores): blob `i` has its ID as
 * 8 words at `words[8i..8i+8)` (and its text at `idAt[i]`), kind 1 for tree, 0 for data; pack
 * `p` holds blobs `[packEnds[p-1] ?? 0, packEnds[p])`. Pack IDs are flat strings.
 */
export interface IndexColumns {
  readonly count: number;
  readonly packIds: readonly Id[];
  readonly packEnds: readonly number[];
  readonly words: Uint32Array;
  readonly idAt: Uint32Array;
  readonly kinds: Uint8Array;
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly ulengths: Float64Array;
}

function grown<T extends Uint32Array | Uint8Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a as never);
  return b;
}

/**
 * The fast path into columns (no object, no string per blob: the ID digits are parsed into
 * words as they are checked), or undefined when `text` is not in the canonical layout.
 */
export function scanIndexColumns(text: string): IndexColumns | undefined {
  const p = new IndexScan(text);
  // A blob takes at least 108 characters: room for all of them, usually without growing.
  let cap = Math.floor(text.length / 100) + 1;
  let words = new Uint32Array(cap * 8);
  let idAt = new Uint32Array(cap);
  let kinds = new Uint8Array(cap);
  let offsets = new Float64Array(cap);
  let lengths = new Float64Array(cap);
  let ulengths = new Float64Array(cap);
  const packIds: Id[] = [];
  const packEnds: number[] = [];
  let n = 0;
  p.lit('{"packs":[');
  if (p.ok && !p.opt(93 /* ] */)) {
    do {
      p.lit('{"id":"');
      const packId = p.hex();
      p.lit('","blobs":[');
      if (p.ok && !p.opt(93)) {
        do {
          if (n === cap) {
            cap *= 2;
            words = grown(words, cap * 8);
            idAt = grown(idAt, cap);
            kinds = grown(kinds, cap);
            offsets = grown(offsets, cap);
            lengths = grown(lengths, cap);
            ulengths = grown(ulengths, cap);
          }
          p.lit('{"id":"');
          idAt[n] = p.i;
          if (!hexToWords(text, p.i, words, n * 8)) p.ok = false;
          p.i += 64;
          p.lit('","type":"');
          if (text.startsWith('data","offset":', p.i)) p.i += 15;
          else if (text.startsWith('tree","offset":', p.i)) {
            p.i += 15;
            kinds[n] = 1;
          } else p.ok = false;
          offsets[n] = p.uint();
          p.lit(',"length":');
          lengths[n] = p.uint();
          if (text.startsWith(',"uncompressed_length":', p.i)) {
            p.i += 23;
            ulengths[n] = p.uint();
          }
          p.lit('}');
          if (!p.ok) return undefined;
          n++;
        } while (p.opt(44 /* , */));
        p.lit(']');
      }
      p.lit('}');
      if (!p.ok) return undefined;
      packIds.push(packId);
      packEnds.push(n);
    } while (p.opt(44));
    p.lit(']');
  }
  p.lit('}');
  if (!p.ok) return undefined;
  // Trailing whitespace (restic's streaming encoder ends with a newline).
  for (let i = p.i; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 10 && c !== 32 && c !== 13 && c !== 9) return undefined;
  }
  return { count: n, packIds, packEnds, words, idAt, kinds, offsets, lengths, ulengths };
}

/** The fast path alone: the index, or undefined when `text` is not in the canonical layout (or invalid). */
export function scanIndex(text: string): IndexFile | undefined {
  const c = scanIndexColumns(text);
  if (c === undefined) return undefined;
  const packs: IndexPack[] = [];
  let i = 0;
  for (let p = 0; p < c.packIds.length; p++) {
    const blobs: PackedBlob[] = [];
    for (const end = c.packEnds[p]!; i < end; i++) {
      // Blob IDs as slices: whoever keeps them copies them (the MasterIndex keeps words).
      const at = c.idAt[i]!;
      blobs.push({ type: c.kinds[i] === 1 ? 'tree' : 'data', id: text.slice(at, at + 64), offset: c.offsets[i]!, length: c.lengths[i]!, uncompressedLength: c.ulengths[i]! });
    }
    packs.push({ id: c.packIds[p]!, blobs });
  }
  return { packs };
}

/** Parses index JSON (object or legacy array form). Throws CofferError 'corrupt' naming `what`. */
export function decodeIndex(json: Uint8Array, what: string): IndexFile {
  const text = jsonText(json);
  return scanIndex(text) ?? decodeIndexGeneric(text, what);
}

/** The generic decoder: any layout Go's decoder accepts (exported for the tests). */
export function decodeIndexGeneric(text: string, what: string): IndexFile {
  const doc = parseJson(text, what);
  if (Array.isArray(doc)) return { packs: doc.map((p) => decodePack(p, what)) };
  const o = fieldObject(doc, what, '(top level)');
  let packs: IndexPack[] = [];
  let supersedes: Id[] | undefined;
  for (const [key, x] of jsonMembers(o)) {
    switch (topField(key)) {
      case 'packs': packs = (fieldArray(x, what, 'packs') ?? []).map((p) => decodePack(p, what)); break;
      case 'supersedes': {
        const arr = fieldArray(x, what, 'supersedes');
        supersedes = arr && arr.length > 0 ? arr.map((s) => fieldId(s, what, 'supersedes[]')) : undefined;
        break;
      }
      default: break;
    }
  }
  return supersedes ? { supersedes, packs } : { packs };
}
