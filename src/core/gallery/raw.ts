/**
 * @module gallery/raw
 * Camera RAW files: which kind a file is, and where its embedded JPEG preview sits. The gallery
 * never develops sensor data: it shows the JPEG the camera stored next to it (the largest one)
 * and reads the RAW's own EXIF (gallery/exif.ts, `readRawMeta`).
 *
 * TIFF-based RAWs (DNG, Canon CR2, Nikon NEF/NRW, Sony ARW/SR2, Pentax PEF, Olympus ORF with
 * magic `IIRO`/`MMOR`, Panasonic RW2 with magic `IIU\0`) keep JPEGs in IFD0, the IFD chain and
 * SubIFDs (tag 0x014A), as JPEGInterchangeFormat 0x0201 + Length 0x0202, as one strip
 * (StripOffsets 0x0111 / StripByteCounts 0x0117) with Compression 6 or 7, or (RW2) as
 * JpgFromRaw 0x002E. Fuji RAF: a big-endian header with the JPEG's offset and length at bytes
 * 84..91. CR3 (ISO-BMFF) and previews inside maker notes (PEF, ORF) are not read.
 *
 * Pure and defensive like the EXIF reader: bounds-checked, every IFD visited once, at most
 * MAX_IFDS of them, never throws on damaged input.
 */
import { readIfd, TiffView, type Ifd } from './tiff.js';

export interface RawPreview {
  /** Byte range of the JPEG inside the RAW file. */
  readonly offset: number;
  readonly length: number;
  /** Stored size from the JPEG's SOF (0 when not found). */
  readonly width: number;
  readonly height: number;
}

export interface RawInfo {
  readonly mime: string;
  /** 'tiff' for the TIFF family (IFD0 holds the RAW's EXIF), 'raf' for Fuji. */
  readonly container: 'tiff' | 'raf';
  /** The largest decodable embedded JPEG, if any. */
  readonly preview?: RawPreview;
  /** Every embedded JPEG found, largest first (a renderer falls back to the next on a bad one). */
  readonly previews: readonly RawPreview[];
  /** IFD0 Orientation (1-8) of a TIFF-based RAW; authoritative over the JPEG's own. */
  readonly orientation?: number;
}

export const RAW_MIME = {
  dng: 'image/x-adobe-dng',
  cr2: 'image/x-canon-cr2',
  nef: 'image/x-nikon-nef',
  nrw: 'image/x-nikon-nrw',
  arw: 'image/x-sony-arw',
  sr2: 'image/x-sony-sr2',
  pef: 'image/x-pentax-pef',
  orf: 'image/x-olympus-orf',
  rw2: 'image/x-panasonic-rw2',
  raf: 'image/x-fuji-raf',
} as const;

const RAW_MIMES = new Set<string>(Object.values(RAW_MIME));
export function isRawMime(mime: string): boolean {
  return RAW_MIMES.has(mime);
}

const MAX_IFDS = 64;
const RAF_MAGIC = 'FUJIFILMCCD-RAW';

function ascii(b: Uint8Array, at: number, n: number): string {
  let s = '';
  for (let i = 0; i < n && at + i < b.length; i++) s += String.fromCharCode(b[at + i]!);
  return s;
}

/** The TIFF flavour of a file from its first 12 bytes, or undefined. */
function tiffKind(b: Uint8Array): { le: boolean; magic: 'tiff' | 'orf' | 'rw2'; cr2: boolean } | undefined {
  if (b.length < 16) return undefined;
  const le = b[0] === 0x49 && b[1] === 0x49;
  const be = b[0] === 0x4d && b[1] === 0x4d;
  if (!le && !be) return undefined;
  const m = new TiffView(b, le).u16(2);
  const magic = m === 42 ? 'tiff' : m === 0x4f52 || m === 0x5352 ? 'orf' : m === 0x55 ? 'rw2' : undefined;
  if (!magic) return undefined;
  return { le, magic, cr2: magic === 'tiff' && b[8] === 0x43 && b[9] === 0x52 };
}

/** JpgFromRaw (RW2): a large UNDEFINED value whose bounds `candidate` checks when it is used. */
const JPG_FROM_RAW = 0x002e;

/** Integer values of a SHORT/LONG tag (at most `max`). */
function uints(t: TiffView, ifd: Ifd, tag: number, max = 64): number[] {
  const e = ifd.entries.get(tag);
  if (!e) return [];
  const { type, count, at } = e;
  const out: number[] = [];
  for (let i = 0; i < Math.min(count, max); i++) {
    if (type === 3) out.push(t.u16(at + i * 2));
    else if (type === 4 || type === 13) out.push(t.u32(at + i * 4));
    else return [];
  }
  return out;
}

