/**
 * @module web/worker/open-pool
 * The session worker's openers: a few nested dedicated workers (opener.ts) that fetch and open
 * a download's reads in parallel, so fetching, the MAC, AES-CTR and SHA-256 of a big file no
 * longer share one thread. Each read goes to the opener with the fewest bytes in flight; the
 * session worker awaits the reads in file order, so the bytes still come out in order, and
 * reads run ahead only as far as fileBlobs allows (bounded memory). Opened blobs come back as
 * transferred buffers, never copied.
 *
 * Keys (design web-gallery.md §1): the openers are the session worker's own children, the same
 * trust level. Each gets the master key's three parts once, in memory only (no password, no key
 * ID, nothing stored); `close()` terminates them when the session is replaced, and when the
 * page terminates the session worker (Lock, idle lock, closing the tab) the browser ends its
 * nested workers with it, keys included.
 */
import { CofferError, type ErrorCode } from '../../core/errors.js';
import type { CryptoKey as MasterKey, RepoConfig } from '../../core/format/types.js';
import type { PackRead } from './open-group.js';

/** To an opener: first `init`, then jobs. */
export type OpenerMessage = { init: { key: MasterKey; config: RepoConfig; repo: string } } | { id: number; read: PackRead };
export type OpenerReply = { id: number; blobs: ArrayBuffer[] } | { id: number; error: { code: string; message: string; coffer: boolean } };

/** The pool itself failed (an opener did not start or crashed): open inline instead. */
export class PoolDown extends Error {}

/** 2 openers, or one per core up to 4. */
export function poolSize(): number {
  const n = (globalThis.navigator as { hardwareConcurrency?: number } | undefined)?.hardwareConcurrency ?? 2;
  return Math.min(4, Math.max(2, n));
}

export class OpenPool {
  private readonly slots: { worker: Worker; load: number }[] = [];
  private readonly waiting = new Map<number, { resolve: (b: Uint8Array[]) => void; reject: (e: unknown) => void; slot: number; length: number }>();
  private nextId = 1;
  private down: Error | undefined;

  /** Undefined where workers cannot start workers (the caller opens inline). */
  static start(init: { key: MasterKey; config: RepoConfig; repo: string }, size = poolSize()): OpenPool | undefined {
    if (typeof Worker !== 'function') return undefined;
    try {
      return new OpenPool(init, size);
    } catch {
      return undefined;
    }
  }

  private constructor(init: { key: MasterKey; config: RepoConfig; repo: string }, size: number) {
    for (let i = 0; i < size; i++) {
      const worker = new Worker(new URL('./opener.js', import.meta.url), { type: 'module', name: `coffer-opener-${i + 1}` });
      worker.onmessage = (e: MessageEvent<OpenerReply>) => this.reply(e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.fail(new PoolDown(`opener ${i + 1} failed: ${e.message || 'did not start'}`));
      };
      worker.onmessageerror = () => this.fail(new PoolDown(`opener ${i + 1}: a message could not be read`));
      // A copy of the key, for this opener's memory only.
      worker.postMessage({ init } satisfies OpenerMessage);
      this.slots.push({ worker, load: 0 });
    }
  }

  get size(): number {
    return this.slots.length;
  }

  open(read: PackRead): Promise<Uint8Array[]> {
    if (this.down) return Promise.reject(this.down);
    let slot = 0;
    for (let i = 1; i < this.slots.length; i++) if (this.slots[i]!.load < this.slots[slot]!.load) slot = i;
    const id = this.nextId++;
    this.slots[slot]!.load += read.length;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot, length: read.length });
      this.slots[slot]!.worker.postMessage({ id, read } satisfies OpenerMessage);
    });
  }

  private reply(m: OpenerReply): void {
    const w = this.waiting.get(m.id);
    if (!w) return;
    this.waiting.delete(m.id);
    this.slots[w.slot]!.load -= w.length;
    if ('blobs' in m) w.resolve(m.blobs.map((b) => new Uint8Array(b)));
    else w.reject(m.error.coffer ? new CofferError(m.error.code as ErrorCode, m.error.message) : new Error(m.error.message));
  }

  private fail(e: Error): void {
    if (this.down) return;
    this.down = e;
    this.stop(e);
  }

  /** Ends every opener (and the key copies with them); reads still waiting fail. */
  close(): void {
    this.down ??= new PoolDown('the session ended');
    this.stop(new Error('the session ended')); // not a CofferError: no retry through the loader
  }

  private stop(e: Error): void {
    for (const s of this.slots) s.worker.terminate();
    for (const w of this.waiting.values()) w.reject(e);
    this.waiting.clear();
  }
}
