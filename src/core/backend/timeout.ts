/**
 * @module backend/timeout
 * A Backend decorator that gives every call a deadline, so a stalled connection (a server that
 * accepted the request and went silent, a dead NAT mapping) becomes a 'transient' error that the
 * retry decorator retries, instead of a backup that hangs forever.
 *
 * The deadline grows with the bytes moved (`perByteMs`), so a large pack on a slow uplink is not
 * cut off; listings get an idle deadline per entry instead of one for the whole stream. The inner
 * call is asked to stop through its AbortSignal; a call that ignores the signal is abandoned.
 */
import { CofferError, isCofferError } from '../errors.js';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';
import { describeHandle } from './backend.js';

export interface TimeoutOptions {
  /** Deadline of a call that moves no data, and the base of every other. */
  readonly baseMs: number;
  /** Added per byte read or written (1 / slowest acceptable rate). */
  readonly perByteMs: number;
}

/** Two minutes, plus one second per 64 KiB (a 16 MiB pack may take six more minutes). */
export const DEFAULT_TIMEOUTS: TimeoutOptions = { baseMs: 120_000, perByteMs: 1000 / (64 * 1024) };

export function withTimeouts(backend: Backend, opts: TimeoutOptions = DEFAULT_TIMEOUTS): Backend {
  return new TimeoutBackend(backend, opts);
}

class TimeoutBackend implements Backend {
  constructor(
    private readonly inner: Backend,
    private readonly opts: TimeoutOptions,
  ) {}

  get location(): string {
    return this.inner.location;
  }
  get connections(): number {
    return this.inner.connections;
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.deadline(`stat ${describeHandle(h)}`, 0, o, (c) => this.inner.stat(h, c));
  }
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    // Unknown length (whole file): allow for a full-size pack.
    const bytes = range?.length ?? 16 * 1024 * 1024;
    return this.deadline(`get ${describeHandle(h)}`, bytes, o, (c) => this.inner.get(h, range, c));
  }
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.deadline(`put ${describeHandle(h)}`, data.length, o, (c) => this.inner.put(h, data, c));
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.deadline(`delete ${describeHandle(h)}`, 0, o, (c) => this.inner.delete(h, c));
  }
  create(o?: CallOpts): Promise<void> {
    return this.deadline('create', 0, o, (c) => this.inner.create(c));
  }
  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : Promise.resolve();
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    const { controller, unlink } = linked(o);
    const it = this.inner.list(type, { signal: controller.signal })[Symbol.asyncIterator]();
    try {
      for (;;) {
        const r = await this.race(`list ${type}`, this.opts.baseMs, controller, o, it.next());
        if (r.done) return;
        yield r.value;
      }
    } finally {
      unlink();
      controller.abort();
      void it.return?.()?.catch(() => undefined);
    }
  }

  private deadline<T>(op: string, bytes: number, o: CallOpts | undefined, call: (o: CallOpts) => Promise<T>): Promise<T> {
    const { controller, unlink } = linked(o);
    const ms = Math.round(this.opts.baseMs + bytes * this.opts.perByteMs);
    return this.race(op, ms, controller, o, call({ signal: controller.signal })).finally(() => {
      unlink();
      controller.abort();
    });
  }

  /** Settles with `p`, or rejects 'transient' once `ms` pass (aborting the inner call). */
  private race<T>(op: string, ms: number, controller: AbortController, o: CallOpts | undefined, p: Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
        reject(new CofferError('transient', `${op}: no answer within ${Math.round(ms / 1000)} s`));
      }, ms);
      p.then(
        (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(timer);
          // The inner call saw our own abort: that is the timeout, already reported.
          if (timedOut) return;
          reject(isCofferError(e) || !o?.signal?.aborted ? e : new CofferError('cancelled', 'operation cancelled', { cause: e }));
        },
      );
    });
  }
}

/**
 * A controller that also aborts when the caller's signal does. Linked by hand rather than with
 * AbortSignal.any, whose dependents pile up on a long-lived caller signal in Node 20.
 */
function linked(o: CallOpts | undefined): { controller: AbortController; unlink: () => void } {
  const controller = new AbortController();
  const outer = o?.signal;
  if (!outer) return { controller, unlink: () => undefined };
  if (outer.aborted) controller.abort(outer.reason);
  const onAbort = (): void => controller.abort(outer.reason);
  outer.addEventListener('abort', onAbort, { once: true });
  return { controller, unlink: () => outer.removeEventListener('abort', onAbort) };
}
