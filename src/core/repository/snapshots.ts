/**
 * @module repository/snapshots
 * Listing snapshots and resolving what users type: `latest`, a full ID, a unique ID prefix,
 * each optionally followed by `:subfolder` (restic 0.17's `ID:path` syntax).
 */
import { forEachLimit } from '../async.js';
import type { CallOpts } from '../backend/backend.js';
import { CofferError } from '../errors.js';
import { toUnixNanos } from '../format/go-time.js';
import { decodeSnapshot } from '../format/snapshot.js';
import type { Id, Snapshot } from '../format/types.js';
import type { Repository } from './repository.js';

export interface SnapshotEntry {
  readonly id: Id;
  readonly snapshot: Snapshot;
}

export interface SnapshotFilter {
  readonly hosts?: readonly string[];
  /** Every given path must be in the snapshot's paths. */
  readonly paths?: readonly string[];
  /** Each entry is a comma-separated list that must all be present; any entry may match. */
  readonly tags?: readonly string[];
}

/** Loads every snapshot, oldest first (by time, then ID). */
export async function loadSnapshots(repo: Repository, o?: CallOpts): Promise<SnapshotEntry[]> {
  const ids = await repo.listIds('snapshots', o);
  const out: SnapshotEntry[] = [];
  await forEachLimit(ids, Math.max(2, repo.backend.connections * 2), async (id) => {
    out.push({ id, snapshot: decodeSnapshot(await repo.loadUnpacked('snapshots', id, o), `snapshots/${id}`) });
  });
  return out.sort(compareSnapshots);
}

export function compareSnapshots(a: SnapshotEntry, b: SnapshotEntry): number {
  const d = toUnixNanos(a.snapshot.time) - toUnixNanos(b.snapshot.time);
  return d < 0n ? -1 : d > 0n ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

export function matchesFilter(s: Snapshot, f: SnapshotFilter): boolean {
  if (f.hosts?.length && !f.hosts.includes(s.hostname ?? '')) return false;
  if (f.paths?.length && !f.paths.every((p) => s.paths.includes(p))) return false;
  if (f.tags?.length) {
    const have = new Set(s.tags ?? []);
    const anyList = f.tags.some((list) => list.split(',').filter(Boolean).every((t) => have.has(t)));
    if (!anyList) return false;
  }
  return true;
}

/** Splits `ID:sub/folder` into the snapshot part and the subfolder ('' when none). */
export function splitSnapshotSpec(spec: string): { ref: string; subfolder: string } {
  const i = spec.indexOf(':');
  return i < 0 ? { ref: spec, subfolder: '' } : { ref: spec.slice(0, i), subfolder: spec.slice(i + 1) };
}

/** Resolves `latest`, a full ID or a unique prefix among `entries` (already filtered). */
export function findSnapshot(entries: readonly SnapshotEntry[], ref: string): SnapshotEntry {
  if (ref === 'latest') {
    const last = entries[entries.length - 1];
    if (!last) throw new CofferError('not-found-snapshot', 'no snapshot found (latest)');
    return last;
  }
  if (!/^[0-9a-f]+$/.test(ref)) throw new CofferError('usage', `invalid snapshot ID "${ref}"`);
  const hits = entries.filter((e) => e.id.startsWith(ref));
  if (hits.length === 0) throw new CofferError('not-found-snapshot', `no snapshot found with ID ${ref}`);
  if (hits.length > 1) throw new CofferError('usage', `snapshot ID prefix "${ref}" is ambiguous (${hits.length} snapshots match)`);
  return hits[0]!;
}
