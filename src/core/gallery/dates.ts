/**
 * @module gallery/dates
 * When a photo was taken, as local wall time (`YYYY-MM-DDTHH:MM:SS`), and the month/day it is
 * grouped under. Grouping uses the wall time as it is (like Immich's local date): a trip's
 * photos stay on the day they were taken whatever the viewer's zone.
 *
 * Invalid dates are skipped, so the next source (or the file's mtime) is used: blank or zero
 * fields (`0000:00:00 00:00:00`, `    :  :     `), impossible days, and device defaults known
 * to be garbage (year 4501 and beyond, years before photography).
 */
import { civilFromDays, daysFromCivil } from '../format/go-time.js';
import type { GoTime } from '../format/types.js';

const EXIF_DATE = /^(\d{4})[:\-](\d{2})[:\-](\d{2})[ T](\d{2}):(\d{2}):(\d{2})/;
const OFFSET = /^([+-])(\d{2}):(\d{2})$/;

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

function validParts(y: number, mo: number, d: number, h: number, mi: number, s: number): boolean {
  if (y < 1826 || y > 4500) return false;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || s > 60) return false;
  const [yy, mm, dd] = civilFromDays(daysFromCivil(y, mo, d));
  return yy === y && mm === mo && dd === d;
}

/** `YYYY-MM-DDTHH:MM:SS` from an EXIF date (`YYYY:MM:DD HH:MM:SS`), or undefined when invalid. */
export function parseExifDate(s: string | undefined): string | undefined {
  const m = s ? EXIF_DATE.exec(s.trim()) : null;
  if (!m) return undefined;
  const [y, mo, d, h, mi, sec] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  if (!validParts(y, mo, d, h, mi, sec)) return undefined;
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(Math.min(sec, 59))}`;
}

/** `+02:00` from an EXIF OffsetTime value, or undefined. */
export function parseOffset(s: string | undefined): string | undefined {
  const m = s ? OFFSET.exec(s.trim()) : null;
  if (!m) return undefined;
  const h = Number(m[2]);
  const mi = Number(m[3]);
  return h <= 14 && mi < 60 ? `${m[1]}${m[2]}:${m[3]}` : undefined;
}

/** Offset text of a zone offset in seconds east of UTC. */
export function formatOffset(offsetSec: number): string {
  const sign = offsetSec < 0 ? '-' : '+';
  const a = Math.abs(Math.round(offsetSec / 60));
  return `${sign}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
}

/** Wall time of an instant (epoch seconds) seen in a zone `offsetSec` east of UTC. */
export function wallTime(epochSec: number, offsetSec: number): string | undefined {
  const t = Math.floor(epochSec) + offsetSec;
  const days = Math.floor(t / 86400);
  const sod = t - days * 86400;
  const [y, mo, d] = civilFromDays(days);
  const h = Math.floor(sod / 3600);
  const mi = Math.floor((sod % 3600) / 60);
  const s = sod % 60;
  if (!validParts(y, mo, d, h, mi, s)) return undefined;
  return `${pad(y, 4)}-${pad(mo)}-${pad(d)}T${pad(h)}:${pad(mi)}:${pad(s)}`;
}

/** The wall time a Go time shows in its own zone (a file's mtime as the backup host saw it). */
export function goTimeWall(t: GoTime): string | undefined {
  return wallTime(t.sec, t.offsetSec);
}

/** Seconds since 1970 of a wall time read as if it were UTC (a sort and search key). */
export function wallSeconds(taken: string): number {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})$/.exec(taken);
  if (!m) return 0;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number) as [number, number, number, number, number, number];
  return daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
}

/** `YYYY-MM` of a wall time: the month shard it belongs to. */
export function monthOf(taken: string): string {
  return taken.slice(0, 7);
}

export function dayOf(taken: string): string {
  return taken.slice(0, 10);
}
