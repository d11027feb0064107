/**
 * @module gallery/exif
 * A small EXIF (TIFF IFD) reader and the containers that carry it: JPEG APP1, PNG `eXIf`, WebP
 * `EXIF`. It reads only what the gallery shows (dates, camera, lens, GPS, orientation,
 * dimensions), from a file's first bytes, and never throws on damaged input: a bad offset or a
 * loop just ends the walk (the goexif corpus has files made to loop or overflow).
 *
 * Tags (EXIF 2.32 / TIFF 6): IFD0 Make 0x010F, Model 0x0110, Orientation 0x0112, ExifIFD 0x8769,
 * GPS IFD 0x8825; Exif IFD DateTimeOriginal 0x9003, CreateDate 0x9004, OffsetTimeOriginal 0x9011,
 * SubSecTimeOriginal 0x9291, PixelXDimension 0xA002, PixelYDimension 0xA003, LensModel 0xA434;
 * GPS LatitudeRef 1, Latitude 2, LongitudeRef 3, Longitude 4.
 */
import { isRawMime, rawInfo } from './raw.js';
import { readIfd, TiffView, type IfdEntry } from './tiff.js';

export interface ExifData {
  make?: string;
  model?: string;
  lens?: string;
  orientation?: number;
  /** `YYYY:MM:DD HH:MM:SS` as stored (validated later). */
  dateTimeOriginal?: string;
  createDate?: string;
  subSecTimeOriginal?: string;
  offsetTimeOriginal?: string;
  pixelX?: number;
  pixelY?: number;
  gps?: [number, number];
}

export interface ImageMeta {
  /** Stored size (before orientation), from the image's own header when it has one. */
  width?: number;
  height?: number;
  exif?: ExifData;
}

/** The entries of one IFD, keyed by tag; empty when the IFD is out of bounds. */
function entriesAt(t: TiffView, off: number): Map<number, IfdEntry> {
  return readIfd(t, off, { maxCount: 1 << 20 })?.entries ?? new Map();
}

function ascii(t: TiffView, e: IfdEntry | undefined): string | undefined {
  if (!e || (e.type !== 2 && e.type !== 7 && e.type !== 1)) return undefined;
  let s = '';
  for (let i = 0; i < e.count; i++) {
    const c = t.b[e.at + i]!;
    if (c === 0) break;
    s += String.fromCharCode(c);
  }
  // Makers pad with spaces; non-printable bytes would only garble the UI.
  s = s.replace(/[^\x20-\x7e\u00a0-\u00ff]/g, '').trim();
  return s === '' ? undefined : s;
}

function uint(t: TiffView, e: IfdEntry | undefined): number | undefined {
  if (!e || e.count < 1) return undefined;
  if (e.type === 3) return t.u16(e.at);
  if (e.type === 4) return t.u32(e.at);
  if (e.type === 1) return t.b[e.at];
  return undefined;
}

function rationals(t: TiffView, e: IfdEntry | undefined, n: number): number[] | undefined {
  if (!e || (e.type !== 5 && e.type !== 10) || e.count < n) return undefined;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const num = e.type === 5 ? t.u32(e.at + i * 8) : t.i32(e.at + i * 8);
    const den = e.type === 5 ? t.u32(e.at + i * 8 + 4) : t.i32(e.at + i * 8 + 4);
    if (den === 0) return undefined;
    out.push(num / den);
  }
  return out;
}

function gpsCoordinate(t: TiffView, ifd: Map<number, IfdEntry>, refTag: number, tag: number, max: number): number | undefined {
  const dms = rationals(t, ifd.get(tag), 3);
  if (!dms || dms.some((x) => !Number.isFinite(x) || x < 0)) return undefined;
  const ref = ascii(t, ifd.get(refTag))?.toUpperCase();
  let v = dms[0]! + dms[1]! / 60 + dms[2]! / 3600;
  if (ref === 'S' || ref === 'W') v = -v;
  return Math.abs(v) <= max ? v : undefined;
}

/**
 * Reads EXIF from a TIFF block (`II*\0` or `MM\0*` ...); undefined when it is not one.
 * `anyMagic`: accept another 16-bit magic after the byte order (Olympus ORF `IIRO`, Panasonic
 * RW2 `IIU\0`: TIFF layouts under their own magic).
 */
