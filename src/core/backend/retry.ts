/**
 * @module backend/retry
 * A Backend decorator that retries transient failures (CofferError 'transient': network errors,
 * timeouts, 5xx) with exponential backoff and jitter, as restic's RetryBackend does. Every other
 * error is final and passes through at once. Waits end early when the call's AbortSignal fires.
 */
import { CofferError, isCofferError } from '../errors.js';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';
import { describeHandle } from './backend.js';

export interface RetryOptions {
  /** Retries after the first attempt (so at most retries + 1 attempts). */
  readonly retries: number;
  /** Delay before the first retry; doubled for each further one. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Told before each wait, e.g. to print "retrying get data/ab… in 1.2s". */
  readonly onRetry?: (info: { op: string; attempt: number; delayMs: number; error: CofferError }) => void;
  /** Test hook: replaces Math.random for the jitter. */
  readonly random?: () => number;
}

export const DEFAULT_RETRY: RetryOptions = { retries: 10, baseDelayMs: 500, maxDelayMs: 60_000 };

/** Wraps `backend` so transient failures are retried. */
export function withRetry(backend: Backend, opts: RetryOptions = DEFAULT_RETRY): Backend {
  return new RetryBackend(backend, opts);
}

class RetryBackend implements Backend {
  constructor(
    private readonly inner: Backend,
    private readonly opts: RetryOptions,
  ) {}

  get location(): string {
    return this.inner.location;
  }
  get connections(): number {
    return this.inner.connections;
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.retry(`stat ${describeHandle(h)}`, o, () => this.inner.stat(h, o));
  }
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.retry(`get ${describeHandle(h)}`, o, () => this.inner.get(h, range, o));
  }
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.retry(`put ${describeHandle(h)}`, o, () => this.inner.put(h, data, o));
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.retry(`delete ${describeHandle(h)}`, o, () => this.inner.delete(h, o));
  }
  create(o?: CallOpts): Promise<void> {
    return this.retry('create', o, () => this.inner.create(o));
  }
  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : Promise.resolve();
  }

  /**
   * A listing that fails part way is started again; names already yielded are skipped so each
   * file is still reported exactly once.
   */
  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    const seen = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      try {
        for await (const fi of this.inner.list(type, o)) {
          if (seen.has(fi.name)) continue;
          seen.add(fi.name);
          yield fi;
        }
        return;
      } catch (e) {
        await this.beforeRetry(`list ${type}`, attempt, e, o);
      }
    }
  }

  private async retry<T>(op: string, o: CallOpts | undefined, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        await this.beforeRetry(op, attempt, e, o);
      }
    }
  }

  /** Rethrows `e` unless it is transient and retries remain; otherwise waits the backoff delay. */
  private async beforeRetry(op: string, attempt: number, e: unknown, o: CallOpts | undefined): Promise<void> {
    if (!isCofferError(e, 'transient') || attempt >= this.opts.retries || o?.signal?.aborted) throw e;
    const delayMs = backoffDelay(attempt, this.opts);
    this.opts.onRetry?.({ op, attempt: attempt + 1, delayMs, error: e });
    await sleep(delayMs, o?.signal);
  }
}

/** Exponential backoff capped at maxDelayMs, with jitter in [50%, 100%] so clients do not retry in lockstep. */
export function backoffDelay(attempt: number, opts: Pick<RetryOptions, 'baseDelayMs' | 'maxDelayMs' | 'random'>): number {
  const exp = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.min(attempt, 52));
  const r = (opts.random ?? Math.random)();
  return Math.round(exp * (0.5 + 0.5 * r));
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(cancelled(signal));
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(cancelled(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelled(signal: AbortSignal): CofferError {
  return new CofferError('cancelled', 'operation cancelled', { cause: signal.reason });
}
