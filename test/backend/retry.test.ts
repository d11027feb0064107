import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { MemBackend } from '../../src/core/backend/mem.js';
import { backoffDelay, withRetry } from '../../src/core/backend/retry.js';
import type { Backend, FileInfo, Handle } from '../../src/core/backend/backend.js';
import { CofferError, isCofferError, type ErrorCode } from '../../src/core/errors.js';

const H: Handle = { type: 'snapshots', name: 'a'.repeat(64) };

/** Fails the first `n` calls of every method with `code`, then delegates. */
function flaky(inner: Backend, n: number, code: ErrorCode): Backend & { calls: number } {
  let left = n;
  const fail = (): void => {
    w.calls++;
    if (left > 0) {
      left--;
      throw new CofferError(code, 'boom');
    }
  };
  const w = {
    calls: 0,
    location: inner.location,
    connections: inner.connections,
    stat: async (h: Handle) => (fail(), inner.stat(h)),
    get: async (h: Handle, r?: any) => (fail(), inner.get(h, r)),
    put: async (h: Handle, d: Uint8Array) => (fail(), inner.put(h, d)),
    delete: async (h: Handle) => (fail(), inner.delete(h)),
    create: async () => (fail(), inner.create()),
    async *list(t: any): AsyncIterable<FileInfo> {
      let i = 0;
      for await (const fi of inner.list(t)) {
        if (i++ === 1) fail(); // fail part way through a listing
        yield fi;
      }
    },
  };
  return w;
}

const fast = { retries: 3, baseDelayMs: 1, maxDelayMs: 4 };

describe('withRetry', () => {
  it('retries transient failures until success', async () => {
    const mem = new MemBackend();
    await mem.put(H, new Uint8Array([1, 2, 3]));
    const f = flaky(mem, 2, 'transient');
    const seen: number[] = [];
    const b = withRetry(f, { ...fast, onRetry: (i) => seen.push(i.attempt) });
    assert.deepEqual(await b.get(H), new Uint8Array([1, 2, 3]));
    assert.equal(f.calls, 3);
    assert.deepEqual(seen, [1, 2]);
  });

  it('gives up after the configured retries', async () => {
    const f = flaky(new MemBackend(), 10, 'transient');
    await assert.rejects(withRetry(f, fast).stat(H), (e) => isCofferError(e, 'transient'));
    assert.equal(f.calls, 4);
  });

  it('does not retry permanent errors', async () => {
    for (const code of ['not-found', 'permission', 'range', 'no-space'] as const) {
      const f = flaky(new MemBackend(), 1, code);
      await assert.rejects(withRetry(f, fast).stat(H), (e) => isCofferError(e, code));
      assert.equal(f.calls, 1, code);
    }
  });

  it('restarts a failed listing without repeating names', async () => {
    const mem = new MemBackend();
    const names = ['1', '2', '3', '4'].map((c) => c.repeat(64));
    for (const n of names) await mem.put({ type: 'index', name: n }, new Uint8Array(1));
    const f = flaky(mem, 1, 'transient');
    const got: string[] = [];
    for await (const fi of withRetry(f, fast).list('index')) got.push(fi.name);
    assert.deepEqual(got.sort(), names);
  });

  it('stops waiting when the signal fires', async () => {
    const f = flaky(new MemBackend(), 10, 'transient');
    const ac = new AbortController();
    const b = withRetry(f, { retries: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 });
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(b.stat(H, { signal: ac.signal }), (e) => isCofferError(e, 'cancelled'));
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(f.calls, 1);
  });

  it('backs off exponentially with bounded jitter', () => {
    const o = { baseDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(backoffDelay(0, { ...o, random: () => 1 }), 100);
    assert.equal(backoffDelay(0, { ...o, random: () => 0 }), 50);
    assert.equal(backoffDelay(2, { ...o, random: () => 1 }), 400);
    assert.equal(backoffDelay(10, { ...o, random: () => 1 }), 1000);
    assert.equal(backoffDelay(1000, { ...o, random: () => 0.5 }), 750);
  });

  it('passes location and connections through', () => {
    const b = withRetry(new MemBackend({ location: 'mem:x', connections: 7 }), fast);
    assert.equal(b.location, 'mem:x');
    assert.equal(b.connections, 7);
  });
});
