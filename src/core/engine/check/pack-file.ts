/**
 * @module engine/check/pack-file
 * Reading a pack's own header (spec §10.5) and verifying a whole downloaded pack against its
 * index entries (§18 --read-data). Shared by `check` and `repair index`.
 */
import type { CallOpts } from '../../backend/backend.js';
import { toHex } from '../../bytes.js';
import { corrupt, isCofferError } from '../../errors.js';
import { decodePackHeader, expectedPackSize, PACK_EAGER_TRAILER_BYTES, parsePackTrailer } from '../../format/pack-header.js';
import type { Id, PackedBlob } from '../../format/types.js';
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

/** Lower-case hex digit values by char code (IDs are lower-case hex; anything else never matches). */
const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) NIBBLE['0123456789abcdef'.charCodeAt(i)] = i;

/** Whether a SHA-256 digest equals a hex ID, without building the digest's hex string per blob. */
function digestIs(digest: Uint8Array, id: Id): boolean {
  if (id.length !== 64 || digest.length !== 32) return false;
  for (let i = 0; i < 32; i++) {
    const c = digest[i]!;
    if (NIBBLE[id.charCodeAt(2 * i)] !== c >> 4 || NIBBLE[id.charCodeAt(2 * i + 1)] !== (c & 15)) return false;
  }
  return true;
}

/**
 * One blob's checks, as `openBlob` (repository/blob-loader.ts) makes them and with its messages:
 * MAC and decryption, decompression to the indexed size, SHA-256 of the plaintext against the ID.
 * The plaintext is dropped at once (the Node worker decodes it into a reused buffer).
 */
function checkBlob(repo: Repository, packId: Id, b: PackedBlob, sealed: Uint8Array): void {
  const what = `${b.type} blob ${b.id} in pack ${packId}`;
  let plain = repo.open(sealed, what);
  if (b.uncompressedLength > 0) plain = repo.platform.zstd.decompress(plain, { expectedSize: b.uncompressedLength });
  if (!digestIs(repo.platform.crypto.sha256(plain), b.id)) throw corrupt(what, 'plaintext does not match the blob ID (SHA-256 mismatch)');
}

/**
 * Verifies a whole pack's bytes against the index's entries for it: the SHA-256 equals its name;
 * the index entries are contiguous from offset 0; the header decrypts and lists exactly those
 * entries (ID, type, offset, length, uncompressed length); every blob decrypts, decompresses and
 * hashes to its ID. Returns every problem found (empty when the pack is sound).
 */
export function verifyPack(repo: Repository, packId: Id, bytes: Uint8Array, indexed: readonly PackedBlob[]): string[] {
  const errors: string[] = [];
  const digest = repo.platform.crypto.sha256(bytes);
  if (!digestIs(digest, packId)) errors.push(`pack ${packId}: content does not match its name (SHA-256 is ${toHex(digest)})`);
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
    // Matched by offset (unique in a decoded header), then by type and ID: an index entry whose
    // blob is not at its offset in the header leaves that header entry unmatched.
    const byOffset = new Map<number, PackedBlob>();
    for (const h of header) byOffset.set(h.offset, h);
    for (const b of sorted) {
      const h = byOffset.get(b.offset);
      if (!h || h.type !== b.type || h.id !== b.id) errors.push(`pack ${packId}: the index lists ${describeEntry(b)} but the pack header does not`);
      else {
        byOffset.delete(b.offset);
        if (h.length !== b.length || h.uncompressedLength !== b.uncompressedLength) {
          errors.push(`pack ${packId}: index entry ${describeEntry(b)} differs from the pack header's ${describeEntry(h)}`);
        }
      }
    }
    for (const h of byOffset.values()) errors.push(`pack ${packId}: the pack header lists ${describeEntry(h)} but the index does not`);
  }
  for (const b of sorted) {
    if (b.offset + b.length > bytes.length) {
      errors.push(`pack ${packId}: ${describeEntry(b)} reaches past the end of the pack (${bytes.length} bytes)`);
      continue;
    }
    try {
      checkBlob(repo, packId, b, bytes.subarray(b.offset, b.offset + b.length));
    } catch (e) {
      if (!isCofferError(e)) throw e;
      errors.push(e.message); // names the blob and the pack
    }
  }
  return errors;
}