/**
 * Size of a JPEG that libjpeg can decode (baseline, extended or progressive Huffman: SOF0-2),
 * from its SOF; undefined for anything else, notably the lossless JPEG (SOF3) that holds DNG
 * and CR2 sensor data.
 */
export function jpegSize(b: Uint8Array, off: number, len: number): { width: number; height: number } | undefined {
  const end = Math.min(b.length, off + len);
  if (off < 0 || off + 4 > end || b[off] !== 0xff || b[off + 1] !== 0xd8) return undefined;
  let p = off + 2;
  while (p + 4 <= end) {
    if (b[p] !== 0xff) return undefined;
    const m = b[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd8)) {
      p += 2;
      continue;
    }
    if (m === 0xd9 || m === 0xda) return undefined;
    const seg = (b[p + 2]! << 8) | b[p + 3]!;
    if (seg < 2) return undefined;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      if (m > 0xc2 || p + 9 > end) return undefined;
      const height = (b[p + 5]! << 8) | b[p + 6]!;
      const width = (b[p + 7]! << 8) | b[p + 8]!;
      return width > 0 && height > 0 ? { width, height } : undefined;
    }
    p += 2 + seg;
  }
  return undefined;
}

function candidate(b: Uint8Array, off: number, len: number): RawPreview | undefined {
  if (!Number.isSafeInteger(off) || !Number.isSafeInteger(len) || off <= 0 || len < 4) return undefined;
  // A length running past the end (a cut-off file) is clipped; the decoder then judges the rest.
  const length = Math.min(len, b.length - off);
  if (length < 4) return undefined;
  const s = jpegSize(b, off, length);
  return s ? { offset: off, length, width: s.width, height: s.height } : undefined;
}

/** Every decodable JPEG in the IFDs of a TIFF-based RAW, and IFD0's orientation. */
function scanTiff(b: Uint8Array, le: boolean): { previews: RawPreview[]; orientation?: number; make?: string; dng: boolean } {
  const t = new TiffView(b, le);
  const previews: RawPreview[] = [];
  const seen = new Set<number>();
  const queue: number[] = [t.u32(4)];
  let orientation: number | undefined;
  let make: string | undefined;
  let dng = false;
  let first = true;
  while (queue.length > 0 && seen.size < MAX_IFDS) {
    const off = queue.shift()!;
    if (off === 0 || seen.has(off)) continue;
    seen.add(off);
    const ifd = readIfd(t, off, { unchecked: [JPG_FROM_RAW] });
    if (!ifd) continue;
    if (first) {
      first = false;
      const o = uints(t, ifd, 0x0112, 1)[0];
      if (o !== undefined && o >= 1 && o <= 8) orientation = o;
      const mk = ifd.entries.get(0x010f);
      if (mk && mk.type === 2) make = ascii(b, mk.at, Math.min(mk.count, 64)).replace(/\0.*$/s, '').trim();
      dng = ifd.entries.has(0xc612);
    }
    const jOff = uints(t, ifd, 0x0201, 1)[0];
    const jLen = uints(t, ifd, 0x0202, 1)[0];
    if (jOff !== undefined && jLen !== undefined) {
      const c = candidate(b, jOff, jLen);
      if (c) previews.push(c);
    }
    const comp = uints(t, ifd, 0x0103, 1)[0];
    const strips = uints(t, ifd, 0x0111, 2);
    const counts = uints(t, ifd, 0x0117, 2);
    // One strip only: a JPEG split over several strips is not one decodable stream.
    if ((comp === 6 || comp === 7) && strips.length === 1 && counts.length === 1) {
      const c = candidate(b, strips[0]!, counts[0]!);
      if (c) previews.push(c);
    }
    const rw2 = ifd.entries.get(JPG_FROM_RAW);
    if (rw2 && rw2.type === 7) {
      const c = candidate(b, rw2.at, rw2.count);
      if (c) previews.push(c);
    }
    for (const sub of uints(t, ifd, 0x014a, 16)) queue.push(sub);
    if (ifd.next) queue.push(ifd.next);
  }
  return { previews, ...(orientation ? { orientation } : {}), ...(make ? { make } : {}), dng };
}

/** Largest first: by pixels, then by bytes (the better quality of two same-size JPEGs); one per offset. */
function bySize(previews: RawPreview[]): RawPreview[] {
  const one = new Map<number, RawPreview>();
  for (const p of previews) if (!one.has(p.offset)) one.set(p.offset, p);
  return [...one.values()].sort((a, b) => b.width * b.height - a.width * a.height || b.length - a.length);
}