export function readTiffExif(b: Uint8Array, anyMagic = false): ExifData | undefined {
  if (b.length < 8) return undefined;
  const le = b[0] === 0x49 && b[1] === 0x49;
  const be = b[0] === 0x4d && b[1] === 0x4d;
  if (!le && !be) return undefined;
  const t = new TiffView(b, le);
  if (!anyMagic && t.u16(2) !== 42) return undefined;
  const ifd0 = entriesAt(t, t.u32(4));
  const out: ExifData = {};
  const make = ascii(t, ifd0.get(0x010f));
  const model = ascii(t, ifd0.get(0x0110));
  if (make) out.make = make;
  if (model) out.model = model;
  const orientation = uint(t, ifd0.get(0x0112));
  if (orientation !== undefined && orientation >= 1 && orientation <= 8) out.orientation = orientation;
  const exifPtr = uint(t, ifd0.get(0x8769));
  if (exifPtr !== undefined) {
    const ex = entriesAt(t, exifPtr);
    const put = (k: 'dateTimeOriginal' | 'createDate' | 'subSecTimeOriginal' | 'offsetTimeOriginal' | 'lens', tag: number) => {
      const s = ascii(t, ex.get(tag));
      if (s) out[k] = s;
    };
    put('dateTimeOriginal', 0x9003);
    put('createDate', 0x9004);
    put('offsetTimeOriginal', 0x9011);
    put('subSecTimeOriginal', 0x9291);
    put('lens', 0xa434);
    const px = uint(t, ex.get(0xa002));
    const py = uint(t, ex.get(0xa003));
    if (px) out.pixelX = px;
    if (py) out.pixelY = py;
  }
  const gpsPtr = uint(t, ifd0.get(0x8825));
  if (gpsPtr !== undefined) {
    const g = entriesAt(t, gpsPtr);
    const lat = gpsCoordinate(t, g, 1, 2, 90);
    const lon = gpsCoordinate(t, g, 3, 4, 180);
    // 0,0 is what many phones write when they had no fix.
    if (lat !== undefined && lon !== undefined && !(lat === 0 && lon === 0)) out.gps = [lat, lon];
  }
  return out;
}

const EXIF_HEADER = [0x45, 0x78, 0x69, 0x66, 0, 0]; // "Exif\0\0"

function startsWith(b: Uint8Array, at: number, sig: readonly number[]): boolean {
  return sig.every((c, i) => b[at + i] === c);
}

/** JPEG: EXIF from the first APP1 `Exif` segment, size from the SOF segment; stops at SOS. */
export function readJpegMeta(b: Uint8Array): ImageMeta {
  const out: ImageMeta = {};
  if (b[0] !== 0xff || b[1] !== 0xd8) return out;
  let p = 2;
  while (p + 4 <= b.length) {
    if (b[p] !== 0xff) break;
    const marker = b[p + 1]!;
    if (marker === 0xff) {
      p++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      p += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) break;
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (len < 2 || p + 2 + len > b.length) break;
    const seg = b.subarray(p + 4, p + 2 + len);
    if (marker === 0xe1 && !out.exif && startsWith(seg, 0, EXIF_HEADER)) {
      out.exif = readTiffExif(seg.subarray(6));
    } else if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc && seg.length >= 5) {
      out.height = (seg[1]! << 8) | seg[2]!;
      out.width = (seg[3]! << 8) | seg[4]!;
    }
    p += 2 + len;
  }
  if (!out.exif) delete out.exif;
  return out;
}

