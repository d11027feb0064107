/**
 * @module gallery/index-files
 * JSON codecs for the gallery snapshot's index (../shared/design/web-gallery.md §3):
 * `/months.json`, `/index/YYYY-MM.json`, `/geo.json`, `/search.json`, `/state.json`,
 * `/hidden/index.json`.
 *
 * Hidden items (`state.hidden`) are left out of the shards, the counts, `geo.json` and
 * `search.json` and go to `/hidden/index.json` alone (same item shape), which the web app loads
 * only after the password is typed again.
 *
 * Encoding is deterministic (fixed key order, fixed item order: newest first, then name, then
 * id), so a month whose items did not change encodes to the same bytes, hence the same blob, and
 * a rebuild uploads only the shards that changed.
 */
import { CofferError } from '../errors.js';
import { utf8Decode, utf8Encode } from '../bytes.js';
import { monthOf, wallSeconds } from './dates.js';
import { isItemId, type Camera, type GalleryItem, type ItemSource, type MediaKind, type TakenFrom } from './item.js';

export const GALLERY_VERSION = 1;

export interface MonthEntry {
  readonly month: string;
  readonly count: number;
  readonly bytes: number;
}
export interface CameraCount {
  readonly make: string;
  readonly model: string;
  readonly count: number;
}
export interface Months {
  readonly version: 1;
  readonly count: number;
  readonly months: readonly MonthEntry[];
  readonly cameras: readonly CameraCount[];
  readonly countries: readonly { code: string; count: number }[];
}
export interface Shard {
  readonly version: 1;
  readonly month: string;
  readonly items: readonly GalleryItem[];
}
export interface Geo {
  readonly version: 1;
  readonly points: readonly (readonly [number, number, string])[];
}
/** Columns, one row per item, newest first. `taken` is the wall time read as UTC (epoch s). */
export interface SearchIndex {
  readonly version: 1;
  readonly cameras: readonly string[];
  readonly countries: readonly string[];
  readonly ids: readonly string[];
  readonly taken: readonly number[];
  /** Index into `cameras`, -1 when unknown. */
  readonly camera: readonly number[];
  readonly country: readonly number[];
  readonly name: readonly string[];
}
export interface Album {
  readonly id: string;
  readonly name: string;
  readonly items: readonly string[];
  readonly cover: string | null;
  readonly created: string;
}
export interface GalleryState {
  readonly version: 1;
  readonly favorites: readonly string[];
  readonly albums: readonly Album[];
  readonly trash: readonly { id: string; deleted: string }[];
  readonly edits: Readonly<Record<string, { taken?: string; gps?: [number, number] | null; caption?: string }>>;
  /** Ids kept out of every view, map and search: their items sit in `/hidden/index.json`. */
  readonly hidden: readonly string[];
}
/** `/hidden/index.json`: the hidden items, newest first. */
export interface HiddenIndex {
  readonly version: 1;
  readonly items: readonly GalleryItem[];
}

export const HIDDEN_INDEX = 'hidden/index.json';

export const EMPTY_STATE: GalleryState = { version: 1, favorites: [], albums: [], trash: [], edits: {}, hidden: [] };

/** Newest first; ties by name, then id, so the order never depends on input order. */
export function compareItems(a: GalleryItem, b: GalleryItem): number {
  if (a.taken !== b.taken) return a.taken < b.taken ? 1 : -1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

const round5 = (x: number) => Math.round(x * 1e5) / 1e5;

/** An item with its fields in the contract's order (so equal items encode to equal bytes). */
export function canonicalItem(i: GalleryItem): GalleryItem {
  const camera = i.camera && (i.camera.make || i.camera.model || i.camera.lens) ? canonicalCamera(i.camera) : null;
  const sources = [...i.sources].map((s) => ({ path: s.path, snapshot: s.snapshot })).sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    id: i.id,
    kind: i.kind,
    mime: i.mime,
    name: i.name,
    taken: i.taken,
    offset: i.offset ?? null,
    takenFrom: i.takenFrom,
    w: i.w,
    h: i.h,
    orientation: i.orientation,
    size: i.size,
    duration: i.duration ?? null,
    camera,
    gps: i.gps ? [round5(i.gps[0]), round5(i.gps[1])] : null,
    country: i.country ?? null,
    content: [...i.content],
    hints: i.hints.map((h) => [h[0], h[1], h[2]] as const),
    sources,
    thumb: { w: i.thumb.w, h: i.thumb.h },
    preview: { w: i.preview.w, h: i.preview.h },
    hash: i.hash ?? null,
    ...(i.broken ? { broken: true as const } : {}),
  };
}

