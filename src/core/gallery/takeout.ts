/**
 * @module gallery/takeout
 * Google Photos Takeout: the JSON side file beside each photo (`IMG_1.jpg.json`, newer exports
 * `IMG_1.jpg.supplemental-metadata.json`, names cut to 51 characters, `IMG_1(1).jpg` described
 * by `IMG_1.jpg(1).json`, `IMG_1-edited.jpg` by the original's), and album folders' own
 * `metadata.json` (title, description). Year folders ("Photos from 2019") are not albums.
 *
 * Side file fields used: `title`, `description`, `photoTakenTime.timestamp` (UTC epoch seconds,
 * a string), `geoData` / `geoDataExif` (`latitude`, `longitude`; 0,0 means none).
 */
import { utf8Decode } from '../bytes.js';

export interface TakeoutSide {
  readonly title?: string;
  readonly description?: string;
  /** Capture instant, epoch seconds UTC. */
  readonly taken?: number;
  readonly gps?: [number, number];
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function coords(v: unknown): [number, number] | undefined {
  const o = obj(v);
  const lat = Number(o?.latitude);
  const lon = Number(o?.longitude);
  if (!Number.isFinite(lat) || !Number.isFinite(lon) || Math.abs(lat) > 90 || Math.abs(lon) > 180 || (lat === 0 && lon === 0)) return undefined;
  return [lat, lon];
}

/** Parses a side file; undefined when it is not one (not JSON, or no Takeout fields). */
export function parseSideFile(bytes: Uint8Array): TakeoutSide | undefined {
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(bytes));
  } catch {
    return undefined;
  }
  const o = obj(v);
  if (!o) return undefined;
  const ts = Number(obj(o.photoTakenTime)?.timestamp);
  const taken = Number.isFinite(ts) && ts > 0 ? ts : undefined;
  const gps = coords(o.geoData) ?? coords(o.geoDataExif);
  const title = typeof o.title === 'string' ? o.title : undefined;
  const description = typeof o.description === 'string' && o.description.trim() !== '' ? o.description.trim() : undefined;
  if (taken === undefined && !gps && title === undefined) return undefined;
  return { ...(title !== undefined ? { title } : {}), ...(description ? { description } : {}), ...(taken !== undefined ? { taken } : {}), ...(gps ? { gps } : {}) };
}

/** An album folder's `metadata.json`: its title. */
export function parseAlbumMetadata(bytes: Uint8Array): { title: string; description?: string } | undefined {
  try {
    const o = obj(JSON.parse(utf8Decode(bytes)));
    if (o && typeof o.title === 'string' && o.title.trim()) return { title: o.title.trim(), ...(typeof o.description === 'string' && o.description ? { description: o.description } : {}) };
  } catch {
    // not an album's metadata
  }
  return undefined;
}

/** Year folders Takeout makes for every photo, in the languages seen in exports. */
export function isYearFolder(name: string): boolean {
  return /^(Photos from|Fotos (de|von|aus|van)|Photos de|Foto del) \d{4}$/i.test(name) || /^\d{4}$/.test(name);
}

const cut = (s: string) => s.slice(0, 46);

/**
 * The side file describing `media` among the JSON file names of its folder, trying Takeout's
 * naming rules in order; undefined when none matches.
 */
export function sideFileFor(media: string, jsonNames: ReadonlySet<string>): string | undefined {
  const candidates: string[] = [];
  const add = (base: string) => {
    candidates.push(`${base}.json`, `${base}.supplemental-metadata.json`, `${cut(base)}.json`, `${cut(base + '.supplemental-metadata')}.json`);
  };
  add(media);
  // IMG(1).jpg -> IMG.jpg(1).json
  const dup = /^(.*)\((\d+)\)(\.[^.]*)$/.exec(media);
  if (dup) {
    const orig = dup[1]! + dup[3]!;
    candidates.push(`${orig}(${dup[2]}).json`, `${orig}.supplemental-metadata(${dup[2]}).json`, `${cut(orig)}(${dup[2]}).json`);
  }
  // IMG-edited.jpg (and other languages' suffixes) -> IMG.jpg's side file
  const edited = /^(.*)-(edited|bearbeitet|modifié|editado|modificato)(\.[^.]*)$/i.exec(media);
  if (edited) add(edited[1]! + edited[3]!);
  // IMG.JPG described as IMG.jpg.json, and a name without extension as the bare name.
  const dot = media.lastIndexOf('.');
  if (dot > 0) add(media.slice(0, dot));
  const hit = candidates.find((c) => jsonNames.has(c));
  if (hit) return hit;
  // Other cuts of the long suffix (`.supplemental-metad.json`, `.suppl.json`).
  const full = `${media}.supplemental-metadata`;
  return [...jsonNames].find((j) => j.endsWith('.json') && j.length > media.length + 5 && full.startsWith(j.slice(0, -5)));
}
