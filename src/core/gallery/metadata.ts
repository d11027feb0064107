/**
 * @module gallery/metadata
 * From a file's bytes (or its video box reader) to the item fields that describe the capture:
 * date taken with its source and offset, camera, GPS, orientation and displayed size.
 */
import type { GoTime } from '../format/types.js';
import { formatOffset, goTimeWall, parseExifDate, parseOffset, wallTime } from './dates.js';
import { readImageMeta } from './exif.js';
import type { Camera, TakenFrom } from './item.js';
import type { VideoMeta } from './mp4.js';

export interface CaptureInfo {
  taken: string;
  offset: string | null;
  takenFrom: TakenFrom;
  /** Displayed size (after orientation); 0 when the header did not say. */
  w: number;
  h: number;
  orientation: number;
  camera: Camera | null;
  gps: [number, number] | null;
  duration: number | null;
}

/** Orientations 5-8 turn the picture a quarter: width and height swap on screen. */
export function swapsAxes(orientation: number): boolean {
  return orientation >= 5 && orientation <= 8;
}

/** Zone offset (seconds east of UTC) of the backup host at an instant; `Date` knows the host's zone rules. */
export function hostOffsetAt(epochSec: number): number {
  return -new Date(epochSec * 1000).getTimezoneOffset() * 60;
}

function fallbackTaken(mtime: GoTime | undefined): { taken: string; offset: string | null } {
  const taken = mtime ? goTimeWall(mtime) : undefined;
  if (taken) return { taken, offset: formatOffset(mtime!.offsetSec) };
  return { taken: '1970-01-01T00:00:00', offset: null };
}

export function describeImage(bytes: Uint8Array, mime: string, mtime: GoTime | undefined): CaptureInfo {
  const meta = readImageMeta(bytes, mime);
  const ex = meta.exif;
  const orientation = ex?.orientation ?? 1;
  let w = meta.width ?? ex?.pixelX ?? 0;
  let h = meta.height ?? ex?.pixelY ?? 0;
  if (swapsAxes(orientation)) [w, h] = [h, w];
  const exifTaken = parseExifDate(ex?.dateTimeOriginal) ?? parseExifDate(ex?.createDate);
  const when = exifTaken ? { taken: exifTaken, offset: parseOffset(ex?.offsetTimeOriginal) ?? null } : fallbackTaken(mtime);
  const camera: Camera | null = ex && (ex.make || ex.model || ex.lens) ? { ...(ex.make ? { make: ex.make } : {}), ...(ex.model ? { model: ex.model } : {}), ...(ex.lens ? { lens: ex.lens } : {}) } : null;
  return {
    ...when,
    takenFrom: exifTaken ? 'exif' : 'mtime',
    w,
    h,
    orientation,
    camera,
    gps: ex?.gps ? [Math.round(ex.gps[0] * 1e5) / 1e5, Math.round(ex.gps[1] * 1e5) / 1e5] : null,
    duration: null,
  };
}

/** A video: QuickTime creation time (UTC) shown in the backup host's zone, else the mtime. */
export function describeVideo(meta: VideoMeta, mtime: GoTime | undefined, offsetAt: (epochSec: number) => number = hostOffsetAt): CaptureInfo {
  let when: { taken: string; offset: string | null } | undefined;
  if (meta.created !== undefined) {
    const off = offsetAt(meta.created);
    const taken = wallTime(meta.created, off);
    if (taken) when = { taken, offset: formatOffset(off) };
  }
  return {
    ...(when ?? fallbackTaken(mtime)),
    takenFrom: when ? 'quicktime' : 'mtime',
    w: meta.width ?? 0,
    h: meta.height ?? 0,
    orientation: 1,
    camera: null,
    gps: null,
    duration: meta.duration ?? null,
  };
}
