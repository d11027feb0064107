/**
 * @module node/gallery-video
 * A video's poster frame and duration, by Debian's ffmpeg and ffprobe (design web-gallery.md §3:
 * "video poster from the frame at 1 s (or 10 %)").
 *
 * The video is read through the build's ranged reader into a temporary file in a private
 * folder, removed right after (node/gallery-render-tools.ts). A pipe would save the disk, but
 * ffmpeg cannot seek a pipe, and phones and cameras often write `moov` after the media data.
 * A big video is copied in part (its boxes, and the first MEDIA_HEAD bytes of its media data,
 * in place, the rest a hole); if ffmpeg has anything to say about that copy, the whole video.
 *
 * Poster time: 1 s, or 10 % of a clip shorter than 10 s (a 3 s clip: 0.3 s), so a short clip's
 * poster is near its start as a long one's is; a clip too short for that time gets its first
 * frame. ffmpeg applies the display matrix (autorotate), so the frame is upright.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { isCofferError } from '../core/errors.js';
import type { RangeReader } from '../core/gallery/mp4.js';
import { lastLine, runTool, toolPath, ToolMissing, warnOnce, withPrivateDir, writePrivateFile } from './gallery-render-tools.js';

/** Bytes read from the repository per call while the temporary copy is written. */
const CHUNK = 4 * 1024 * 1024;

export type PosterResult =
  | { ok: true; frame: Uint8Array; duration: number | null; at: number; /** Made from the partial copy. */ partial: boolean }
  | { ok: false; reason: string; missing: boolean };

/** When the poster is taken, for a clip of `duration` seconds (null: unknown). */
export function posterTime(duration: number | null): number {
  if (duration === null || !(duration > 0)) return 1;
  return Math.min(1, duration / 10);
}

async function* chunks(read: RangeReader, start: number, end: number): AsyncIterable<Uint8Array> {
  for (let p = start; p < end; p += CHUNK) yield await read(p, Math.min(CHUNK, end - p));
}

/**
 * Media data copied from the start of each `mdat` when the video is big: the poster lies within
 * the first second (T <= 1 s), and MP4 files store media in time order, so a phone's 1 GB clip
 * costs its `moov` and these bytes, not a read of the whole video. The rest of the temporary
 * file is a hole (zeros, no disk). 32 MiB holds a second at up to ~250 Mbit/s.
 */
export const MEDIA_HEAD = 32 * 1024 * 1024;

/** [start, end) byte ranges to copy: every top-level box whole except the head of each `mdat`; undefined to copy all. */
async function partialRanges(read: RangeReader, size: number, head: number): Promise<[number, number][] | undefined> {
  const out: [number, number][] = [];
  let sawMdat = false;
  for (let p = 0, n = 0; p < size; n++) {
    if (p + 8 > size || n > 1024) return undefined;
    const h = await read(p, Math.min(16, size - p));
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let len = dv.getUint32(0);
    const type = String.fromCharCode(h[4]!, h[5]!, h[6]!, h[7]!);
    if (len === 1) {
      if (h.length < 16) return undefined;
      len = Number(dv.getBigUint64(8));
    } else if (len === 0) len = size - p;
    if (len < 8 || p + len > size) return undefined;
    if (type === 'mdat') {
      sawMdat = true;
      out.push([p, Math.min(p + len, p + head)]);
    } else out.push([p, p + len]);
    p += len;
  }
  return sawMdat ? out : undefined;
}

/** The temporary copy: the given ranges at their offsets (the rest a hole), or all of it. */
async function writeCopy(file: string, read: RangeReader, size: number, ranges: [number, number][] | undefined): Promise<void> {
  if (!ranges) return writePrivateFile(file, chunks(read, 0, size));
  const h = await fs.open(file, 'wx', 0o600);
  try {
    for (const [a, b] of ranges) {
      let at = a;
      for await (const c of chunks(read, a, b)) {
        await h.write(c, 0, c.length, at);
        at += c.length;
      }
    }
    await h.truncate(size);
  } finally {
    await h.close();
  }
}

