/**
 * @module web/gallery/viewer
 * The full-screen viewer (design web-gallery.md §4): the screen-size preview, ←/→ to move, Esc
 * to close, F to mark a favourite, I for the info panel (date with its offset, camera and lens, place, size,
 * dimensions, where the photo was backed up from) and a download of the original, streamed from
 * the gallery snapshot through the service worker like any file (byte-identical to the source).
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import { bytes } from '../app/format.js';
import { h } from '../app/dom.js';
import type { AppContext } from '../app/views.js';
import { takenLong } from './when.js';

export interface ViewerSource {
  /** The item `step` places from `item` (-1 newer, +1 older), loading shards as needed. */
  step(item: GalleryItem, step: -1 | 1): Promise<GalleryItem | undefined>;
  /** Called when the viewer shows an item (the timeline keeps its cell in view). */
  shown?(item: GalleryItem): void;
  isFavorite(id: string): boolean;
  /** Marks or unmarks a favourite (stored in the repository); resolves when saved. */
  setFavorite(id: string, on: boolean): Promise<void>;
}

export class Viewer {
  readonly element: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly info: HTMLElement;
  private readonly fav: HTMLButtonElement;
  private item: GalleryItem | undefined;
  private url: string | undefined;
  private seq = 0;
  private readonly onKey = (e: KeyboardEvent): void => this.key(e);

  constructor(
    private readonly ctx: AppContext,
    private readonly src: ViewerSource,
    private readonly onClose: () => void,
  ) {
    this.img = h('img', { testid: 'viewer-image', alt: '' });
    this.info = h('aside', { class: 'viewer-info', 'aria-label': 'Info' });
    this.fav = h('button', { type: 'button', testid: 'viewer-favorite', title: 'Favourite (F)', 'aria-pressed': 'false', onclick: () => void this.toggleFavorite() }, '☆ Favourite');
    const bar = h(
      'div',
      { class: 'viewer-bar' },
      this.fav,
      h('button', { type: 'button', testid: 'viewer-info-toggle', title: 'Info (I)', onclick: () => this.toggleInfo() }, 'Info'),
      h('button', { type: 'button', testid: 'viewer-download', title: 'Download the original', onclick: () => void this.download() }, 'Download'),
      h('button', { type: 'button', testid: 'viewer-close', title: 'Close (Esc)', onclick: () => this.close() }, '✕'),
    );
    this.element = h(
      'div',
      { class: 'viewer', testid: 'viewer', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Photo', tabindex: -1, hidden: true },
      h('div', { class: 'viewer-stage' }, this.img, bar,
        h('button', { type: 'button', class: 'viewer-nav prev', testid: 'viewer-prev', 'aria-label': 'Newer (←)', onclick: () => void this.move(-1) }, '‹'),
        h('button', { type: 'button', class: 'viewer-nav next', testid: 'viewer-next', 'aria-label': 'Older (→)', onclick: () => void this.move(1) }, '›')),
      this.info,
    );
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  async show(item: GalleryItem): Promise<void> {
    const n = ++this.seq;
    this.item = item;
    if (this.element.hidden) {
      this.element.hidden = false;
      document.addEventListener('keydown', this.onKey);
      this.element.focus();
    }
    this.element.setAttribute('data-item-id', item.id);
    this.drawFavorite();
    this.drawInfo(item);
    this.src.shown?.(item);
    this.img.removeAttribute('src');
    this.img.alt = item.name;
    try {
      const b = await this.ctx.client().call({ op: 'galleryPreview', id: item.id });
      if (n !== this.seq) return;
      if (this.url) URL.revokeObjectURL(this.url);
      this.url = URL.createObjectURL(new Blob([b], { type: 'image/webp' }));
      this.img.src = this.url;
      await this.img.decode().catch(() => undefined);
    } catch (e) {
      if (n === this.seq) this.ctx.notify(`Could not load the preview: ${(e as Error).message}`, 'error');
    }
  }

  close(): void {
    if (this.element.hidden) return;
    this.seq++;
    this.element.hidden = true;
    document.removeEventListener('keydown', this.onKey);
    if (this.url) URL.revokeObjectURL(this.url);
    this.url = undefined;
    this.img.removeAttribute('src');
    this.onClose();
  }

  private async move(d: -1 | 1): Promise<void> {
    if (!this.item) return;
    const next = await this.src.step(this.item, d);
    if (next && this.open) await this.show(next);
  }

  private toggleInfo(): void {
    this.info.hidden = !this.info.hidden;
  }

  private key(e: KeyboardEvent): void {
    if (e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.key === 'Escape') this.close();
    else if (e.key === 'ArrowLeft') void this.move(-1);
    else if (e.key === 'ArrowRight') void this.move(1);
    else if (e.key === 'i' || e.key === 'I') this.toggleInfo();
    else if (e.key === 'f' || e.key === 'F') void this.toggleFavorite();
    else return;
    e.preventDefault();
  }

  private drawFavorite(): void {
    const on = !!this.item && this.src.isFavorite(this.item.id);
    this.fav.setAttribute('aria-pressed', String(on));
    this.fav.textContent = on ? '★ Favourite' : '☆ Favourite';
  }

  private async toggleFavorite(): Promise<void> {
    const item = this.item;
    if (!item || this.fav.disabled) return;
    this.fav.disabled = true;
    try {
      await this.src.setFavorite(item.id, !this.src.isFavorite(item.id));
    } catch (e) {
      this.ctx.notify(`Could not save the favourite: ${(e as Error).message}`, 'error');
    } finally {
      this.fav.disabled = false;
      if (this.item === item) this.drawFavorite();
    }
  }

  private async download(): Promise<void> {
    const item = this.item;
    if (!item) return;
    try {
      const client = this.ctx.client();
      const o = await client.call({ op: 'galleryOriginal', id: item.id, name: item.name });
      const how = await this.ctx.downloads.start(client, { snapshot: o.snapshot, path: o.path, kind: 'file', name: item.name, mime: item.mime });
      if (how === 'blob') this.ctx.notify('Downloaded in memory (no service worker on this address).');
    } catch (e) {
      this.ctx.notify(`Download failed: ${(e as Error).message}`, 'error');
    }
  }

  private drawInfo(i: GalleryItem): void {
    const row = (label: string, value: HTMLElement | string): HTMLElement[] => [h('dt', {}, label), typeof value === 'string' ? h('dd', {}, value) : value];
    const cam = i.camera ? [i.camera.make, i.camera.model].filter(Boolean).join(' ') + (i.camera.lens ? ` · ${i.camera.lens}` : '') : '';
    this.info.replaceChildren(
      h('h2', {}, i.name),
      h(
        'dl',
        {},
        row('Taken', h('dd', { testid: 'info-date', 'data-taken': i.taken }, takenLong(i.taken, i.offset) + (i.takenFrom === 'mtime' ? ' (guessed from the file time)' : ''))),
        cam ? row('Camera', h('dd', { testid: 'info-camera' }, cam)) : [],
        i.gps ? row('Place', h('dd', { testid: 'info-place', 'data-lat': i.gps[0], 'data-lon': i.gps[1] }, `${i.gps[0].toFixed(5)}, ${i.gps[1].toFixed(5)}${i.country ? ` (${i.country})` : ''}`)) : [],
        row('Size', `${bytes(i.size)}${i.w && i.h ? ` · ${i.w} × ${i.h}` : ''}`),
        i.sources.length ? row('Backed up from', h('dd', {}, ...i.sources.map((s) => h('div', { class: 'mono' }, s.path)))) : [],
      ),
    );
  }
}
