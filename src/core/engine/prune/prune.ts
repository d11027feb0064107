/**
 * @module engine/prune/prune
 * Running prune (spec §19.2, §20). The caller holds an exclusive lock. Order, so that a crash at
 * any instant leaves a repository restic accepts:
 *
 *   1. delete packs no index names (nothing can refer to them);
 *   2. copy the used blobs of packs to repack into new packs, indexed as they are written
 *      (duplicates meanwhile are harmless);
 *   3. write index files for every pack that stays;
 *   4. delete the old index files (now each pack is in exactly one index file);
 *   5. delete the packs that were removed or repacked (no index names them any more).
 */
import { forEachLimit } from '../../async.js';
import { CofferError } from '../../errors.js';
import { encodeIndex } from '../../format/index-file.js';
import type { Id, IndexPack } from '../../format/types.js';
import { openBlob } from '../../repository/blob-loader.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { loadMasterIndex, MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots } from '../../repository/snapshots.js';
import { TreeLoader } from '../walk/tree-walker.js';
import { collectUsedBlobs } from '../walk/used-blobs.js';
import { planPrune, type MaxUnused, type PrunePlan } from './plan.js';

/** restic splits index files at about this many blobs. */
const MAX_BLOBS_PER_INDEX = 50_000;

export interface PruneOptions {
  readonly maxUnused?: MaxUnused;
  readonly maxRepackBytes?: number;
  readonly repackCacheableOnly?: boolean;
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
  /** Progress messages ("loading indexes...", ...). */
  readonly onStage?: (message: string) => void;
  /** Called when the plan is known, before anything is changed. */
  readonly onPlan?: (plan: PrunePlan) => void;
}

export interface PruneResult {
  readonly plan: PrunePlan;
  readonly snapshots: number;
  readonly packsWritten: number;
  readonly indexFilesWritten: number;
  readonly indexFilesDeleted: number;
  readonly packsDeleted: number;
}

function checkCancel(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new CofferError('cancelled', 'interrupted');
}

async function deleteFiles(repo: Repository, type: 'data' | 'index', ids: readonly Id[], signal?: AbortSignal): Promise<void> {
  await forEachLimit(ids, Math.max(2, repo.backend.connections), async (id) => {
    checkCancel(signal);
    await repo.backend.delete({ type, name: id }, signal ? { signal } : undefined);
  });
}

export async function prune(repo: Repository, o: PruneOptions = {}): Promise<PruneResult> {
  const signal = o.signal;
  const co = signal ? { signal } : undefined;
  const stage = o.onStage ?? (() => undefined);
  // Snapshots before the index (§20): a snapshot's blobs are indexed before it is written.
  stage('loading all snapshots...');
  const snapshots = await loadSnapshots(repo, co);
  stage('loading indexes...');
  const index = await loadMasterIndex(repo, co);
  stage(`finding data that is still in use for ${snapshots.length} snapshots`);
  const treeErrors: string[] = [];
  const used = await collectUsedBlobs(
    new TreeLoader(repo, index),
    snapshots.map((s) => s.snapshot.tree),
    { onTreeError: (id, e) => treeErrors.push(`tree ${id}: ${(e as Error).message}`), ...(signal ? { signal } : {}) },
  );
  if (treeErrors.length > 0) {
    throw new CofferError('corrupt', `cannot prune: ${treeErrors.length} tree(s) cannot be loaded (${treeErrors.slice(0, 3).join('; ')}); run "check" and "repair"`);
  }
  stage('searching used packs...');
  const dataFiles = new Map<Id, number>();
  for await (const f of repo.list('data', co)) dataFiles.set(f.name, f.size);
  stage('collecting packs for deletion and repacking');
  const plan = planPrune(index, used, dataFiles, {
    maxUnused: o.maxUnused ?? { percent: 5 },
    maxRepackBytes: o.maxRepackBytes ?? Infinity,
    repackCacheableOnly: o.repackCacheableOnly ?? false,
    smallPackBytes: Math.floor((repo.packSize * 4) / 5),
    repoVersion: repo.version,
  });
  o.onPlan?.(plan);
  const result = { plan, snapshots: snapshots.length, packsWritten: 0, indexFilesWritten: 0, indexFilesDeleted: 0, packsDeleted: 0 };
  if (o.dryRun) return result;

  if (plan.unreferencedPacks.length > 0) {
    stage(`deleting ${plan.unreferencedPacks.length} unreferenced packs`);
    await deleteFiles(repo, 'data', plan.unreferencedPacks, signal);
    result.packsDeleted += plan.unreferencedPacks.length;
  }

  // New packs get their own index files from the saver; a fresh index so nothing counts as known.
  let saverIndexFiles: Id[] = [];
  if (plan.repackPacks.size > 0) {
    stage(`repacking ${plan.repackPacks.size} packs`);
    const saver = new BlobSaver(repo, new MasterIndex(), signal ? { signal } : {});
    for (const packId of [...plan.repackPacks].sort()) {
      checkCancel(signal);
      const keep = plan.keepBlobs.get(packId) ?? [];
      if (keep.length === 0) continue;
      const bytes = await repo.backend.get({ type: 'data', name: packId }, undefined, co);
      for (const b of keep) {
        const sealed = bytes.subarray(b.offset, b.offset + b.length);
        // Authenticate and hash-check before copying: never carry damage into new packs.
        const plain = openBlob(repo, b.type, b.id, { packId, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength }, sealed);
        if (repo.version === 2 && b.type === 'tree' && b.uncompressedLength === 0) await saver.save(b.type, plain, b.id);
        else await saver.saveSealed(b.type, b.id, sealed.slice(), b.uncompressedLength, plain.length);
      }
    }
    await saver.flush();
    result.packsWritten = saver.stats.packs;
    saverIndexFiles = saver.indexFilesWritten;
  }

  if (plan.changesIndex) {
    checkCancel(signal);
    stage('rebuilding index');
    const drop = new Set([...plan.removePacks, ...plan.repackPacks, ...plan.missingPacks]);
    const written = new Set<Id>(saverIndexFiles);
    let batch: IndexPack[] = [];
    let blobs = 0;
    const flushBatch = async () => {
      if (batch.length === 0) return;
      written.add(await repo.saveUnpacked('index', encodeIndex({ packs: batch }), co));
      batch = [];
      blobs = 0;
    };
    for (const packId of [...index.packIds()].sort()) {
      if (drop.has(packId)) continue;
      const pb = index.packBlobs(packId)!;
      batch.push({ id: packId, blobs: pb });
      blobs += pb.length;
      if (blobs >= MAX_BLOBS_PER_INDEX) await flushBatch();
    }
    await flushBatch();
    result.indexFilesWritten = written.size;
    const old = [...index.indexFiles].filter((id) => !written.has(id));
    checkCancel(signal);
    stage(`deleting ${old.length} old index files`);
    await deleteFiles(repo, 'index', old, signal);
    result.indexFilesDeleted = old.length;

    const obsolete = [...plan.removePacks, ...plan.repackPacks].sort();
    if (obsolete.length > 0) {
      stage(`removing ${obsolete.length} old packs`);
      await deleteFiles(repo, 'data', obsolete, signal);
      result.packsDeleted += obsolete.length;
    }
  }
  stage('done');
  return result;
}
