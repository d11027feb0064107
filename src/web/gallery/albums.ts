/**
 * @module web/gallery/albums
 * Albums, `#/albums` and `#/albums/<id>` (design web-gallery.md §4, §11 `nav-albums`): the list
 * (cover, name, count; Favourites first, as an album-like view), a new album, and one album's
 * photos in the album's own order with rename, delete, and an edit mode to reorder (↑/↓ buttons,
 * or drag and drop), remove, and pick the cover. Every change is an edit of `/state.json`
 * (store.ts -> the worker -> the core's updateGalleryState). Hidden and trashed photos are not
 * shown nor counted.
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import type { Album } from '../../core/gallery/index-files.js';
import { h } from '../app/dom.js';
import { registerView, type AppContext } from '../app/views.js';
import { Grid } from './grid.js';
import { GalleryStore, newAlbumId } from './store.js';
import { installGalleryStyle } from './style.js';

const FAVORITES = 'favorites';

function coverOf(a: { items: readonly string[]; cover: string | null }, gone: Set<string>): string | undefined {
  if (a.cover && !gone.has(a.cover)) return a.cover;
  return a.items.find((id) => !gone.has(id));
}

async function thumbInto(ctx: AppContext, id: string, box: HTMLElement, signal: AbortSignal): Promise<void> {
  try {
    const b = await ctx.client().call({ op: 'galleryThumb', id });
    if (signal.aborted) return;
    const url = URL.createObjectURL(new Blob([b], { type: 'image/webp' }));
    signal.addEventListener('abort', () => URL.revokeObjectURL(url));
    box.appendChild(h('img', { src: url, alt: '', draggable: 'false' }));
  } catch {
    // the card keeps its plain background
  }
}

/** Asks for a name in a modal dialog; resolves undefined when cancelled. */
function askName(title: string, value: string, action: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const input = h('input', { type: 'text', testid: 'album-name', value, 'aria-label': 'Album name', maxlength: 200, required: true });
    let done = false;
    const finish = (v: string | undefined): void => {
      if (done) return;
      done = true;
      dlg.close();
      dlg.remove();
      resolve(v);
    };
    const dlg = h(
      'dialog',
      { class: 'g-dialog', testid: 'album-dialog', 'aria-label': title },
      h('h2', {}, title),
      h(
        'form',
        { class: 'g-dialog-new', onsubmit: (e: Event) => (e.preventDefault(), input.value.trim() ? finish(input.value.trim()) : input.focus()) },
        input,
        h('button', { type: 'submit', class: 'primary', testid: 'album-save' }, action),
        h('button', { type: 'button', onclick: () => finish(undefined) }, 'Cancel'),
      ),
    );
    dlg.addEventListener('close', () => finish(undefined));
    document.body.appendChild(dlg);
    dlg.showModal();
    input.select();
  });
}

function confirmDialog(text: string, action: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'g-dialog', testid: 'confirm-dialog' }, h('p', {}, text),
      h('div', { class: 'g-dialog-actions' },
        h('button', { type: 'button', onclick: () => (dlg.close(), resolve(false)) }, 'Cancel'),
        h('button', { type: 'button', class: 'danger', testid: 'confirm-ok', onclick: () => (dlg.close(), resolve(true)) }, action)));
    dlg.addEventListener('close', () => (dlg.remove(), resolve(false)));
    document.body.appendChild(dlg);
    dlg.showModal();
  });
}

