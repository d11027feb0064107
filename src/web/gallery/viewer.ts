/**
 * @module web/gallery/viewer
 * The full-screen viewer (design web-gallery.md §4): the screen-size preview, ←/→ to move, Esc
 * to close, F to mark a favourite, I for the info panel (date with its offset, camera and lens, place, size,
 * dimensions, where the photo was backed up from) and a download of the original, streamed from
 * the gallery snapshot through the service worker like any file (byte-identical to the source).
 *
 * Also: videos play from the original, decrypted as the `<video>` asks for byte ranges (the
 * service worker's media route, app/download.ts `mediaUrl`); zoom with the wheel, a double
 * click, +/−/0 or a pinch, pan by dragging a zoomed photo; swipe left/right between photos;
 * add to an album, hide and move to the trash (the next photo is shown).
 */
import type { GalleryItem } from '../../core/gallery/item.js';
import { bytes } from '../app/format.js';
import { h } from '../app/dom.js';
import type { AppContext } from '../app/views.js';
import { pickAlbum } from './album-picker.js';
import { shareButton } from '../share/share-button.js';
import type { GalleryStore } from './store.js';
import { takenLong } from './when.js';
import { Zoom } from './zoom.js';

export interface ViewerSource {
  /** The item `step` places from `item` (-1 newer, +1 older), loading shards as needed. */
  step(item: GalleryItem, step: -1 | 1): Promise<GalleryItem | undefined>;
  /** Called when the viewer shows an item (the timeline keeps its cell in view). */
  shown?(item: GalleryItem): void;
  /** Called after items left every view (hidden or trashed) so the source drops them. */
  removed?(ids: readonly string[]): void;
}

export class Viewer {
  readonly element: HTMLElement;
  private readonly img: HTMLImageElement;
  private readonly stage: HTMLElement;
  private readonly info: HTMLElement;
  private readonly fav: HTMLButtonElement;
  private video: HTMLVideoElement | undefined;
  private releaseVideo: (() => void) | undefined;
  private item: GalleryItem | undefined;
  private url: string | undefined;
  private seq = 0;
  private opened = false;
  private readonly zoom: Zoom;
  private readonly onKey = (e: KeyboardEvent): void => this.key(e);

