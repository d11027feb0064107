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
import { fieldArray, fieldId, fieldMatcher, fieldObject, fieldString, fieldUint, parseJsonBytes, type JsonValue, jsonMembers, earlierMembers } from './json.js';
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

/** Parses index JSON (object or legacy array form). Throws CofferError 'corrupt' naming `what`. */
export function decodeIndex(json: Uint8Array, what: string): IndexFile {
  const doc = parseJsonBytes(json, what);
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
