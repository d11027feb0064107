/**
 * @module web/gallery/worker-gallery
 * The gallery operations of the dedicated worker (design web-gallery.md §1, §4): months, one
 * month's shard, a thumbnail, a preview, and where the original sits (the gallery snapshot's
 * `/originals/xx/<id>.<ext>` node, which the existing `stream` and `ranges` operations then
 * read); items by id (albums), search over `/search.json`, and the user's edits of
 * `/state.json` (favourites, albums, hide, trash). The gallery snapshot is opened once per
 * session with the session's index; everything else loads on demand, so the page reads only
 * what is on screen.
 *
 * Hidden and trashed items leave every answer here (months' counts, shards, items, search, geo),
 * so no view can show them by mistake.
 */
import { CofferError } from '../../core/errors.js';
import type { GalleryLibrary } from '../../core/engine/gallery/build.js';
import { openGallery, updateGalleryState, type OpenedGallery } from '../../core/engine/gallery/read.js';
import { unlockMasterKey } from '../../core/repository/open.js';
import { isItemId, originalName, type GalleryItem } from '../../core/gallery/item.js';
import { compareItems, decodeGeo, decodeSearch, type Geo, type Months, type SearchIndex, type Shard } from '../../core/gallery/index-files.js';
import type { GalleryInfo, GalleryOriginal, GallerySearchResult } from '../protocol.js';
import type { Session } from '../worker/session.js';
import { applyEdit, goneIds, stateView, type GalleryEdit, type StateView, type UiState } from './state-edit.js';
import { isEmptyQuery, searchRows, type GallerySearchQuery } from './search-query.js';

/** One library (main or private) as this session opened it. */
interface PerSession {
  readonly gallery: Promise<OpenedGallery | undefined>;
  /** The state as this session last wrote it (the opened gallery's is from before). */
  state?: UiState;
  search?: Promise<SearchIndex | undefined>;
  /** Row of each id in the search index. */
  rows?: Map<string, number>;
  /** `/hidden/index.json` as opened: unhiding one brings it back without reopening. */
  hiddenAtOpen?: Promise<GalleryItem[]>;
  readonly shards: Map<string, Promise<Shard>>;
}

const sessions = new WeakMap<Session, Map<GalleryLibrary, PerSession>>();
/** The library the page is looking at (the private switch). */
const current = new WeakMap<Session, GalleryLibrary>();
/** Sessions that typed the password again (the hidden view). */
const unlockedHidden = new WeakSet<Session>();
const SEARCH_LIMIT = 2000;

function per(s: Session, library = current.get(s) ?? 'main'): PerSession {
  let m = sessions.get(s);
  if (!m) sessions.set(s, (m = new Map()));
  let p = m.get(library);
  if (!p) {
    const gallery = s.index().then((index) => openGallery(s.repo, { index, ...(library === 'private' ? { library } : {}) }));
    const fresh: PerSession = { gallery, shards: new Map() };
    gallery.catch(() => m!.delete(library));
    m.set(library, (p = fresh));
  }
  return p;
}

async function need(s: Session): Promise<OpenedGallery> {
  const g = await per(s).gallery;
  if (!g) throw new CofferError('not-found', `this repository has no ${current.get(s) === 'private' ? 'private gallery' : 'gallery'} yet (coffer gallery build, or coffer backup --gallery)`);
  return g;
}

function stateOf(s: Session, g: OpenedGallery): UiState {
  return per(s).state ?? (g.state as UiState);
}

/** A transferable copy of `b` (the whole buffer when it is exactly `b`). */
function buffer(b: Uint8Array): ArrayBuffer {
  return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer;
}

/** `/search.json`, or undefined for a gallery built before it existed. */
function searchIndex(s: Session, g: OpenedGallery): Promise<SearchIndex | undefined> {
  const p = per(s);
  if (!p.search) {
    p.search = (async () => ((await g.node('/search.json')) ? decodeSearch(await g.readFile('/search.json')) : undefined))();
    p.search.catch(() => (p.search = undefined));
  }
  return p.search;
}

function hiddenAtOpen(s: Session, g: OpenedGallery): Promise<GalleryItem[]> {
  const p = per(s);
  if (!p.hiddenAtOpen) {
    p.hiddenAtOpen = typeof g.hidden === 'function' ? g.hidden() : Promise.resolve([]);
    p.hiddenAtOpen.catch(() => (p.hiddenAtOpen = undefined));
  }
  return p.hiddenAtOpen;
}

async function rowsOf(s: Session, g: OpenedGallery): Promise<Map<string, number> | undefined> {
  const p = per(s);
  const idx = await searchIndex(s, g);
  if (!idx) return undefined;
  if (!p.rows) p.rows = new Map(idx.ids.map((id, i) => [id, i]));
  return p.rows;
}

