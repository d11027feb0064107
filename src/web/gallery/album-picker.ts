/**
 * @module web/gallery/album-picker
 * "Add to album": a modal dialog (the browser's own <dialog>: focus stays inside, Esc closes)
 * listing the albums, newest first, and a field to make a new one with the chosen photos.
 */
import { h } from '../app/dom.js';
import { newAlbumId, type GalleryStore } from './store.js';

/** Resolves with the album the photos went to, or undefined when cancelled. */
export function pickAlbum(store: GalleryStore, ids: readonly string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    let done = false;
    const finish = (album: string | undefined): void => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(album);
    };
    const addTo = async (album: string): Promise<void> => {
      try {
        await store.edit({ kind: 'albumAdd', album, ids });
        finish(album);
      } catch {
        // notified by the store
      }
    };
    const input = h('input', { type: 'text', testid: 'album-picker-name', placeholder: 'New album name', 'aria-label': 'New album name', maxlength: 200 });
    const create = async (): Promise<void> => {
      const name = input.value.trim();
      if (!name) {
        input.focus();
        return;
      }
      const id = newAlbumId();
      try {
        await store.edit({ kind: 'albumCreate', id, name, ids, created: new Date().toISOString().replace(/\.\d+Z$/, 'Z') });
        finish(id);
      } catch {
        // notified by the store
      }
    };
    const albums = [...store.state.albums].reverse();
    const dlg = h(
      'dialog',
      { class: 'g-dialog', testid: 'album-picker', 'aria-label': 'Add to album' },
      h('h2', {}, `Add ${ids.length === 1 ? 'this photo' : `${ids.length} photos`} to an album`),
      h(
        'form',
        { class: 'g-dialog-new', onsubmit: (e: Event) => (e.preventDefault(), void create()) },
        input,
        h('button', { type: 'submit', class: 'primary', testid: 'album-picker-create' }, 'New album'),
      ),
      albums.length
        ? h('ul', { class: 'g-pick-list', role: 'list' }, ...albums.map((a) => h('li', {}, h('button', { type: 'button', testid: 'album-picker-item', 'data-album-id': a.id, onclick: () => void addTo(a.id) }, a.name, h('small', {}, ` ${a.items.length}`)))))
        : h('p', { class: 'muted' }, 'No albums yet.'),
      h('div', { class: 'g-dialog-actions' }, h('button', { type: 'button', testid: 'album-picker-cancel', onclick: () => finish(undefined) }, 'Cancel')),
    );
    dlg.addEventListener('close', () => finish(undefined));
    document.body.appendChild(dlg);
    dlg.showModal();
    input.focus();
  });
}
