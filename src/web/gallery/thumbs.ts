/**
 * @module web/gallery/thumbs
 * Thumbnails for the cells on screen (design web-gallery.md §4): requested in view order, a few
 * at a time; a request still queued when its cell has left the screen is dropped before it
 * reaches the worker. Decoded images are kept as blob URLs in an LRU (revoked on eviction), so
 * scrolling back costs nothing. ThumbHash placeholders are painted meanwhile.
 */
import { fromBase64 } from '../../core/bytes.js';
import { thumbHashToRGBA } from '../../core/gallery/thumbhash.js';

const PARALLEL = 6;
const KEEP = 600;

export class ThumbLoader {
  private readonly urls = new Map<string, string>();
  private readonly queue: string[] = [];
  private readonly waiters = new Map<string, ((url: string | undefined) => void)[]>();
  private running = 0;
  /** Requests sent to the worker (tests and benchmarks read it). */
  requested = 0;

  constructor(
    private readonly fetch: (id: string) => Promise<ArrayBuffer>,
    /** Whether the cell of `id` is still on screen. */
    private readonly wanted: (id: string) => boolean,
  ) {}

  /** The cached URL, if any (and marks it recently used). */
  cached(id: string): string | undefined {
    const u = this.urls.get(id);
    if (u) {
      this.urls.delete(id);
      this.urls.set(id, u);
    }
    return u;
  }

  /** Resolves with a blob URL, or undefined when the request was dropped or failed. */
  get(id: string): Promise<string | undefined> {
    const hit = this.cached(id);
    if (hit) return Promise.resolve(hit);
    return new Promise((resolve) => {
      const w = this.waiters.get(id);
      if (w) w.push(resolve);
      else {
        this.waiters.set(id, [resolve]);
        this.queue.push(id);
      }
      this.pump();
    });
  }

  private settle(id: string, url: string | undefined): void {
    for (const r of this.waiters.get(id) ?? []) r(url);
    this.waiters.delete(id);
  }

  private pump(): void {
    while (this.running < PARALLEL && this.queue.length) {
      const id = this.queue.shift()!;
      if (!this.wanted(id)) {
        this.settle(id, undefined);
        continue;
      }
      this.running++;
      this.requested++;
      this.fetch(id)
        .then((b) => {
          const url = URL.createObjectURL(new Blob([b], { type: 'image/webp' }));
          this.urls.set(id, url);
          while (this.urls.size > KEEP) {
            const [old, u] = this.urls.entries().next().value!;
            this.urls.delete(old);
            URL.revokeObjectURL(u);
          }
          this.settle(id, url);
        })
        .catch(() => this.settle(id, undefined))
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }

  dispose(): void {
    this.queue.length = 0;
    for (const id of [...this.waiters.keys()]) this.settle(id, undefined);
    for (const u of this.urls.values()) URL.revokeObjectURL(u);
    this.urls.clear();
  }
}

const hashes = new Map<string, string>();

/** A ThumbHash as a small PNG data URL (a CSS background while the thumbnail loads). */
export function hashUrl(hash: string | null): string | undefined {
  if (!hash) return undefined;
  let u = hashes.get(hash);
  if (u) return u;
  try {
    const img = thumbHashToRGBA(fromBase64(hash));
    const c = document.createElement('canvas');
    c.width = img.w;
    c.height = img.h;
    c.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.rgba), img.w, img.h), 0, 0);
    u = c.toDataURL();
  } catch {
    return undefined;
  }
  if (hashes.size > 2000) hashes.clear();
  hashes.set(hash, u);
  return u;
}