/** `taken` epoch seconds (wall time read as UTC) to `YYYY-MM`. */
const monthOfSeconds = (t: number): string => new Date(t * 1000).toISOString().slice(0, 7);

/** A month's items as opened, with the items hidden at open time put back (filtered later). */
function rawShard(s: Session, g: OpenedGallery, month: string): Promise<Shard> {
  const p = per(s);
  let sh = p.shards.get(month);
  if (!sh) {
    sh = (async () => {
      const stored = g.months.months.some((m) => m.month === month) ? (await g.shard(month)).items : [];
      const back = (await hiddenAtOpen(s, g)).filter((i) => i.taken.slice(0, 7) === month);
      return { version: 1 as const, month, items: back.length ? [...stored, ...back].sort(compareItems) : stored };
    })();
    sh.catch(() => p.shards.delete(month));
    p.shards.set(month, sh);
  }
  return sh;
}

/** months.json as the page should count it: hidden and trashed out, unhidden ones back. */
async function visibleMonths(s: Session, g: OpenedGallery, gone: Set<string>): Promise<Months> {
  const back = (await hiddenAtOpen(s, g)).filter((i) => !gone.has(i.id));
  if (!gone.size && !back.length) return g.months;
  const rows = await rowsOf(s, g);
  const idx = await searchIndex(s, g);
  const delta = new Map<string, number>();
  for (const id of gone) {
    const r = rows?.get(id);
    if (r === undefined || !idx) continue; // not in the stored shards (hidden at build time)
    const m = monthOfSeconds(idx.taken[r]!);
    delta.set(m, (delta.get(m) ?? 0) - 1);
  }
  for (const i of back) delta.set(i.taken.slice(0, 7), (delta.get(i.taken.slice(0, 7)) ?? 0) + 1);
  const counts = new Map(g.months.months.map((m) => [m.month, { month: m.month, count: m.count, bytes: m.bytes }]));
  for (const [m, d] of delta) {
    const e = counts.get(m) ?? { month: m, count: 0, bytes: 0 };
    counts.set(m, { ...e, count: e.count + d });
  }
  const months = [...counts.values()].filter((m) => m.count > 0).sort((a, b) => (a.month < b.month ? 1 : -1));
  return { ...g.months, count: months.reduce((n, m) => n + m.count, 0), months };
}

/** Switches the gallery ops of this session to the main or the private library. */
export async function galleryLibrary(s: Session, library: GalleryLibrary): Promise<GalleryInfo | null> {
  current.set(s, library);
  return galleryMonths(s);
}

/** null when the repository has no gallery snapshot (in the current library). */
export async function galleryMonths(s: Session): Promise<GalleryInfo | null> {
  const library = current.get(s) ?? 'main';
  const [g, priv] = await Promise.all([per(s).gallery, per(s, 'private').gallery.catch(() => undefined)]);
  if (!g) return library === 'private' || priv ? { snapshot: '', months: { version: 1, count: 0, months: [], cameras: [], countries: [] }, favorites: [], state: stateView({ version: 1, favorites: [], albums: [], trash: [], edits: {}, hidden: [] }), library, hasPrivate: !!priv } : null;
  const st = stateOf(s, g);
  const view = stateView(st);
  return { snapshot: g.entry.id, months: await visibleMonths(s, g, goneIds(st)), favorites: view.favorites, state: view, library, hasPrivate: !!priv };
}

export async function galleryShard(s: Session, month: string): Promise<Shard> {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new CofferError('usage', `invalid month ${JSON.stringify(month)}`);
  const g = await need(s);
  const sh = await rawShard(s, g, month);
  const gone = goneIds(stateOf(s, g));
  return gone.size ? { ...sh, items: sh.items.filter((i) => !gone.has(i.id)) } : sh;
}

/** Items by id in the order asked; unknown ids, and unless `withGone` hidden and trashed ones, left out. */
async function lookup(s: Session, ids: readonly string[], withGone: boolean): Promise<GalleryItem[]> {
  const g = await need(s);
  const gone = withGone ? new Set<string>() : goneIds(stateOf(s, g));
  const rows = await rowsOf(s, g);
  const idx = await searchIndex(s, g);
  const hiddenMonth = new Map((await hiddenAtOpen(s, g)).map((i) => [i.id, i.taken.slice(0, 7)]));
  const months = new Set<string>();
  if (rows && idx) {
    for (const id of ids) {
      if (gone.has(id)) continue;
      const r = rows.get(id);
      const m = r !== undefined ? monthOfSeconds(idx.taken[r]!) : hiddenMonth.get(id);
      if (m) months.add(m);
    }
  } else for (const m of [...g.months.months.map((x) => x.month), ...hiddenMonth.values()]) months.add(m); // no search.json: every month
  const byId = new Map<string, GalleryItem>();
  for (const sh of await Promise.all([...months].map((m) => rawShard(s, g, m)))) for (const i of sh.items) byId.set(i.id, i);
  return ids.filter((id) => !gone.has(id) && byId.has(id)).map((id) => byId.get(id)!);
}

