/**
 * @module engine/prune/plan
 * Deciding what prune does (spec §19.2, restic 0.18's decidePackAction): which copy of each used
 * blob to keep, which packs to delete whole, which to repack, within `--max-unused` and
 * `--max-repack-size`. Pure: takes the index, the used blobs and the listing of data/.
 */
import { CofferError } from '../../errors.js';
import { expectedPackSize } from '../../format/pack-header.js';
import type { BlobType, Id, PackedBlob } from '../../format/types.js';
import type { MasterIndex } from '../../repository/master-index.js';
import type { UsedBlobs } from '../walk/used-blobs.js';

/** `--max-unused`: a percentage of the used size, an absolute size, or no limit. */
export type MaxUnused = { readonly percent: number } | { readonly bytes: number } | 'unlimited';

export interface PrunePlanOptions {
  readonly maxUnused: MaxUnused;
  /** `--max-repack-size` in bytes (Infinity: no limit). */
  readonly maxRepackBytes: number;
  readonly repackCacheableOnly?: boolean;
  /** Pack size under which a fully used pack counts as small (restic: 80 % of the target). */
  readonly smallPackBytes: number;
  /** Repository version: v2 repacks uncompressed tree packs (to compress them). */
  readonly repoVersion: 1 | 2;
}

export interface Count {
  blobs: number;
  bytes: number;
}

export interface PruneStats {
  used: Count;
  unused: Count;
  /** Blobs in packs that are repacked (used and unused). */
  repack: Count;
  /** Unused blobs dropped by repacking. */
  repackRemove: Count;
  /** Blobs in packs deleted whole. */
  remove: Count;
  /** Size of packs in data/ that no index names. */
  unreferencedBytes: number;
  packsKeep: number;
}

export interface PrunePlan {
  /** Indexed packs to delete whole (no used blob). */
  readonly removePacks: Set<Id>;
  /** Packs whose used blobs are copied to new packs; then deleted. */
  readonly repackPacks: Set<Id>;
  /** Per repacked pack: the blobs to copy (the chosen copies of used blobs). */
  readonly keepBlobs: Map<Id, PackedBlob[]>;
  /** Packs in data/ that no index names: deleted first. */
  readonly unreferencedPacks: Id[];
  /** Indexed packs missing from data/ that hold nothing used: only dropped from the index. */
  readonly missingPacks: Set<Id>;
  /** Whether the index files must be rewritten. */
  readonly changesIndex: boolean;
  readonly stats: PruneStats;
}

/** Parses `--max-unused`: "5%", "unlimited", or a size like "100M" / "1G" / "1024". */
export function parseMaxUnused(text: string): MaxUnused {
  if (text === 'unlimited') return 'unlimited';
  const m = /^(\d+(?:\.\d+)?)%$/.exec(text);
  if (m) {
    const p = Number(m[1]);
    if (p > 100) throw new CofferError('usage', `invalid --max-unused "${text}": percentage must be <= 100`);
    return p === 100 ? 'unlimited' : { percent: p };
  }
  return { bytes: parseSize(text, 'max-unused') };
}

