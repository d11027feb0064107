/**
 * @module repository/locks
 * Repository locks (spec §14): shared for adding and reading, exclusive for deleting.
 *
 * Acquire: load all locks; fail on conflict; write ours; wait briefly; re-check (another client
 * may have raced us), and back out on conflict. Refresh: every 5 minutes write a new lock file and
 * delete the old one. Stale locks are never ignored on acquisition (as restic): `unlock` removes
 * them. A lock file that cannot be read counts as a conflict.
 */
import type { CallOpts } from '../backend/backend.js';
import { CofferError, isCofferError } from '../errors.js';
import { decodeLock, encodeLock } from '../format/lock.js';
import { nowGoTime, toUnixNanos } from '../format/go-time.js';
import type { Id, Lock } from '../format/types.js';
import type { Repository } from './repository.js';

export interface LockOwner {
  readonly hostname: string;
  readonly username: string;
  readonly pid: number;
  readonly uid?: number;
  readonly gid?: number;
}

export const STALE_AFTER_MS = 30 * 60_000;
export const REFRESH_EVERY_MS = 5 * 60_000;

export interface LoadedLock {
  readonly id: Id;
  readonly lock: Lock;
}

function conflicts(a: boolean, b: boolean): boolean {
  return a || b;
}

function describeLock(l: Lock, id: Id): string {
  const ms = Number(toUnixNanos(l.time) / 1_000_000n);
  const age = Math.max(0, Math.round((Date.now() - ms) / 60_000));
  return `${l.exclusive ? 'an exclusive' : 'a shared'} lock (${id.slice(0, 8)}) held by PID ${l.pid} on ${l.hostname} by ${l.username}, created ${age} min ago`;
}

/** Loads every lock; unreadable ones are reported with `lock` undefined. */
export async function loadLocks(repo: Repository, o?: CallOpts): Promise<{ id: Id; lock?: Lock; error?: unknown }[]> {
  const out: { id: Id; lock?: Lock; error?: unknown }[] = [];
  for (const id of await repo.listIds('locks', o)) {
    try {
      const json = await repo.loadUnpacked('locks', id, o);
      out.push({ id, lock: decodeLock(json, `locks/${id}`) });
    } catch (e) {
      if (isCofferError(e, 'not-found')) continue; // removed meanwhile
      out.push({ id, error: e });
    }
  }
  return out;
}

/** Whether a lock is stale: older than 30 minutes, or from this host with a dead process. */
export function isStale(l: Lock, hostname: string, processAlive: (pid: number) => boolean): boolean {
  const ms = Number(toUnixNanos(l.time) / 1_000_000n);
  if (Date.now() - ms > STALE_AFTER_MS) return true;
  return l.hostname === hostname && !processAlive(l.pid);
}

export class RepositoryLock {
  private timer: ReturnType<typeof setInterval> | undefined;
  private refreshing: Promise<void> = Promise.resolve();
  private released = false;

  private constructor(
    private readonly repo: Repository,
    private id: Id,
    private readonly lock: Omit<Lock, 'time'>,
  ) {}

  static async acquire(repo: Repository, exclusive: boolean, owner: LockOwner, o?: CallOpts & { settleMs?: number; onWritten?: () => void }): Promise<RepositoryLock> {
    await RepositoryLock.checkConflicts(repo, exclusive, undefined, o);
    const lock: Omit<Lock, 'time'> = { exclusive, ...owner };
    const id = await repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), ...lock }), o);
    // The settle wait is idle time: a caller may start its reads now (backup loads the index).
    o?.onWritten?.();
    const held = new RepositoryLock(repo, id, lock);
    try {
      await new Promise((r) => setTimeout(r, o?.settleMs ?? 200));
      await RepositoryLock.checkConflicts(repo, exclusive, id, o);
    } catch (e) {
      await held.release();
      throw e;
    }
    held.timer = setInterval(() => {
      held.refreshing = held.refresh().catch(() => undefined);
    }, REFRESH_EVERY_MS);
    // A lock must not keep the process alive by itself.
    (held.timer as { unref?: () => void }).unref?.();
    return held;
  }

  private static async checkConflicts(repo: Repository, exclusive: boolean, own: Id | undefined, o?: CallOpts): Promise<void> {
    for (const { id, lock, error } of await loadLocks(repo, o)) {
      if (id === own) continue;
      if (!lock) {
        throw new CofferError('locked', `repository is locked: lock file locks/${id} cannot be read (${(error as Error)?.message ?? error}); if no other client runs, remove it with "unlock --remove-all"`);
      }
      if (conflicts(exclusive, lock.exclusive)) {
        throw new CofferError('locked', `repository is already locked: ${describeLock(lock, id)}; if that client is gone, run "unlock"`, {
          data: { lockId: id },
        });
      }
    }
  }

  /** Writes a fresh lock file, then deletes the previous one (spec §14.2). */
  async refresh(o?: CallOpts): Promise<void> {
    if (this.released) return;
    const old = this.id;
    this.id = await this.repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), ...this.lock }), o);
    await this.repo.backend.delete({ type: 'locks', name: old }, o).catch(() => undefined);
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.repo.backend.delete({ type: 'locks', name: this.id }).catch((e) => {
      if (!isCofferError(e, 'not-found')) throw e;
    });
  }

  /**
   * Releases the lock for work that is already done (a backup whose snapshot is written): a
   * refused removal does not undo that work, so it comes back as a warning line, not an error
   * (restic only warns there too). The lock file stays until it is stale and "unlock" removes it.
   */
  async releaseOrWarn(): Promise<string | undefined> {
    const id = this.id;
    try {
      await this.release();
      return undefined;
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      return `could not remove the lock locks/${id.slice(0, 8)} (${why}); it stays until "unlock" removes it (once stale, after ${STALE_AFTER_MS / 60_000} min)`;
    }
  }
}

/** Removes stale locks (or all with `all`); returns the removed IDs. */
export async function removeLocks(
  repo: Repository,
  opts: { all: boolean; hostname: string; processAlive: (pid: number) => boolean },
  o?: CallOpts,
): Promise<Id[]> {
  const removed: Id[] = [];
  for (const { id, lock } of await loadLocks(repo, o)) {
    if (opts.all || (lock && isStale(lock, opts.hostname, opts.processAlive))) {
      await repo.backend.delete({ type: 'locks', name: id }, o);
      removed.push(id);
    }
  }
  return removed;
}
