/**
 * @module gallery/exports
 * Plain photo exports ("download all" of any service: a folder tree of photos and videos) and
 * the side files of two services, parsed without I/O:
 *
 * - Ente: each album folder has `metadata/<file name>.json` (see parseEnteMetadata); deleted
 *   files sit in `Trash/` at the root.
 * - Apple's iCloud Photos privacy export: `Photos/` with the files, `Photo Details.csv`
 *   (`imgName`, ..., `originalCreationDate` like "Saturday September 14,2019 5:33 PM GMT") and
 *   `Albums/<album>.csv` listing the album's file names under the header `Images`; a
 *   `Recently Deleted/` folder.
 *
 * Facts come out in the Takeout side-file shape (epoch seconds UTC, [lat, lon]) so the build
 * treats them alike: used only when the file has no date of its own.
 */
import { utf8Decode } from '../bytes.js';
import { isYearFolder, type TakeoutSide } from './takeout.js';

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function coords(lat0: unknown, lon0: unknown): [number, number] | undefined {
  if (lat0 == null || lon0 == null || lat0 === '' || lon0 === '') return undefined;
  const lat = Number(lat0);
  const lon = Number(lon0);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return undefined;
  return [lat, lon];
}

/**
 * An Ente `metadata/<name>.json`; undefined when the bytes are not JSON or hold none of its
 * fields (the caller warns: a damaged side file never stops an import). Ente's exporter writes
 * a Google-like file: `title`, `caption`, `creationTime.timestamp` (epoch seconds),
 * `modificationTime`, `geoData.latitude/longitude`. The flat shape of Ente's own file metadata
 * (`creationTime` in microseconds, `latitude`, `longitude`, `description`) is read too.
 */
export function parseEnteMetadata(bytes: Uint8Array): TakeoutSide | undefined {
  let o: Record<string, unknown> | undefined;
  try {
    o = obj(JSON.parse(utf8Decode(bytes)));
  } catch {
    return undefined;
  }
  if (!o) return undefined;
  const nested = obj(o.creationTime);
  const sec = nested ? Number(nested.timestamp) : Number(o.creationTime) / 1e6;
  // Anything before 1900 or after 2200 (or 0, "unknown") is not a real capture time.
  const taken = o.creationTime != null && Number.isFinite(sec) && sec > -2.2e9 && sec < 7.3e9 && sec !== 0 ? Math.floor(sec) : undefined;
  const geo = obj(o.geoData);
  const gps = geo ? coords(geo.latitude, geo.longitude) : coords(o.latitude, o.longitude);
  const title = typeof o.title === 'string' && o.title !== '' ? o.title : undefined;
  const text = typeof o.caption === 'string' ? o.caption : o.description;
  const description = typeof text === 'string' && text.trim() !== '' ? text.trim() : undefined;
  if (taken === undefined && !gps && title === undefined && !('modificationTime' in o)) return undefined;
  return { ...(title !== undefined ? { title } : {}), ...(description ? { description } : {}), ...(taken !== undefined ? { taken } : {}), ...(gps ? { gps } : {}) };
}

/** RFC 4180 CSV: quoted fields with doubled quotes, CRLF or LF rows, a BOM ignored. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  const s = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quoted) {
      if (c === '"' && s[i + 1] === '"') field += '"', i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && s[i + 1] === '\n') i++;
      row.push(field), rows.push(row), (row = []), (field = '');
    } else field += c;
  }
  if (field !== '' || row.length) row.push(field), rows.push(row);
  return rows.filter((r) => !(r.length === 1 && r[0] === ''));
}

const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

/**
 * iCloud's `originalCreationDate` ("Saturday September 14,2019 5:33 PM GMT", the weekday
 * optional, "GMT"/"UTC" with an optional offset) as epoch seconds; undefined otherwise.
 */
export function parseICloudDate(s: string): number | undefined {
  const m = /^\s*(?:[A-Za-z]+,?\s+)?([A-Za-z]+)\s+(\d{1,2}),\s*(\d{4})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*(AM|PM)?\s*(?:GMT|UTC|Z)?\s*(?:([+-])(\d{1,2}):?(\d{2})?)?\s*$/i.exec(s);
  if (!m) return undefined;
  const month = MONTHS.findIndex((n) => n.startsWith(m[1]!.toLowerCase()) && m[1]!.length >= 3);
  let hour = Number(m[4]);
  const ampm = m[7]?.toUpperCase();
  if (month < 0 || hour > (ampm ? 12 : 23) || (ampm && hour === 0)) return undefined;
  if (ampm === 'PM' && hour < 12) hour += 12;
  if (ampm === 'AM' && hour === 12) hour = 0;
  const day = Number(m[2]);
  const t = Date.UTC(Number(m[3]), month, day, hour, Number(m[5]), Number(m[6] ?? 0));
  if (new Date(t).getUTCDate() !== day || Number(m[5]) > 59) return undefined;
  const off = m[8] ? (m[8] === '-' ? -1 : 1) * (Number(m[9]) * 60 + Number(m[10] ?? 0)) * 60 : 0;
  return t / 1000 - off;
}

/** `Photo Details.csv`: capture times by file name. Throws when the header lacks `imgName`. */
export function parseICloudDetails(bytes: Uint8Array): { taken: Map<string, number>; bad: number } {
  const rows = parseCsv(utf8Decode(bytes));
  const head = rows[0]?.map((h) => h.trim()) ?? [];
  const name = head.indexOf('imgName');
  const date = head.indexOf('originalCreationDate');
  if (name < 0 || date < 0) throw new Error('not an iCloud Photo Details file (no imgName/originalCreationDate header)');
  const taken = new Map<string, number>();
  let bad = 0;
  for (const r of rows.slice(1)) {
    const n = r[name]?.trim();
    const t = parseICloudDate(r[date] ?? '');
    if (n && t !== undefined) taken.set(n, t);
    else bad++;
  }
  return { taken, bad };
}

/** `Albums/<album>.csv`: the album's file names. Throws when the header is not `Images`. */
export function parseICloudAlbum(bytes: Uint8Array): string[] {
  const rows = parseCsv(utf8Decode(bytes));
  const col = rows[0]?.findIndex((h) => h.trim() === 'Images') ?? -1;
  if (col < 0) throw new Error('not an iCloud album file (no "Images" header)');
  return rows.slice(1).map((r) => (r[col] ?? '').trim()).filter((n) => n !== '');
}

/** `Photo Details.csv`, and the numbered ones of big exports (`Photo Details-1.csv`). */
export const isICloudDetails = (name: string) => /^Photo Details([- ]?\(?\d+\)?)?\.csv$/i.test(name);

/**
 * The album a plain export's folder stands for: its own name, except the export root, year
 * and date folders ("2019", "Photos from 2019", "2019-05", "05") and folders Coffer knows hold a whole library
 * (`excluded`, e.g. iCloud's `Photos`).
 */
export function plainAlbumName(folder: string, excluded: ReadonlySet<string> = new Set()): string | undefined {
  if (!folder || excluded.has(folder)) return undefined;
  const name = folder.slice(folder.lastIndexOf('/') + 1).trim();
  // Date folders (2019, 2019-05, 05 under a year) are how exports sort, not albums.
  if (!name || isYearFolder(name) || /^\d{4}[-_ ]\d{2}([-_ ]\d{2})?$/.test(name) || /^\d{1,2}$/.test(name)) return undefined;
  return name;
}
