/**
 * @module backend/limit
 * A Backend decorator that bounds how many calls run at once (restic's semaphore backend): a
 * server or a link is never asked for more parallel transfers than the backend says it serves
 * well (`connections`). Listing passes through: it is one sequential stream, and a caller may
 * well load files while it iterates, which must not wait for its own listing's slot.
 */
import { Semaphore } from '../async.js';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';

export function withConcurrencyLimit(backend: Backend, limit = backend.connections): Backend {
  return new LimitBackend(backend, Math.max(1, limit));
}

class LimitBackend implements Backend {
  private readonly slots: Semaphore;

  constructor(
    private readonly inner: Backend,
    readonly limit: number,
  ) {
    this.slots = new Semaphore(limit);
  }

  get location(): string {
    return this.inner.location;
  }
  get connections(): number {
    return this.limit;
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.run(() => this.inner.stat(h, o));
  }
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.run(() => this.inner.get(h, range, o));
  }
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.run(() => this.inner.put(h, data, o));
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.run(() => this.inner.delete(h, o));
  }
  create(o?: CallOpts): Promise<void> {
    return this.run(() => this.inner.create(o));
  }
  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    return this.inner.list(type, o);
  }
  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : Promise.resolve();
  }

  private run<T>(fn: () => Promise<T>): Promise<T> {
    return this.slots.run(fn);
  }
}