const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** PNG: size from IHDR, EXIF from an `eXIf` chunk (PNG 1.2 extension, 2017). */
export function readPngMeta(b: Uint8Array): ImageMeta {
  const out: ImageMeta = {};
  if (!startsWith(b, 0, PNG_SIG)) return out;
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let p = 8;
  while (p + 8 <= b.length) {
    const len = v.getUint32(p);
    const type = String.fromCharCode(b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
    if (p + 12 + len > b.length) break;
    const data = b.subarray(p + 8, p + 8 + len);
    if (type === 'IHDR' && len >= 8) {
      out.width = v.getUint32(p + 8);
      out.height = v.getUint32(p + 12);
    } else if (type === 'eXIf') {
      // Some writers keep the JPEG "Exif\0\0" prefix.
      out.exif = readTiffExif(startsWith(data, 0, EXIF_HEADER) ? data.subarray(6) : data);
    } else if (type === 'IDAT' || type === 'IEND') {
      if (out.exif || type === 'IEND') break;
    }
    p += 12 + len;
  }
  if (!out.exif) delete out.exif;
  return out;
}

/** WebP: canvas size from VP8X/VP8/VP8L, EXIF from an `EXIF` chunk. */
export function readWebpMeta(b: Uint8Array): ImageMeta {
  const out: ImageMeta = {};
  const tag = (o: number) => String.fromCharCode(...b.subarray(o, o + 4));
  if (b.length < 16 || tag(0) !== 'RIFF' || tag(8) !== 'WEBP') return out;
  const le24 = (o: number) => b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16);
  let p = 12;
  while (p + 8 <= b.length) {
    const type = tag(p);
    const len = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 0;
    const d = p + 8;
    if (d + len > b.length) break;
    if (type === 'VP8X' && len >= 10) {
      out.width = le24(d + 4) + 1;
      out.height = le24(d + 7) + 1;
    } else if (type === 'VP8 ' && len >= 10 && out.width === undefined) {
      out.width = (b[d + 6]! | (b[d + 7]! << 8)) & 0x3fff;
      out.height = (b[d + 8]! | (b[d + 9]! << 8)) & 0x3fff;
    } else if (type === 'VP8L' && len >= 5 && out.width === undefined) {
      const bits = (b[d + 1]! | (b[d + 2]! << 8) | (b[d + 3]! << 16) | (b[d + 4]! << 24)) >>> 0;
      out.width = (bits & 0x3fff) + 1;
      out.height = ((bits >>> 14) & 0x3fff) + 1;
    } else if (type === 'EXIF') {
      const data = b.subarray(d, d + len);
      out.exif = readTiffExif(startsWith(data, 0, EXIF_HEADER) ? data.subarray(6) : data);
    }
    p = d + len + (len & 1);
  }
  if (!out.exif) delete out.exif;
  return out;
}

/**
 * A camera RAW (gallery/raw.ts): EXIF from the RAW's own IFDs (TIFF family), completed by the
 * embedded preview's EXIF for what they lack (RW2 keeps its Exif IFD there; RAF has no other).
 * Orientation only from the RAW itself for the TIFF family: the preview's may be stale. Size:
 * the preview's stored size (the decoder's upright size replaces it when it renders).
 */
export function readRawMeta(b: Uint8Array): ImageMeta {
  const info = rawInfo(b);
  if (!info) return {};
  const own = info.container === 'tiff' ? readTiffExif(b, true) ?? {} : {};
  const p = info.preview;
  const inner = p ? readJpegMeta(b.subarray(p.offset, p.offset + p.length)).exif ?? {} : {};
  const { orientation: innerOrientation, ...innerRest } = inner;
  const exif: ExifData = { ...innerRest, ...own };
  if (info.container === 'raf' && innerOrientation !== undefined && own.orientation === undefined) exif.orientation = innerOrientation;
  const out: ImageMeta = {};
  if (p) {
    out.width = p.width;
    out.height = p.height;
  }
  if (Object.keys(exif).length > 0) out.exif = exif;
  return out;
}

/** Metadata of an image from its bytes (the first few hundred KiB are enough for EXIF). */
export function readImageMeta(b: Uint8Array, mime: string): ImageMeta {
  try {
    if (mime === 'image/jpeg') return readJpegMeta(b);
    if (mime === 'image/png') return readPngMeta(b);
    if (mime === 'image/webp') return readWebpMeta(b);
    if (isRawMime(mime)) return readRawMeta(b);
    if (mime === 'image/tiff') {
      const exif = readTiffExif(b);
      return exif ? { exif } : {};
    }
  } catch {
    // A reader bug on hostile input must not fail a backup: the item just lacks metadata.
  }
  return {};
}
