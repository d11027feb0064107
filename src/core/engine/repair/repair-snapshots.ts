/**
 * @module engine/repair/repair-snapshots
 * `repair snapshots` as restic 0.16+: rewrite snapshots whose trees reference blobs that are gone.
 * A file with missing content blobs keeps the blobs that remain (its size is corrected); a folder
 * whose tree cannot be loaded becomes an empty folder; a snapshot whose root tree cannot be loaded
 * can only be removed (with `forget`). Rewritten snapshots get `original` (the first ID, kept when
 * already set) and the tag "repaired"; `forget` deletes the damaged originals.
 *
 * A blob counts as missing when it is not in the index or every pack holding it is gone (so
 * repairing right after losing a pack works; "repair index" is still needed for the index itself).
 *
 * Ordering (§20): new trees are packed and indexed, then the new snapshots written, and only then
 * are the originals deleted.
 */
import type { CallOpts } from '../../backend/backend.js';
import { CofferError, isCofferError } from '../../errors.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { EMPTY_TREE_ID, encodeTree } from '../../format/tree.js';
import type { BlobType, Id, Snapshot, TreeNode } from '../../format/types.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { loadMasterIndex, plaintextSize } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import { joinPath, TreeLoader } from '../walk/tree-walker.js';

export interface RepairSnapshotsOptions {
  /** Only these snapshots (full IDs); default all. */
  readonly snapshotIds?: readonly Id[];
  /** Delete the damaged originals (and snapshots whose root tree is lost). */
  readonly forget?: boolean;
  /** Report what would change, write nothing. */
  readonly dryRun?: boolean;
  readonly signal?: AbortSignal;
}

export type LossKind = 'removed missing content' | 'fixed incorrect size' | 'replaced with empty directory' | 'root tree is damaged';

export interface Loss {
  readonly snapshot: Id;
  readonly path: string;
  readonly kind: LossKind;
}

export interface RepairSnapshotsEvents {
  /** A damaged snapshot is being repaired. */
  onSnapshot?(entry: SnapshotEntry): void;
  onLoss?(loss: Loss): void;
  onSaved?(original: Id, repaired: Id): void;
  onRemoved?(id: Id): void;
  onUnrepairable?(id: Id): void;
}

export interface RepairSnapshotsResult {
  readonly checked: number;
  readonly losses: Loss[];
  /** Original -> repaired snapshot. */
  readonly repaired: { readonly original: Id; readonly repaired: Id }[];
  readonly removed: Id[];
  /** Snapshots whose root tree is lost and that were not removed (no `forget`). */
  readonly unrepairable: Id[];
}

export async function repairSnapshots(repo: Repository, opts: RepairSnapshotsOptions = {}, events: RepairSnapshotsEvents = {}): Promise<RepairSnapshotsResult> {
  const o: CallOpts | undefined = opts.signal ? { signal: opts.signal } : undefined;
  // Snapshots before the index (§20).
  let entries = await loadSnapshots(repo, o);
  if (opts.snapshotIds) entries = entries.filter((e) => opts.snapshotIds!.includes(e.id));
  const index = await loadMasterIndex(repo, o);
  const stored = new Set<Id>();
  for await (const f of repo.list('data', o)) stored.add(f.name);
  const available = (type: BlobType, id: Id) => index.lookupAll(type, id).some((l) => stored.has(l.packId));

  const loader = new TreeLoader(repo, index);
  const saver = new BlobSaver(repo, index, { ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.dryRun ? { dryRun: true } : {}) });
  const losses: Loss[] = [];
  const result: RepairSnapshotsResult = { checked: entries.length, losses, repaired: [], removed: [], unrepairable: [] };
  const pending: { original: Id; snapshot: Snapshot }[] = [];

  for (const entry of entries) {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
    const mine: Loss[] = [];
    const lose = (path: string, kind: LossKind) => mine.push({ snapshot: entry.id, path, kind });
    const memo = new Map<Id, Id>();

    /** The repaired tree's ID (the same ID when nothing below changed); undefined when it cannot be loaded. */
    const rewrite = async (id: Id, path: string): Promise<Id | undefined> => {
      const hit = memo.get(id);
      if (hit) return hit;
      let tree;
      try {
        if (!available('tree', id)) throw new CofferError('corrupt', `tree ${id} is missing`);
        tree = await loader.load(id);
      } catch (e) {
        if (!isCofferError(e) || !['corrupt', 'not-found', 'range'].includes(e.code)) throw e;
        return undefined;
      }
      let changed = false;
      const nodes: TreeNode[] = [];
      for (const node of tree.nodes) {
        const p = joinPath(path, node.name);
        if (node.type === 'file') {
          const content = (node.content ?? []).filter((b) => available('data', b));
          let size = 0;
          for (const b of content) size += plaintextSize(index.lookupAll('data', b).find((l) => stored.has(l.packId))!);
          const lost = content.length !== (node.content ?? []).length;
          if (lost || (node.size ?? 0) !== size) {
            lose(p, lost ? 'removed missing content' : 'fixed incorrect size');
            nodes.push({ ...node, content, size });
            changed = true;
            continue;
          }
        } else if (node.type === 'dir' && node.subtree) {
          let sub = await rewrite(node.subtree, p);
          if (sub === undefined) {
            lose(p, 'replaced with empty directory');
            sub = (await saver.save('tree', encodeTree({ nodes: [] }), EMPTY_TREE_ID)).id;
          }
          if (sub !== node.subtree) {
            nodes.push({ ...node, subtree: sub });
            changed = true;
            continue;
          }
        }
        nodes.push(node);
      }
      const out = changed ? (await saver.save('tree', encodeTree({ nodes }))).id : id;
      memo.set(id, out);
      return out;
    };

    const s = entry.snapshot;
    const newRoot = await rewrite(s.tree, '/');
    if (newRoot === undefined) {
      lose('/', 'root tree is damaged');
      for (const l of mine) events.onLoss?.(l);
      losses.push(...mine);
      if (opts.forget) result.removed.push(entry.id);
      else {
        result.unrepairable.push(entry.id);
        events.onUnrepairable?.(entry.id);
      }
      continue;
    }
    if (newRoot === s.tree) continue;
    events.onSnapshot?.(entry);
    for (const l of mine) events.onLoss?.(l);
    losses.push(...mine);
    const tags = s.tags?.includes('repaired') ? s.tags : [...(s.tags ?? []), 'repaired'];
    const repaired: Snapshot = { ...s, tree: newRoot, original: s.original ?? entry.id, tags };
    pending.push({ original: entry.id, snapshot: repaired });
  }

  // New trees are stored and indexed before any snapshot names them.
  await saver.flush();
  for (const { original, snapshot } of pending) {
    const json = encodeSnapshot(snapshot);
    const id = opts.dryRun ? '' : await repo.saveUnpacked('snapshots', json, o);
    result.repaired.push({ original, repaired: id });
    events.onSaved?.(original, id);
    if (opts.forget) result.removed.push(original);
  }
  if (opts.forget && !opts.dryRun) {
    for (const id of result.removed) {
      await repo.backend.delete({ type: 'snapshots', name: id }, o);
      events.onRemoved?.(id);
    }
  }
  return result;
}