export function galleryItems(s: Session, ids: readonly string[]): Promise<GalleryItem[]> {
  return lookup(s, ids, false);
}

/**
 * The hidden items and the trash, after the password is typed again (design §4: hidden items
 * stay out of sight "until the password is typed again"). The password is checked against the
 * repository's key files and dropped.
 */
export async function galleryHidden(s: Session, what: 'hidden' | 'trash', password: string | undefined): Promise<GalleryItem[]> {
  const g = await need(s);
  const st = stateOf(s, g);
  // The trash is an ordinary view (like Immich's); hidden items need the password again.
  if (what === 'trash') return lookup(s, [...st.trash].reverse().map((t) => t.id), true);
  if (!unlockedHidden.has(s)) {
    if (!password) throw new CofferError('wrong-password', 'type the password to see hidden items');
    const k = await unlockMasterKey(s.repo.backend, s.repo.platform, password, s.repo.keyId);
    if (k.key.encrypt.length !== s.repo.key.encrypt.length || k.key.encrypt.some((b, i) => b !== s.repo.key.encrypt[i])) throw new CofferError('wrong-password', 'that password opens another repository');
    unlockedHidden.add(s);
  }
  return lookup(s, [...(st.hidden ?? [])].reverse(), true);
}

export async function gallerySearch(s: Session, q: GallerySearchQuery): Promise<GallerySearchResult> {
  const g = await need(s);
  const idx = await searchIndex(s, g);
  if (!idx) return { cameras: [], countries: [], total: 0, items: [] };
  const facets = { cameras: [...idx.cameras], countries: [...idx.countries] };
  if (isEmptyQuery(q)) return { ...facets, total: 0, items: [] };
  const gone = goneIds(stateOf(s, g));
  const ids = searchRows(idx, q).map((r) => idx.ids[r]!).filter((id) => !gone.has(id));
  return { ...facets, total: ids.length, items: await galleryItems(s, ids.slice(0, SEARCH_LIMIT)) };
}

export async function galleryImage(s: Session, which: 'thumb' | 'preview', id: string): Promise<ArrayBuffer> {
  const g = await need(s);
  return buffer(await (which === 'thumb' ? g.thumb(id) : g.preview(id)));
}

/** The original's node in the gallery snapshot, for the `stream` and `ranges` operations. */
export async function galleryOriginal(s: Session, id: string, name: string): Promise<GalleryOriginal> {
  if (!isItemId(id)) throw new CofferError('usage', `invalid gallery item id ${JSON.stringify(id)}`);
  const g = await need(s);
  const path = `/originals/${id.slice(0, 2)}/${originalName(id, name)}`;
  const node = await g.node(path);
  if (!node) throw new CofferError('not-found', `the gallery has no original for ${id}`);
  return { snapshot: g.entry.id, path, size: node.size ?? 0 };
}

/** The map's points; an empty list when the gallery has no `/geo.json`. */
export async function galleryGeo(s: Session): Promise<Geo> {
  const g = await need(s);
  if (!(await g.node('/geo.json'))) return { version: 1, points: [] };
  const geo = decodeGeo(await g.readFile('/geo.json'));
  const gone = goneIds(stateOf(s, g));
  return gone.size ? { ...geo, points: geo.points.filter((p) => !gone.has(p[2])) } : geo;
}

/**
 * Applies one edit to the newest state. The core writes a new gallery snapshot (under a
 * repository lock) whose tree differs only in `/state.json`; originals keep streaming from the
 * opened one.
 */
export async function galleryEdit(s: Session, edit: GalleryEdit): Promise<StateView> {
  const g = await need(s);
  const p = per(s);
  applyEdit(stateOf(s, g), edit); // refuse a bad edit before taking the lock
  let after: UiState | undefined;
  const library = current.get(s) ?? 'main';
  await updateGalleryState(
    s.repo,
    (st) => {
      // Until the core's codec keeps `hidden`, this session's list is the only copy of it.
      const base: UiState = { ...st, hidden: (st as UiState).hidden ?? p.state?.hidden ?? [] };
      after = applyEdit(base, edit);
      return after;
    },
    { owner: { hostname: 'coffer-web', username: 'web', pid: 0 }, ...(library === 'private' ? { library } : {}) },
  );
  p.state = after!;
  return stateView(after!);
}

export async function galleryFavorite(s: Session, id: string, on: boolean): Promise<{ favorites: string[] }> {
  const v = await galleryEdit(s, { kind: 'favorite', ids: [id], on });
  return { favorites: [...v.favorites] };
}
