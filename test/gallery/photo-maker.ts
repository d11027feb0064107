/**
 * Test photos with known EXIF: a tiny TIFF/EXIF writer (IFD0 + Exif IFD + GPS IFD) whose APP1
 * segment is put into JPEGs encoded with jpeg-js, into PNG `eXIf` chunks, and a minimal MP4.
 */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';

type Value = { tag: number; ascii: string } | { tag: number; short: number[] } | { tag: number; long: number[] } | { tag: number; rational: [number, number][] };

export interface ExifSpec {
  make?: string;
  model?: string;
  lens?: string;
  orientation?: number;
  dateTimeOriginal?: string;
  subSec?: string;
  offset?: string;
  gps?: [number, number];
  bigEndian?: boolean;
}

function typeOf(v: Value): [number, number, number] {
  if ('ascii' in v) return [2, v.ascii.length + 1, 1];
  if ('short' in v) return [3, v.short.length, 2];
  if ('long' in v) return [4, v.long.length, 4];
  return [5, v.rational.length, 8];
}

function dms(x: number): [number, number][] {
  const a = Math.abs(x);
  const d = Math.floor(a);
  const m = Math.floor((a - d) * 60);
  const s = Math.round(((a - d) * 60 - m) * 60 * 10000);
  return [[d, 1], [m, 1], [s, 10000]];
}

/** A TIFF block holding the spec's tags. */
export function buildTiff(spec: ExifSpec): Uint8Array {
  const le = !spec.bigEndian;
  const ifd0: Value[] = [];
  const exif: Value[] = [];
  const gps: Value[] = [];
  if (spec.make) ifd0.push({ tag: 0x010f, ascii: spec.make });
  if (spec.model) ifd0.push({ tag: 0x0110, ascii: spec.model });
  if (spec.orientation) ifd0.push({ tag: 0x0112, short: [spec.orientation] });
  if (spec.dateTimeOriginal) exif.push({ tag: 0x9003, ascii: spec.dateTimeOriginal });
  if (spec.offset) exif.push({ tag: 0x9011, ascii: spec.offset });
  if (spec.subSec) exif.push({ tag: 0x9291, ascii: spec.subSec });
  if (spec.lens) exif.push({ tag: 0xa434, ascii: spec.lens });
  if (spec.gps) {
    gps.push({ tag: 1, ascii: spec.gps[0] < 0 ? 'S' : 'N' }, { tag: 2, rational: dms(spec.gps[0]) });
    gps.push({ tag: 3, ascii: spec.gps[1] < 0 ? 'W' : 'E' }, { tag: 4, rational: dms(spec.gps[1]) });
  }
  const ifds: Value[][] = [ifd0];
  if (exif.length) ifd0.push({ tag: 0x8769, long: [0] }), ifds.push(exif);
  if (gps.length) ifd0.push({ tag: 0x8825, long: [0] }), ifds.push(gps);
  const ifdOffsets: number[] = [];
  let at = 8;
  for (const ifd of ifds) {
    ifd.sort((a, b) => a.tag - b.tag);
    ifdOffsets.push(at);
    at += 2 + ifd.length * 12 + 4;
  }
  let dataAt = at;
  const dataSize = ifds.flat().reduce((s, v) => {
    const [, count, size] = typeOf(v);
    return s + (count * size > 4 ? count * size + ((count * size) & 1) : 0);
  }, 0);
  const out = new Uint8Array(dataAt + dataSize);
  const dv = new DataView(out.buffer);
  out.set(le ? [0x49, 0x49] : [0x4d, 0x4d]);
  dv.setUint16(2, 42, le);
  dv.setUint32(4, 8, le);
  // Pointers to the sub-IFDs.
  let k = 1;
  if (exif.length) (ifd0.find((v) => v.tag === 0x8769) as { long: number[] }).long[0] = ifdOffsets[k++]!;
  if (gps.length) (ifd0.find((v) => v.tag === 0x8825) as { long: number[] }).long[0] = ifdOffsets[k++]!;
  ifds.forEach((ifd, n) => {
    let p = ifdOffsets[n]!;
    dv.setUint16(p, ifd.length, le);
    p += 2;
    for (const v of ifd) {
      const [type, count, size] = typeOf(v);
      dv.setUint16(p, v.tag, le);
      dv.setUint16(p + 2, type, le);
      dv.setUint32(p + 4, count, le);
      const inline = count * size <= 4;
      const w = inline ? p + 8 : dataAt;
      if (!inline) dv.setUint32(p + 8, dataAt, le);
      if ('ascii' in v) for (let i = 0; i < v.ascii.length; i++) out[w + i] = v.ascii.charCodeAt(i);
      else if ('short' in v) v.short.forEach((x, i) => dv.setUint16(w + i * 2, x, le));
      else if ('long' in v) v.long.forEach((x, i) => dv.setUint32(w + i * 4, x, le));
      else v.rational.forEach(([a, b], i) => (dv.setUint32(w + i * 8, a, le), dv.setUint32(w + i * 8 + 4, b, le)));
      if (!inline) dataAt += count * size + ((count * size) & 1);
      p += 12;
    }
    dv.setUint32(p, 0, le);
  });
  return out;
}

/** Pixels that differ per seed (so every test photo is a different file). */
export function pixels(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 4;
      // A left half red and right half blue makes orientation visible in tests.
      const left = x < width / 2;
      data[i] = left ? 220 : (seed * 37) & 63;
      data[i + 1] = ((x + y + seed * 13) * 3) & 127;
      data[i + 2] = left ? (seed * 53) & 63 : 220;
      data[i + 3] = 255;
    }
  }
  return data;
}

