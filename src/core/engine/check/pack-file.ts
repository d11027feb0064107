/**
 * @module engine/check/pack-file
 * Reading a pack's own header (spec §10.5) and verifying a whole downloaded pack against its
 * index entries (§18 --read-data). Shared by `check` and `repair index`.
 */
import type { CallOpts } from '../../backend/backend.js';
import { corrupt, isCofferError } from '../../errors.js';
import { decodePackHeader, expectedPackSize, PACK_EAGER_TRAILER_BYTES, parsePackTrailer } from '../../format/pack-header.js';
import type { Id, PackedBlob } from '../../format/types.js';
import { openBlob } from '../../repository/blob-loader.js';
import type { Repository } from '../../repository/repository.js';

/**
 * Reads a pack's header with one or two ranged reads (the trailer first, as restic does).
 * Throws CofferError 'corrupt' (naming the pack) when the header is damaged or does not match
 * the file's size.
 */
export async function readPackHeader(repo: Repository, packId: Id, fileSize: number, o?: CallOpts): Promise<PackedBlob[]> {
  const what = `pack ${packId}`;
  const h = { type: 'data' as const, name: packId };
  const n = Math.min(fileSize, PACK_EAGER_TRAILER_BYTES);
  let tail = await repo.backend.get(h, { offset: fileSize - n, length: n }, o);
  const t = parsePackTrailer(tail, fileSize, what);
  if (!t.sealedHeader) tail = await repo.backend.get(h, { offset: t.headerOffset, length: t.headerLength + 4 }, o);
  return checkedHeader(repo, packId, tail, fileSize);
}

function checkedHeader(repo: Repository, packId: Id, tail: Uint8Array, fileSize: number): PackedBlob[] {
  const what = `pack ${packId}`;
  const t = parsePackTrailer(tail, fileSize, what);
  const blobs = decodePackHeader(repo.open(t.sealedHeader!, `header of ${what}`), what);
  const implied = expectedPackSize(blobs);
  if (implied !== fileSize) {
    throw corrupt(what, `its header lists blobs for ${implied} bytes but the file has ${fileSize} bytes`);
  }
  return blobs;
}

function describeEntry(b: PackedBlob): string {
  return `${b.type} blob ${b.id} (offset ${b.offset}, length ${b.length}, uncompressed ${b.uncompressedLength})`;
}

/**
 * Verifies a whole pack's bytes against the index's entries for it: the SHA-256 equals its name;
 * the index entries are contiguous from offset 0; the header decrypts and lists exactly those
 * entries (ID, type, offset, length, uncompressed length); every blob decrypts, decompresses and
 * hashes to its ID. Returns every problem found (empty when the pack is sound).
 */
export function verifyPack(repo: Repository, packId: Id, bytes: Uint8Array, indexed: readonly PackedBlob[]): string[] {
  const errors: string[] = [];
  const got = repo.sha256Hex(bytes);
  if (got !== packId) errors.push(`pack ${packId}: content does not match its name (SHA-256 is ${got})`);
  const sorted = [...indexed].sort((a, b) => a.offset - b.offset);
  let expectOffset = 0;
  for (const b of sorted) {
    if (b.offset !== expectOffset) {
      errors.push(`pack ${packId}: index entry for ${describeEntry(b)} is not contiguous (expected offset ${expectOffset})`);
    }
    expectOffset = b.offset + b.length;
  }
  let header: PackedBlob[] | undefined;
  try {
    header = checkedHeader(repo, packId, bytes, bytes.length);
  } catch (e) {
    if (!isCofferError(e)) throw e;
    errors.push(`pack ${packId}: header is damaged: ${e.message.replace(`pack ${packId}: `, '')}`);
  }
  if (header) {
    const byKey = new Map(header.map((h) => [`${h.type}/${h.id}/${h.offset}`, h]));
    for (const b of sorted) {
      const h = byKey.get(`${b.type}/${b.id}/${b.offset}`);
      if (!h) errors.push(`pack ${packId}: the index lists ${describeEntry(b)} but the pack header does not`);
      else {
        byKey.delete(`${b.type}/${b.id}/${b.offset}`);
        if (h.length !== b.length || h.uncompressedLength !== b.uncompressedLength) {
          errors.push(`pack ${packId}: index entry ${describeEntry(b)} differs from the pack header's ${describeEntry(h)}`);
        }
      }
    }
    for (const h of byKey.values()) errors.push(`pack ${packId}: the pack header lists ${describeEntry(h)} but the index does not`);
  }
  for (const b of sorted) {
    const loc = { packId, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength };
    if (b.offset + b.length > bytes.length) {
      errors.push(`pack ${packId}: ${describeEntry(b)} reaches past the end of the pack (${bytes.length} bytes)`);
      continue;
    }
    try {
      openBlob(repo, b.type, b.id, loc, bytes.subarray(b.offset, b.offset + b.length));
    } catch (e) {
      if (!isCofferError(e)) throw e;
      errors.push(e.message); // names the blob and the pack
    }
  }
  return errors;
}
