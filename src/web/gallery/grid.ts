/**
 * @module web/gallery/grid
 * A plain grid of photos for albums and search results (a few hundred to a couple of thousand
 * cells: no virtualization needed, but thumbnails load only for cells near the screen, through
 * an IntersectionObserver and the same ThumbLoader as the timeline). Cells carry the timeline's
 * hooks (`gallery-item`, `data-item-id`, ...) and open the viewer, which steps through the grid.
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import { h } from '../app/dom.js';
import type { AppContext } from '../app/views.js';
import type { GalleryStore } from './store.js';
import { hashUrl, ThumbLoader } from './thumbs.js';
import { Viewer } from './viewer.js';

export interface GridOptions {
  readonly testid: string;
  readonly label: string;
  /** Extra controls in a cell (album editing). */
  readonly decorate?: (item: GalleryItem, index: number, cell: HTMLElement) => void;
  /** After the viewer hid or trashed items. */
  readonly removed?: (ids: readonly string[]) => void;
}

export class Grid {
  readonly element: HTMLElement;
  private items: GalleryItem[] = [];
  private readonly cells = new Map<string, HTMLElement>();
  private readonly near = new Set<string>();
  private readonly thumbs: ThumbLoader;
  private readonly io: IntersectionObserver;
  readonly viewer: Viewer;

  constructor(
    ctx: AppContext,
    store: GalleryStore,
    private readonly opts: GridOptions,
    signal: AbortSignal,
  ) {
    this.element = h('div', { class: 'g-grid', testid: opts.testid, role: 'list', 'aria-label': opts.label, 'data-count': 0 });
    this.thumbs = new ThumbLoader((id) => ctx.client().call({ op: 'galleryThumb', id }), (id) => !signal.aborted && this.near.has(id));
    this.io = new IntersectionObserver((entries) => {
      for (const e of entries) {
        const id = (e.target as HTMLElement).dataset.itemId!;
        if (e.isIntersecting) {
          this.near.add(id);
          this.paint(id);
        } else this.near.delete(id);
      }
    }, { rootMargin: '400px 0px' });
    this.viewer = new Viewer(ctx, store, {
      step: async (item, d) => this.items[this.items.findIndex((i) => i.id === item.id) + d],
      removed: (ids) => {
        this.set(this.items.filter((i) => !ids.includes(i.id)));
        opts.removed?.(ids);
      },
    }, () => this.cells.get(this.lastOpened)?.querySelector<HTMLElement>('.g-open')?.focus());
    document.body.appendChild(this.viewer.element);
    store.onChange((s) => {
      const fav = new Set(s.favorites);
      for (const [id, c] of this.cells) c.toggleAttribute('data-favorite', fav.has(id));
    });
    signal.addEventListener('abort', () => {
      this.io.disconnect();
      this.viewer.close();
      this.viewer.element.remove();
      this.thumbs.dispose();
    });
    this.isFavorite = (id) => store.isFavorite(id);
  }

  private lastOpened = '';
  private readonly isFavorite: (id: string) => boolean;

  get list(): readonly GalleryItem[] {
    return this.items;
  }

  set(items: readonly GalleryItem[]): void {
    this.items = [...items];
    this.io.disconnect();
    this.cells.clear();
    this.near.clear();
    this.element.replaceChildren(...this.items.map((item, i) => this.cellOf(item, i)));
    this.element.dataset.count = String(this.items.length);
  }

  private cellOf(item: GalleryItem, index: number): HTMLElement {
    const open = h('button', {
      type: 'button',
      class: 'g-open',
      'aria-label': `${item.name}, ${item.taken.replace('T', ' ')}${item.kind === 'video' ? ', video' : ''}`,
      onclick: () => {
        this.lastOpened = item.id;
        void this.viewer.show(item);
      },
      onkeydown: (e: Event) => this.arrow(e as KeyboardEvent, item.id),
    });
    const el = h('div', { class: 'g-cell', role: 'listitem', testid: 'gallery-item', 'data-item-id': item.id, 'data-taken': item.taken, 'data-name': item.name, 'data-kind': item.kind }, open,
      item.kind === 'video' ? h('span', { class: 'g-badge', 'aria-hidden': 'true' }, '▶') : null);
    if (this.isFavorite(item.id)) el.setAttribute('data-favorite', '');
    const bg = hashUrl(item.hash);
    if (bg) el.style.backgroundImage = `url("${bg}")`;
    this.opts.decorate?.(item, index, el);
    this.cells.set(item.id, el);
    this.io.observe(el);
    return el;
  }

  /** Arrow keys between cells (the columns are read from the laid-out grid). */
  private arrow(e: KeyboardEvent, id: string): void {
    const d = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: 0, ArrowDown: 0 }[e.key];
    if (d === undefined) return;
    e.preventDefault();
    const cells = [...this.cells.values()];
    const top = cells[0]?.offsetTop ?? 0;
    const cols = Math.max(1, cells.filter((c) => c.offsetTop === top).length);
    const at = this.items.findIndex((i) => i.id === id) + (d || (e.key === 'ArrowDown' ? cols : -cols));
    const next = this.items[at];
    if (next) this.cells.get(next.id)?.querySelector<HTMLElement>('.g-open')?.focus();
  }

  private paint(id: string): void {
    const cell = this.cells.get(id);
    if (!cell || cell.querySelector('img')) return;
    void this.thumbs.get(id).then(async (url) => {
      if (!url || this.cells.get(id) !== cell || cell.querySelector('img')) return;
      const img = h('img', { src: url, alt: '', draggable: 'false' });
      await img.decode().catch(() => undefined);
      if (this.cells.get(id) === cell && !cell.querySelector('img')) cell.querySelector('.g-open')!.appendChild(img);
    });
  }
}
