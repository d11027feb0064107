/**
 * @module web/gallery/store
 * The page's copy of the gallery's user state (favourites, albums, hidden, trash) for one view,
 * and the edits every view offers (viewer, selection bar, albums): each edit goes to the worker,
 * which writes a new gallery snapshot, and the answer replaces this copy; listeners redraw.
 */
import type { AppContext } from '../app/views.js';
import type { GalleryEdit, StateView } from './state-edit.js';

export class GalleryStore {
  private listeners = new Set<(s: StateView) => void>();
  private favs: Set<string>;

  constructor(
    private readonly ctx: AppContext,
    public state: StateView,
  ) {
    this.favs = new Set(state.favorites);
  }

  isFavorite(id: string): boolean {
    return this.favs.has(id);
  }

  /** Ids that no view shows (hidden or in the trash). */
  gone(): Set<string> {
    return new Set([...this.state.hidden, ...this.state.trash.map((t) => t.id)]);
  }

  onChange(fn: (s: StateView) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Saves one edit; notifies the user and rethrows on failure. */
  async edit(e: GalleryEdit): Promise<StateView> {
    try {
      const s = await this.ctx.client().call({ op: 'galleryEdit', edit: e });
      this.state = s;
      this.favs = new Set(s.favorites);
      for (const l of this.listeners) l(s);
      return s;
    } catch (err) {
      this.ctx.notify(`Could not save: ${(err as Error).message}`, 'error');
      throw err;
    }
  }

  favorite(ids: readonly string[], on: boolean): Promise<StateView> {
    return this.edit({ kind: 'favorite', ids, on });
  }

  hide(ids: readonly string[]): Promise<StateView> {
    return this.edit({ kind: 'hide', ids, on: true });
  }

  trash(ids: readonly string[]): Promise<StateView> {
    return this.edit({ kind: 'trash', ids, on: true, time: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
  }
}

export function newAlbumId(): string {
  return Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
}
