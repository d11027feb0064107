/**
 * @module engine/sync
 * Keeping a copy in step with the primary (../shared/design/no-lockout.md §2 `sync`):
 *
 * 1. choose the primary's snapshots the copy's policy admits (`--only-tag`/`--exclude-tag` for
 *    user snapshots; every internal record except `coffer-drill`, which belongs to the copy it
 *    drilled);
 * 2. copy those the copy lacks with engine/copy (blobs keep their IDs, only missing blobs are
 *    uploaded, snapshot files last, so an interrupted sync leaves a valid repository and the
 *    next one finishes without duplicating a snapshot: they are matched on `original`);
 * 3. verify what was written: every new pack is listed with the size its index entries imply and
 *    its header is re-read and compared with the index; with `verifyData` every new pack is
 *    downloaded, hashed and fully verified; every new snapshot's tree loads from the copy;
 * 4. a structure check of the whole copy (design §6 step 4, cheap: indexes, one LIST, the
 *    snapshot trees): every indexed pack exists with its exact size.
 */
import type { CallOpts } from '../../backend/backend.js';
import { CofferError } from '../../errors.js';
import { expectedPackSize } from '../../format/pack-header.js';
import { decodeSnapshot } from '../../format/snapshot.js';
import type { Id, PackedBlob, Snapshot } from '../../format/types.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { loadMasterIndex, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import { readPackHeader, verifyPack } from '../check/pack-file.js';
import { copySnapshots, findCopy, type RepoWithIndex } from '../copy/copy.js';
import { isRecordSnapshot, recordKindOf } from '../records/records.js';

export interface SyncPolicy {
  readonly excludeTags: readonly string[];
  readonly onlyTags: readonly string[];
}

/** Record kinds that stay in the repository that made them. */
export const LOCAL_RECORD_KINDS: readonly string[] = ['drill'];

/**
 * Whether `s` should be in a copy with `policy`. Records go to every copy (`--only-tag` does not
 * filter them) but an excluded tag keeps out records too: the private gallery is a record tagged
 * `private`, and a copy excluding `private` must not hold even its thumbnails.
 */
export function admits(s: Snapshot, policy: SyncPolicy): boolean {
  const tags = s.tags ?? [];
  if (policy.excludeTags.some((t) => tags.includes(t))) return false;
  if (isRecordSnapshot(s)) {
    const kind = recordKindOf(s);
    return kind === undefined || !LOCAL_RECORD_KINDS.includes(kind);
  }
  if (policy.onlyTags.length > 0 && !policy.onlyTags.some((t) => tags.includes(t))) return false;
  return true;
}

/** The primary's snapshots a copy with `policy` should hold. */
export function wantedSnapshots(primary: readonly SnapshotEntry[], policy: SyncPolicy): SnapshotEntry[] {
  return primary.filter((e) => admits(e.snapshot, policy));
}

/**
 * Snapshots a copy holds that its policy does not admit (the policy changed after they were
 * synced). Sync reports them and never deletes them; `purgeExcluded` removes them on request.
 * Drill records are the copy's own and always belong.
 */
export function excludedSnapshots(copy: readonly SnapshotEntry[], policy: SyncPolicy): SnapshotEntry[] {
  return copy.filter((e) => !admits(e.snapshot, policy) && !(isRecordSnapshot(e.snapshot) && LOCAL_RECORD_KINDS.includes(recordKindOf(e.snapshot) ?? '')));
}

/** Of `wanted`, those the copy does not hold yet. */
export function missingSnapshots(wanted: readonly SnapshotEntry[], copy: readonly SnapshotEntry[]): SnapshotEntry[] {
  return wanted.filter((e) => !findCopy(e, copy));
}

/** Whether the primary's newest settings/secrets/otp record is in the copy (true when the primary has none). */
export function recordsCurrent(primary: readonly SnapshotEntry[], copy: readonly SnapshotEntry[], kinds = ['settings', 'secrets', 'otp']): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const k of kinds) {
    const newest = primary.filter((e) => isRecordSnapshot(e.snapshot, k)).at(-1);
    out[k] = newest === undefined || findCopy(newest, copy) !== undefined;
  }
  return out;
}