/** The RAW MIME type a plain TIFF header gets from its camera maker (no DNGVersion, no CR2 mark). */
function mimeFromMake(make: string | undefined): string | undefined {
  const m = (make ?? '').toUpperCase();
  if (m.startsWith('NIKON')) return RAW_MIME.nef;
  if (m.startsWith('SONY')) return RAW_MIME.arw;
  if (m.startsWith('PENTAX') || m.startsWith('RICOH')) return RAW_MIME.pef;
  if (m.startsWith('CANON')) return RAW_MIME.cr2;
  return undefined;
}

/**
 * What a file is, if it is a camera RAW we know, with its largest embedded JPEG. A plain TIFF
 * whose IFD0 has neither DNGVersion nor the CR2 mark counts as a RAW only when its maker is a
 * RAW maker AND it holds an embedded JPEG: a TIFF some camera or scanner wrote as pixels stays a
 * TIFF. Never throws.
 */
export function rawInfo(b: Uint8Array): RawInfo | undefined {
  try {
    if (b.length >= 92 && ascii(b, 0, RAF_MAGIC.length) === RAF_MAGIC) {
      const v = new TiffView(b, false);
      const preview = candidate(b, v.u32(84), v.u32(88));
      return { mime: RAW_MIME.raf, container: 'raf', previews: preview ? [preview] : [], ...(preview ? { preview } : {}) };
    }
    const k = tiffKind(b);
    if (!k) return undefined;
    const s = scanTiff(b, k.le);
    const previews = bySize(s.previews);
    const preview = previews[0];
    const mime =
      k.magic === 'orf' ? RAW_MIME.orf : k.magic === 'rw2' ? RAW_MIME.rw2 : k.cr2 ? RAW_MIME.cr2 : s.dng ? RAW_MIME.dng : preview ? mimeFromMake(s.make) : undefined;
    if (!mime) return undefined;
    return { mime, container: 'tiff', previews, ...(preview ? { preview } : {}), ...(s.orientation ? { orientation: s.orientation } : {}) };
  } catch {
    return undefined;
  }
}

/**
 * The JPEG with its EXIF orientation set to `orientation`: every APP1 `Exif` segment is dropped
 * and a minimal one (IFD0 with the Orientation tag only) put right after SOI. Used so that the
 * decoder turns a RAW's preview by the RAW's orientation, not by whatever the preview says.
 * Returns the input unchanged when it is not a JPEG.
 */
export function jpegWithOrientation(jpeg: Uint8Array, orientation: number): Uint8Array {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return jpeg;
  const o = orientation >= 1 && orientation <= 8 ? orientation : 1;
  // "Exif\0\0" + little-endian TIFF header + IFD0 { Orientation SHORT 1 = o } + next IFD 0.
  const tiff = [0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, o, 0, 0, 0, 0, 0, 0, 0];
  const body = [0x45, 0x78, 0x69, 0x66, 0, 0, ...tiff];
  const app1 = Uint8Array.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 0xff, ...body]);
  const keep: [number, number][] = [];
  let p = 2;
  while (p + 4 <= jpeg.length) {
    if (jpeg[p] !== 0xff) break;
    const m = jpeg[p + 1]!;
    if (m === 0xff) {
      p++;
      continue;
    }
    if (m === 0xda || m === 0xd9 || m === 0x01 || (m >= 0xd0 && m <= 0xd8)) break;
    const len = (jpeg[p + 2]! << 8) | jpeg[p + 3]!;
    if (len < 2 || p + 2 + len > jpeg.length) break;
    const isExif = m === 0xe1 && ascii(jpeg, p + 4, 4) === 'Exif';
    if (!isExif) keep.push([p, p + 2 + len]);
    p += 2 + len;
  }
  const rest = jpeg.subarray(p);
  const total = 2 + app1.length + keep.reduce((n, [a, z]) => n + z - a, 0) + rest.length;
  const out = new Uint8Array(total);
  out.set([0xff, 0xd8], 0);
  let w = 2;
  // JFIF (APP0) must stay first when present; Exif right after it.
  const app0 = keep.length > 0 && jpeg[keep[0]![0] + 1] === 0xe0 ? keep.shift()! : undefined;
  if (app0) {
    out.set(jpeg.subarray(app0[0], app0[1]), w);
    w += app0[1] - app0[0];
  }
  out.set(app1, w);
  w += app1.length;
  for (const [a, z] of keep) {
    out.set(jpeg.subarray(a, z), w);
    w += z - a;
  }
  out.set(rest, w);
  return out;
}
