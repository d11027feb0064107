/**
 * @module repository/pack-builder
 * Assembles one pack file (spec §10.1) from sealed blobs:
 *
 *   Blob_1 || ... || Blob_n || Seal(header entries) || LE32(len(sealed header))
 *
 * Blobs are appended back to back from offset 0; the header lists them in the same order.
 * One builder holds blobs of one type only (data and tree blobs never share a pack).
 *
 * Blobs are copied (or sealed straight in: `room`/`commit`) into one growing buffer as they
 * arrive, so `finish` only appends the header: no 16 MiB concatenation at the end, and each
 * sealed blob is garbage at once instead of living until its pack is done. A builder for data
 * packs is given the pack size as its first capacity (pages never written are never touched),
 * so a pack grows by copying only when its last blob does not fit.
 */
import { writeUint32LE } from '../bytes.js';
import { encodePackHeader, PACK_ENTRY_SIZE_COMPRESSED } from '../format/pack-header.js';
import type { BlobType, Id, PackedBlob } from '../format/types.js';

export interface FinishedPack {
  readonly id: Id;
  /** The whole pack file (a view: its buffer may be larger). */
  readonly bytes: Uint8Array;
  readonly blobs: readonly PackedBlob[];
}

/** Sealed header size bound: entries + IV/MAC + length field. */
function headerRoom(entries: number): number {
  return entries * PACK_ENTRY_SIZE_COMPRESSED + 32 + 4;
}

export class PackBuilder {
  private buf: Uint8Array = new Uint8Array(0);
  private entries: PackedBlob[] = [];
  private blobBytes = 0;

  /** `capacity`: bytes to allocate with the first blob (grows when needed). */
  constructor(
    readonly type: BlobType,
    private readonly capacity = 256 * 1024,
  ) {}

  get count(): number {
    return this.entries.length;
  }

  /** Bytes of sealed blobs so far (what the target pack size is compared against). */
  get size(): number {
    return this.blobBytes;
  }

  private reserve(extra: number): void {
    const need = this.blobBytes + extra + headerRoom(this.entries.length + 1);
    if (need <= this.buf.length) return;
    const grown = new Uint8Array(Math.max(need, this.buf.length === 0 ? this.capacity : this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.blobBytes));
    this.buf = grown;
  }

  add(id: Id, sealed: Uint8Array, uncompressedLength: number): void {
    this.room(sealed.length).set(sealed, this.blobBytes);
    this.commit(id, sealed.length, uncompressedLength);
  }

  /**
   * Makes room for a blob of `length` bytes and returns the buffer to write it into, at offset
   * `size`; `commit` then records it. Lets a blob be sealed straight into the pack (no
   * intermediate box and copy). The buffer is only valid until the next call on this builder.
   */
  room(length: number): Uint8Array {
    this.reserve(length);
    return this.buf;
  }

  /** Records the blob of `length` bytes just written at offset `size` of the buffer `room` gave. */
  commit(id: Id, length: number, uncompressedLength: number): void {
    if (this.blobBytes + length > this.buf.length) throw new RangeError('blob was not given room');
    this.entries.push({ type: this.type, id, offset: this.blobBytes, length, uncompressedLength });
    this.blobBytes += length;
  }

  /** Moves every blob of `other` (same type) to the end of this pack. */
  absorb(other: PackBuilder): void {
    for (const e of other.entries) this.add(e.id, other.buf.subarray(e.offset, e.offset + e.length), e.uncompressedLength);
    other.buf = new Uint8Array(0);
    other.entries = [];
    other.blobBytes = 0;
  }

  /**
   * Seals the header and returns the finished pack with its ID (SHA-256 of the whole file).
   * The builder is empty afterwards (its buffer now belongs to the pack).
   */
  finish(seal: (plain: Uint8Array) => Uint8Array, sha256Hex: (b: Uint8Array) => Id): FinishedPack {
    const header = seal(encodePackHeader(this.entries));
    this.reserve(header.length + 4 - headerRoom(this.entries.length + 1));
    const o = this.blobBytes;
    this.buf.set(header, o);
    writeUint32LE(this.buf, o + header.length, header.length);
    const bytes = this.buf.subarray(0, o + header.length + 4);
    const blobs = this.entries;
    this.buf = new Uint8Array(0);
    this.entries = [];
    this.blobBytes = 0;
    return { id: sha256Hex(bytes), bytes, blobs };
  }
}
