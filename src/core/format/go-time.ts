/**
 * @module format/go-time
 * Go `time.Time` as JSON (spec §12.6): RFC 3339 text
 *
 *   YYYY-MM-DD "T" hh:mm:ss [ "." 1-9 digits ] ( "Z" | ("+"|"-") hh:mm )
 *
 * Written with trailing fraction zeros trimmed (no dot when the fraction is zero), `Z` for a zero
 * offset, and years clamped to 0000-9999 the way restic does before writing (AddDate on the
 * year, so Feb 29 of a leap year becomes Mar 1 of 9999). Read with Go's leniency: any number of
 * fraction digits (beyond nine truncated), `.` or `,` as separator, day checked against the month.
 *
 * Values are `GoTime` (epoch seconds, nanoseconds, zone offset): JS `Date` has only milliseconds.
 * Instants compare with `timeEqual` (Go `Equal`), never by text. The offset only affects display.
 */
import { corrupt } from '../errors.js';
import type { GoTime } from './types.js';

const DAY = 86400;

/** Days since 1970-01-01 of a proleptic Gregorian date (month 1-12; day may overflow the month). */
export function daysFromCivil(y: number, m: number, d: number): number {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/** The proleptic Gregorian [year, month 1-12, day] of a day number since 1970-01-01. */
export function civilFromDays(z: number): [number, number, number] {
  z += 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

function isLeap(y: number): boolean {
  return y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
}
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Go's zero time, 0001-01-01T00:00:00Z: what a missing or `null` time decodes to. */
export const GO_ZERO_TIME: GoTime = Object.freeze({ sec: daysFromCivil(1, 1, 1) * DAY, nsec: 0, offsetSec: 0 });

function digits(s: string, at: number, n: number): number {
  let v = 0;
  for (let i = at; i < at + n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (!(d >= 0 && d <= 9)) return -1;
    v = v * 10 + d;
  }
  return v;
}

/** Parses a Go/RFC 3339 time string. Throws CofferError 'corrupt' naming `what`. */
export function parseGoTime(text: string, what: string): GoTime {
  const bad = (problem: string): never => {
    throw corrupt(what, `invalid time ${JSON.stringify(text)}${problem ? ': ' + problem : ''}`);
  };
  // Fixed part: YYYY-MM-DDThh:mm:ss
  if (text.length < 20 || text[4] !== '-' || text[7] !== '-' || text[10] !== 'T' || text[13] !== ':' || text[16] !== ':') bad('');
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const min = digits(text, 14, 2);
  const sec = digits(text, 17, 2);
  if (year < 0 || month < 0 || day < 0 || hour < 0 || min < 0 || sec < 0) bad('');
  if (month < 1 || month > 12) bad('month out of range');
  const mdays = month === 2 && isLeap(year) ? 29 : MONTH_DAYS[month - 1]!;
  if (day < 1 || day > mdays) bad('day out of range');
  if (hour > 23 || min > 59 || sec > 59) bad('clock out of range');
  let i = 19;
  let nsec = 0;
  if (text[i] === '.' || text[i] === ',') {
    // Any number of digits; Go keeps the first nine.
    const from = ++i;
    while (i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57) i++;
    if (i === from) bad('');
    const n = Math.min(i - from, 9);
    nsec = digits(text, from, n) * 10 ** (9 - n);
  }
  let offsetSec = 0;
  if (text[i] === 'Z' && i + 1 === text.length) {
    // UTC
  } else if ((text[i] === '+' || text[i] === '-') && i + 6 === text.length && text[i + 3] === ':') {
    const oh = digits(text, i + 1, 2);
    const om = digits(text, i + 4, 2);
    if (oh < 0 || om < 0) bad('');
    if (oh > 23 || om > 59) bad('zone offset out of range');
    offsetSec = (text[i] === '-' ? -1 : 1) * (oh * 3600 + om * 60);
  } else bad('');
  const wall = daysFromCivil(year, month, day) * DAY + hour * 3600 + min * 60 + sec;
  return { sec: wall - offsetSec, nsec, offsetSec: offsetSec === 0 ? 0 : offsetSec };
}

function pad(n: number, w: number): string {
  return String(n).padStart(w, '0');
}

// Trees repeat times (atime = mtime by default): remember the last result.
let lastFormatted: GoTime | undefined;
let lastText = '';

/** Formats as Go's `time.Time.MarshalJSON` text (without quotes), clamping the year to 0-9999. */
export function formatGoTime(t: GoTime): string {
  const l = lastFormatted;
  if (l !== undefined && l.sec === t.sec && l.nsec === t.nsec && l.offsetSec === t.offsetSec) return lastText;
  lastText = formatUncached(t);
  lastFormatted = { sec: t.sec, nsec: t.nsec, offsetSec: t.offsetSec };
  return lastText;
}

function formatUncached(t: GoTime): string {
  const wall = t.sec + t.offsetSec;
  let days = Math.floor(wall / DAY);
  const secOfDay = wall - days * DAY;
  let [y, mo, d] = civilFromDays(days);
  if (y < 0 || y > 9999) {
    // restic: t.AddDate(-(year - clamp), 0, 0) -- only the year changes, then Go normalizes.
    days = daysFromCivil(y < 0 ? 0 : 9999, mo, d);
    [y, mo, d] = civilFromDays(days);
  }
  let out =
    pad(y, 4) + '-' + pad(mo, 2) + '-' + pad(d, 2) + 'T' +
    pad(Math.floor(secOfDay / 3600), 2) + ':' + pad(Math.floor(secOfDay / 60) % 60, 2) + ':' + pad(secOfDay % 60, 2);
  if (t.nsec !== 0) out += '.' + pad(t.nsec, 9).replace(/0+$/, '');
  if (t.offsetSec === 0) return out + 'Z';
  // Go prints the offset truncated to whole minutes.
  const zoneMin = Math.trunc(t.offsetSec / 60);
  const abs = Math.abs(zoneMin);
  return out + (zoneMin < 0 ? '-' : '+') + pad(Math.floor(abs / 60), 2) + ':' + pad(abs % 60, 2);
}

/** Alias of `formatGoTime` (the JSON string value, without quotes). */
export const timeToJson = formatGoTime;
/** Alias of `parseGoTime`. */
export const timeFromJson = parseGoTime;

/** Same instant (Go `Time.Equal`); the zone offset is ignored. */
export function timeEqual(a: GoTime, b: GoTime): boolean {
  return a.sec === b.sec && a.nsec === b.nsec;
}

/** Orders instants: negative, zero or positive. */
export function compareTime(a: GoTime, b: GoTime): number {
  return a.sec !== b.sec ? a.sec - b.sec : a.nsec - b.nsec;
}

/** Builds a GoTime from nanoseconds since the epoch and a zone offset (seconds east of UTC). */
export function fromUnixNanos(ns: bigint, offsetSec: number): GoTime {
  let sec = ns / 1_000_000_000n;
  let nsec = ns % 1_000_000_000n;
  if (nsec < 0n) {
    nsec += 1_000_000_000n;
    sec -= 1n;
  }
  return { sec: Number(sec), nsec: Number(nsec), offsetSec: offsetSec === 0 ? 0 : offsetSec };
}

export function toUnixNanos(t: GoTime): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nsec);
}

/** The local zone's offset east of UTC, in seconds, at the instant `date` (restic writes local time). */
export function localOffsetSec(date: Date): number {
  const off = -Math.round(date.getTimezoneOffset() * 60);
  return off === 0 ? 0 : off;
}

/** A GoTime for a JS Date (millisecond precision) in the local zone. */
export function goTimeFromDate(date: Date): GoTime {
  return fromUnixNanos(BigInt(date.getTime()) * 1_000_000n, localOffsetSec(date));
}

/** The current time in the local zone. */
export function nowGoTime(): GoTime {
  return goTimeFromDate(new Date());
}
