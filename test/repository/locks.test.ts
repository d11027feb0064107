import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8Encode } from '../../src/core/bytes.js';
import { CofferError } from '../../src/core/errors.js';
import { fromUnixNanos, nowGoTime, toUnixNanos } from '../../src/core/format/go-time.js';
import { decodeLock, encodeLock } from '../../src/core/format/lock.js';
import type { Lock } from '../../src/core/format/types.js';
import { isStale, loadLocks, removeLocks, RepositoryLock, STALE_AFTER_MS } from '../../src/core/repository/locks.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { newMemRepo } from '../helpers/mem-repo.js';

const ME = { hostname: 'host-a', username: 'alice', pid: 1111 };
const OTHER = { hostname: 'host-b', username: 'bob', pid: 2222 };
const FAST = { settleMs: 0 };

function locked(e: unknown): boolean {
  assert.ok(e instanceof CofferError, String(e));
  assert.equal(e.code, 'locked', e.message);
  return true;
}

function ago(ms: number) {
  const now = BigInt(Date.now()) * 1_000_000n;
  return fromUnixNanos(now - BigInt(ms) * 1_000_000n, 0);
}

async function writeLock(repo: Repository, l: Partial<Lock> & { exclusive: boolean }): Promise<string> {
  return repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), ...OTHER, ...l }));
}

async function lockIds(repo: Repository): Promise<string[]> {
  return (await repo.listIds('locks')).sort();
}

test('shared + shared is fine; both lock files exist until released', async () => {
  const { repo } = await newMemRepo();
  const a = await RepositoryLock.acquire(repo, false, ME, FAST);
  const b = await RepositoryLock.acquire(repo, false, OTHER, FAST);
  assert.equal((await lockIds(repo)).length, 2);
  await a.release();
  await b.release();
  assert.deepEqual(await lockIds(repo), []);
  await a.release(); // twice is harmless
});

test('shared vs exclusive, exclusive vs anything → locked', async () => {
  const { repo } = await newMemRepo();
  const shared = await RepositoryLock.acquire(repo, false, ME, FAST);
  await assert.rejects(RepositoryLock.acquire(repo, true, OTHER, FAST), locked);
  assert.equal((await lockIds(repo)).length, 1, 'the refused client leaves no lock file');
  await shared.release();

  const excl = await RepositoryLock.acquire(repo, true, ME, FAST);
  await assert.rejects(RepositoryLock.acquire(repo, false, OTHER, FAST), locked);
  await assert.rejects(RepositoryLock.acquire(repo, true, OTHER, FAST), locked);
  await excl.release();
  const again = await RepositoryLock.acquire(repo, true, OTHER, FAST);
  await again.release();
});

test('the locked error describes the holder and carries its ID', async () => {
  const { repo } = await newMemRepo();
  const id = await writeLock(repo, { exclusive: true });
  await assert.rejects(RepositoryLock.acquire(repo, false, ME, FAST), (e: unknown) => {
    locked(e);
    const ce = e as CofferError;
    assert.equal(ce.data?.lockId, id);
    assert.match(ce.message, /exclusive/);
    assert.match(ce.message, /host-b/);
    assert.match(ce.message, /2222/);
    return true;
  });
});

test('a stale lock still blocks acquisition (restic), until unlock removes it', async () => {
  const { repo } = await newMemRepo();
  await writeLock(repo, { exclusive: true, time: ago(STALE_AFTER_MS + 60_000) });
  await assert.rejects(RepositoryLock.acquire(repo, false, ME, FAST), locked);
  const removed = await removeLocks(repo, { all: false, hostname: ME.hostname, processAlive: () => true });
  assert.equal(removed.length, 1);
  await (await RepositoryLock.acquire(repo, false, ME, FAST)).release();
});

test('a racing client that appears during the settle time makes acquire back out', async () => {
  const { backend, repo } = await newMemRepo();
  // The rival's lock lands right after ours (after our first check, before the re-check).
  const put = backend.put.bind(backend);
  let fired = false;
  let theirs = '';
  backend.put = async (h, d, o) => {
    await put(h, d, o);
    if (h.type === 'locks' && !fired) {
      fired = true;
      theirs = await writeLock(repo, { exclusive: false });
    }
  };
  await assert.rejects(RepositoryLock.acquire(repo, true, ME, FAST), locked);
  backend.put = put;
  assert.ok(theirs);
  assert.deepEqual(await lockIds(repo), [theirs], 'our own lock file was removed');
});

