/**
 * @module web/gallery/state-edit
 * The user's edits of the gallery state (`/state.json`, design web-gallery.md §3, §4) as pure
 * functions: favourites, albums (create, add, rename, reorder, remove items, cover, delete),
 * hide and trash. The worker applies one inside the core's `updateGalleryState` (under the
 * repository lock, on the newest state), so two tabs never lose each other's edits.
 *
 * `hidden` is not in the core's `GalleryState` yet (gallery-library owns it): it rides along as
 * an extra field and survives only once the core's codec keeps it (see docs/gallery-web.md).
 */
import { CofferError } from '../../core/errors.js';
import type { Album, GalleryState } from '../../core/gallery/index-files.js';
import { isItemId } from '../../core/gallery/item.js';

export type UiState = GalleryState & { readonly hidden?: readonly string[] };

export type GalleryEdit =
  | { readonly kind: 'favorite'; readonly ids: readonly string[]; readonly on: boolean }
  | { readonly kind: 'albumCreate'; readonly id: string; readonly name: string; readonly ids: readonly string[]; readonly created: string }
  | { readonly kind: 'albumAdd'; readonly album: string; readonly ids: readonly string[] }
  | { readonly kind: 'albumRemove'; readonly album: string; readonly ids: readonly string[] }
  | { readonly kind: 'albumRename'; readonly album: string; readonly name: string }
  /** Moves `id` to position `to` (clamped) within the album. */
  | { readonly kind: 'albumMove'; readonly album: string; readonly id: string; readonly to: number }
  | { readonly kind: 'albumCover'; readonly album: string; readonly id: string | null }
  | { readonly kind: 'albumDelete'; readonly album: string }
  | { readonly kind: 'hide'; readonly ids: readonly string[]; readonly on: boolean }
  | { readonly kind: 'trash'; readonly ids: readonly string[]; readonly on: boolean; readonly time: string };

/** What the page keeps of the state (no edits: the viewer does not show them yet). */
export interface StateView {
  readonly favorites: readonly string[];
  readonly albums: readonly Album[];
  readonly hidden: readonly string[];
  readonly trash: readonly { id: string; deleted: string }[];
}

export const stateView = (s: UiState): StateView => ({ favorites: [...s.favorites], albums: s.albums.map((a) => ({ ...a, items: [...a.items] })), hidden: [...(s.hidden ?? [])], trash: s.trash.map((t) => ({ ...t })) });

const MAX_NAME = 200;

function ids(list: readonly string[]): string[] {
  for (const id of list) if (!isItemId(id)) throw new CofferError('usage', `invalid gallery item id ${JSON.stringify(id)}`);
  return [...new Set(list)];
}

function name(n: string): string {
  const t = n.trim();
  if (!t) throw new CofferError('usage', 'an album needs a name');
  if (t.length > MAX_NAME) throw new CofferError('usage', `an album name has at most ${MAX_NAME} characters`);
  return t;
}

function album(s: UiState, id: string): Album {
  const a = s.albums.find((x) => x.id === id);
  if (!a) throw new CofferError('not-found', 'that album no longer exists');
  return a;
}

const withAlbum = (s: UiState, id: string, f: (a: Album) => Album): UiState => {
  album(s, id);
  return { ...s, albums: s.albums.map((a) => (a.id === id ? f(a) : a)) };
};

/** Adds `add` to `list` (keeping its order, new ones at the end) or removes them. */
function toggle(list: readonly string[], add: readonly string[], on: boolean): string[] {
  const drop = new Set(add);
  const rest = list.filter((x) => !drop.has(x));
  return on ? [...rest, ...add] : rest;
}

export function applyEdit(s: UiState, e: GalleryEdit): UiState {
  switch (e.kind) {
    case 'favorite':
      return { ...s, favorites: toggle(s.favorites, ids(e.ids), e.on) };
    case 'albumCreate': {
      if (!/^[0-9a-z-]{8,64}$/.test(e.id) || s.albums.some((a) => a.id === e.id)) throw new CofferError('usage', 'bad or duplicate album id');
      const items = ids(e.ids);
      return { ...s, albums: [...s.albums, { id: e.id, name: name(e.name), items, cover: null, created: e.created }] };
    }
    case 'albumAdd': {
      const add = ids(e.ids);
      return withAlbum(s, e.album, (a) => ({ ...a, items: [...a.items, ...add.filter((x) => !a.items.includes(x))] }));
    }
    case 'albumRemove': {
      const drop = new Set(ids(e.ids));
      return withAlbum(s, e.album, (a) => ({ ...a, items: a.items.filter((x) => !drop.has(x)), cover: a.cover && drop.has(a.cover) ? null : a.cover }));
    }
    case 'albumRename':
      return withAlbum(s, e.album, (a) => ({ ...a, name: name(e.name) }));
    case 'albumMove':
      return withAlbum(s, e.album, (a) => {
        const from = a.items.indexOf(e.id);
        if (from < 0) throw new CofferError('not-found', 'that photo is not in the album');
        const items = a.items.filter((x) => x !== e.id);
        items.splice(Math.max(0, Math.min(items.length, Math.trunc(e.to))), 0, e.id);
        return { ...a, items };
      });
    case 'albumCover':
      return withAlbum(s, e.album, (a) => {
        if (e.id !== null && !a.items.includes(e.id)) throw new CofferError('usage', 'the cover must be a photo of the album');
        return { ...a, cover: e.id };
      });
    case 'albumDelete':
      album(s, e.album);
      return { ...s, albums: s.albums.filter((a) => a.id !== e.album) };
    case 'hide':
      return { ...s, hidden: toggle(s.hidden ?? [], ids(e.ids), e.on) };
    case 'trash': {
      const list = ids(e.ids);
      const drop = new Set(list);
      const rest = s.trash.filter((t) => !drop.has(t.id));
      return { ...s, trash: e.on ? [...rest, ...list.map((id) => ({ id, deleted: e.time }))] : rest };
    }
  }
}

/** Ids that leave every view: hidden, and in the trash. */
export function goneIds(s: { hidden?: readonly string[]; trash: readonly { id: string }[] }): Set<string> {
  return new Set([...(s.hidden ?? []), ...s.trash.map((t) => t.id)]);
}
