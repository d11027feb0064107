/** The fault injector itself: seeded, each kind does what it says, hangs honour AbortSignal. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemBackend } from '../../src/core/backend/mem.js';
import { withTimeouts } from '../../src/core/backend/timeout.js';
import { isCofferError } from '../../src/core/errors.js';
import { FaultyBackend, type FaultKind } from '../helpers/faulty-backend.js';

const H = { type: 'data' as const, name: 'ab'.repeat(32) };
const BYTES = Uint8Array.from({ length: 1000 }, (_, i) => i & 0xff);

async function mem(): Promise<MemBackend> {
  const m = new MemBackend();
  await m.put(H, BYTES);
  return m;
}

async function outcomes(seed: number, rates: Partial<Record<FaultKind, number>>, n = 200): Promise<string[]> {
  const f = new FaultyBackend(await mem(), { seed, rates, slowMs: 1, hangMs: 5 });
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const d = await f.get(H, { offset: 100, length: 500 });
      out.push(d.length !== 500 ? `short ${d.length}` : Buffer.from(d).equals(Buffer.from(BYTES.subarray(100, 600))) ? 'ok' : 'flipped');
    } catch (e) {
      out.push(isCofferError(e) ? e.code : 'other');
    }
  }
  return out;
}

test('a seed replays the same faults; another seed gives others', async () => {
  const rates = { transient: 0.1, corrupt: 0.1, shortRead: 0.1 };
  const a = await outcomes(1, rates);
  assert.deepEqual(await outcomes(1, rates), a);
  assert.notDeepEqual(await outcomes(2, rates), a);
  for (const k of ['ok', 'transient', 'flipped']) assert.ok(a.includes(k), k);
  assert.ok(a.some((x) => x.startsWith('short ')));
});

test('corrupt flips exactly one bit; short reads return a strict prefix; truncate cuts whole-file reads', async () => {
  const f = new FaultyBackend(await mem(), { seed: 3, rates: { corrupt: 1 } });
  const d = await f.get(H);
  let bits = 0;
  for (let i = 0; i < d.length; i++) for (let x = d[i]! ^ BYTES[i]!; x; x &= x - 1) bits++;
  assert.equal(bits, 1);
  const s = new FaultyBackend(await mem(), { seed: 3, rates: { shortRead: 1 } });
  const part = await s.get(H, { offset: 10, length: 300 });
  assert.ok(part.length < 300);
  assert.deepEqual(part, BYTES.slice(10, 10 + part.length));
  const t = new FaultyBackend(await mem(), { seed: 3, rates: { truncate: 1 } });
  assert.ok((await t.get(H)).length < BYTES.length);
});

test('a lost reply stores the file, then fails transient; a permanent fault sticks to its handle until disabled', async () => {
  const m = new MemBackend();
  const f = new FaultyBackend(m, { seed: 1, rates: { lostReply: 1 } });
  await assert.rejects(f.put(H, BYTES), (e) => isCofferError(e, 'transient'));
  assert.deepEqual(await m.get(H), BYTES);
  const p = new FaultyBackend(await mem(), { seed: 1, rates: { permanent: 1 } });
  await assert.rejects(p.get(H), (e) => isCofferError(e, 'permission'));
  (p as unknown as { opts: { rates: object } }).opts.rates = {};
  await assert.rejects(p.stat(H), (e) => isCofferError(e, 'permission'), 'still dead with no more faults drawn');
  p.enabled = false;
  assert.equal((await p.stat(H)).size, BYTES.length);
});

test('a hang ends when the AbortSignal fires (the timeout layer turns it into a transient error)', async () => {
  const f = new FaultyBackend(await mem(), { seed: 1, rates: { hang: 1 }, hangMs: 60_000 });
  const t0 = Date.now();
  await assert.rejects(withTimeouts(f, { baseMs: 50, perByteMs: 0 }).get(H), (e) => isCofferError(e, 'transient'));
  assert.ok(Date.now() - t0 < 5000);
  assert.equal(f.hangsAborted, 1);
  const ac = new AbortController();
  const p = f.stat(H, { signal: ac.signal });
  ac.abort();
  await assert.rejects(p, (e) => isCofferError(e, 'cancelled'));
  assert.equal(f.hangsAborted, 2);
});

test('a broken listing fails transient part way; types, ops and match limit where faults go', async () => {
  const m = await mem();
  for (let i = 0; i < 10; i++) await m.put({ type: 'snapshots', name: String(i).padStart(64, '0') }, new Uint8Array([i]));
  const f = new FaultyBackend(m, { seed: 5, rates: { listBreak: 1 } });
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const x of f.list('snapshots')) seen.push(x.name);
    })(),
    (e) => isCofferError(e, 'transient'),
  );
  assert.ok(seen.length < 10);
  const only = new FaultyBackend(m, { seed: 5, rates: { transient: 1 }, types: ['snapshots'], ops: ['get'] });
  assert.equal((await only.get(H)).length, BYTES.length);
  assert.equal((await only.stat({ type: 'snapshots', name: '0'.repeat(64) })).size, 1);
  await assert.rejects(only.get({ type: 'snapshots', name: '0'.repeat(64) }), (e) => isCofferError(e, 'transient'));
  const matched = new FaultyBackend(m, { seed: 5, rates: { transient: 1 }, match: (h) => h.name !== H.name });
  assert.equal((await matched.get(H)).length, BYTES.length);
});