test('an unreadable lock file counts as a conflict', async () => {
  const { backend, repo } = await newMemRepo();
  const id = await writeLock(repo, { exclusive: false });
  const bytes = new Uint8Array(await backend.get({ type: 'locks', name: id }));
  bytes[40] ^= 1;
  backend.corrupt({ type: 'locks', name: id }, bytes);
  await assert.rejects(RepositoryLock.acquire(repo, false, ME, FAST), locked);
  const loaded = await loadLocks(repo);
  assert.equal(loaded.length, 1);
  assert.equal(loaded[0]!.lock, undefined);
  assert.ok(loaded[0]!.error);
  // Not stale (unknown), so only --remove-all removes it.
  assert.deepEqual(await removeLocks(repo, { all: false, hostname: 'x', processAlive: () => false }), []);
  assert.deepEqual(await removeLocks(repo, { all: true, hostname: 'x', processAlive: () => true }), [id]);
});

test('isStale: age over 30 minutes, or same host with a dead process', () => {
  const base = { exclusive: false, hostname: 'h', username: 'u', pid: 42 };
  const alive = () => true;
  const dead = () => false;
  assert.equal(isStale({ ...base, time: ago(1000) }, 'h', alive), false);
  assert.equal(isStale({ ...base, time: ago(1000) }, 'h', dead), true);
  assert.equal(isStale({ ...base, time: ago(1000) }, 'other', dead), false, 'a dead PID on another host proves nothing');
  assert.equal(isStale({ ...base, time: ago(STALE_AFTER_MS + 1000) }, 'other', alive), true);
  assert.equal(isStale({ ...base, time: ago(STALE_AFTER_MS - 60_000) }, 'other', alive), false);
  let asked = -1;
  isStale({ ...base, time: ago(0) }, 'h', (pid) => ((asked = pid), true));
  assert.equal(asked, 42);
});

test('removeLocks removes only stale locks unless all', async () => {
  const { repo } = await newMemRepo();
  const old = await writeLock(repo, { exclusive: false, time: ago(STALE_AFTER_MS * 2) });
  const deadHere = await writeLock(repo, { exclusive: false, hostname: 'here', pid: 9 });
  const liveHere = await writeLock(repo, { exclusive: false, hostname: 'here', pid: 10 });
  const otherHost = await writeLock(repo, { exclusive: true, hostname: 'there', pid: 9 });
  const removed = await removeLocks(repo, { all: false, hostname: 'here', processAlive: (pid) => pid === 10 });
  assert.deepEqual(removed.sort(), [old, deadHere].sort());
  assert.deepEqual(await lockIds(repo), [liveHere, otherHost].sort());
  const all = await removeLocks(repo, { all: true, hostname: 'here', processAlive: () => true });
  assert.equal(all.length, 2);
  assert.deepEqual(await lockIds(repo), []);
});

test('refresh writes a new lock file with a newer time and deletes the old one', async () => {
  const { repo } = await newMemRepo();
  const l = await RepositoryLock.acquire(repo, true, { ...ME, uid: 1000, gid: 100 }, FAST);
  const [before] = await lockIds(repo);
  const lock1 = decodeLock(await repo.loadUnpacked('locks', before!), 'l');
  await new Promise((r) => setTimeout(r, 5));
  await l.refresh();
  const after = await lockIds(repo);
  assert.equal(after.length, 1);
  assert.notEqual(after[0], before);
  const lock2 = decodeLock(await repo.loadUnpacked('locks', after[0]!), 'l');
  assert.ok(toUnixNanos(lock2.time) > toUnixNanos(lock1.time));
  assert.deepEqual({ ...lock2, time: null }, { ...lock1, time: null });
  assert.equal(lock2.exclusive, true);
  assert.equal(lock2.uid, 1000);
  // Still exclusive after the refresh.
  await assert.rejects(RepositoryLock.acquire(repo, false, OTHER, FAST), locked);
  await l.release();
  assert.deepEqual(await lockIds(repo), []);
  await l.refresh(); // after release: writes nothing
  assert.deepEqual(await lockIds(repo), []);
});

test('lock JSON round trip', () => {
  const l: Lock = { time: nowGoTime(), exclusive: true, hostname: 'h"x', username: 'ü', pid: 7, uid: 3 };
  const back = decodeLock(encodeLock(l), 'l');
  assert.deepEqual(back, l);
  assert.deepEqual(decodeLock(utf8Encode('{"exclusive":false,"hostname":"a","username":"b","pid":1}'), 'l').exclusive, false);
});
