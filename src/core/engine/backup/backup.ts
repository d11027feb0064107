/**
 * @module engine/backup/backup
 * One backup run: lock (shared), list snapshots, then load the index (that order avoids racing
 * concurrent writers, spec §20; the index files are read ahead while the lock settles and kept
 * only if the same files are listed then), choose the parent as restic does, archive, flush packs and index,
 * and write the snapshot last. Interrupted at any point, the repository stays valid.
 */
import { CofferError, isCofferError } from '../../errors.js';
import { fromUnixNanos, localOffsetSec, toUnixNanos } from '../../format/go-time.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import type { GoTime, Id, Snapshot, SnapshotSummary } from '../../format/types.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { masterIndexAhead, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { findSnapshot, loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import { Archiver, type ArchiveCounts, type ArchiverEvents, type ArchiverOptions } from './archiver.js';
import type { FileSource } from './source.js';

export const PROGRAM_VERSION = 'coffer 0.1.0';

export interface BackupOptions extends ArchiverOptions {
  readonly targets: readonly string[];
  readonly hostname: string;
  readonly owner: LockOwner;
  readonly tags?: readonly string[];
  readonly excludes?: readonly string[];
  /** Explicit parent snapshot (ID or prefix); otherwise chosen like restic. */
  readonly parent?: string;
  /** Read every file again (no parent). */
  readonly force?: boolean;
  readonly dryRun?: boolean;
  /** Snapshot time (default: now). */
  readonly time?: GoTime;
  readonly events?: ArchiverEvents & { onPhase?(phase: 'index' | 'archive' | 'flush' | 'snapshot'): void };
}

export interface BackupResult {
  /** Undefined for a dry run. */
  readonly snapshotId?: Id;
  readonly snapshot: Snapshot;
  readonly parent?: Id;
  readonly counts: ArchiveCounts;
  readonly summary: SnapshotSummary;
  /** Problems after the snapshot was written that did not undo it (a lock that could not be removed). */
  readonly warnings?: readonly string[];
}

function nowTime(): GoTime {
  const ms = Date.now();
  return fromUnixNanos(BigInt(ms) * 1_000_000n, localOffsetSec(new Date(ms)));
}

/** restic's parent choice: newest snapshot not newer than `time`, same host, same set of paths. */
export function chooseParent(entries: readonly SnapshotEntry[], hostname: string, paths: readonly string[], time: GoTime): SnapshotEntry | undefined {
  const want = [...paths].sort().join('\0');
  const t = toUnixNanos(time);
  let best: SnapshotEntry | undefined;
  for (const e of entries) {
    const s = e.snapshot;
    if ((s.hostname ?? '') !== hostname) continue;
    if ([...s.paths].sort().join('\0') !== want) continue;
    if (toUnixNanos(s.time) > t) continue;
    if (!best || toUnixNanos(s.time) >= toUnixNanos(best.snapshot.time)) best = e;
  }
  return best;
}

export async function backup(repo: Repository, source: FileSource, opts: BackupOptions): Promise<BackupResult> {
  if (opts.targets.length === 0) throw new CofferError('usage', 'nothing to back up: give at least one path');
  const start = opts.time ?? nowTime();
  // Attributes (a getfattr run over the targets, ~0.4 s for 69k files) are read meanwhile too.
  source.prepare?.(opts.targets);
  // The index is read while the lock settles (200 ms of waiting otherwise), from the moment the
  // lock file is written (earlier, its decoding would delay the lock's own I/O); it is used only
  // if the same index files are listed once the lock is held (see IndexReadAhead).
  const indexAhead = masterIndexAhead(repo, opts.signal ? { signal: opts.signal } : undefined);
  const lock = opts.dryRun ? undefined : await RepositoryLock.acquire(repo, false, opts.owner, { ...(opts.signal ? { signal: opts.signal } : {}), onWritten: indexAhead.start });
  let result: BackupResult;
  try {
    const paths = [...new Set(opts.targets.map((t) => source.absolute(t)))];
    const entries = await loadSnapshots(repo);
    opts.events?.onPhase?.('index');
    const index: MasterIndex = await indexAhead.get();
    let parent: SnapshotEntry | undefined;
    if (opts.parent) parent = findSnapshot(entries, opts.parent);
    else if (!opts.force) parent = chooseParent(entries, opts.hostname, paths, start);

    const saver = new BlobSaver(repo, index, { ...(opts.signal ? { signal: opts.signal } : {}), dryRun: opts.dryRun ?? false });
    const archiver = new Archiver(repo, index, saver, source, opts.events, opts);
    opts.events?.onPhase?.('archive');
    let tree: Id;
    try {
      tree = await archiver.archive(opts.targets, parent?.snapshot.tree);
      opts.events?.onPhase?.('flush');
      await saver.flush();
    } catch (e) {
      // Interrupted, or the disk filled up: index what already reached the repository, so the
      // next run reuses it (an index that does not fit either is no loss: packs stay valid).
      if (isCofferError(e, 'cancelled') || isCofferError(e, 'no-space')) await saver.flushUploaded().catch(() => undefined);
      throw e;
    }

    const c = archiver.counts;
    const summary: SnapshotSummary = {
      backupStart: start,
      backupEnd: nowTime(),
      filesNew: c.filesNew,
      filesChanged: c.filesChanged,
      filesUnmodified: c.filesUnmodified,
      dirsNew: c.dirsNew,
      dirsChanged: c.dirsChanged,
      dirsUnmodified: c.dirsUnmodified,
      dataBlobs: saver.stats.dataBlobs,
      treeBlobs: saver.stats.treeBlobs,
      dataAdded: saver.stats.bytesAdded,
      dataAddedPacked: saver.stats.bytesAddedPacked,
      totalFilesProcessed: c.totalFiles,
      totalBytesProcessed: c.totalBytes,
    };
    const snapshot: Snapshot = {
      time: start,
      ...(parent ? { parent: parent.id } : {}),
      tree,
      paths,
      hostname: opts.hostname,
      username: opts.owner.username,
      ...(opts.owner.uid ? { uid: opts.owner.uid } : {}),
      ...(opts.owner.gid ? { gid: opts.owner.gid } : {}),
      ...(opts.excludes?.length ? { excludes: [...opts.excludes] } : {}),
      ...(opts.tags?.length ? { tags: [...opts.tags] } : {}),
      programVersion: PROGRAM_VERSION,
      summary,
    };
    opts.events?.onPhase?.('snapshot');
    const snapshotId = opts.dryRun ? undefined : await repo.saveUnpacked('snapshots', encodeSnapshot(snapshot));
    result = { ...(snapshotId ? { snapshotId } : {}), snapshot, ...(parent ? { parent: parent.id } : {}), counts: c, summary };
  } catch (e) {
    // The run's own error is the one to report, not a lock that could not be removed after it.
    await lock?.release().catch(() => undefined);
    throw e;
  }
  // The snapshot is written: a lock that cannot be removed is a warning, not a failed backup.
  const warning = await lock?.releaseOrWarn();
  return warning ? { ...result, warnings: [warning] } : result;
}