  constructor(
    private readonly ctx: AppContext,
    private readonly store: GalleryStore,
    private readonly src: ViewerSource,
    private readonly onClose: () => void,
  ) {
    this.img = h('img', { testid: 'viewer-image', alt: '', draggable: 'false' });
    this.info = h('aside', { class: 'viewer-info', 'aria-label': 'Info' });
    this.fav = h('button', { type: 'button', testid: 'viewer-favorite', title: 'Favourite (F)', 'aria-pressed': 'false', onclick: () => void this.toggleFavorite() }, '☆ Favourite');
    const bar = h(
      'div',
      { class: 'viewer-bar', role: 'toolbar', 'aria-label': 'Photo actions' },
      this.fav,
      h('button', { type: 'button', testid: 'viewer-album', title: 'Add to an album (A)', onclick: () => void this.addToAlbum() }, '+ Album'),
      h('button', { type: 'button', testid: 'viewer-hide', title: 'Hide from every view (H)', onclick: () => void this.remove('hide') }, 'Hide'),
      h('button', { type: 'button', testid: 'viewer-trash', title: 'Move to the trash (Delete)', onclick: () => void this.remove('trash') }, 'Trash'),
      h('button', { type: 'button', testid: 'viewer-info-toggle', title: 'Info (I)', onclick: () => this.toggleInfo() }, 'Info'),
      h('button', { type: 'button', testid: 'viewer-download', title: 'Download the original', onclick: () => void this.download() }, 'Download'),
      shareButton(this.ctx, () => (this.item ? [this.item.id] : [])),
      h('button', { type: 'button', testid: 'viewer-close', title: 'Close (Esc)', 'aria-label': 'Close', onclick: () => this.close() }, '✕'),
    );
    this.stage = h('div', { class: 'viewer-stage' }, this.img);
    this.element = h(
      'div',
      { class: 'viewer', testid: 'viewer', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Photo', tabindex: -1, hidden: true },
      h('div', { class: 'viewer-main' }, this.stage, bar,
        h('button', { type: 'button', class: 'viewer-nav prev', testid: 'viewer-prev', 'aria-label': 'Newer (←)', onclick: () => void this.move(-1) }, '‹'),
        h('button', { type: 'button', class: 'viewer-nav next', testid: 'viewer-next', 'aria-label': 'Older (→)', onclick: () => void this.move(1) }, '›')),
      this.info,
    );
    this.zoom = new Zoom(this.stage, this.img, (d) => void this.move(d));
  }

  get open(): boolean {
    return !this.element.hidden;
  }

  async show(item: GalleryItem): Promise<void> {
    const n = ++this.seq;
    this.item = item;
    if (this.element.hidden) {
      // On a phone the info panel would cover half the photo: closed until I (or Info).
      if (!this.opened && window.matchMedia('(max-width: 700px)').matches) this.info.hidden = true;
      this.opened = true;
      this.element.hidden = false;
      document.addEventListener('keydown', this.onKey);
      this.element.focus();
    }
    this.element.setAttribute('data-item-id', item.id);
    this.element.setAttribute('aria-label', item.kind === 'video' ? 'Video' : 'Photo');
    this.drawFavorite();
    this.drawInfo(item);
    this.src.shown?.(item);
    this.stopVideo();
    this.zoom.reset();
    this.img.hidden = false;
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
    if (item.kind === 'video' && n === this.seq) await this.playVideo(item, n);
  }

  /** The original, decrypted range by range as the <video> asks (seeking works). */
  private async playVideo(item: GalleryItem, n: number): Promise<void> {
    try {
      const client = this.ctx.client();
      const o = await client.call({ op: 'galleryOriginal', id: item.id, name: item.name });
      const m = await this.ctx.downloads.mediaUrl(client, { snapshot: o.snapshot, path: o.path, name: item.name, mime: item.mime });
      if (n !== this.seq) {
        m?.release();
        return;
      }
      if (!m) {
        this.ctx.notify('Videos play through the service worker, which this address does not allow (use https or localhost); Download still works.', 'error');
        return;
      }
      const v = h('video', { testid: 'viewer-video', controls: true, playsinline: true, preload: 'auto', 'aria-label': item.name });
      if (this.url) v.poster = this.url;
      v.src = m.url;
      this.video = v;
      this.releaseVideo = m.release;
      this.img.hidden = true;
      this.stage.appendChild(v);
      v.play().catch(() => undefined); // autoplay may be refused: the controls remain
    } catch (e) {
      if (n === this.seq) this.ctx.notify(`Could not play the video: ${(e as Error).message}`, 'error');
    }
  }

  private stopVideo(): void {
    if (this.video) {
      this.video.pause();
      this.video.removeAttribute('src');
      this.video.load();
      this.video.remove();
      this.video = undefined;
    }
    this.releaseVideo?.();
    this.releaseVideo = undefined;
  }

  close(): void {
    if (this.element.hidden) return;
    this.seq++;
    this.element.hidden = true;
    document.removeEventListener('keydown', this.onKey);
    this.stopVideo();
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
    if (e.target instanceof HTMLInputElement || document.querySelector('dialog[open]')) return;
    const k = e.key;
    if (k === 'Escape') this.close();
    else if (k === 'ArrowLeft') void this.move(-1);
    else if (k === 'ArrowRight') void this.move(1);
    else if (k === 'i' || k === 'I') this.toggleInfo();
    else if (k === 'f' || k === 'F') void this.toggleFavorite();
    else if (k === 'a' || k === 'A') void this.addToAlbum();
    else if (k === 'h' || k === 'H') void this.remove('hide');
    else if (k === 'Delete') void this.remove('trash');
    else if (k === '+' || k === '=') this.zoom.by(1.5);
    else if (k === '-') this.zoom.by(1 / 1.5);
    else if (k === '0') this.zoom.reset();
    else return;
    e.preventDefault();
  }

  private drawFavorite(): void {
    const on = !!this.item && this.store.isFavorite(this.item.id);
    this.fav.setAttribute('aria-pressed', String(on));
    this.fav.textContent = on ? '★ Favourite' : '☆ Favourite';
  }

  private async toggleFavorite(): Promise<void> {
    const item = this.item;
    if (!item || this.fav.disabled) return;
    this.fav.disabled = true;
    try {
      await this.store.favorite([item.id], !this.store.isFavorite(item.id));
    } catch {
      // the store told the user
    } finally {
      this.fav.disabled = false;
      if (this.item === item) this.drawFavorite();
    }
  }

  private async addToAlbum(): Promise<void> {
    const item = this.item;
    if (!item) return;
    const album = await pickAlbum(this.store, [item.id]);
    if (album) this.ctx.notify(`Added to ${this.store.state.albums.find((a) => a.id === album)?.name ?? 'the album'}.`);
    this.element.focus();
  }

  /** Hides or trashes the shown item, then shows the next one (or closes). */
  private async remove(how: 'hide' | 'trash'): Promise<void> {
    const item = this.item;
    if (!item) return;
    const next = (await this.src.step(item, 1)) ?? (await this.src.step(item, -1));
    try {
      await (how === 'hide' ? this.store.hide([item.id]) : this.store.trash([item.id]));
    } catch {
      return;
    }
    this.src.removed?.([item.id]);
    this.ctx.notify(how === 'hide' ? `${item.name} is hidden.` : `${item.name} is in the trash (30 days).`);
    if (this.item !== item || !this.open) return;
    if (next) await this.show(next);
    else this.close();
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
    const albums = this.store.state.albums.filter((a) => a.items.includes(i.id));
    this.info.replaceChildren(
      h('h2', {}, i.name),
      h(
        'dl',
        {},
        row('Taken', h('dd', { testid: 'info-date', 'data-taken': i.taken }, takenLong(i.taken, i.offset) + (i.takenFrom === 'mtime' ? ' (guessed from the file time)' : ''))),
        cam ? row('Camera', h('dd', { testid: 'info-camera' }, cam)) : [],
        i.gps ? row('Place', h('dd', { testid: 'info-place', 'data-lat': i.gps[0], 'data-lon': i.gps[1] }, `${i.gps[0].toFixed(5)}, ${i.gps[1].toFixed(5)}${i.country ? ` (${i.country})` : ''}`)) : [],
        row('Size', `${bytes(i.size)}${i.w && i.h ? ` · ${i.w} × ${i.h}` : ''}${i.duration ? ` · ${Math.round(i.duration)} s` : ''}`),
        albums.length ? row('Albums', h('dd', { testid: 'info-albums' }, ...albums.map((a) => h('div', {}, h('a', { href: `#/albums/${encodeURIComponent(a.id)}` }, a.name))))) : [],
        i.sources.length ? row('Backed up from', h('dd', {}, ...i.sources.map((s) => h('div', { class: 'mono' }, s.path)))) : [],
      ),
    );
  }
}