function canonicalCamera(c: Camera): Camera {
  return { ...(c.make ? { make: c.make } : {}), ...(c.model ? { model: c.model } : {}), ...(c.lens ? { lens: c.lens } : {}) };
}

export function encodeJson(value: unknown): Uint8Array {
  return utf8Encode(JSON.stringify(value));
}

/** Every index file of a gallery, keyed by its path in the snapshot (`months.json`, `index/2024-06.json`, ...). */
export function encodeGalleryIndex(items: readonly GalleryItem[], state: GalleryState): Map<string, Uint8Array> {
  const hiddenIds = new Set(state.hidden ?? []);
  const all = items.map(canonicalItem).sort(compareItems);
  const sorted = all.filter((i) => !hiddenIds.has(i.id));
  const byMonth = new Map<string, GalleryItem[]>();
  for (const it of sorted) {
    const m = monthOf(it.taken);
    let list = byMonth.get(m);
    if (!list) byMonth.set(m, (list = []));
    list.push(it);
  }
  const files = new Map<string, Uint8Array>();
  const months: MonthEntry[] = [];
  for (const [month, list] of byMonth) {
    files.set(`index/${month}.json`, encodeJson({ version: GALLERY_VERSION, month, items: list } satisfies Shard));
    months.push({ month, count: list.length, bytes: list.reduce((s, i) => s + i.size, 0) });
  }
  const cameraCounts = new Map<string, CameraCount>();
  const countryCounts = new Map<string, number>();
  for (const it of sorted) {
    if (it.camera?.make || it.camera?.model) {
      const key = `${it.camera.make ?? ''}\0${it.camera.model ?? ''}`;
      const c = cameraCounts.get(key);
      cameraCounts.set(key, { make: it.camera.make ?? '', model: it.camera.model ?? '', count: (c?.count ?? 0) + 1 });
    }
    if (it.country) countryCounts.set(it.country, (countryCounts.get(it.country) ?? 0) + 1);
  }
  const byCount = <T extends { count: number }>(key: (x: T) => string) => (a: T, b: T) => b.count - a.count || (key(a) < key(b) ? -1 : 1);
  const cameras = [...cameraCounts.values()].sort(byCount((c) => `${c.make}\0${c.model}`));
  const countries = [...countryCounts].map(([code, count]) => ({ code, count })).sort(byCount((c) => c.code));
  files.set('months.json', encodeJson({ version: GALLERY_VERSION, count: sorted.length, months, cameras, countries } satisfies Months));
  files.set('geo.json', encodeJson({ version: GALLERY_VERSION, points: sorted.filter((i) => i.gps).map((i) => [i.gps![0], i.gps![1], i.id] as const) } satisfies Geo));
  const cameraNames = cameras.map((c) => cameraLabel(c));
  const countryCodes = countries.map((c) => c.code);
  const search: SearchIndex = {
    version: GALLERY_VERSION,
    cameras: cameraNames,
    countries: countryCodes,
    ids: sorted.map((i) => i.id),
    taken: sorted.map((i) => wallSeconds(i.taken)),
    camera: sorted.map((i) => (i.camera?.make || i.camera?.model ? cameraNames.indexOf(cameraLabel({ make: i.camera.make ?? '', model: i.camera.model ?? '' })) : -1)),
    country: sorted.map((i) => (i.country ? countryCodes.indexOf(i.country) : -1)),
    name: sorted.map((i) => i.name),
  };
  files.set('search.json', encodeJson(search));
  files.set('state.json', encodeJson(canonicalState(state)));
  files.set(HIDDEN_INDEX, encodeJson({ version: GALLERY_VERSION, items: all.filter((i) => hiddenIds.has(i.id)) } satisfies HiddenIndex));
  return files;
}

