/**
 * @module engine/copy
 * restic's `copy`: snapshots the destination lacks are copied with every tree and data blob
 * the destination does not have yet. Blobs keep their IDs (plaintext is loaded from the source
 * and stored again with the destination's key and compression), so deduplication across the
 * two repositories needs the same chunker polynomial (`init --from-repo --copy-chunker-params`).
 *
 * Ordering (spec §20): all packs and index files are written (flush) before any snapshot file,
 * so the destination is valid for restic at every instant.
 */
import { forEachLimit } from '../../async.js';
import { CofferError } from '../../errors.js';
import { compareTime } from '../../format/go-time.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { decodeTree } from '../../format/tree.js';
import type { Id, Snapshot } from '../../format/types.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { BlobSaver, type SaverStats } from '../../repository/blob-saver.js';
import type { MasterIndex } from '../../repository/master-index.js';
import { PackCache } from '../../repository/pack-cache.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';

export interface RepoWithIndex {
  readonly repo: Repository;
  readonly index: MasterIndex;
}

/** restic's similarSnapshots: everything but parent and original must match. */
export function similarSnapshots(a: Snapshot, b: Snapshot): boolean {
  if (compareTime(a.time, b.time) !== 0 || a.tree !== b.tree) return false;
  if ((a.hostname ?? '') !== (b.hostname ?? '') || (a.username ?? '') !== (b.username ?? '')) return false;
  if ((a.uid ?? 0) !== (b.uid ?? 0) || (a.gid ?? 0) !== (b.gid ?? 0)) return false;
  const ex = (s: Snapshot) => s.excludes ?? [];
  const tags = (s: Snapshot) => s.tags ?? [];
  if (a.paths.length !== b.paths.length || ex(a).length !== ex(b).length || tags(a).length !== tags(b).length) return false;
  if (!b.paths.every((p) => a.paths.includes(p)) || !tags(b).every((t) => tags(a).includes(t))) return false;
  return ex(a).every((e, i) => e === ex(b)[i]);
}

/** The destination snapshot `src` was already copied to, if any (matched by original ID). */
export function findCopy(src: SnapshotEntry, dst: readonly SnapshotEntry[]): SnapshotEntry | undefined {
  const original = src.snapshot.original ?? src.id;
  return dst.find((d) => (d.snapshot.original === original || d.id === original) && similarSnapshots(d.snapshot, src.snapshot));
}

export interface CopyEvents {
  onSkip?(src: SnapshotEntry, existing: SnapshotEntry): void;
  onStart?(src: SnapshotEntry): void;
  onSaved?(src: SnapshotEntry, newId: Id): void;
}

export interface CopyResult {
  readonly copied: { readonly from: Id; readonly to: Id }[];
  readonly skipped: number;
  readonly stats: SaverStats;
}

export async function copySnapshots(
  src: RepoWithIndex,
  dst: RepoWithIndex,
  snapshots: readonly SnapshotEntry[],
  dstSnapshots: readonly SnapshotEntry[],
  events: CopyEvents = {},
  signal?: AbortSignal,
): Promise<CopyResult> {
  const o = signal ? { signal } : undefined;
  const saver = new BlobSaver(dst.repo, dst.index, signal ? { signal } : {});
  const packs = new PackCache(src.repo, src.index);
  const visited = new Set<Id>();
  const todo: SnapshotEntry[] = [];
  let skipped = 0;
  for (const s of snapshots) {
    const existing = findCopy(s, dstSnapshots);
    if (existing) {
      skipped++;
      events.onSkip?.(s, existing);
    } else todo.push(s);
  }

  const copyTree = async (id: Id): Promise<void> => {
    if (visited.has(id)) return;
    visited.add(id);
    if (signal?.aborted) throw new CofferError('cancelled', 'interrupted');
    const plain = await loadBlob(src.repo, src.index, 'tree', id, { cache: packs, ...o });
    const tree = decodeTree(plain, `tree ${id}`);
    const blobs: Id[] = [];
    for (const n of tree.nodes) {
      if (n.type === 'file') for (const b of n.content ?? []) if (!saver.isKnown('data', b)) blobs.push(b);
    }
    // Loads overlap; the saver bounds memory by waiting when its upload queue is full.
    await forEachLimit([...new Set(blobs)], 4, async (b) => {
      if (saver.isKnown('data', b)) return;
      await saver.save('data', await loadBlob(src.repo, src.index, 'data', b, o), b);
    });
    for (const n of tree.nodes) if (n.type === 'dir' && n.subtree) await copyTree(n.subtree);
    await saver.save('tree', plain, id);
  };

  try {
    for (const s of todo) {
      events.onStart?.(s);
      await copyTree(s.snapshot.tree);
    }
    await saver.flush();
  } catch (e) {
    await saver.flushUploaded().catch(() => undefined); // keep what was uploaded indexed
    throw e;
  }

  const copied: { from: Id; to: Id }[] = [];
  for (const s of todo) {
    // The parent means nothing in the destination; `original` keeps the persistent identity.
    const { parent: _parent, ...rest } = s.snapshot;
    const sn: Snapshot = { ...rest, original: s.snapshot.original ?? s.id };
    const newId = await dst.repo.saveUnpacked('snapshots', encodeSnapshot(sn), o);
    copied.push({ from: s.id, to: newId });
    events.onSaved?.(s, newId);
  }
  return { copied, skipped, stats: saver.stats };
}
