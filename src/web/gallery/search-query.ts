/**
 * @module web/gallery/search-query
 * Search over the gallery's `/search.json` columns (design web-gallery.md §3, §4), pure: by
 * date range (inclusive days of the photo's local wall time), place (country code), camera
 * (its label as search.json names it) and file name (case-insensitive substring; several words
 * must all match). Runs in the worker; rows come newest first, as the columns are stored.
 */
import type { SearchIndex } from '../../core/gallery/index-files.js';

export interface GallerySearchQuery {
  /** `YYYY-MM-DD`, inclusive. */
  readonly from?: string;
  readonly to?: string;
  /** ISO 3166 alpha-2 code. */
  readonly place?: string;
  /** A camera label from `cameras`. */
  readonly camera?: string;
  /** Words of the file name. */
  readonly q?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** Seconds of `YYYY-MM-DD` 00:00:00 read as UTC (search.json's `taken` is wall time read as UTC). */
function daySeconds(day: string): number | undefined {
  if (!DAY.test(day)) return undefined;
  const t = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(t) ? undefined : t / 1000;
}

export function isEmptyQuery(q: GallerySearchQuery): boolean {
  return !q.from && !q.to && !q.place && !q.camera && !q.q?.trim();
}

/** Row numbers of `idx` that match every given criterion. */
export function searchRows(idx: SearchIndex, q: GallerySearchQuery): number[] {
  const from = q.from ? daySeconds(q.from) : undefined;
  const toDay = q.to ? daySeconds(q.to) : undefined;
  const to = toDay === undefined ? undefined : toDay + 86_400;
  const country = q.place ? idx.countries.indexOf(q.place.toUpperCase()) : undefined;
  const camera = q.camera ? idx.cameras.indexOf(q.camera) : undefined;
  if (country === -1 || camera === -1) return [];
  const words = (q.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const out: number[] = [];
  for (let i = 0; i < idx.ids.length; i++) {
    const t = idx.taken[i]!;
    if (from !== undefined && t < from) continue;
    if (to !== undefined && t >= to) continue;
    if (country !== undefined && idx.country[i] !== country) continue;
    if (camera !== undefined && idx.camera[i] !== camera) continue;
    if (words.length) {
      const n = String(idx.name[i]).toLowerCase();
      if (!words.every((w) => n.includes(w))) continue;
    }
    out.push(i);
  }
  return out;
}
