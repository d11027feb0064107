/**
 * @module web/gallery/timeline
 * The gallery's timeline view, `#/gallery` (design web-gallery.md §4 and §11): months and days
 * newest first, a virtualized grid (only blocks within one screen of the viewport are in the
 * DOM), shards loaded for the months near the viewport, thumbnails for the cells on screen only
 * (thumbs.ts; `data-thumb-requests` counts what went to the worker), and the viewer (viewer.ts) on a click or Enter.
 *
 * The scroll height comes from `months.json` before any shard loads (layout.ts estimates); when
 * a shard above the viewport arrives, the scroll position moves by the same amount its month
 * grew or shrank, so what is on screen stays still.
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import { h } from '../app/dom.js';
import { registerView, type AppContext } from '../app/views.js';
import type { GalleryInfo } from '../protocol.js';
import { firstBlockAt, layout, type Block, type Layout } from './layout.js';
import { installGalleryStyle } from './style.js';
import { hashUrl, ThumbLoader } from './thumbs.js';
import { Viewer } from './viewer.js';
import { dayTitle, monthTitle } from './when.js';

const GAP = 4;
const MIN_CELL = 150;
const MONTH_H = 52;
const DAY_H = 32;

class Timeline {
  readonly element: HTMLElement;
  private readonly space: HTMLElement;
  private readonly shards = new Map<string, readonly GalleryItem[]>();
  private readonly loading = new Map<string, Promise<void>>();
  private readonly shown = new Map<string, HTMLElement>();
  /** Cells in the DOM by item id. */
  private readonly cells = new Map<string, HTMLElement>();
  private readonly thumbs: ThumbLoader;
  private readonly viewer: Viewer;
  private lay: Layout = { blocks: [], height: 0, months: new Map() };
  private cols = 4;
  private cell = MIN_CELL;
  private frame = 0;
  private readonly favorites: Set<string>;

  constructor(
    private readonly ctx: AppContext,
    private readonly info: GalleryInfo,
    private readonly signal: AbortSignal,
  ) {
    this.favorites = new Set(info.favorites);
    this.space = h('div', { class: 'gallery-space' });
    this.element = h('div', { class: 'gallery', testid: 'gallery', 'data-count': info.months.count, tabindex: 0, role: 'region', 'aria-label': 'Photos' }, this.space);
    this.thumbs = new ThumbLoader(
      (id) => ctx.client().call({ op: 'galleryThumb', id }),
      (id) => !signal.aborted && this.onScreen(id),
    );
    this.viewer = new Viewer(ctx, {
      step: (i, d) => this.step(i, d),
      shown: (i) => this.reveal(i),
      isFavorite: (id) => this.favorites.has(id),
      setFavorite: async (id, on) => {
        const r = await ctx.client().call({ op: 'galleryFavorite', id, on });
        this.favorites.clear();
        for (const f of r.favorites) this.favorites.add(f);
        const cell = this.cells.get(id);
        if (cell) cell.toggleAttribute('data-favorite', this.favorites.has(id));
      },
    }, () => this.element.focus());
    this.element.addEventListener('scroll', () => this.schedule(), { passive: true });
    const ro = new ResizeObserver(() => this.resize());
    ro.observe(this.element);
    signal.addEventListener('abort', () => {
      ro.disconnect();
      this.viewer.close();
      this.viewer.element.remove();
      this.thumbs.dispose();
    });
    document.body.appendChild(this.viewer.element);
  }

  private resize(): void {
    const width = this.space.clientWidth || this.element.clientWidth;
    if (!width) return;
    const cols = Math.max(2, Math.floor((width + GAP) / (MIN_CELL + GAP)));
    const cell = Math.floor((width - GAP * (cols - 1)) / cols);
    if (cols === this.cols && cell === this.cell && this.lay.blocks.length) return;
    this.cols = cols;
    this.cell = cell;
    this.relayout();
  }

  private relayout(changed?: string): void {
    const before = changed ? this.lay.months.get(changed) : undefined;
    const y = this.element.scrollTop;
    const atEnd = y > 0 && y + this.element.clientHeight >= this.lay.height - 2;
    this.lay = layout(this.info.months.months, this.shards, { cols: this.cols, row: this.cell + GAP, monthHeader: MONTH_H, dayHeader: DAY_H });
    this.space.style.height = `${this.lay.height}px`;
    const after = changed ? this.lay.months.get(changed) : undefined;
    // Anchoring: a month above the viewport that changed height moves everything below it; in
    // the month under the top edge the view keeps its place in proportion; the end stays the end.
    if (atEnd) this.element.scrollTop = this.lay.height;
    else if (before && after && before.top + before.height <= y) this.element.scrollTop = y + after.height - before.height;
    else if (before && after && before.top < y) this.element.scrollTop = after.top + ((y - before.top) / before.height) * after.height;
    for (const el of this.shown.values()) el.remove();
    this.shown.clear();
    this.cells.clear();
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
    const y = this.element.scrollTop;
    return top + this.cell > y && top < y + this.element.clientHeight;
  }

  private draw(): void {
    if (this.signal.aborted) return;
    const y = this.element.scrollTop;
    const vh = this.element.clientHeight || 800;
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
    this.element.dataset.thumbRequests = String(this.thumbs.requested);
    // Thumbnails in view order, for cells on screen only.
    for (const item of visible) {
      const cell = this.cells.get(item.id);
      if (!cell || cell.querySelector('img')) continue;
      void this.thumbs.get(item.id).then(async (url) => {
        if (!url || this.cells.get(item.id) !== cell || cell.querySelector('img')) return;
        const img = h('img', { src: url, alt: '', draggable: 'false' });
        await img.decode().catch(() => undefined);
        if (this.cells.get(item.id) === cell && !cell.querySelector('img')) cell.appendChild(img);
        this.element.dataset.thumbRequests = String(this.thumbs.requested);
      });
    }
  }

  private render(b: Block): HTMLElement {
    switch (b.kind) {
      case 'month':
        return h('div', { class: 'g-month', testid: 'month-header', 'data-month': b.month }, h('span', {}, monthTitle(b.month)), h('small', {}, `${b.count} ${b.count === 1 ? 'item' : 'items'}`));
      case 'day':
        return h('div', { class: 'g-day', testid: 'day-header', 'data-day': b.day }, dayTitle(b.day));
      case 'estimate':
        return h('div', { class: 'g-estimate', 'aria-busy': 'true' });
      case 'row': {
        const row = h('div', { class: 'g-row', role: 'list' });
        for (const item of b.items) row.appendChild(this.cellOf(item));
        return row;
      }
    }
  }

  private cellOf(item: GalleryItem): HTMLElement {
    const el = h('button', {
      type: 'button',
      class: 'g-cell',
      role: 'listitem',
      testid: 'gallery-item',
      'data-item-id': item.id,
      'data-taken': item.taken,
      'data-name': item.name,
      'data-kind': item.kind,
      'aria-label': `${item.name}, ${item.taken.replace('T', ' ')}`,
      onclick: () => void this.viewer.show(item),
    });
    el.style.width = el.style.height = `${this.cell}px`;
    if (this.favorites.has(item.id)) el.setAttribute('data-favorite', '');
    const bg = hashUrl(item.hash);
    if (bg) el.style.backgroundImage = `url("${bg}")`;
    const cached = this.thumbs.cached(item.id);
    if (cached) el.appendChild(h('img', { src: cached, alt: '', draggable: 'false' }));
    this.cells.set(item.id, el);
    return el;
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
    const months = this.info.months.months.map((m) => m.month);
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
    const y = this.element.scrollTop;
    if (b.top < y || b.top + b.height > y + this.element.clientHeight) this.element.scrollTop = Math.max(0, b.top - MONTH_H);
  }
}

registerView({
  id: 'gallery',
  routes: ['gallery', 'photos'],
  nav: { testid: 'nav-gallery', label: 'Photos', order: 5 },
  render: async (ctx: AppContext, _route, main, signal) => {
    installGalleryStyle();
    ctx.setTitle('Photos');
    const info = await ctx.client().call({ op: 'galleryMonths' });
    if (signal.aborted) return;
    if (!info || info.months.count === 0) {
      main.appendChild(h('p', { class: 'g-empty', testid: 'gallery-empty' }, 'No photos yet. Run "coffer backup --gallery" (or "coffer gallery build") to make the gallery of your backups.'));
      return;
    }
    const t = new Timeline(ctx, info, signal);
    main.appendChild(t.element);
    t.element.focus({ preventScroll: true });
  },
});
