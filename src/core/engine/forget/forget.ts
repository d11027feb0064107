/**
 * @module engine/forget/forget
 * Deciding which snapshots `forget` removes: filter, group, apply the policy per group, with
 * restic's refusals (no policy; a policy that would empty a group; --unsafe-allow-remove-all
 * only together with a filter). Deleting the files is the caller's (under an exclusive lock).
 */
import type { CallOpts } from '../../backend/backend.js';
import { CofferError, isCofferError } from '../../errors.js';
import type { Id } from '../../format/types.js';
import type { Repository } from '../../repository/repository.js';
import { matchesFilter, type SnapshotEntry, type SnapshotFilter } from '../../repository/snapshots.js';
import { describeGroupKey, groupSnapshots, type GroupBy, type GroupKey } from './group.js';
import { applyPolicy, newestFirst, policyIsEmpty, type ExpirePolicy, type KeepReason } from './policy.js';

export interface ForgetPlanOptions {
  readonly policy: ExpirePolicy;
  readonly groupBy: GroupBy;
  readonly filter: SnapshotFilter;
  readonly unsafeAllowRemoveAll?: boolean;
  /** Current time, milliseconds since the epoch. */
  readonly nowMs: number;
}

export interface ForgetGroup {
  readonly key: GroupKey;
  /** Newest first, like restic's JSON. */
  readonly keep: SnapshotEntry[];
  readonly remove: SnapshotEntry[];
  readonly reasons: KeepReason[];
}

function filterIsEmpty(f: SnapshotFilter): boolean {
  return !f.hosts?.length && !f.paths?.length && !f.tags?.length;
}

export function planForget(entries: readonly SnapshotEntry[], o: ForgetPlanOptions): ForgetGroup[] {
  const empty = policyIsEmpty(o.policy);
  if (empty) {
    if (!o.unsafeAllowRemoveAll) throw new CofferError('usage', 'no policy was specified, no snapshots will be removed');
    if (filterIsEmpty(o.filter)) {
      throw new CofferError('usage', '--unsafe-allow-remove-all is not allowed unless a snapshot filter option is specified');
    }
  }
  const selected = entries.filter((e) => matchesFilter(e.snapshot, o.filter));
  return groupSnapshots(selected, o.groupBy).map(({ key, entries: group }) => {
    if (empty) return { key, keep: [], remove: newestFirst(group), reasons: [] };
    const r = applyPolicy(group, o.policy, o.nowMs);
    if (r.keep.length === 0 && !o.unsafeAllowRemoveAll) {
      throw new CofferError('usage', `refusing to delete last snapshot of snapshot group "${describeGroupKey(key)}" (use --unsafe-allow-remove-all)`);
    }
    return { key, ...r };
  });
}

/** Snapshots named on the command line (full IDs or unique prefixes). */
export function selectByIds(entries: readonly SnapshotEntry[], refs: readonly string[]): SnapshotEntry[] {
  const out = new Map<Id, SnapshotEntry>();
  for (const ref of refs) {
    if (!/^[0-9a-f]+$/.test(ref)) throw new CofferError('usage', `invalid snapshot ID "${ref}"`);
    const hits = entries.filter((e) => e.id.startsWith(ref));
    if (hits.length === 0) throw new CofferError('not-found-snapshot', `no snapshot found with ID ${ref}`);
    if (hits.length > 1) throw new CofferError('usage', `snapshot ID prefix "${ref}" is ambiguous (${hits.length} snapshots match)`);
    out.set(hits[0]!.id, hits[0]!);
  }
  return [...out.values()];
}

/** Deletes snapshot files one by one; a file already gone counts as deleted. */
export async function deleteSnapshots(repo: Repository, ids: readonly Id[], o?: CallOpts & { onDeleted?: (id: Id) => void }): Promise<void> {
  for (const id of ids) {
    if (o?.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
    try {
      await repo.backend.delete({ type: 'snapshots', name: id }, o);
    } catch (e) {
      if (!isCofferError(e, 'not-found')) throw e;
    }
    o?.onDeleted?.(id);
  }
}
