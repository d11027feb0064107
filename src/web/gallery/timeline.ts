/**
 * @module web/gallery/timeline
 * The gallery's timeline view, `#/gallery` (design web-gallery.md §4 and §11): months and days
 * newest first, a virtualized grid (only blocks within one screen of the viewport are in the
 * DOM), shards loaded for the months near the viewport, thumbnails for the cells on screen only
 * (thumbs.ts; `data-thumb-requests` counts what went to the worker), the viewer (viewer.ts) on
 * a click or Enter, the scrubber (scrubber.ts) down the right edge, and a selection (a cell's
 * check box, Space or X on a focused cell, shift-click for a range, a long press on touch) with
 * a bar to favourite, add to an album, hide or trash the selected photos.
 *
 * The scroll height comes from `months.json` before any shard loads (layout.ts estimates); when
 * a shard above the viewport arrives, the scroll position moves by the same amount its month
 * grew or shrank, so what is on screen stays still. Hidden and trashed items never arrive (the
 * worker leaves them out); one hidden here leaves the grid and the counts at once.
 */
import { shareButton } from '../share/share-button.js';
import type { GalleryItem } from '../../core/gallery/item.js';
import { h } from '../app/dom.js';
import { registerView, type AppContext } from '../app/views.js';
import type { GalleryInfo } from '../protocol.js';
import { pickAlbum } from './album-picker.js';
import { firstBlockAt, layout, type Block, type Layout } from './layout.js';
import { Scrubber } from './scrubber.js';
import { GalleryStore } from './store.js';
import { installGalleryStyle } from './style.js';
import { hashUrl, ThumbLoader } from './thumbs.js';
import { Viewer } from './viewer.js';
import { dayTitle, monthTitle } from './when.js';

const GAP = 4;
const MIN_CELL = 150;
const MIN_CELL_PHONE = 96;
const MONTH_H = 52;
const DAY_H = 32;
const LONG_PRESS_MS = 450;

class Timeline {
  readonly element: HTMLElement;
  /** The scroll container (hook `gallery`). */
  private readonly scroller: HTMLElement;
  private readonly space: HTMLElement;
  private readonly scrubber: Scrubber;
  private readonly bar: HTMLElement;
  private readonly barCount: HTMLElement;
  private readonly shards = new Map<string, readonly GalleryItem[]>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly shown = new Map<string, HTMLElement>();
  /** Cells in the DOM by item id. */
  private readonly cells = new Map<string, HTMLElement>();
  private readonly thumbs: ThumbLoader;
  private readonly viewer: Viewer;
  private readonly store: GalleryStore;
  private readonly selected = new Set<string>();
  private anchor: string | undefined;
  private months: { month: string; count: number }[];
  private count: number;
  private lay: Layout = { blocks: [], height: 0, months: new Map() };
  private cols = 4;
  private cell = MIN_CELL;
  private frame = 0;

