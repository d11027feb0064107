/**
 * @module web/zip
 * A streaming ZIP writer, store-only (files are sent as they are: backups are mostly
 * already-compressed media, and storing keeps the download at the decryption rate), ZIP64 where
 * needed (files or archives past 4 GiB, more than 65,534 entries). Pure: it returns the header
 * bytes to emit and the caller streams each file's bytes between `start` and `end`, so nothing
 * is held but the central directory (about 100 bytes per entry).
 *
 * Each entry sets general-purpose bit 3 (sizes and CRC-32 follow the data in a data
 * descriptor, since the CRC is known only at the end) and bit 11 (UTF-8 names). A file that is
 * announced with a size of 4 GiB or more gets a ZIP64 extra field in its local header and a
 * 64-bit descriptor (APPNOTE 4.3.9); the central directory carries ZIP64 fields for whatever
 * overflows 32 bits. Times: MS-DOS local time plus the Unix "extended timestamp" (0x5455).
 */

const SIG_LOCAL = 0x04034b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_DESCRIPTOR = 0x08074b50;
const SIG_EOCD = 0x06054b50;
const SIG_EOCD64 = 0x06064b50;
const SIG_LOCATOR64 = 0x07064b50;
const MAX32 = 0xffffffff;
const MAX16 = 0xffff;
const FLAGS = 0x0008 | 0x0800;
const MADE_BY_UNIX = (3 << 8) | 45;

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** Continues a CRC-32 (ISO 3309, as ZIP uses) over `data`; start with 0. */
export function crc32(data: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = CRC_TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

export interface ZipEntry {
  /** Path inside the archive, '/'-separated, no leading '/'; folders may omit the trailing '/'. */
  readonly name: string;
  readonly kind: 'file' | 'dir' | 'symlink';
  /** Unix permission bits (default 0644 files, 0755 folders, 0777 links). */
  readonly mode?: number;
  /** Modification time, ms since the epoch. */
  readonly mtime?: number;
  /** The size the caller will write (decides ZIP64 for the local header); default 0. */
  readonly size?: number;
}

export interface ZipOptions {
  /** Use ZIP64 records everywhere (for tests of the ZIP64 paths without 4 GiB of data). */
  readonly forceZip64?: boolean;
}

interface Done {
  name: Uint8Array;
  kind: ZipEntry['kind'];
  mode: number;
  dosTime: number;
  dosDate: number;
  unixTime: number | undefined;
  crc: number;
  size: number;
  offset: number;
  zip64Local: boolean;
}

class Out {
  private readonly buf: Uint8Array;
  private readonly view: DataView;
  pos = 0;
  constructor(n: number) {
    this.buf = new Uint8Array(n);
    this.view = new DataView(this.buf.buffer);
  }
  u16(v: number): this {
    this.view.setUint16(this.pos, v, true);
    this.pos += 2;
    return this;
  }
  u32(v: number): this {
    this.view.setUint32(this.pos, v >>> 0, true);
    this.pos += 4;
    return this;
  }
  u64(v: number): this {
    this.view.setBigUint64(this.pos, BigInt(v), true);
    this.pos += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }
  done(): Uint8Array {
    if (this.pos !== this.buf.length) throw new Error(`zip: wrote ${this.pos} of ${this.buf.length} bytes`);
    return this.buf;
  }
}

function dosDateTime(ms: number | undefined): { time: number; date: number } {
  const d = new Date(ms ?? Date.now());
  if (Number.isNaN(d.getTime()) || d.getFullYear() < 1980) return { time: 0, date: (1 << 5) | 1 }; // 1980-01-01
  if (d.getFullYear() > 2107) return { time: (23 << 11) | (59 << 5) | 29, date: (127 << 9) | (12 << 5) | 31 };
  return {
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | (d.getSeconds() >> 1),
    date: ((d.getFullYear() - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
  };
}

const enc = new TextEncoder();

export class ZipWriter {
  private readonly entries: Done[] = [];
  private current: Done | undefined;
  private written = 0;
  private finished = false;
  private readonly force: boolean;

  constructor(opts: ZipOptions = {}) {
    this.force = opts.forceZip64 ?? false;
  }

  /** Bytes emitted so far (headers and data). */
  get offset(): number {
    return this.written;
  }

  /** Starts an entry: returns its local header. */
  start(e: ZipEntry): Uint8Array {
    if (this.current || this.finished) throw new Error('zip: start() while an entry is open or after finish()');
    let name = e.name.replace(/^\/+/, '');
    if (e.kind === 'dir' && !name.endsWith('/')) name += '/';
    if (name === '' || name.split('/').some((s) => s === '..')) throw new Error(`zip: invalid entry name "${e.name}"`);
    const nameBytes = enc.encode(name);
    const { time, date } = dosDateTime(e.mtime);
    const unixTime = e.mtime !== undefined && e.mtime >= 0 && e.mtime / 1000 < 2 ** 31 ? Math.floor(e.mtime / 1000) : undefined;
    const zip64Local = this.force || (e.size ?? 0) >= MAX32;
    const mode = e.mode ?? (e.kind === 'dir' ? 0o755 : e.kind === 'symlink' ? 0o777 : 0o644);
    this.current = { name: nameBytes, kind: e.kind, mode, dosTime: time, dosDate: date, unixTime, crc: 0, size: 0, offset: this.written, zip64Local };
    const extraLen = (zip64Local ? 20 : 0) + (unixTime !== undefined ? 9 : 0);
    const o = new Out(30 + nameBytes.length + extraLen);
    o.u32(SIG_LOCAL).u16(zip64Local ? 45 : 20).u16(FLAGS).u16(0).u16(time).u16(date);
    o.u32(0).u32(zip64Local ? MAX32 : 0).u32(zip64Local ? MAX32 : 0); // CRC and sizes follow in the descriptor
    o.u16(nameBytes.length).u16(extraLen).bytes(nameBytes);
    if (zip64Local) o.u16(0x0001).u16(16).u64(0).u64(0);
    if (unixTime !== undefined) o.u16(0x5455).u16(5).bytes(new Uint8Array([1])).u32(unixTime);
    return this.emit(o.done());
  }

  /** Accounts for bytes of the open entry (the caller emits them itself). */
  write(chunk: Uint8Array): void {
    const c = this.current;
    if (!c) throw new Error('zip: write() without an open entry');
    if (c.kind === 'dir' && chunk.length) throw new Error('zip: a folder has no content');
    c.crc = crc32(chunk, c.crc);
    c.size += chunk.length;
    if (!c.zip64Local && c.size >= MAX32) throw new Error('zip: file larger than announced (past 4 GiB without ZIP64)');
    this.written += chunk.length;
  }

  /** Ends the open entry: returns its data descriptor. */
  end(): Uint8Array {
    const c = this.current;
    if (!c) throw new Error('zip: end() without an open entry');
    this.current = undefined;
    this.entries.push(c);
    const o = new Out(c.zip64Local ? 24 : 16);
    o.u32(SIG_DESCRIPTOR).u32(c.crc);
    if (c.zip64Local) o.u64(c.size).u64(c.size);
    else o.u32(c.size).u32(c.size);
    return this.emit(o.done());
  }

  /** The central directory and end records. */
  finish(): Uint8Array {
    if (this.current) throw new Error('zip: finish() while an entry is open');
    this.finished = true;
    const cdStart = this.written;
    const parts: Uint8Array[] = [];
    for (const e of this.entries) {
      const bigSize = this.force || e.size >= MAX32;
      const bigOffset = this.force || e.offset >= MAX32;
      const z64Len = (bigSize ? 16 : 0) + (bigOffset ? 8 : 0);
      const extraLen = (z64Len ? 4 + z64Len : 0) + (e.unixTime !== undefined ? 9 : 0);
      const typeBits = e.kind === 'dir' ? 0o040000 : e.kind === 'symlink' ? 0o120000 : 0o100000;
      const external = (((typeBits | (e.mode & 0o7777)) << 16) >>> 0) | (e.kind === 'dir' ? 0x10 : 0);
      const o = new Out(46 + e.name.length + extraLen);
      o.u32(SIG_CENTRAL).u16(MADE_BY_UNIX).u16(bigSize || bigOffset || e.zip64Local ? 45 : 20).u16(FLAGS).u16(0).u16(e.dosTime).u16(e.dosDate);
      o.u32(e.crc).u32(bigSize ? MAX32 : e.size).u32(bigSize ? MAX32 : e.size);
      o.u16(e.name.length).u16(extraLen).u16(0).u16(0).u16(0).u32(external).u32(bigOffset ? MAX32 : e.offset);
      o.bytes(e.name);
      if (z64Len) {
        o.u16(0x0001).u16(z64Len);
        if (bigSize) o.u64(e.size).u64(e.size);
        if (bigOffset) o.u64(e.offset);
      }
      if (e.unixTime !== undefined) o.u16(0x5455).u16(5).bytes(new Uint8Array([1])).u32(e.unixTime);
      parts.push(o.done());
    }
    const cdSize = parts.reduce((n, p) => n + p.length, 0);
    const n = this.entries.length;
    const need64 = this.force || n >= MAX16 || cdStart >= MAX32 || cdSize >= MAX32;
    const eocd64At = cdStart + cdSize;
    if (need64) {
      const o = new Out(56 + 20);
      o.u32(SIG_EOCD64).u64(44).u16(MADE_BY_UNIX).u16(45).u32(0).u32(0).u64(n).u64(n).u64(cdSize).u64(cdStart);
      o.u32(SIG_LOCATOR64).u32(0).u64(eocd64At).u32(1);
      parts.push(o.done());
    }
    const o = new Out(22);
    o.u32(SIG_EOCD).u16(0).u16(0).u16(need64 ? MAX16 : n).u16(need64 ? MAX16 : n);
    o.u32(need64 ? MAX32 : cdSize).u32(need64 ? MAX32 : cdStart).u16(0);
    parts.push(o.done());
    const out = new Uint8Array(parts.reduce((k, p) => k + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return this.emit(out);
  }

  private emit(b: Uint8Array): Uint8Array {
    this.written += b.length;
    return b;
  }
}
