/**
 * @module engine/sync/purge
 * Removing from a copy what its policy no longer admits, on the user's explicit request (a
 * policy change never deletes by itself). "Not even as ciphertext" is the promise of
 * `--exclude-tag private`, so after forgetting those snapshots the copy is pruned with no unused
 * space allowed: every blob only they used is gone, in whole packs or repacked away.
 * Blobs an admitted snapshot also uses stay (they belong to that snapshot too).
 */
import type { Id } from '../../format/types.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import { prune, type PruneResult } from '../prune/prune.js';
import { excludedSnapshots, type SyncPolicy } from './sync.js';

export interface PurgeOptions {
  readonly owner: LockOwner;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  readonly onStage?: (message: string) => void;
}

export interface PurgeResult {
  readonly removed: readonly SnapshotEntry[];
  /** Absent in a dry run or when nothing was removed. */
  readonly prune?: PruneResult;
}

/** Forgets the copy's snapshots that `policy` does not admit, then prunes with no unused space left. */
export async function purgeExcluded(copy: Repository, policy: SyncPolicy, o: PurgeOptions): Promise<PurgeResult> {
  const co = o.signal ? { signal: o.signal } : {};
  const lock = await RepositoryLock.acquire(copy, true, o.owner, co);
  try {
    const removed = excludedSnapshots(await loadSnapshots(copy, co), policy);
    if (o.dryRun || removed.length === 0) return { removed };
    // Snapshot files first: a crash after this leaves unused blobs, which the next purge or prune removes.
    for (const e of removed) await copy.backend.delete({ type: 'snapshots', name: e.id as Id }, co);
    const result = await prune(copy, { maxUnused: { bytes: 0 }, ...(o.signal ? { signal: o.signal } : {}), ...(o.onStage ? { onStage: o.onStage } : {}) });
    return { removed, prune: result };
  } finally {
    await lock.release();
  }
}