function renderList(ctx: AppContext, store: GalleryStore, main: HTMLElement, signal: AbortSignal): void {
  const gone = store.gone();
  const count = (ids: readonly string[]): number => ids.filter((id) => !gone.has(id)).length;
  const card = (id: string, name: string, ids: readonly string[], cover: string | undefined, created?: string): HTMLElement => {
    const box = h('div', { class: cover ? 'g-album-cover' : 'g-album-cover empty', 'data-icon': id === FAVORITES ? '★' : '▦' });
    if (cover) void thumbInto(ctx, cover, box, signal);
    const n = count(ids);
    return h('li', {}, h('a', { class: 'g-album-card', href: `#/albums/${encodeURIComponent(id)}`, testid: 'album-card', 'data-album-id': id, 'data-count': n, title: created ? `Created ${created.slice(0, 10)}` : undefined },
      box, h('span', { class: 'g-album-name' }, name), h('small', { class: 'muted' }, `${n} ${n === 1 ? 'item' : 'items'}`)));
  };
  const create = async (): Promise<void> => {
    const name = await askName('New album', '', 'Create');
    if (!name) return;
    const id = newAlbumId();
    await store.edit({ kind: 'albumCreate', id, name, ids: [], created: new Date().toISOString().replace(/\.\d+Z$/, 'Z') }).catch(() => undefined);
    if (store.state.albums.some((a) => a.id === id)) ctx.navigate(`#/albums/${id}`);
  };
  const albums = [...store.state.albums].reverse();
  main.append(
    h('div', { class: 'g-head' }, h('h1', {}, 'Albums'), h('span', { class: 'spacer' }),
      h('a', { href: '#/hidden', class: 'button', testid: 'nav-hidden' }, 'Hidden'),
      h('a', { href: '#/trash', class: 'button', testid: 'nav-trash' }, `Trash${store.state.trash.length ? ` (${store.state.trash.length})` : ''}`),
      h('button', { type: 'button', class: 'primary', testid: 'album-new', onclick: () => void create() }, '+ New album')),
    h('ul', { class: 'g-albums', role: 'list', testid: 'album-list' },
      card(FAVORITES, '★ Favourites', store.state.favorites, coverOf({ items: [...store.state.favorites].reverse(), cover: null }, gone)),
      ...albums.map((a) => card(a.id, a.name, a.items, coverOf(a, gone), a.created))),
  );
  if (!albums.length) main.appendChild(h('p', { class: 'muted' }, 'No albums yet: make one here, or select photos in the timeline (their check box, or Space) and choose "+ Album".'));
}