/** Duration in seconds from ffprobe (the container's, else the first video stream's). */
async function probeDuration(file: string): Promise<number | null> {
  const r = await runTool(toolPath('ffprobe'), ['-v', 'error', '-show_entries', 'format=duration:stream=duration', '-select_streams', 'v:0', '-of', 'json', file], 60_000, 1 << 20);
  if (r.code !== 0) return null;
  try {
    const j = JSON.parse(r.stdout.toString('utf8')) as { format?: { duration?: string }; streams?: { duration?: string }[] };
    for (const d of [j.format?.duration, j.streams?.[0]?.duration]) {
      const n = Number(d);
      if (d !== undefined && Number.isFinite(n) && n > 0) return n;
    }
  } catch {
    // no JSON: unknown duration
  }
  return null;
}

/** One frame at `at` seconds as a PNG (empty when the clip has no frame there); `clean`: ffmpeg said nothing. */
async function frameAt(file: string, at: number): Promise<{ png: Buffer; error: string; clean: boolean }> {
  const args = ['-v', 'error', '-nostdin', '-ss', at.toFixed(3), '-i', file, '-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn', '-f', 'image2pipe', '-c:v', 'png', '-compression_level', '1', 'pipe:1'];
  const r = await runTool(toolPath('ffmpeg'), args);
  return { png: r.code === 0 ? r.stdout : Buffer.alloc(0), error: r.code === 0 ? '' : lastLine(r.stderr) || `exit ${r.code}`, clean: r.stderr.trim() === '' };
}

/** The frame at the poster time, else the first frame (a clip shorter than that time). */
async function posterFrame(file: string, duration: number | null): Promise<{ png: Buffer; error: string; clean: boolean; at: number }> {
  const at = posterTime(duration);
  const f = await frameAt(file, at);
  if (f.png.length === 0 && !f.error && at > 0) return { ...(await frameAt(file, 0)), at: 0 };
  return { ...f, at };
}

export interface PosterOptions {
  /** Bytes copied from the start of each `mdat` of a video over twice this size (default MEDIA_HEAD). */
  readonly mediaHead?: number;
}

/** The poster frame (PNG, upright) and the duration of the video that `read` gives. */
export async function videoPoster(read: RangeReader, size: number, options: PosterOptions = {}): Promise<PosterResult> {
  const head = options.mediaHead ?? MEDIA_HEAD;
  try {
    return await withPrivateDir(async (dir) => {
      const file = path.join(dir, 'video');
      const ranges = size > 2 * head ? await partialRanges(read, size, head) : undefined;
      await writeCopy(file, read, size, ranges);
      const duration = await probeDuration(file);
      let f = await posterFrame(file, duration);
      let partial = !!ranges;
      // Any complaint from a partial copy may mean it needed bytes of the hole: copy everything.
      if (ranges && (f.png.length === 0 || !f.clean)) {
        partial = false;
        await fs.rm(file);
        await writeCopy(file, read, size, undefined);
        f = await posterFrame(file, duration);
      }
      if (f.png.length === 0) return { ok: false, reason: `ffmpeg cannot read a frame: ${f.error || 'no video frame'}`, missing: false };
      return { ok: true, frame: new Uint8Array(f.png), duration, at: f.at, partial };
    });
  } catch (e) {
    if (e instanceof ToolMissing) {
      warnOnce('ffmpeg', `${e.tool} is not installed: videos get a neutral poster (Debian: apt install ffmpeg)`);
      return { ok: false, reason: `${e.tool} is not installed`, missing: true };
    }
    // The repository's errors stop the build; a tool's (timeout, spawn) are this video's problem.
    if (isCofferError(e)) throw e;
    return { ok: false, reason: `ffmpeg failed: ${(e as Error).message}`, missing: false };
  }
}
