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
import { openGallery, updateGalleryState, type OpenedGallery } from '../../core/engine/gallery/read.js';
import { isItemId, originalName, type GalleryItem } from '../../core/gallery/item.js';
import { decodeGeo, decodeSearch, type Geo, type Months, type SearchIndex, type Shard } from '../../core/gallery/index-files.js';
import type { GalleryInfo, GalleryOriginal, GallerySearchResult } from '../protocol.js';
import type { Session } from '../worker/session.js';
import { applyEdit, goneIds, stateView, type GalleryEdit, type StateView, type UiState } from './state-edit.js';
import { isEmptyQuery, searchRows, type GallerySearchQuery } from './search-query.js';

interface PerSession {
  readonly gallery: Promise<OpenedGallery | undefined>;
  /** The state as this session last wrote it (the opened gallery's is from before). */
  state?: UiState;
  search?: Promise<SearchIndex | undefined>;
  /** Row of each id in the search index. */
  rows?: Map<string, number>;
  readonly shards: Map<string, Promise<Shard>>;
}

const sessions = new WeakMap<Session, PerSession>();
const SEARCH_LIMIT = 2000;

function per(s: Session): PerSession {
  let p = sessions.get(s);
  if (!p) {
    const gallery = s.index().then((index) => openGallery(s.repo, { index }));
    p = { gallery, shards: new Map() };
    gallery.catch(() => sessions.delete(s));
    sessions.set(s, p);
  }
  return p;
}

async function need(s: Session): Promise<OpenedGallery> {
  const g = await per(s).gallery;
  if (!g) throw new CofferError('not-found', 'this repository has no gallery yet (coffer gallery build, or coffer backup --gallery)');
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

async function rowsOf(s: Session, g: OpenedGallery): Promise<Map<string, number> | undefined> {
  const p = per(s);
  const idx = await searchIndex(s, g);
  if (!idx) return undefined;
  if (!p.rows) p.rows = new Map(idx.ids.map((id, i) => [id, i]));
  return p.rows;
}

/** `taken` epoch seconds (wall time read as UTC) to `YYYY-MM`. */
const monthOfSeconds = (t: number): string => new Date(t * 1000).toISOString().slice(0, 7);

function rawShard(s: Session, g: OpenedGallery, month: string): Promise<Shard> {
  const p = per(s);
  let sh = p.shards.get(month);
  if (!sh) {
    sh = g.shard(month);
    sh.catch(() => p.shards.delete(month));
    p.shards.set(month, sh);
  }
  return sh;
}

/** months.json with hidden and trashed items taken out of the counts. */
async function visibleMonths(s: Session, g: OpenedGallery, gone: Set<string>): Promise<Months> {
  if (!gone.size) return g.months;
  const rows = await rowsOf(s, g);
  const idx = await searchIndex(s, g);
  const less = new Map<string, number>();
  let total = 0;
  for (const id of gone) {
    const r = rows?.get(id);
    if (r === undefined || !idx) continue;
    const m = monthOfSeconds(idx.taken[r]!);
    less.set(m, (less.get(m) ?? 0) + 1);
    total++;
  }
  const months = g.months.months.map((m) => ({ ...m, count: Math.max(0, m.count - (less.get(m.month) ?? 0)) })).filter((m) => m.count > 0);
  return { ...g.months, count: Math.max(0, g.months.count - total), months };
}

/** null when the repository has no gallery snapshot. */
export async function galleryMonths(s: Session): Promise<GalleryInfo | null> {
  const g = await per(s).gallery;
  if (!g) return null;
  const st = stateOf(s, g);
  const view = stateView(st);
  return { snapshot: g.entry.id, months: await visibleMonths(s, g, goneIds(st)), favorites: view.favorites, state: view };
}

export async function galleryShard(s: Session, month: string): Promise<Shard> {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new CofferError('usage', `invalid month ${JSON.stringify(month)}`);
  const g = await need(s);
  const sh = await rawShard(s, g, month);
  const gone = goneIds(stateOf(s, g));
  return gone.size ? { ...sh, items: sh.items.filter((i) => !gone.has(i.id)) } : sh;
}

/** Items by id, in the order asked, leaving out unknown, hidden and trashed ones. */
export async function galleryItems(s: Session, ids: readonly string[]): Promise<GalleryItem[]> {
  const g = await need(s);
  const gone = goneIds(stateOf(s, g));
  const rows = await rowsOf(s, g);
  const idx = await searchIndex(s, g);
  const months = new Set<string>();
  if (rows && idx) {
    for (const id of ids) {
      const r = rows.get(id);
      if (r !== undefined && !gone.has(id)) months.add(monthOfSeconds(idx.taken[r]!));
    }
  } else for (const m of g.months.months) months.add(m.month); // no search.json: every month
  const byId = new Map<string, GalleryItem>();
  for (const sh of await Promise.all([...months].map((m) => rawShard(s, g, m)))) for (const i of sh.items) byId.set(i.id, i);
  return ids.filter((id) => !gone.has(id) && byId.has(id)).map((id) => byId.get(id)!);
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
  await updateGalleryState(
    s.repo,
    (st) => {
      // Until the core's codec keeps `hidden`, this session's list is the only copy of it.
      const base: UiState = { ...st, hidden: (st as UiState).hidden ?? p.state?.hidden ?? [] };
      after = applyEdit(base, edit);
      return after;
    },
    { owner: { hostname: 'coffer-web', username: 'web', pid: 0 } },
  );
  p.state = after!;
  return stateView(after!);
}

export async function galleryFavorite(s: Session, id: string, on: boolean): Promise<{ favorites: string[] }> {
  const v = await galleryEdit(s, { kind: 'favorite', ids: [id], on });
  return { favorites: [...v.favorites] };
}