export interface StructureResult {
  readonly errors: string[];
  readonly packs: number;
  readonly snapshots: number;
}

/**
 * Design §6 step 4: indexes load, every pack the index names exists in one LIST with the exact
 * size its entries imply, every snapshot's tree loads. Findings are returned, not thrown.
 */
export async function structureCheck(repo: Repository, o?: CallOpts & { index?: MasterIndex; snapshots?: readonly SnapshotEntry[] }): Promise<StructureResult> {
  const errors: string[] = [];
  const index = o?.index ?? (await loadMasterIndex(repo, o));
  const listed = new Map<Id, number>();
  for await (const f of repo.backend.list('data', o)) listed.set(f.name, f.size);
  let packs = 0;
  for (const id of index.packIds()) {
    packs++;
    const size = listed.get(id);
    const want = expectedPackSize(index.packBlobs(id) ?? []);
    if (size === undefined) errors.push(`missing-pack: data/${id.slice(0, 2)}/${id} listed in index, absent`);
    else if (size !== want) errors.push(`pack-size: data/${id.slice(0, 2)}/${id} has ${size} bytes, its index entries imply ${want}`);
  }
  const snaps = o?.snapshots ?? (await loadSnapshots(repo, o));
  for (const s of snaps) {
    try {
      await loadBlob(repo, index, 'tree', s.snapshot.tree, o);
    } catch (e) {
      if (e instanceof CofferError && e.code === 'cancelled') throw e;
      errors.push(`tree: snapshot ${s.id.slice(0, 8)}: tree ${s.snapshot.tree.slice(0, 8)} does not load (${(e as Error).message})`);
    }
  }
  return { errors, packs, snapshots: snaps.length };
}

export interface SyncEvents {
  /** Before copying: how many snapshots are to be copied. */
  onPlan?(missing: number, wanted: number): void;
  onSnapshot?(src: SnapshotEntry, newId: Id): void;
  onVerify?(packs: number): void;
}

export interface SyncOptions extends CallOpts {
  readonly policy: SyncPolicy;
  readonly owner: LockOwner;
  /** Download every new pack and verify it completely. */
  readonly verifyData?: boolean;
  /** Only these snapshots (e.g. records just written); default: everything the policy admits. */
  readonly only?: (e: SnapshotEntry) => boolean;
  /** Skip the whole-copy structure check (records-only syncs). */
  readonly skipStructure?: boolean;
  readonly events?: SyncEvents;
}

export interface SyncResult {
  readonly copied: { readonly from: Id; readonly to: Id }[];
  /** Snapshots already in the copy. */
  readonly skipped: number;
  readonly newPacks: { readonly id: Id; readonly size: number }[];
  readonly bytesAdded: number;
  /** New packs downloaded and verified (verifyData). */
  readonly packsRead: number;
  /** Snapshots the copy holds of those the primary wants it to, after the sync. */
  readonly missingAfter: number;
  /** Snapshots in the copy its policy no longer admits (kept; see excludedSnapshots). */
  readonly excluded: readonly SnapshotEntry[];
  /** E.g. the copy's lock could not be removed after a verified sync. */
  readonly warnings?: readonly string[];
  readonly structure?: StructureResult;
}

function sameBlobs(a: readonly PackedBlob[], b: readonly PackedBlob[]): boolean {
  const key = (x: PackedBlob) => `${x.type}/${x.id}/${x.offset}/${x.length}/${x.uncompressedLength}`;
  const set = new Set(a.map(key));
  return a.length === b.length && b.every((x) => set.has(key(x)));
}

/**
 * Syncs one copy from the primary (`src`, its index and snapshots already loaded; the caller
 * holds a shared lock on it). Takes a shared lock on the copy. Throws 'corrupt' when the
 * verification finds a problem in what was written.
 */
