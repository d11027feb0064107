/**
 * @module gallery/mp4
 * Duration and creation time of an MP4/MOV (ISO BMFF, QuickTime) from its `moov/mvhd` box.
 * Boxes are walked through a ranged reader, so a multi-GiB video costs a few small reads (the
 * `moov` box is often at the end of the file).
 *
 * mvhd: version(1) flags(3), then v0: creation u32, modification u32, timescale u32, duration
 * u32; v1: creation u64, modification u64, timescale u32, duration u64. Times count seconds
 * since 1904-01-01 UTC; 0 means unknown.
 */

export interface VideoMeta {
  /** Seconds. */
  duration?: number;
  /** Creation time as epoch seconds (UTC). */
  created?: number;
  /** Displayed size of the first video track (its `tkhd` size, turned by its matrix). */
  width?: number;
  height?: number;
}

/** Reads `length` bytes at `offset` (fewer at the end of the file). */
export type RangeReader = (offset: number, length: number) => Promise<Uint8Array>;

const EPOCH_1904 = -2082844800;
const MAX_BOXES = 4096;

interface Box {
  type: string;
  /** Offset of the box's payload. */
  data: number;
  end: number;
}

async function boxes(read: RangeReader, start: number, end: number): Promise<Box[]> {
  const out: Box[] = [];
  let p = start;
  while (p + 8 <= end && out.length < MAX_BOXES) {
    const h = await read(p, 16);
    if (h.length < 8) break;
    const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let size = v.getUint32(0);
    const type = String.fromCharCode(h[4]!, h[5]!, h[6]!, h[7]!);
    let header = 8;
    if (size === 1) {
      if (h.length < 16) break;
      size = Number(v.getBigUint64(8));
      header = 16;
    } else if (size === 0) {
      size = end - p;
    }
    if (size < header || p + size > end) break;
    out.push({ type, data: p + header, end: p + size });
    p += size;
  }
  return out;
}

export async function readVideoMeta(read: RangeReader, fileSize: number): Promise<VideoMeta> {
  try {
    const moov = (await boxes(read, 0, fileSize)).find((b) => b.type === 'moov');
    if (!moov) return {};
    const mvhd = (await boxes(read, moov.data, moov.end)).find((b) => b.type === 'mvhd');
    if (!mvhd) return {};
    const d = await read(mvhd.data, Math.min(32, mvhd.end - mvhd.data));
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    let created: number;
    let timescale: number;
    let duration: number;
    if (d[0] === 1) {
      if (d.length < 32) return {};
      created = Number(v.getBigUint64(4));
      timescale = v.getUint32(20);
      duration = Number(v.getBigUint64(24));
    } else {
      if (d.length < 20) return {};
      created = v.getUint32(4);
      timescale = v.getUint32(12);
      duration = v.getUint32(16);
    }
    const out: VideoMeta = {};
    const size = await videoSize(read, moov);
    if (size) [out.width, out.height] = size;
    // All ones means "unknown" in some writers' duration field.
    if (timescale > 0 && duration > 0 && duration !== 0xffffffff) out.duration = Math.round((duration / timescale) * 1000) / 1000;
    if (created > 0) out.created = created + EPOCH_1904;
    return out;
  } catch {
    return {};
  }
}

/**
 * tkhd: after version/flags, v0 has 20 bytes of times, ids and duration (v1: 32), then 8
 * reserved, layer, group, volume, 2 reserved, the 3x3 matrix (36 bytes), width and height in
 * 16.16 fixed point. A matrix with a = d = 0 turns the picture a quarter (phones filming upright).
 */
async function videoSize(read: RangeReader, moov: Box): Promise<[number, number] | undefined> {
  for (const trak of (await boxes(read, moov.data, moov.end)).filter((b) => b.type === 'trak')) {
    const tkhd = (await boxes(read, trak.data, trak.end)).find((b) => b.type === 'tkhd');
    if (!tkhd) continue;
    const d = await read(tkhd.data, Math.min(96, tkhd.end - tkhd.data));
    const at = d[0] === 1 ? 52 : 40;
    if (d.length < at + 44) continue;
    const v = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const w = Math.round(v.getUint32(at + 36) / 65536);
    const h = Math.round(v.getUint32(at + 40) / 65536);
    if (w === 0 || h === 0) continue; // an audio track
    const a = v.getInt32(at);
    const dd = v.getInt32(at + 16);
    return a === 0 && dd === 0 ? [h, w] : [w, h];
  }
  return undefined;
}

/** A RangeReader over bytes already in memory. */
export function bytesReader(b: Uint8Array): RangeReader {
  return async (offset, length) => b.subarray(offset, Math.min(b.length, offset + length));
}
