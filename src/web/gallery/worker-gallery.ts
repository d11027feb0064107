/**
 * @module web/gallery/worker-gallery
 * The gallery operations of the dedicated worker (design web-gallery.md §1, §4): months, one
 * month's shard, a thumbnail, a preview, and where the original sits (the gallery snapshot's
 * `/originals/xx/<id>.<ext>` node, which the existing `stream` operation then downloads). The
 * gallery snapshot is opened once per session with the session's index; everything else loads
 * on demand, so the page reads only what is on screen.
 */
import { CofferError } from '../../core/errors.js';
import { openGallery, updateGalleryState, type OpenedGallery } from '../../core/engine/gallery/read.js';
import { isItemId, originalName } from '../../core/gallery/item.js';
import { decodeGeo, type Geo, type Shard } from '../../core/gallery/index-files.js';
import type { GalleryInfo, GalleryOriginal } from '../protocol.js';
import type { Session } from '../worker/session.js';

const opened = new WeakMap<Session, Promise<OpenedGallery | undefined>>();
/** Favourites changed in this session (the opened gallery's state is from before). */
const favorites = new WeakMap<Session, string[]>();

function gallery(s: Session): Promise<OpenedGallery | undefined> {
  let p = opened.get(s);
  if (!p) {
    p = s.index().then((index) => openGallery(s.repo, { index }));
    p.catch(() => opened.delete(s));
    opened.set(s, p);
  }
  return p;
}

async function need(s: Session): Promise<OpenedGallery> {
  const g = await gallery(s);
  if (!g) throw new CofferError('not-found', 'this repository has no gallery yet (coffer gallery build, or coffer backup --gallery)');
  return g;
}

/** A transferable copy of `b` (the whole buffer when it is exactly `b`). */
function buffer(b: Uint8Array): ArrayBuffer {
  return (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? b.buffer : b.slice().buffer) as ArrayBuffer;
}

/** null when the repository has no gallery snapshot. */
export async function galleryMonths(s: Session): Promise<GalleryInfo | null> {
  const g = await gallery(s);
  if (!g) return null;
  return { snapshot: g.entry.id, months: g.months, favorites: [...(favorites.get(s) ?? g.state.favorites)] };
}

export async function galleryShard(s: Session, month: string): Promise<Shard> {
  if (!/^\d{4}-\d{2}$/.test(month)) throw new CofferError('usage', `invalid month ${JSON.stringify(month)}`);
  return (await need(s)).shard(month);
}

export async function galleryImage(s: Session, which: 'thumb' | 'preview', id: string): Promise<ArrayBuffer> {
  const g = await need(s);
  return buffer(await (which === 'thumb' ? g.thumb(id) : g.preview(id)));
}

/** The original's node in the gallery snapshot, for the `stream` operation. */
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
  return decodeGeo(await g.readFile('/geo.json'));
}

/**
 * Adds or removes a favourite. The core writes a new gallery snapshot (under a repository lock)
 * whose tree differs only in `/state.json`; originals keep streaming from the opened one.
 */
export async function galleryFavorite(s: Session, id: string, on: boolean): Promise<{ favorites: string[] }> {
  if (!isItemId(id)) throw new CofferError('usage', `invalid gallery item id ${JSON.stringify(id)}`);
  await need(s);
  let after: readonly string[] = [];
  await updateGalleryState(
    s.repo,
    (st) => {
      const rest = st.favorites.filter((x) => x !== id);
      after = on ? [...rest, id] : rest;
      return { ...st, favorites: after };
    },
    { owner: { hostname: 'coffer-web', username: 'web', pid: 0 } },
  );
  favorites.set(s, [...after]);
  return { favorites: [...after] };
}
