/**
 * The concurrency limit and the per-call deadlines, alone and composed with retries as
 * openBackend composes them.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../../src/core/backend/backend.js';
import { withConcurrencyLimit } from '../../src/core/backend/limit.js';
import { MemBackend } from '../../src/core/backend/mem.js';
import { withRetry } from '../../src/core/backend/retry.js';
import { withTimeouts } from '../../src/core/backend/timeout.js';
import { isCofferError } from '../../src/core/errors.js';

const H = (n: number): Handle => ({ type: 'data', name: n.toString(16).padStart(64, '0') });

/** Delays every call by `delay(callNumber)` ms and counts calls in flight. Honours the signal when `abortable`. */
class SlowBackend implements Backend {
  inFlight = 0;
  maxInFlight = 0;
  calls = 0;
  aborted = 0;
  constructor(
    readonly inner: Backend,
    readonly delay: (call: number) => number,
    readonly abortable = true,
  ) {}
  get location(): string {
    return this.inner.location;
  }
  get connections(): number {
    return 3;
  }
  private async slow<T>(o: CallOpts | undefined, fn: () => Promise<T>): Promise<T> {
    const ms = this.delay(this.calls++);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(resolve, ms);
        if (this.abortable) {
          o?.signal?.addEventListener('abort', () => {
            clearTimeout(t);
            this.aborted++;
            reject(new Error('aborted by signal'));
          });
        }
      });
      return await fn();
    } finally {
      this.inFlight--;
    }
  }
  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.slow(o, () => this.inner.stat(h));
  }
  get(h: Handle, r?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.slow(o, () => this.inner.get(h, r));
  }
  put(h: Handle, d: Uint8Array, o?: CallOpts): Promise<void> {
    return this.slow(o, () => this.inner.put(h, d));
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.slow(o, () => this.inner.delete(h));
  }
  create(o?: CallOpts): Promise<void> {
    return this.slow(o, () => this.inner.create());
  }
  async *list(t: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    for await (const fi of this.inner.list(t)) {
      yield await this.slow(o, async () => fi);
    }
  }
}

describe('concurrency limit', () => {
  it('never runs more than `connections` calls at once, and runs them all', async () => {
    const slow = new SlowBackend(new MemBackend(), () => 5);
    const b = withConcurrencyLimit(slow);
    assert.equal(b.connections, 3);
    await Promise.all(Array.from({ length: 20 }, (_, i) => b.put(H(i), new Uint8Array([i]))));
    assert.equal(slow.maxInFlight, 3);
    const got = await Promise.all(Array.from({ length: 20 }, (_, i) => b.get(H(i))));
    assert.deepEqual(got.map((g) => g[0]), Array.from({ length: 20 }, (_, i) => i));
    assert.equal(slow.maxInFlight, 3);
  });

  it('releases the slot of a failed call', async () => {
    const b = withConcurrencyLimit(new MemBackend({ connections: 1 }));
    await assert.rejects(b.get(H(1)), (e) => isCofferError(e, 'not-found'));
    await b.put(H(1), new Uint8Array([7]));
    assert.deepEqual(await b.get(H(1)), new Uint8Array([7]));
  });

  it('lets a caller load files while it iterates a listing, even with one slot', async () => {
    const mem = new MemBackend({ connections: 1 });
    for (let i = 0; i < 3; i++) await mem.put(H(i), new Uint8Array([i]));
    const b = withConcurrencyLimit(mem);
    const seen: number[] = [];
    for await (const fi of b.list('data')) seen.push((await b.get({ type: 'data', name: fi.name }))[0]!);
    assert.deepEqual(seen.sort(), [0, 1, 2]);
  });
});

describe('timeouts', () => {
  it('turns a stalled call into a transient error and aborts it', async () => {
    const slow = new SlowBackend(new MemBackend(), () => 10_000);
    const b = withTimeouts(slow, { baseMs: 50, perByteMs: 0 });
    const t0 = Date.now();
    await assert.rejects(b.stat(H(1)), (e) => isCofferError(e, 'transient') && /no answer within/.test(e.message));
    assert.ok(Date.now() - t0 < 2000);
    assert.equal(slow.aborted, 1);
  });

  it('abandons a call that ignores its signal', async () => {
    const slow = new SlowBackend(new MemBackend(), () => 1_000, false);
    const b = withTimeouts(slow, { baseMs: 30, perByteMs: 0 });
    await assert.rejects(b.put(H(1), new Uint8Array(1)), (e) => isCofferError(e, 'transient'));
  });

  it('gives larger transfers more time', async () => {
    const slow = new SlowBackend(new MemBackend(), () => 150);
    const b = withTimeouts(slow, { baseMs: 50, perByteMs: 1 / 1000 }); // +1 ms per kB
    await b.put(H(1), new Uint8Array(200_000)); // 50 + 200 ms allowed
    await assert.rejects(b.put(H(2), new Uint8Array(10)), (e) => isCofferError(e, 'transient'));
  });

  it('reports the caller\'s own cancellation as cancelled, not as a timeout', async () => {
    const slow = new SlowBackend(new MemBackend(), () => 10_000);
    const b = withTimeouts(slow, { baseMs: 5_000, perByteMs: 0 });
    const c = new AbortController();
    setTimeout(() => c.abort(), 20);
    await assert.rejects(b.stat(H(1), { signal: c.signal }), (e) => isCofferError(e, 'cancelled'));
  });

  it('applies an idle deadline to each listing entry', async () => {
    const mem = new MemBackend();
    for (let i = 0; i < 3; i++) await mem.put(H(i), new Uint8Array(1));
    const slow = new SlowBackend(mem, (n) => (n === 2 ? 10_000 : 5));
    const b = withTimeouts(slow, { baseMs: 100, perByteMs: 0 });
    const names: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const fi of b.list('data')) names.push(fi.name);
      })(),
      (e) => isCofferError(e, 'transient'),
    );
    assert.equal(names.length, 2);
  });

  it('composed as openBackend does, a call that stalls once succeeds on retry', async () => {
    const mem = new MemBackend();
    await mem.put(H(1), new Uint8Array([42]));
    const slow = new SlowBackend(mem, (n) => (n === 0 ? 10_000 : 1));
    const retried: string[] = [];
    const b = withRetry(withConcurrencyLimit(withTimeouts(slow, { baseMs: 50, perByteMs: 0 })), {
      retries: 2,
      baseDelayMs: 1,
      maxDelayMs: 1,
      onRetry: (i) => retried.push(i.error.message),
    });
    assert.deepEqual(await b.get(H(1)), new Uint8Array([42]));
    assert.equal(retried.length, 1);
    assert.match(retried[0]!, /no answer within/);
  });
});
