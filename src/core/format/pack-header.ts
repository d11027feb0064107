/**
 * @module format/pack-header
 * Pack header plaintext and trailer (spec §10.2, §10.3, §10.5). A pack file is
 *
 *   Blob_1 || ... || Blob_n || Seal(header) || LE32(len(Seal(header)))
 *
 * and the header plaintext is one entry per blob, in file order:
 *
 *   type 0x00 data / 0x01 tree (uncompressed):  type | LE32 length | ID(32)            37 bytes
 *   type 0x02 data / 0x03 tree (compressed):    type | LE32 length | LE32 uncomp | ID  41 bytes
 *
 * `length` is the sealed blob length; offsets are implicit (cumulative from 0). The sealed header
 * length counts IV+MAC (32) but not the 4-byte length field; it must be 32..16 MiB and fit the file.
 */
import { readUint32LE, toHex, fromHex, writeUint32LE } from '../bytes.js';
import { CofferError, corrupt } from '../errors.js';
import type { PackedBlob } from './types.js';

const SEAL_OVERHEAD = 32;
const LENGTH_FIELD = 4;
export const PACK_ENTRY_SIZE_PLAIN = 37;
export const PACK_ENTRY_SIZE_COMPRESSED = 41;
/** Largest sealed header restic accepts. */
export const PACK_MAX_HEADER_LENGTH = 16 * 1024 * 1024;
/** Smallest pack restic accepts: one entry + IV/MAC + length field. */
export const PACK_MIN_FILE_SIZE = PACK_ENTRY_SIZE_PLAIN + SEAL_OVERHEAD + LENGTH_FIELD;
/** Bytes restic reads from the end of a pack in its first request (15 compressed entries + 36). */
export const PACK_EAGER_TRAILER_BYTES = 15 * PACK_ENTRY_SIZE_COMPRESSED + SEAL_OVERHEAD + LENGTH_FIELD;

/** What the header needs of a blob; `offset`, when given, must equal the cumulative one. */
export type PackHeaderEntry = Pick<PackedBlob, 'type' | 'id' | 'length' | 'uncompressedLength'> & { readonly offset?: number };

/** Header entry size of a blob: 41 when compressed (uncompressedLength > 0), else 37. */
export function packHeaderEntrySize(blob: Pick<PackedBlob, 'uncompressedLength'>): number {
  return blob.uncompressedLength > 0 ? PACK_ENTRY_SIZE_COMPRESSED : PACK_ENTRY_SIZE_PLAIN;
}

/** Size of the pack file holding exactly `blobs` (what `restic check` computes from the index). */
export function expectedPackSize(blobs: readonly Pick<PackedBlob, 'length' | 'uncompressedLength'>[]): number {
  let n = SEAL_OVERHEAD + LENGTH_FIELD;
  for (const b of blobs) n += b.length + packHeaderEntrySize(b);
  return n;
}

/** Header plaintext for blobs stored back to back from offset 0 in this order. */
export function encodePackHeader(entries: readonly PackHeaderEntry[]): Uint8Array {
  let size = 0;
  for (const e of entries) size += packHeaderEntrySize(e);
  const out = new Uint8Array(size);
  let o = 0;
  let offset = 0;
  for (const e of entries) {
    if (e.offset !== undefined && e.offset !== offset) {
      throw new CofferError('internal', `pack header: blob ${e.id} at offset ${e.offset}, expected ${offset}`);
    }
    if (!Number.isInteger(e.length) || e.length < SEAL_OVERHEAD || e.length > 0xffffffff) {
      throw new CofferError('internal', `pack header: blob ${e.id} has invalid length ${e.length}`);
    }
    const compressed = e.uncompressedLength > 0;
    out[o] = (e.type === 'tree' ? 1 : 0) | (compressed ? 2 : 0);
    writeUint32LE(out, o + 1, e.length);
    o += 5;
    if (compressed) {
      writeUint32LE(out, o, e.uncompressedLength);
      o += 4;
    }
    const id = fromHex(e.id);
    if (id.length !== 32) throw new CofferError('internal', `pack header: invalid blob ID ${e.id}`);
    out.set(id, o);
    o += 32;
    offset += e.length;
  }
  return out;
}

/** Parses header plaintext into entries with cumulative offsets. Throws 'corrupt' naming `what`. */
export function decodePackHeader(plain: Uint8Array, what: string): PackedBlob[] {
  const out: PackedBlob[] = [];
  let o = 0;
  let offset = 0;
  while (o < plain.length) {
    const t = plain[o]!;
    if (t > 3) throw corrupt(what, `pack header entry ${out.length} has unknown type ${t}`);
    const compressed = t >= 2;
    const size = compressed ? PACK_ENTRY_SIZE_COMPRESSED : PACK_ENTRY_SIZE_PLAIN;
    if (o + size > plain.length) throw corrupt(what, `pack header is truncated in entry ${out.length}`);
    const length = readUint32LE(plain, o + 1);
    const uncompressedLength = compressed ? readUint32LE(plain, o + 5) : 0;
    if (length < SEAL_OVERHEAD) throw corrupt(what, `pack header entry ${out.length} has length ${length} < 32`);
    if (compressed && uncompressedLength === 0) {
      throw corrupt(what, `pack header entry ${out.length} is compressed with uncompressed length 0`);
    }
    const idStart = o + size - 32;
    out.push({
      type: t & 1 ? 'tree' : 'data',
      id: toHex(plain.subarray(idStart, idStart + 32)),
      offset,
      length,
      uncompressedLength,
    });
    offset += length;
    o += size;
  }
  return out;
}

export interface PackTrailer {
  /** Length of the sealed header (the LE32 at the end of the file). */
  readonly headerLength: number;
  /** File offset where the sealed header starts (= total length of the blobs). */
  readonly headerOffset: number;
  /** The sealed header, when `lastBytes` contained all of it (a view into `lastBytes`). */
  readonly sealedHeader?: Uint8Array;
}

/**
 * Reads the header length from the final bytes of a pack (`lastBytes` = the last
 * `lastBytes.length` bytes of a file of `fileSize` bytes; restic reads PACK_EAGER_TRAILER_BYTES)
 * and validates it (§10.5). Throws CofferError 'corrupt' naming `what`.
 */
export function parsePackTrailer(lastBytes: Uint8Array, fileSize: number, what = 'pack'): PackTrailer {
  if (fileSize < PACK_MIN_FILE_SIZE) throw corrupt(what, `pack file is too short (${fileSize} bytes)`);
  if (lastBytes.length < LENGTH_FIELD || lastBytes.length > fileSize) {
    throw corrupt(what, `pack trailer read returned ${lastBytes.length} bytes`);
  }
  const hl = readUint32LE(lastBytes, lastBytes.length - LENGTH_FIELD);
  if (hl === 0) throw corrupt(what, 'pack header length is zero');
  if (hl < SEAL_OVERHEAD) throw corrupt(what, `pack header length ${hl} is too short`);
  if (hl > fileSize - LENGTH_FIELD) throw corrupt(what, `pack header length ${hl} is larger than the file`);
  if (hl > PACK_MAX_HEADER_LENGTH) throw corrupt(what, `pack header length ${hl} exceeds 16 MiB`);
  const headerOffset = fileSize - LENGTH_FIELD - hl;
  const end = lastBytes.length - LENGTH_FIELD;
  if (hl <= end) return { headerLength: hl, headerOffset, sealedHeader: lastBytes.subarray(end - hl, end) };
  return { headerLength: hl, headerOffset };
}
