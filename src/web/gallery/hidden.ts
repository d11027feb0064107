/**
 * @module web/gallery/hidden
 * The hidden items, `#/hidden`, and the trash, `#/trash` (design web-gallery.md §4). Hidden
 * photos stay out of every view until the password is typed again here (the worker checks it
 * against the repository's key files and forgets it); each can be shown again ("Unhide"). The
 * trash lists what was deleted, newest first, with the days left before a gallery build drops
 * it (30 days), and "Restore". Both are edits of `/state.json` like everything else.
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import { h } from '../app/dom.js';
import { registerView, type AppContext, type Route } from '../app/views.js';
import { Grid } from './grid.js';
import { GalleryStore } from './store.js';
import { installGalleryStyle } from './style.js';

const TRASH_DAYS = 30;

function daysLeft(deleted: string): number {
  const t = Date.parse(deleted);
  if (Number.isNaN(t)) return TRASH_DAYS;
  return Math.max(0, Math.ceil(TRASH_DAYS - (Date.now() - t) / 86_400_000));
}

async function render(ctx: AppContext, what: 'hidden' | 'trash', main: HTMLElement, signal: AbortSignal): Promise<void> {
  installGalleryStyle();
  ctx.setTitle(what === 'hidden' ? 'Hidden' : 'Trash');
  const info = await ctx.client().call({ op: 'galleryMonths' });
  if (signal.aborted) return;
  if (!info) {
    main.appendChild(h('p', { class: 'g-empty', testid: 'gallery-empty' }, 'No photos yet (coffer backup --gallery).'));
    return;
  }
  const store = new GalleryStore(ctx, info.state);
  const note = h('p', { class: 'muted', testid: `${what}-status`, role: 'status' });
  const grid = new Grid(ctx, store, {
    testid: `${what}-items`,
    label: what === 'hidden' ? 'Hidden photos' : 'Photos in the trash',
    removed: () => void load(),
    decorate: (item, _i, cell) => {
      const deleted = store.state.trash.find((t) => t.id === item.id)?.deleted;
      const act = what === 'hidden'
        ? h('button', { type: 'button', testid: 'hidden-unhide', 'aria-label': `Unhide ${item.name}`, onclick: () => void store.edit({ kind: 'hide', ids: [item.id], on: false }).then(load, () => undefined) }, 'Unhide')
        : h('button', { type: 'button', testid: 'trash-restore', 'aria-label': `Restore ${item.name}`, onclick: () => void store.edit({ kind: 'trash', ids: [item.id], on: false, time: '' }).then(load, () => undefined) }, 'Restore');
      cell.appendChild(h('div', { class: 'g-tools' }, deleted ? h('span', { class: 'g-days' }, `${daysLeft(deleted)} d`) : null, act));
    },
  }, signal);
  const head = h('div', { class: 'g-head' },
    h('h1', {}, what === 'hidden' ? 'Hidden' : 'Trash'),
    h('span', { class: 'spacer' }),
    h('a', { href: what === 'hidden' ? '#/trash' : '#/hidden', class: 'button' }, what === 'hidden' ? 'Trash' : 'Hidden'),
    h('a', { href: '#/albums', class: 'button' }, 'Albums'));
  main.append(head);
  async function load(): Promise<void> {
    let items: GalleryItem[];
    try {
      items = await ctx.client().call({ op: 'galleryHidden', what });
    } catch (e) {
      if ((e as { code?: string }).code === 'wrong-password' && what === 'hidden') return void ask();
      note.textContent = (e as Error).message;
      return;
    }
    if (signal.aborted) return;
    grid.set(items);
    note.textContent = items.length
      ? what === 'hidden' ? `${items.length} hidden. They appear nowhere else (timeline, map, search, albums) until shown again.` : `${items.length} in the trash. A gallery build removes them for good after ${TRASH_DAYS} days.`
      : what === 'hidden' ? 'Nothing is hidden.' : 'The trash is empty.';
    if (!grid.element.isConnected) main.append(note, grid.element);
  }
  /** The password again, in the page only as long as this form lives. */
  function ask(): void {
    const input = h('input', { type: 'password', testid: 'hidden-password', autocomplete: 'current-password', 'aria-label': 'Password', required: true });
    const error = h('p', { class: 'error', testid: 'hidden-error', role: 'alert', hidden: true });
    const button = h('button', { type: 'submit', class: 'primary', testid: 'hidden-submit' }, 'Show hidden photos');
    const form = h('form', { class: 'card g-password', onsubmit: async (e: Event) => {
      e.preventDefault();
      button.disabled = true;
      let password: string | undefined = input.value;
      input.value = '';
      try {
        const items = await ctx.client().call({ op: 'galleryHidden', what: 'hidden', password });
        password = undefined;
        form.remove();
        grid.set(items);
        await load();
      } catch (err) {
        password = undefined;
        error.textContent = (err as { code?: string }).code === 'wrong-password' ? 'Wrong password.' : (err as Error).message;
        error.hidden = false;
        input.focus();
      } finally {
        button.disabled = false;
      }
    } },
      h('p', {}, 'Hidden photos show only after the repository password is typed again.'),
      h('label', {}, 'Password ', input), ' ', button, error);
    main.appendChild(form);
    input.focus();
  }
  await load();
}

registerView({ id: 'hidden', routes: ['hidden'], render: (ctx, _r: Route, main, signal) => render(ctx, 'hidden', main, signal) });
registerView({ id: 'trash', routes: ['trash'], render: (ctx, _r: Route, main, signal) => render(ctx, 'trash', main, signal) });