  constructor(
    private readonly ctx: AppContext,
    info: GalleryInfo,
    private readonly signal: AbortSignal,
    route = 'photos',
  ) {
    this.months = info.months.months.map((m) => ({ month: m.month, count: m.count }));
    this.count = info.months.count;
    this.store = new GalleryStore(ctx, info.state);
    this.space = h('div', { class: 'gallery-space' });
    this.scroller = h('div', { class: 'gallery', testid: 'gallery', 'data-count': this.count, tabindex: 0, role: 'region', 'aria-label': 'Photos' }, this.space);
    this.scrubber = new Scrubber((m) => void this.jump(m));
    this.barCount = h('span', { testid: 'selection-count', 'aria-live': 'polite' });
    const act = (testid: string, label: string, fn: () => void, title?: string): HTMLButtonElement => h('button', { type: 'button', testid, title: title ?? label, onclick: fn }, label);
    this.bar = h(
      'div',
      { class: 'g-selbar', testid: 'selection-bar', role: 'toolbar', 'aria-label': 'Selected photos', hidden: true },
      act('selection-clear', '✕', () => this.clearSelection(), 'Clear the selection (Esc)'),
      this.barCount,
      h('span', { class: 'spacer' }),
      act('selection-favorite', '☆ Favourite', () => void this.favoriteSelection()),
      act('selection-album', '+ Album', () => void this.albumSelection(), 'Add to an album'),
      act('selection-hide', 'Hide', () => void this.removeSelection('hide'), 'Hide from every view'),
      act('selection-trash', 'Trash', () => void this.removeSelection('trash'), 'Move to the trash'),
      shareButton(ctx, () => [...this.selected]),
    );
    this.element = h('div', { class: 'g-wrap' }, this.bar, this.scroller, this.scrubber.element);
    this.thumbs = new ThumbLoader(
      (id) => ctx.client().call({ op: 'galleryThumb', id }),
      (id) => !signal.aborted && this.onScreen(id),
    );
    this.viewer = new Viewer(ctx, this.store, {
      step: (i, d) => this.step(i, d),
      shown: (i) => {
        this.reveal(i);
        // The open photo is in the address (#/photos/<id>: bookmarkable, never sent to a server).
        if (!signal.aborted) history.replaceState(null, '', `#/${route}/${i.id}`);
      },
      removed: (ids) => this.drop(ids),
    }, () => {
      if (!signal.aborted) history.replaceState(null, '', `#/${route}`);
      this.scroller.focus({ preventScroll: true });
    });
    const off = this.store.onChange((s) => {
      const fav = new Set(s.favorites);
      for (const [id, cell] of this.cells) cell.toggleAttribute('data-favorite', fav.has(id));
    });
    this.scroller.addEventListener('scroll', () => this.schedule(), { passive: true });
    this.scroller.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && this.selected.size && !this.viewer.open) {
        e.preventDefault();
        this.clearSelection();
      }
    });
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(this.scroller);
    signal.addEventListener('abort', () => {
      off();
      ro.disconnect();
      this.viewer.close();
      this.viewer.element.remove();
      this.thumbs.dispose();
    });
    document.body.appendChild(this.viewer.element);
  }

  /** `#/photos/<id>`: scrolls to the photo's month and opens it. */
  async open(id: string): Promise<void> {
    const [item] = await this.ctx.client().call({ op: 'galleryItems', ids: [id] });
    if (this.signal.aborted) return;
    if (!item) {
      this.ctx.notify('That photo is not in the library (hidden, in the trash, or gone).', 'error');
      history.replaceState(null, '', location.hash.replace(/\/[^/]*$/, ''));
      return;
    }
    await this.jump(item.taken.slice(0, 7));
    if (!this.signal.aborted) await this.viewer.show(item);
  }

  focus(): void {
    this.scroller.focus({ preventScroll: true });
  }

  private resize(): void {
    const width = this.space.clientWidth || this.scroller.clientWidth;
    if (!width) return;
    const min = width < 560 ? MIN_CELL_PHONE : MIN_CELL;
    const cols = Math.max(3, Math.floor((width + GAP) / (min + GAP)));
    const cell = Math.floor((width - GAP * (cols - 1)) / cols);
    if (cols === this.cols && cell === this.cell && this.lay.blocks.length) return;
    this.cols = cols;
    this.cell = cell;
    this.relayout();
  }

  private relayout(changed?: string): void {
    const before = changed ? this.lay.months.get(changed) : undefined;
    const el = this.scroller;
    const y = el.scrollTop;
    const atEnd = y > 0 && y + el.clientHeight >= this.lay.height - 2;
    this.lay = layout(this.months, this.shards, { cols: this.cols, row: this.cell + GAP, monthHeader: MONTH_H, dayHeader: DAY_H });
    this.space.style.height = `${this.lay.height}px`;
    const after = changed ? this.lay.months.get(changed) : undefined;
    // Anchoring: a month above the viewport that changed height moves everything below it; in
    // the month under the top edge the view keeps its place in proportion; the end stays the end.
    if (atEnd) el.scrollTop = this.lay.height;
    else if (before && after && before.top + before.height <= y) el.scrollTop = y + after.height - before.height;
    else if (before && after && before.top < y) el.scrollTop = after.top + ((y - before.top) / before.height) * after.height;
    for (const b of this.shown.values()) b.remove();
    this.shown.clear();
    this.cells.clear();
    this.scrubber.update(this.months.map((m) => ({ month: m.month, top: this.lay.months.get(m.month)?.top ?? 0 })), this.lay.height);
    this.draw();
  }

  private schedule(): void {
    if (!this.frame) this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.draw();
    });
  }

  private onScreen(id: string): boolean {
    const el = this.cells.get(id);
    if (!el) return false;
    const top = Number(el.parentElement?.dataset.top ?? -1);
    const y = this.scroller.scrollTop;
    return top + this.cell > y && top < y + this.scroller.clientHeight;
  }

  private draw(): void {
    if (this.signal.aborted) return;
    const y = this.scroller.scrollTop;
    const vh = this.scroller.clientHeight || 800;
    this.scrubber.position(y);
    const blocks = this.lay.blocks;
    const keep = new Set<string>();
    const visible: GalleryItem[] = [];
    for (let i = firstBlockAt(blocks, y - vh); i < blocks.length && blocks[i]!.top < y + 2 * vh; i++) {
      const b = blocks[i]!;
      keep.add(b.key);
      if (b.kind === 'estimate') void this.load(b.month);
      if (!this.shown.has(b.key)) {
        const el = this.render(b);
        el.style.transform = `translateY(${b.top}px)`;
        el.style.height = `${b.height}px`;
        el.dataset.top = String(b.top);
        this.space.appendChild(el);
        this.shown.set(b.key, el);
      }
      if (b.kind === 'row' && b.top + b.height > y && b.top < y + vh) visible.push(...b.items);
    }
    for (const [k, el] of this.shown) if (!keep.has(k)) {
      el.remove();
      this.shown.delete(k);
      el.querySelectorAll<HTMLElement>('[data-item-id]').forEach((c) => this.cells.delete(c.dataset.itemId!));
    }
    this.scroller.dataset.thumbRequests = String(this.thumbs.requested);
    // Thumbnails in view order, for cells on screen only.
    for (const item of visible) {
      const cell = this.cells.get(item.id);
      if (!cell || cell.querySelector('img')) continue;
      void this.thumbs.get(item.id).then(async (url) => {
        if (!url || this.cells.get(item.id) !== cell || cell.querySelector('img')) return;
        const img = h('img', { src: url, alt: '', draggable: 'false' });
        await img.decode().catch(() => undefined);
        if (this.cells.get(item.id) === cell && !cell.querySelector('img')) cell.firstElementChild!.appendChild(img);
        this.scroller.dataset.thumbRequests = String(this.thumbs.requested);
      });
    }
  }

  private render(b: Block): HTMLElement {
    switch (b.kind) {
      case 'month':
        return h('div', { class: 'g-month', testid: 'month-header', 'data-month': b.month }, h('span', {}, monthTitle(b.month)), h('small', {}, `${b.count} ${b.count === 1 ? 'item' : 'items'}`));
      case 'day': {
        const all = this.dayItems(b.day).every((i) => this.selected.has(i.id));
        return h('div', { class: 'g-day', testid: 'day-header', 'data-day': b.day },
          h('button', { type: 'button', class: 'g-day-check', testid: 'day-select', role: 'checkbox', 'aria-checked': String(all), 'aria-label': `Select every photo of ${dayTitle(b.day)}`, onclick: () => this.toggleDay(b.day) }),
          dayTitle(b.day));
      }
      case 'estimate':
        return h('div', { class: 'g-estimate', 'aria-busy': 'true' });
      case 'row': {
        const row = h('div', { class: 'g-row', role: 'list' });
        for (const item of b.items) row.appendChild(this.cellOf(item));
        return row;
      }
    }
  }

  /** A cell: the photo (a button that opens the viewer) and its check box. */
  private cellOf(item: GalleryItem): HTMLElement {
    const sel = this.selected.has(item.id);
    let pressTimer = 0;
    let pressed = false;
    const open = h('button', {
      type: 'button',
      class: 'g-open',
      'aria-label': `${item.name}, ${item.taken.replace('T', ' ')}${item.kind === 'video' ? ', video' : ''}`,
      onclick: (e: Event) => {
        if (pressed) return void (pressed = false);
        const me = e as MouseEvent;
        if (me.shiftKey) this.selectRange(item.id);
        else if (me.ctrlKey || me.metaKey || this.selected.size) this.toggle(item.id);
        else void this.viewer.show(item);
      },
      onkeydown: (e: Event) => {
        const k = (e as KeyboardEvent).key;
        if (k === ' ' || k === 'x' || k === 'X') {
          e.preventDefault();
          if ((e as KeyboardEvent).shiftKey) this.selectRange(item.id);
          else this.toggle(item.id);
        } else if (k === 'ArrowLeft' || k === 'ArrowRight' || k === 'ArrowUp' || k === 'ArrowDown') {
          e.preventDefault();
          this.arrow(item, k);
        }
      },
      onpointerdown: (e: Event) => {
        if ((e as PointerEvent).pointerType !== 'touch') return;
        pressTimer = window.setTimeout(() => {
          pressed = true;
          this.toggle(item.id);
        }, LONG_PRESS_MS);
      },
      onpointerup: () => clearTimeout(pressTimer),
      onpointercancel: () => clearTimeout(pressTimer),
      onpointermove: () => clearTimeout(pressTimer),
      oncontextmenu: (e: Event) => {
        if (pressed) e.preventDefault();
      },
    });
    const check = h('button', {
      type: 'button',
      class: 'g-check',
      testid: 'gallery-select',
      role: 'checkbox',
      tabindex: -1,
      'aria-checked': String(sel),
      'aria-label': `Select ${item.name}`,
      onclick: (e: Event) => {
        e.stopPropagation();
        if ((e as MouseEvent).shiftKey) this.selectRange(item.id);
        else this.toggle(item.id);
      },
    });
    const el = h(
      'div',
      {
        class: 'g-cell',
        role: 'listitem',
        testid: 'gallery-item',
        'data-item-id': item.id,
        'data-taken': item.taken,
        'data-name': item.name,
        'data-kind': item.kind,
        'aria-selected': String(sel),
      },
      open,
      check,
      item.kind === 'video' ? h('span', { class: 'g-badge', 'aria-hidden': 'true' }, item.duration ? `▶ ${duration(item.duration)}` : '▶') : null,
    );
    el.style.width = el.style.height = `${this.cell}px`;
    if (this.store.isFavorite(item.id)) el.setAttribute('data-favorite', '');
    const bg = hashUrl(item.hash);
    if (bg) el.style.backgroundImage = `url("${bg}")`;
    const cached = this.thumbs.cached(item.id);
    if (cached) open.appendChild(h('img', { src: cached, alt: '', draggable: 'false' }));
    this.cells.set(item.id, el);
    return el;
  }

  /** Arrow keys between cells: ←/→ in display order, ↑/↓ to the same column of the row above/below. */
  private arrow(item: GalleryItem, key: string): void {
    const blocks = this.lay.blocks;
    const bi = blocks.findIndex((b) => b.kind === 'row' && b.items.some((i) => i.id === item.id));
    if (bi < 0) return;
    const row = blocks[bi] as Extract<Block, { kind: 'row' }>;
    const col = row.items.findIndex((i) => i.id === item.id);
    let next: GalleryItem | undefined;
    if (key === 'ArrowLeft' || key === 'ArrowRight') {
      const all = this.ordered();
      next = all[all.findIndex((i) => i.id === item.id) + (key === 'ArrowRight' ? 1 : -1)];
    } else {
      const d = key === 'ArrowDown' ? 1 : -1;
      for (let j = bi + d; j >= 0 && j < blocks.length; j += d) {
        const b = blocks[j]!;
        if (b.kind === 'estimate') {
          void this.load(b.month);
          break;
        }
        if (b.kind === 'row') {
          next = b.items[Math.min(col, b.items.length - 1)];
          break;
        }
      }
    }
    if (!next) return;
    this.reveal(next);
    this.draw();
    this.cells.get(next.id)?.querySelector<HTMLElement>('.g-open')?.focus({ preventScroll: true });
  }

  // ---- selection ----

  private toggle(id: string): void {
    if (this.selected.has(id)) this.selected.delete(id);
    else this.selected.add(id);
    this.anchor = id;
    this.drawSelection();
  }

  private dayItems(day: string): readonly GalleryItem[] {
    return (this.shards.get(day.slice(0, 7)) ?? []).filter((i) => i.taken.startsWith(day));
  }

  /** The day header's check box: selects the whole day, or clears it when all were selected. */
  private toggleDay(day: string): void {
    const items = this.dayItems(day);
    const all = items.every((i) => this.selected.has(i.id));
    for (const i of items) {
      if (all) this.selected.delete(i.id);
      else this.selected.add(i.id);
    }
    this.drawSelection();
  }

  /** Loaded items in display order. */
  private ordered(): GalleryItem[] {
    return this.months.flatMap((m) => this.shards.get(m.month) ?? []);
  }

  private selectRange(id: string): void {
    const all = this.ordered();
    const a = this.anchor ? all.findIndex((i) => i.id === this.anchor) : -1;
    const b = all.findIndex((i) => i.id === id);
    if (a < 0 || b < 0) return this.toggle(id);
    for (let i = Math.min(a, b); i <= Math.max(a, b); i++) this.selected.add(all[i]!.id);
    this.anchor = id;
    this.drawSelection();
  }

  private clearSelection(): void {
    this.selected.clear();
    this.anchor = undefined;
    this.drawSelection();
    this.scroller.focus({ preventScroll: true });
  }

  private drawSelection(): void {
    const n = this.selected.size;
    this.bar.hidden = n === 0;
    this.barCount.textContent = `${n} selected`;
    this.barCount.dataset.count = String(n);
    this.element.classList.toggle('selecting', n > 0);
    for (const [id, cell] of this.cells) {
      const on = this.selected.has(id);
      cell.setAttribute('aria-selected', String(on));
      cell.querySelector('.g-check')?.setAttribute('aria-checked', String(on));
    }
    this.space.querySelectorAll<HTMLElement>('[data-testid=day-header]').forEach((el) => {
      const items = this.dayItems(el.dataset.day!);
      el.querySelector('.g-day-check')?.setAttribute('aria-checked', String(items.length > 0 && items.every((i) => this.selected.has(i.id))));
    });
  }

  private async favoriteSelection(): Promise<void> {
    const ids = [...this.selected];
    const on = !ids.every((id) => this.store.isFavorite(id));
    await this.store.favorite(ids, on).catch(() => undefined);
  }

  private async albumSelection(): Promise<void> {
    const ids = [...this.selected];
    const album = await pickAlbum(this.store, ids);
    if (album) {
      this.ctx.notify(`${ids.length} added to ${this.store.state.albums.find((a) => a.id === album)?.name ?? 'the album'}.`);
      this.clearSelection();
    }
  }

  private async removeSelection(how: 'hide' | 'trash'): Promise<void> {
    const ids = [...this.selected];
    try {
      await (how === 'hide' ? this.store.hide(ids) : this.store.trash(ids));
    } catch {
      return;
    }
    this.drop(ids);
    this.clearSelection();
    this.ctx.notify(how === 'hide' ? `${ids.length} hidden.` : `${ids.length} moved to the trash (30 days).`);
  }

  /** Items that left the library's views: out of the grid and the counts. */
  private drop(ids: readonly string[]): void {
    const gone = new Set(ids);
    let changed = false;
    for (const m of this.months) {
      const items = this.shards.get(m.month);
      if (!items) continue;
      const rest = items.filter((i) => !gone.has(i.id));
      if (rest.length === items.length) continue;
      this.shards.set(m.month, rest);
      m.count = rest.length;
      this.count -= items.length - rest.length;
      changed = true;
    }
    for (const id of ids) this.selected.delete(id);
    if (!changed) return;
    this.months = this.months.filter((m) => m.count > 0);
    this.scroller.dataset.count = String(this.count);
    this.relayout();
  }

  // ---- navigation ----

  /** Scrubber: loads the month's shard first, then scrolls to it. */
  private async jump(month: string): Promise<void> {
    const p = this.load(month);
    const top = this.lay.months.get(month)?.top;
    if (top !== undefined) this.scroller.scrollTop = top;
    // When the shard arrives its month becomes exact below the top edge, and months above that
    // load later move the scroll position by their change (relayout's anchoring): it stays put.
    await p.catch(() => undefined);
  }

  /** Loads a month's shard once, then lays it out exactly. */
  load(month: string): Promise<void> {
    let p = this.loading.get(month);
    if (!p) {
      p = this.ctx
        .client()
        .call({ op: 'galleryShard', month })
        .then((s) => {
          if (this.signal.aborted) return;
          this.shards.set(month, s.items);
          const m = this.months.find((x) => x.month === month);
          if (m && m.count !== s.items.length) {
            this.count += s.items.length - m.count;
            m.count = s.items.length;
            this.scroller.dataset.count = String(this.count);
          }
          this.relayout(month);
        });
      p.catch((e: Error) => {
        this.loading.delete(month);
        if (!this.signal.aborted) this.ctx.notify(`Could not load ${month}: ${e.message}`, 'error');
      });
      this.loading.set(month, p);
    }
    return p;
  }

  private async step(item: GalleryItem, d: -1 | 1): Promise<GalleryItem | undefined> {
    const months = this.months.map((m) => m.month);
    let mi = months.indexOf(item.taken.slice(0, 7));
    const inMonth = this.shards.get(months[mi] ?? '') ?? [];
    const at = inMonth.findIndex((x) => x.id === item.id);
    if (at >= 0 && inMonth[at + d]) return inMonth[at + d];
    for (mi += d; mi >= 0 && mi < months.length; mi += d) {
      await this.load(months[mi]!);
      const items = this.shards.get(months[mi]!) ?? [];
      if (items.length) return d > 0 ? items[0] : items[items.length - 1];
    }
    return undefined;
  }

  /** Keeps the viewer's item in the timeline's view (so closing lands where the user is). */
  private reveal(item: GalleryItem): void {
    const b = this.lay.blocks.find((x) => x.kind === 'row' && x.items.some((i) => i.id === item.id));
    if (!b) return;
    const y = this.scroller.scrollTop;
    if (b.top < y || b.top + b.height > y + this.scroller.clientHeight) this.scroller.scrollTop = Math.max(0, b.top - MONTH_H);
  }
}