export async function syncCopy(src: RepoWithIndex, srcSnapshots: readonly SnapshotEntry[], dst: Repository, opts: SyncOptions): Promise<SyncResult> {
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const lock = await RepositoryLock.acquire(dst, false, opts.owner, o);
  let result: SyncResult;
  try {
    result = await (async (): Promise<SyncResult> => {
      const dstIndex = await loadMasterIndex(dst, o);
      const before = new Set(dstIndex.packIds());
      const dstSnaps = await loadSnapshots(dst, o);
      let wanted = wantedSnapshots(srcSnapshots, opts.policy);
      if (opts.only) wanted = wanted.filter(opts.only);
      const missing = missingSnapshots(wanted, dstSnaps);
      opts.events?.onPlan?.(missing.length, wanted.length);
      const res = await copySnapshots(src, { repo: dst, index: dstIndex }, missing, dstSnaps, { onSaved: (s, id) => opts.events?.onSnapshot?.(s, id) }, opts.signal);

      // Verify from a fresh view of the copy, not from what we believe we wrote.
      const after = await loadMasterIndex(dst, o);
      const newIds = [...after.packIds()].filter((id) => !before.has(id));
      opts.events?.onVerify?.(newIds.length);
      const listed = new Map<Id, number>();
      for await (const f of dst.backend.list('data', o)) listed.set(f.name, f.size);
      const errors: string[] = [];
      const newPacks: { id: Id; size: number }[] = [];
      let packsRead = 0;
      for (const id of newIds) {
        const blobs = after.packBlobs(id) ?? [];
        const size = listed.get(id);
        if (size === undefined) {
          errors.push(`new pack ${id} is in the index but not in the copy`);
          continue;
        }
        newPacks.push({ id, size });
        if (size !== expectedPackSize(blobs)) {
          errors.push(`new pack ${id} has ${size} bytes, its index entries imply ${expectedPackSize(blobs)}`);
          continue;
        }
        if (opts.verifyData) {
          const bytes = await dst.backend.get({ type: 'data', name: id }, undefined, o);
          packsRead++;
          errors.push(...verifyPack(dst, id, bytes, blobs));
        } else {
          try {
            const header = await readPackHeader(dst, id, size, o);
            if (!sameBlobs(header, blobs)) errors.push(`new pack ${id}: its header differs from the index`);
          } catch (e) {
            if (e instanceof CofferError && e.code !== 'corrupt') throw e;
            errors.push((e as Error).message);
          }
        }
      }
      for (const c of res.copied) {
        const sn = decodeSnapshot(await dst.loadUnpacked('snapshots', c.to, o), `snapshots/${c.to}`);
        try {
          await loadBlob(dst, after, 'tree', sn.tree, o);
        } catch (e) {
          if (e instanceof CofferError && e.code !== 'corrupt' && e.code !== 'not-found') throw e;
          errors.push(`snapshot ${c.to.slice(0, 8)}: its tree does not load from the copy (${(e as Error).message})`);
        }
      }
      if (errors.length) throw new CofferError('corrupt', `verification after sync failed: ${errors.slice(0, 3).join('; ')}${errors.length > 3 ? ` (and ${errors.length - 3} more)` : ''}`, { data: { errors } });

      const dstAfter = await loadSnapshots(dst, o);
      const structure = opts.skipStructure ? undefined : await structureCheck(dst, { ...o, index: after, snapshots: dstAfter });
      return {
        copied: res.copied,
        skipped: wanted.length - missing.length,
        newPacks,
        bytesAdded: res.stats.bytesAddedPacked,
        packsRead,
        missingAfter: missingSnapshots(wanted, dstAfter).length,
        excluded: excludedSnapshots(dstAfter, opts.policy),
        ...(structure ? { structure } : {}),
      };
    })();
  } catch (e) {
    // The sync's own error is the one to report, not a lock left behind (it goes stale).
    await lock.release().catch(() => undefined);
    throw e;
  }
  // What was copied is verified: a lock that cannot be removed is a warning, not a failed sync.
  const warning = await lock.releaseOrWarn();
  return warning ? { ...result, warnings: [warning] } : result;
}