/** "Make Model", without repeating a make the model already starts with ("Canon Canon EOS"). */
export function cameraLabel(c: { make: string; model: string }): string {
  if (!c.make) return c.model;
  if (!c.model) return c.make;
  return c.model.toLowerCase().startsWith(c.make.toLowerCase()) ? c.model : `${c.make} ${c.model}`;
}

export function canonicalState(s: GalleryState): GalleryState {
  return { version: 1, favorites: [...s.favorites], albums: s.albums.map((a) => ({ id: a.id, name: a.name, items: [...a.items], cover: a.cover ?? null, created: a.created })), trash: s.trash.map((t) => ({ id: t.id, deleted: t.deleted })), edits: { ...s.edits }, hidden: [...new Set(s.hidden ?? [])].sort() };
}

// ---- decoding (the web app and the incremental build read what an earlier build wrote) ----

function bad(what: string, why: string): CofferError {
  return new CofferError('corrupt', `gallery ${what}: ${why}`);
}

function parse(bytes: Uint8Array, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(bytes));
  } catch {
    throw bad(what, 'not JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(what, 'not an object');
  if ((v as { version?: unknown }).version !== GALLERY_VERSION) throw bad(what, `unsupported version ${JSON.stringify((v as { version?: unknown }).version)}`);
  return v as Record<string, unknown>;
}

const isStr = (x: unknown): x is string => typeof x === 'string';
const isNum = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const HEX64 = /^[0-9a-f]{64}$/;
const TAKEN = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/;

function decodeSize(v: unknown, what: string): { w: number; h: number } {
  const o = v as { w?: unknown; h?: unknown } | null;
  if (!o || !isNum(o.w) || !isNum(o.h)) throw bad(what, 'bad size');
  return { w: o.w, h: o.h };
}

/** Checks one item's shape (what the web app relies on). */
export function decodeItem(v: unknown, what: string): GalleryItem {
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object') throw bad(what, 'item is not an object');
  if (!isItemId(o.id)) throw bad(what, `bad item id ${JSON.stringify(o.id)}`);
  const w = `${what} item ${o.id}`;
  if (o.kind !== 'image' && o.kind !== 'video') throw bad(w, 'bad kind');
  if (!isStr(o.mime) || !isStr(o.name) || !isStr(o.taken) || !TAKEN.test(o.taken)) throw bad(w, 'bad mime, name or taken');
  if (!['exif', 'xmp', 'quicktime', 'takeout', 'mtime'].includes(o.takenFrom as string)) throw bad(w, 'bad takenFrom');
  if (!isNum(o.w) || !isNum(o.h) || !isNum(o.orientation) || !isNum(o.size)) throw bad(w, 'bad numbers');
  if (!Array.isArray(o.content) || !o.content.every((c) => isStr(c) && HEX64.test(c))) throw bad(w, 'bad content');
  if (!Array.isArray(o.hints) || !Array.isArray(o.sources)) throw bad(w, 'bad hints or sources');
  const sources: ItemSource[] = o.sources.map((s: { path?: unknown; snapshot?: unknown }) => {
    if (!isStr(s?.path) || !isStr(s?.snapshot)) throw bad(w, 'bad source');
    return { path: s.path, snapshot: s.snapshot };
  });
  const gps = o.gps;
  if (gps !== null && !(Array.isArray(gps) && gps.length === 2 && gps.every(isNum))) throw bad(w, 'bad gps');
  return {
    id: o.id,
    kind: o.kind as MediaKind,
    mime: o.mime,
    name: o.name,
    taken: o.taken,
    offset: isStr(o.offset) ? o.offset : null,
    takenFrom: o.takenFrom as TakenFrom,
    w: o.w,
    h: o.h,
    orientation: o.orientation,
    size: o.size,
    duration: isNum(o.duration) ? o.duration : null,
    camera: o.camera && typeof o.camera === 'object' ? (o.camera as Camera) : null,
    gps: gps as [number, number] | null,
    country: isStr(o.country) ? o.country : null,
    content: o.content as string[],
    hints: (o.hints as unknown[]).filter((h): h is [string, number, number] => Array.isArray(h) && h.length === 3 && isStr(h[0]) && isNum(h[1]) && isNum(h[2])),
    sources,
    thumb: decodeSize(o.thumb, w),
    preview: decodeSize(o.preview, w),
    hash: isStr(o.hash) ? o.hash : null,
    ...(o.broken === true ? { broken: true as const } : {}),
  };
}

export function decodeShard(bytes: Uint8Array, what = 'shard'): Shard {
  const o = parse(bytes, what);
  if (!isStr(o.month) || !/^\d{4}-\d{2}$/.test(o.month) || !Array.isArray(o.items)) throw bad(what, 'bad month or items');
  const items = o.items.map((i) => decodeItem(i, what));
  for (const i of items) if (monthOf(i.taken) !== o.month) throw bad(what, `item ${i.id} taken ${i.taken} is not in ${o.month}`);
  return { version: 1, month: o.month, items };
}

export function decodeMonths(bytes: Uint8Array): Months {
  const o = parse(bytes, 'months.json');
  if (!isNum(o.count) || !Array.isArray(o.months)) throw bad('months.json', 'bad count or months');
  const months = o.months.map((m: Record<string, unknown>) => {
    if (!isStr(m?.month) || !isNum(m.count) || !isNum(m.bytes)) throw bad('months.json', 'bad month entry');
    return { month: m.month, count: m.count, bytes: m.bytes };
  });
  return { version: 1, count: o.count, months, cameras: (o.cameras as CameraCount[]) ?? [], countries: (o.countries as { code: string; count: number }[]) ?? [] };
}

export function decodeGeo(bytes: Uint8Array): Geo {
  const o = parse(bytes, 'geo.json');
  if (!Array.isArray(o.points) || !o.points.every((p) => Array.isArray(p) && p.length === 3 && isNum(p[0]) && isNum(p[1]) && isItemId(p[2]))) throw bad('geo.json', 'bad points');
  return { version: 1, points: o.points as [number, number, string][] };
}

export function decodeSearch(bytes: Uint8Array): SearchIndex {
  const o = parse(bytes, 'search.json');
  const cols = ['cameras', 'countries', 'ids', 'taken', 'camera', 'country', 'name'] as const;
  for (const c of cols) if (!Array.isArray(o[c])) throw bad('search.json', `no column ${c}`);
  const n = (o.ids as unknown[]).length;
  for (const c of ['taken', 'camera', 'country', 'name'] as const) if ((o[c] as unknown[]).length !== n) throw bad('search.json', `column ${c} has a different length`);
  return o as unknown as SearchIndex;
}

export function decodeState(bytes: Uint8Array): GalleryState {
  const o = parse(bytes, 'state.json');
  const favorites = Array.isArray(o.favorites) ? o.favorites.filter(isItemId) : [];
  const albums = Array.isArray(o.albums)
    ? o.albums
        .filter((a: Record<string, unknown>) => a && isStr(a.id) && isStr(a.name) && Array.isArray(a.items))
        .map((a: Record<string, unknown>) => ({ id: a.id as string, name: a.name as string, items: (a.items as unknown[]).filter(isItemId), cover: isItemId(a.cover) ? a.cover : null, created: isStr(a.created) ? a.created : '' }))
    : [];
  const trash = Array.isArray(o.trash) ? o.trash.filter((t: Record<string, unknown>) => t && isItemId(t.id) && isStr(t.deleted)).map((t: Record<string, unknown>) => ({ id: t.id as string, deleted: t.deleted as string })) : [];
  const edits = o.edits && typeof o.edits === 'object' && !Array.isArray(o.edits) ? (o.edits as GalleryState['edits']) : {};
  const hidden = Array.isArray(o.hidden) ? o.hidden.filter(isItemId) : [];
  return { version: 1, favorites, albums, trash, edits, hidden };
}

export function decodeHidden(bytes: Uint8Array): HiddenIndex {
  const what = HIDDEN_INDEX;
  const o = parse(bytes, what);
  if (!Array.isArray(o.items)) throw bad(what, 'no items');
  return { version: 1, items: o.items.map((i) => decodeItem(i, what)) };
}