/**
 * Main / Private: the private gallery (items kept private from the inbox, design §3) is its own
 * library; every gallery view (timeline, albums, search, map) follows the switch until the lock.
 */
function librarySwitch(ctx: AppContext, library: 'main' | 'private'): HTMLElement {
  const choose = async (lib: 'main' | 'private'): Promise<void> => {
    if (lib === library) return;
    try {
      await ctx.client().call({ op: 'galleryLibrary', library: lib });
      ctx.navigate('#/gallery', true);
    } catch (e) {
      ctx.notify(`Could not open the ${lib} library: ${(e as Error).message}`, 'error');
    }
  };
  const b = (lib: 'main' | 'private', label: string): HTMLElement => h('button', { type: 'button', testid: `library-${lib}`, 'aria-pressed': String(lib === library), onclick: () => void choose(lib) }, label);
  return h('div', { class: 'g-top', role: 'group', 'aria-label': 'Library', testid: 'gallery-library', 'data-library': library }, b('main', 'Library'), b('private', '🔒 Private'));
}

function duration(s: number): string {
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

registerView({
  id: 'gallery',
  routes: ['gallery', 'photos'],
  nav: { testid: 'nav-gallery', label: 'Photos', order: 5 },
  render: async (ctx: AppContext, route, main, signal) => {
    installGalleryStyle();
    ctx.setTitle('Photos');
    const info = await ctx.client().call({ op: 'galleryMonths' });
    if (signal.aborted) return;
    const top = info && (info.hasPrivate || info.library === 'private') ? librarySwitch(ctx, info.library) : undefined;
    if (!info || info.months.count === 0) {
      if (top) main.appendChild(top);
      main.appendChild(h('p', { class: 'g-empty', testid: 'gallery-empty' }, info?.library === 'private' ? 'The private library is empty.' : 'No photos yet. Run "coffer backup --gallery" (or "coffer gallery build") to make the gallery of your backups.'));
      return;
    }
    const first = route.segments[0] === 'gallery' ? 'gallery' : 'photos';
    const t = new Timeline(ctx, info, signal, first);
    if (top) {
      t.element.prepend(top);
      t.element.classList.add('with-top');
    }
    main.appendChild(t.element);
    t.focus();
    const id = route.segments[1];
    if (id && /^[0-9a-f]{32}$/.test(id)) await t.open(id);
  },
});