/** restic's ParseBytes: an integer with an optional k/m/g/t suffix (powers of 1024). */
export function parseSize(text: string, flagName: string): number {
  const m = /^(\d+)([kKmMgGtT]?)[bB]?$/.exec(text.trim());
  if (!m) throw new CofferError('usage', `invalid --${flagName} "${text}" (use e.g. 500M, 2G, or a number of bytes)`);
  const exp = { '': 0, k: 1, m: 2, g: 3, t: 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * 1024 ** exp;
}

function maxUnusedBytes(m: MaxUnused, used: number): number {
  if (m === 'unlimited') return Infinity;
  if ('bytes' in m) return m.bytes;
  // A percentage of the size after pruning: unused / (used + unused) <= p.
  return (m.percent / (100 - m.percent)) * used;
}

interface PackInfo {
  id: Id;
  type: BlobType | 'mixed';
  used: Count;
  unused: Count;
  uncompressed: boolean;
  chosen: PackedBlob[];
  size: number;
}

function blobSize(b: PackedBlob): number {
  return b.length; // as restic counts in its statistics
}

export function planPrune(index: MasterIndex, used: UsedBlobs, dataFiles: ReadonlyMap<Id, number>, o: PrunePlanOptions): PrunePlan {
  const missingBlobs: string[] = [];
  for (const type of ['data', 'tree'] as const) for (const id of used[type]) if (!index.has(type, id)) missingBlobs.push(`${type} blob ${id}`);
  if (missingBlobs.length > 0) {
    throw new CofferError(
      'corrupt',
      `index is not complete: ${missingBlobs.length} used blob(s) missing (${missingBlobs.slice(0, 5).join(', ')}${missingBlobs.length > 5 ? ', ...' : ''}); run "repair index" first`,
    );
  }

  // Packs that can serve blobs: present in data/ with the size the index implies.
  const usable = new Set<Id>();
  const missingPacks = new Set<Id>();
  const badSize = new Set<Id>();
  for (const packId of index.packIds()) {
    const size = dataFiles.get(packId);
    if (size === undefined) missingPacks.add(packId);
    else if (size !== expectedPackSize(index.packBlobs(packId)!)) badSize.add(packId);
    else usable.add(packId);
  }

  // How much of each pack is used, counting every copy: decides which copy of a duplicate wins.
  const usedShare = new Map<Id, number>();
  for (const packId of usable) {
    const blobs = index.packBlobs(packId)!;
    let n = 0;
    for (const b of blobs) if (used[b.type].has(b.id)) n++;
    usedShare.set(packId, n / blobs.length);
  }
  const chosenPack = { data: new Map<Id, Id>(), tree: new Map<Id, Id>() };
  for (const type of ['data', 'tree'] as const) {
    for (const id of used[type]) {
      let best: Id | undefined;
      for (const loc of index.lookupAll(type, id)) {
        if (!usable.has(loc.packId)) continue;
        const s = usedShare.get(loc.packId)!;
        const bs = best === undefined ? -1 : usedShare.get(best)!;
        if (s > bs || (s === bs && loc.packId < best!)) best = loc.packId;
      }
      if (best === undefined) {
        const packs = index.lookupAll(type, id).map((l) => l.packId);
        const why = packs.some((p) => badSize.has(p)) ? 'has a size that does not match the index' : 'is missing';
        throw new CofferError('corrupt', `${type} blob ${id} is needed but its pack ${packs[0]} ${why}; run "repair index" first`);
      }
      chosenPack[type].set(id, best);
    }
  }

  const stats: PruneStats = {
    used: { blobs: 0, bytes: 0 },
    unused: { blobs: 0, bytes: 0 },
    repack: { blobs: 0, bytes: 0 },
    repackRemove: { blobs: 0, bytes: 0 },
    remove: { blobs: 0, bytes: 0 },
    unreferencedBytes: 0,
    packsKeep: 0,
  };
  const infos: PackInfo[] = [];
  for (const packId of [...usable, ...badSize].sort()) {
    const blobs = index.packBlobs(packId)!;
    const info: PackInfo = { id: packId, type: blobs[0]!.type, used: { blobs: 0, bytes: 0 }, unused: { blobs: 0, bytes: 0 }, uncompressed: false, chosen: [], size: dataFiles.get(packId)! };
    for (const b of blobs) {
      if (b.type !== info.type) info.type = 'mixed';
      if (b.uncompressedLength === 0) info.uncompressed = true;
      const c = chosenPack[b.type].get(b.id) === packId ? info.used : info.unused;
      c.blobs++;
      c.bytes += blobSize(b);
      if (c === info.used) info.chosen.push(b);
    }
    stats.used.blobs += info.used.blobs;
    stats.used.bytes += info.used.bytes;
    stats.unused.blobs += info.unused.blobs;
    stats.unused.bytes += info.unused.bytes;
    infos.push(info);
  }

  const removePacks = new Set<Id>();
  const repackPacks = new Set<Id>();
  const keepBlobs = new Map<Id, PackedBlob[]>();
  const candidates: (PackInfo & { mustCompress: boolean })[] = [];
  const small: (PackInfo & { mustCompress: boolean })[] = [];
  for (const p of infos) {
    // v2: tree packs are always stored compressed, so uncompressed ones are rewritten.
    const mustCompress = o.repoVersion >= 2 && p.type === 'tree' && p.uncompressed;
    if (p.used.blobs === 0) {
      removePacks.add(p.id);
      stats.remove.blobs += p.unused.blobs;
      stats.remove.bytes += p.unused.bytes;
    } else if (o.repackCacheableOnly && p.type === 'data') {
      stats.packsKeep++;
    } else if (p.unused.blobs === 0 && p.type !== 'mixed' && !mustCompress && !badSize.has(p.id)) {
      if (p.size >= o.smallPackBytes) stats.packsKeep++;
      else small.push({ ...p, mustCompress });
    } else {
      candidates.push({ ...p, mustCompress });
    }
  }
  // Small packs are merged only when there are enough of them to be worth it.
  if (small.length >= 10) candidates.push(...small);
  else stats.packsKeep += small.length;

  // Tree and mixed packs first, then the highest unused/used ratio.
  candidates.sort((a, b) => {
    const ad = a.type === 'data';
    const bd = b.type === 'data';
    if (ad !== bd) return ad ? 1 : -1;
    return b.unused.bytes * a.used.bytes - a.unused.bytes * b.used.bytes || (a.id < b.id ? -1 : 1);
  });
  const limit = maxUnusedBytes(o.maxUnused, stats.used.bytes);
  for (const p of candidates) {
    const total = p.used.bytes + p.unused.bytes;
    const reachedUnused = stats.unused.bytes - stats.remove.bytes - stats.repackRemove.bytes < limit;
    const reachedRepack = stats.repack.bytes + total >= o.maxRepackBytes;
    const largeEnough = total >= o.smallPackBytes;
    // A pack whose size does not match the index must go, whatever the limits.
    const must = badSize.has(p.id);
    if (!must && reachedRepack) stats.packsKeep++;
    else if (!must && p.type === 'data' && !p.mustCompress && reachedUnused && largeEnough) stats.packsKeep++;
    else {
      repackPacks.add(p.id);
      keepBlobs.set(p.id, p.chosen);
      stats.repack.blobs += p.used.blobs + p.unused.blobs;
      stats.repack.bytes += total;
      stats.repackRemove.blobs += p.unused.blobs;
      stats.repackRemove.bytes += p.unused.bytes;
    }
  }

  const unreferencedPacks: Id[] = [];
  for (const [id, size] of dataFiles) {
    if (index.packBlobs(id) === undefined) {
      unreferencedPacks.push(id);
      stats.unreferencedBytes += size;
    }
  }
  unreferencedPacks.sort();
  return {
    removePacks,
    repackPacks,
    keepBlobs,
    unreferencedPacks,
    missingPacks,
    changesIndex: removePacks.size + repackPacks.size + missingPacks.size > 0,
    stats,
  };
}
