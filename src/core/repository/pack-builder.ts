/**
 * @module repository/pack-builder
 * Assembles one pack file (spec §10.1) from sealed blobs:
 *
 *   Blob_1 || ... || Blob_n || Seal(header entries) || LE32(len(sealed header))
 *
 * Blobs are appended back to back from offset 0; the header lists them in the same order.
 * One builder holds blobs of one type only (data and tree blobs never share a pack).
 */
import { writeUint32LE } from '../bytes.js';
import { encodePackHeader } from '../format/pack-header.js';
import type { BlobType, Id, PackedBlob } from '../format/types.js';

export interface FinishedPack {
  readonly id: Id;
  readonly bytes: Uint8Array;
  readonly blobs: readonly PackedBlob[];
}

export class PackBuilder {
  private readonly parts: Uint8Array[] = [];
  private readonly entries: PackedBlob[] = [];
  private blobBytes = 0;

  constructor(readonly type: BlobType) {}

  get count(): number {
    return this.entries.length;
  }

  /** Bytes of sealed blobs so far (what the target pack size is compared against). */
  get size(): number {
    return this.blobBytes;
  }

  add(id: Id, sealed: Uint8Array, uncompressedLength: number): void {
    this.entries.push({ type: this.type, id, offset: this.blobBytes, length: sealed.length, uncompressedLength });
    this.parts.push(sealed);
    this.blobBytes += sealed.length;
  }

  /** Moves every blob of `other` (same type) to the end of this pack. */
  absorb(other: PackBuilder): void {
    for (let i = 0; i < other.entries.length; i++) {
      const e = other.entries[i]!;
      this.add(e.id, other.parts[i]!, e.uncompressedLength);
    }
    other.parts.length = 0;
    other.entries.length = 0;
    other.blobBytes = 0;
  }

  /** Seals the header and returns the finished pack with its ID (SHA-256 of the whole file). */
  finish(seal: (plain: Uint8Array) => Uint8Array, sha256Hex: (b: Uint8Array) => Id): FinishedPack {
    const header = seal(encodePackHeader(this.entries));
    const bytes = new Uint8Array(this.blobBytes + header.length + 4);
    let o = 0;
    for (const p of this.parts) {
      bytes.set(p, o);
      o += p.length;
    }
    bytes.set(header, o);
    writeUint32LE(bytes, o + header.length, header.length);
    this.parts.length = 0;
    return { id: sha256Hex(bytes), bytes, blobs: this.entries };
  }
}
