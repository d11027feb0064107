/**
 * @module node/gallery-zip
 * A small ZIP reader for Google Takeout archives: the central directory (ZIP64 too, Takeouts
 * are often over 4 GiB), stored and deflated entries, CRC-32 checked. Entries are read one at a
 * time with positional reads, so memory holds one file, never the archive.
 */
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { CofferError } from '../core/errors.js';

export interface ZipEntry {
  readonly name: string;
  readonly size: number;
  readonly compressedSize: number;
  readonly method: number;
  readonly crc: number;
  /** Modification time from the DOS date/time fields (local time, as zip tools write it). */
  readonly mtime: Date;
  readonly localOffset: number;
}

const MAX_ENTRY = 1024 * 1024 * 1024;

function readAt(fd: number, offset: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let got = 0;
  while (got < length) {
    const n = fs.readSync(fd, b, got, length - got, offset + got);
    if (n === 0) break;
    got += n;
  }
  return b.subarray(0, got);
}

export class ZipReader {
  private constructor(
    private readonly fd: number,
    readonly file: string,
    readonly entries: readonly ZipEntry[],
  ) {}

  static open(file: string): ZipReader {
    const fd = fs.openSync(file, 'r');
    try {
      return new ZipReader(fd, file, ZipReader.directory(fd, fs.fstatSync(fd).size, file));
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  }

  private static directory(fd: number, size: number, file: string): ZipEntry[] {
    const bad = (why: string) => new CofferError('bad-input', `${file} is not a readable zip archive: ${why}`);
    const tailLen = Math.min(size, 65557);
    const tail = readAt(fd, size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw bad('no end of central directory');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const loc = eocd - 20;
      if (loc < 0 || tail.readUInt32LE(loc) !== 0x07064b50) throw bad('ZIP64 locator missing');
      const z64 = Number(tail.readBigUInt64LE(loc + 8));
      const rec = readAt(fd, z64, 56);
      if (rec.length < 56 || rec.readUInt32LE(0) !== 0x06064b50) throw bad('ZIP64 end record missing');
      count = Number(rec.readBigUInt64LE(32));
      cdSize = Number(rec.readBigUInt64LE(40));
      cdOffset = Number(rec.readBigUInt64LE(48));
    }
    if (cdOffset + cdSize > size) throw bad('central directory out of bounds');
    const cd = readAt(fd, cdOffset, cdSize);
    const out: ZipEntry[] = [];
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== 0x02014b50) throw bad(`central directory entry ${i} damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const time = cd.readUInt16LE(p + 12);
      const date = cd.readUInt16LE(p + 14);
      const crc = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localOffset = cd.readUInt32LE(p + 42);
      const nameBytes = cd.subarray(p + 46, p + 46 + nameLen);
      // Bit 11: UTF-8 names; Takeout sets it. Others are CP437, close enough to latin1 for display.
      const name = nameBytes.toString(flags & 0x800 ? 'utf8' : 'latin1');
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) (size = Number(cd.readBigUInt64LE(q))), (q += 8);
          if (compressedSize === 0xffffffff) (compressedSize = Number(cd.readBigUInt64LE(q))), (q += 8);
          if (localOffset === 0xffffffff) localOffset = Number(cd.readBigUInt64LE(q));
        }
        e += 4 + len;
      }
      const mtime = new Date(1980 + (date >> 9), ((date >> 5) & 15) - 1, date & 31, time >> 11, (time >> 5) & 63, (time & 31) * 2);
      out.push({ name, size, compressedSize, method, crc, mtime, localOffset });
      p = extraEnd + commentLen;
    }
    return out;
  }

  /** The bytes of one entry, checked against its CRC-32. */
  read(entry: ZipEntry): Uint8Array {
    const what = `${this.file}: ${entry.name}`;
    if (entry.size > MAX_ENTRY) throw new CofferError('bad-input', `${what} is larger than 1 GiB: not imported`);
    const h = readAt(this.fd, entry.localOffset, 30);
    if (h.length < 30 || h.readUInt32LE(0) !== 0x04034b50) throw new CofferError('bad-input', `${what}: local header damaged`);
    const dataAt = entry.localOffset + 30 + h.readUInt16LE(26) + h.readUInt16LE(28);
    const raw = readAt(this.fd, dataAt, entry.compressedSize);
    let data: Buffer;
    if (entry.method === 0) data = raw;
    else if (entry.method === 8) data = zlib.inflateRawSync(raw);
    else throw new CofferError('bad-input', `${what}: compression method ${entry.method} is not supported`);
    if (data.length !== entry.size || zlib.crc32(data) !== entry.crc) throw new CofferError('bad-input', `${what}: damaged (size or CRC-32 mismatch)`);
    return new Uint8Array(data.buffer, data.byteOffset, data.length);
  }

  close(): void {
    fs.closeSync(this.fd);
  }
}
