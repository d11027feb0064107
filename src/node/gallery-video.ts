/**
 * @module node/gallery-video
 * A video's poster frame and duration, by Debian's ffmpeg and ffprobe (design web-gallery.md §3:
 * "video poster from the frame at 1 s (or 10 %)").
 *
 * The video is read through the build's ranged reader into a temporary file in a private
 * folder, removed right after (node/gallery-render-tools.ts). A pipe would save the disk, but
 * ffmpeg cannot seek a pipe, and phones and cameras often write `moov` after the media data.
 *
 * Poster time: 1 s, or 10 % of a clip shorter than 10 s (a 3 s clip: 0.3 s), so a short clip's
 * poster is near its start as a long one's is; a clip too short for that time gets its first
 * frame. ffmpeg applies the display matrix (autorotate), so the frame is upright.
 */
import * as path from 'node:path';
import { isCofferError } from '../core/errors.js';
import type { RangeReader } from '../core/gallery/mp4.js';
import { lastLine, runTool, toolPath, ToolMissing, warnOnce, withPrivateDir, writePrivateFile } from './gallery-render-tools.js';

/** Bytes read from the repository per call while the temporary copy is written. */
const CHUNK = 4 * 1024 * 1024;

export type PosterResult =
  | { ok: true; frame: Uint8Array; duration: number | null; at: number }
  | { ok: false; reason: string; missing: boolean };

/** When the poster is taken, for a clip of `duration` seconds (null: unknown). */
export function posterTime(duration: number | null): number {
  if (duration === null || !(duration > 0)) return 1;
  return Math.min(1, duration / 10);
}

async function* chunks(read: RangeReader, size: number): AsyncIterable<Uint8Array> {
  for (let p = 0; p < size; p += CHUNK) yield await read(p, Math.min(CHUNK, size - p));
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

/** One frame at `at` seconds as a PNG (empty when the clip has no frame there). */
async function frameAt(file: string, at: number): Promise<{ png: Buffer; error: string }> {
  const args = ['-v', 'error', '-nostdin', '-ss', at.toFixed(3), '-i', file, '-map', '0:v:0', '-frames:v', '1', '-an', '-sn', '-dn', '-f', 'image2pipe', '-c:v', 'png', '-compression_level', '1', 'pipe:1'];
  const r = await runTool(toolPath('ffmpeg'), args);
  return { png: r.code === 0 ? r.stdout : Buffer.alloc(0), error: r.code === 0 ? '' : lastLine(r.stderr) || `exit ${r.code}` };
}

/** The poster frame (PNG, upright) and the duration of the video that `read` gives. */
export async function videoPoster(read: RangeReader, size: number): Promise<PosterResult> {
  try {
    return await withPrivateDir(async (dir) => {
      const file = path.join(dir, 'video');
      await writePrivateFile(file, chunks(read, size));
      const duration = await probeDuration(file);
      let at = posterTime(duration);
      let f = await frameAt(file, at);
      if (f.png.length === 0 && !f.error && at > 0) {
        at = 0;
        f = await frameAt(file, 0);
      }
      if (f.png.length === 0) return { ok: false, reason: `ffmpeg cannot read a frame: ${f.error || 'no video frame'}`, missing: false };
      return { ok: true, frame: new Uint8Array(f.png), duration, at };
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