async function renderAlbum(ctx: AppContext, store: GalleryStore, id: string, main: HTMLElement, signal: AbortSignal): Promise<void> {
  const isFav = id === FAVORITES;
  const album = (): Album | undefined => (isFav ? { id, name: 'Favourites', items: [...store.state.favorites].reverse(), cover: null, created: '' } : store.state.albums.find((a) => a.id === id));
  if (!album()) {
    main.append(h('p', { class: 'error', testid: 'album-missing' }, 'This album no longer exists. '), h('a', { href: '#/albums' }, 'All albums'));
    return;
  }
  let editing = false;
  let dragged: string | undefined;
  const title = h('h1', { testid: 'album-title' });
  const sub = h('small', { class: 'muted', testid: 'album-count' });
  const grid = new Grid(ctx, store, {
    testid: 'album-items',
    label: 'Photos of the album',
    removed: () => draw(),
    decorate: (item, i, cell) => {
      if (!editing) return;
      const a = album()!;
      const last = grid.list.length - 1;
      const pos = (at: number): number => a.items.indexOf(grid.list[at]!.id);
      const move = (to: number): void => void store.edit({ kind: 'albumMove', album: id, id: item.id, to: pos(to) }).then(draw, () => undefined);
      cell.draggable = !isFav;
      cell.addEventListener('dragstart', (e) => {
        dragged = item.id;
        e.dataTransfer?.setData('text/plain', item.id);
      });
      cell.addEventListener('dragover', (e) => {
        if (dragged && dragged !== item.id) e.preventDefault();
      });
      cell.addEventListener('drop', (e) => {
        e.preventDefault();
        if (!dragged || dragged === item.id) return;
        const from = dragged;
        dragged = undefined;
        void store.edit({ kind: 'albumMove', album: id, id: from, to: pos(i) }).then(draw, () => undefined);
      });
      const tool = (testid: string, text: string, label: string, fn: () => void, disabled = false): HTMLButtonElement =>
        h('button', { type: 'button', testid, 'aria-label': `${label}: ${item.name}`, title: label, disabled, onclick: (e: Event) => (e.stopPropagation(), fn()) }, text);
      cell.appendChild(h('div', { class: 'g-tools' },
        isFav ? null : tool('album-item-up', '↑', 'Move earlier', () => move(i - 1), i === 0),
        isFav ? null : tool('album-item-down', '↓', 'Move later', () => move(i + 1), i === last),
        isFav ? null : tool('album-item-cover', '◩', 'Use as cover', () => void store.edit({ kind: 'albumCover', album: id, id: item.id }).then(() => ctx.notify('Cover set.'), () => undefined)),
        tool('album-item-remove', '✕', isFav ? 'Remove from favourites' : 'Remove from the album', () =>
          void (isFav ? store.favorite([item.id], false) : store.edit({ kind: 'albumRemove', album: id, ids: [item.id] })).then(draw, () => undefined))));
    },
  }, signal);
  const editButton = h('button', { type: 'button', testid: 'album-edit', 'aria-pressed': 'false', onclick: () => {
    editing = !editing;
    editButton.setAttribute('aria-pressed', String(editing));
    editButton.textContent = editing ? 'Done' : 'Edit';
    void draw();
  } }, 'Edit');
  const rename = async (): Promise<void> => {
    const name = await askName('Rename the album', album()!.name, 'Rename');
    if (name && name !== album()!.name) await store.edit({ kind: 'albumRename', album: id, name }).then(draw, () => undefined);
  };
  const remove = async (): Promise<void> => {
    if (!(await confirmDialog(`Delete the album "${album()!.name}"? Its photos stay in the library.`, 'Delete album'))) return;
    await store.edit({ kind: 'albumDelete', album: id }).then(() => ctx.navigate('#/albums'), () => undefined);
  };
  main.append(
    h('div', { class: 'g-head' },
      h('a', { href: '#/albums', class: 'g-back', 'aria-label': 'All albums' }, '‹ Albums'),
      h('div', { class: 'g-title' }, title, sub),
      h('span', { class: 'spacer' }),
      editButton,
      isFav ? null : h('button', { type: 'button', testid: 'album-rename', onclick: () => void rename() }, 'Rename'),
      isFav ? null : h('button', { type: 'button', class: 'danger', testid: 'album-delete', onclick: () => void remove() }, 'Delete')),
    grid.element,
  );
  const empty = h('p', { class: 'muted', testid: 'album-empty', hidden: true }, 'No photos here yet: open a photo and choose "+ Album", or select several in the timeline.');
  main.appendChild(empty);
  let items: GalleryItem[] = [];
  let loadedFor = '';
  async function draw(): Promise<void> {
    const a = album();
    if (!a || signal.aborted) return;
    title.textContent = a.name;
    ctx.setTitle(a.name);
    const key = a.items.join(',');
    if (key !== loadedFor) {
      items = await ctx.client().call({ op: 'galleryItems', ids: a.items });
      loadedFor = key;
      if (signal.aborted) return;
    }
    sub.textContent = `${items.length} ${items.length === 1 ? 'item' : 'items'}`;
    sub.dataset.count = String(items.length);
    grid.set(items);
    main.classList.toggle('g-editing', editing);
    empty.hidden = items.length > 0;
  }
  await draw();
}

registerView({
  id: 'albums',
  routes: ['albums'],
  nav: { testid: 'nav-albums', label: 'Albums', order: 7 },
  render: async (ctx, route, main, signal) => {
    installGalleryStyle();
    ctx.setTitle('Albums');
    const info = await ctx.client().call({ op: 'galleryMonths' });
    if (signal.aborted) return;
    if (!info) {
      main.appendChild(h('p', { class: 'g-empty', testid: 'gallery-empty' }, 'No photos yet: albums group photos of the gallery (coffer backup --gallery).'));
      return;
    }
    const store = new GalleryStore(ctx, info.state);
    const id = route.segments[1];
    if (id) await renderAlbum(ctx, store, id, main, signal);
    else renderList(ctx, store, main, signal);
  },
});