/** A baseline JPEG (jpeg-js) with an EXIF APP1 segment right after SOI. */
export function makeJpeg(width: number, height: number, seed: number, spec?: ExifSpec): Uint8Array {
  const raw = new Uint8Array(jpeg.encode({ width, height, data: pixels(width, height, seed) }, 85).data);
  if (!spec) return raw;
  const tiff = buildTiff(spec);
  const body = new Uint8Array(6 + tiff.length);
  body.set([0x45, 0x78, 0x69, 0x66, 0, 0]);
  body.set(tiff, 6);
  const seg = new Uint8Array(4 + body.length);
  seg.set([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]);
  seg.set(body, 4);
  const out = new Uint8Array(raw.length + seg.length);
  out.set(raw.subarray(0, 2));
  out.set(seg, 2);
  out.set(raw.subarray(2), 2 + seg.length);
  return out;
}

function crc32(b: Uint8Array): number {
  let c = ~0;
  for (const x of b) {
    c ^= x;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG (pngjs) with an `eXIf` chunk before IDAT. */
export function makePng(width: number, height: number, seed: number, spec?: ExifSpec): Uint8Array {
  const png = new PNG({ width, height });
  png.data = Buffer.from(pixels(width, height, seed));
  const raw = new Uint8Array(PNG.sync.write(png));
  if (!spec) return raw;
  const tiff = buildTiff(spec);
  const chunk = new Uint8Array(12 + tiff.length);
  const dv = new DataView(chunk.buffer);
  dv.setUint32(0, tiff.length);
  chunk.set([0x65, 0x58, 0x49, 0x66], 4);
  chunk.set(tiff, 8);
  dv.setUint32(8 + tiff.length, crc32(chunk.subarray(4, 8 + tiff.length)));
  const ihdrEnd = 8 + 25;
  const out = new Uint8Array(raw.length + chunk.length);
  out.set(raw.subarray(0, ihdrEnd));
  out.set(chunk, ihdrEnd);
  out.set(raw.subarray(ihdrEnd), ihdrEnd + chunk.length);
  return out;
}

function box(type: string, ...parts: Uint8Array[]): Uint8Array {
  const len = 8 + parts.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(len);
  new DataView(out.buffer).setUint32(0, len);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/** An MP4 skeleton: ftyp, a big mdat, then moov/mvhd (v0 or v1) at the end, as many phones write it. */
export function makeMp4(createdEpochSec: number, durationSec: number, opts: { version1?: boolean; mdatBytes?: number; track?: { width: number; height: number; rotate90?: boolean } } = {}): Uint8Array {
  const ftyp = box('ftyp', new Uint8Array([0x69, 0x73, 0x6f, 0x6d, 0, 0, 2, 0]));
  const mdat = box('mdat', new Uint8Array(opts.mdatBytes ?? 1000).fill(7));
  const t1904 = createdEpochSec + 2082844800;
  const timescale = 600;
  let mvhd: Uint8Array;
  if (opts.version1) {
    mvhd = new Uint8Array(4 + 28 + 80);
    const dv = new DataView(mvhd.buffer);
    mvhd[0] = 1;
    dv.setBigUint64(4, BigInt(t1904));
    dv.setBigUint64(12, BigInt(t1904));
    dv.setUint32(20, timescale);
    dv.setBigUint64(24, BigInt(Math.round(durationSec * timescale)));
  } else {
    mvhd = new Uint8Array(4 + 16 + 80);
    const dv = new DataView(mvhd.buffer);
    dv.setUint32(4, t1904);
    dv.setUint32(8, t1904);
    dv.setUint32(12, timescale);
    dv.setUint32(16, Math.round(durationSec * timescale));
  }
  const traks: Uint8Array[] = [];
  if (opts.track) {
    // An audio track first (no size), then the video track.
    traks.push(box('trak', box('tkhd', new Uint8Array(84))));
    const t = new Uint8Array(84);
    const dv = new DataView(t.buffer);
    const m = opts.track.rotate90 ? [0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000] : [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000];
    m.forEach((x, i) => dv.setInt32(40 + i * 4, x));
    dv.setUint32(76, opts.track.width * 65536);
    dv.setUint32(80, opts.track.height * 65536);
    traks.push(box('trak', box('tkhd', t)));
  }
  const moov = box('moov', box('mvhd', mvhd), ...traks);
  const out = new Uint8Array(ftyp.length + mdat.length + moov.length);
  out.set(ftyp);
  out.set(mdat, ftyp.length);
  out.set(moov, ftyp.length + mdat.length);
  return out;
}

/** Grows a JPEG by `bytes` of incompressible APP2 segments after SOI (a many-chunk original that still decodes). */
export function padJpeg(jpg: Uint8Array, bytes: number, seed = 1): Uint8Array {
  const segs: Uint8Array[] = [];
  let x = seed >>> 0 || 1;
  for (let left = bytes; left > 0; ) {
    const n = Math.min(65533, left);
    const seg = new Uint8Array(n + 4);
    seg.set([0xff, 0xe2, (n + 2) >> 8, (n + 2) & 255]);
    for (let i = 4; i < seg.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      seg[i] = x & 255;
    }
    segs.push(seg);
    left -= n;
  }
  const total = jpg.length + segs.reduce((s, p) => s + p.length, 0);
  const out = new Uint8Array(total);
  out.set(jpg.subarray(0, 2));
  let at = 2;
  for (const s of segs) out.set(s, at), (at += s.length);
  out.set(jpg.subarray(2), at);
  return out;
}
