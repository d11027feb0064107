/**
 * @module engine/stats
 * restic's `stats` numbers. restore-size: every node of every snapshot counts as a file, sizes
 * add up except hard links, counted once per (device, inode) within a snapshot. raw-data: the
 * distinct blobs (data and tree) the snapshots reach, their stored sizes and, in repository v2,
 * their uncompressed sizes and the compression figures restic derives from them.
 */
import { CofferError } from '../../errors.js';
import type { Id } from '../../format/types.js';
import type { MasterIndex } from '../../repository/master-index.js';
import { collectUsedBlobs } from '../walk/used-blobs.js';
import { walkTree, type TreeLoader } from '../walk/tree-walker.js';

export type StatsMode = 'restore-size' | 'raw-data';
export const STATS_MODES: readonly StatsMode[] = ['restore-size', 'raw-data'];

export interface StatsResult {
  snapshotsCount: number;
  totalSize: number;
  totalFileCount: number;
  totalBlobCount: number;
  /** raw-data in v2 only: sealed size each blob would have uncompressed. */
  totalUncompressedSize: number;
  compressionRatio: number;
  compressionProgress: number;
  compressionSpaceSaving: number;
}

function emptyStats(): StatsResult {
  return {
    snapshotsCount: 0, totalSize: 0, totalFileCount: 0, totalBlobCount: 0,
    totalUncompressedSize: 0, compressionRatio: 0, compressionProgress: 0, compressionSpaceSaving: 0,
  };
}

export async function computeStats(
  loader: TreeLoader,
  index: MasterIndex,
  roots: readonly Id[],
  mode: StatsMode,
  version: 1 | 2,
  signal?: AbortSignal,
): Promise<StatsResult> {
  const s = emptyStats();
  s.snapshotsCount = roots.length;
  if (mode === 'raw-data') {
    const used = await collectUsedBlobs(loader, roots, signal ? { signal } : {});
    let compressed = 0;
    let compressedUncompressed = 0;
    for (const type of ['data', 'tree'] as const) {
      for (const id of used[type]) {
        const loc = index.lookup(type, id);
        if (!loc) throw new CofferError('corrupt', `${type} blob ${id} is not in the index (try "check")`);
        s.totalSize += loc.length;
        if (version >= 2) {
          const full = (loc.uncompressedLength > 0 ? loc.uncompressedLength : loc.length - 32) + 32;
          s.totalUncompressedSize += full;
          if (loc.uncompressedLength > 0) {
            compressed += loc.length;
            compressedUncompressed += full;
          }
        }
        s.totalBlobCount++;
      }
    }
    if (compressed > 0) s.compressionRatio = compressedUncompressed / compressed;
    if (s.totalUncompressedSize > 0) {
      s.compressionProgress = (compressedUncompressed / s.totalUncompressedSize) * 100;
      s.compressionSpaceSaving = (1 - s.totalSize / s.totalUncompressedSize) * 100;
    }
    return s;
  }
  for (const root of roots) {
    const hardLinks = new Set<string>();
    await walkTree(loader, root, (e) => {
      if (signal?.aborted) throw new CofferError('cancelled', 'interrupted');
      const n = e.node;
      s.totalFileCount++;
      const size = n.size ?? 0;
      if (n.links === 1n || n.type === 'dir') s.totalSize += size;
      else {
        // restic counts each (inode, device) once; inode 0 (unknown) always counts.
        const k = `${n.inode ?? 0n}:${n.deviceId ?? 0n}`;
        if (!hardLinks.has(k) || !n.inode) {
          hardLinks.add(k);
          s.totalSize += size;
        }
      }
    });
  }
  return s;
}

/** restic's JSON shape (Go omitempty on everything but total_size and snapshots_count). */
export function statsJson(s: StatsResult): Record<string, number> {
  const o: Record<string, number> = { total_size: s.totalSize };
  if (s.totalUncompressedSize) o.total_uncompressed_size = s.totalUncompressedSize;
  if (s.compressionRatio) o.compression_ratio = s.compressionRatio;
  if (s.compressionProgress) o.compression_progress = s.compressionProgress;
  if (s.compressionSpaceSaving) o.compression_space_saving = s.compressionSpaceSaving;
  if (s.totalFileCount) o.total_file_count = s.totalFileCount;
  if (s.totalBlobCount) o.total_blob_count = s.totalBlobCount;
  o.snapshots_count = s.snapshotsCount;
  return o;
}
