/**
 * @module engine/sync/shared-reads
 * Reading the primary once for all copies: a Backend decorator over the primary that shares
 * ranged reads of `data` files between the copies syncing in parallel. A read already in flight
 * is joined; a finished one is kept in a small LRU (bounded in bytes) for copies a little behind.
 * Copies lacking the same snapshots walk the same trees in the same order, so each blob is
 * fetched from the primary about once however many copies there are.
 */
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../../backend/backend.js';

export interface SharedReadStats {
  /** GETs that went to the primary. */
  fetched: number;
  fetchedBytes: number;
  /** GETs answered from a read in flight or the cache. */
  shared: number;
}

export class SharedReadBackend implements Backend {
  readonly stats: SharedReadStats = { fetched: 0, fetchedBytes: 0, shared: 0 };
  private readonly inflight = new Map<string, Promise<Uint8Array>>();
  private readonly lru = new Map<string, Uint8Array>();
  private lruBytes = 0;

  constructor(
    private readonly inner: Backend,
    private readonly budgetBytes = 64 * 1024 * 1024,
  ) {}

  get location(): string {
    return this.inner.location;
  }

  get connections(): number {
    return this.inner.connections;
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.inner.stat(h, o);
  }

  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    if (h.type !== 'data') return this.inner.get(h, range, o);
    const key = `${h.name}/${range?.offset ?? 0}/${range?.length ?? 'end'}`;
    const hit = this.lru.get(key);
    if (hit) {
      this.stats.shared++;
      this.lru.delete(key); // refresh its place
      this.lru.set(key, hit);
      return Promise.resolve(hit);
    }
    const pending = this.inflight.get(key);
    if (pending) {
      this.stats.shared++;
      return pending;
    }
    const p = this.inner.get(h, range, o).then(
      (data) => {
        this.inflight.delete(key);
        this.stats.fetched++;
        this.stats.fetchedBytes += data.length;
        this.remember(key, data);
        return data;
      },
      (e: unknown) => {
        this.inflight.delete(key);
        throw e;
      },
    );
    this.inflight.set(key, p);
    return p;
  }

  private remember(key: string, data: Uint8Array): void {
    if (data.length > this.budgetBytes / 4) return;
    this.lru.set(key, data);
    this.lruBytes += data.length;
    for (const [k, v] of this.lru) {
      if (this.lruBytes <= this.budgetBytes) break;
      this.lru.delete(k);
      this.lruBytes -= v.length;
    }
  }

  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.inner.put(h, data, o);
  }

  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.inner.delete(h, o);
  }

  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    return this.inner.list(type, o);
  }

  create(o?: CallOpts): Promise<void> {
    return this.inner.create(o);
  }
}
