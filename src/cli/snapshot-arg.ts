/**
 * @module cli/snapshot-arg
 * Resolving a snapshot argument (`latest`, ID, prefix, `ID:subfolder`) with restic's filters
 * (--host, --path, --tag apply to `latest`), and restic's JSON rendering of a snapshot.
 */
import { utf8Decode } from '../core/bytes.js';
import { encodeSnapshot } from '../core/format/snapshot.js';
import type { Id } from '../core/format/types.js';
import type { MasterIndex } from '../core/repository/master-index.js';
import type { Repository } from '../core/repository/repository.js';
import { findSnapshot, loadSnapshots, matchesFilter, splitSnapshotSpec, type SnapshotEntry, type SnapshotFilter } from '../core/repository/snapshots.js';
import { resolveSubfolder, TreeLoader } from '../core/engine/walk/tree-walker.js';
import { list, type OptionSpecs, type Values } from './command.js';

export const FILTER_OPTIONS = {
  host: { type: 'string', short: 'H', multiple: true },
  path: { type: 'string', multiple: true },
  tag: { type: 'string', multiple: true },
} as const satisfies OptionSpecs;

export function filterFrom(values: Values): SnapshotFilter {
  return { hosts: list(values.host), paths: list(values.path), tags: list(values.tag) };
}

export interface ResolvedSnapshot {
  readonly entry: SnapshotEntry;
  /** Tree to work on: the root, or the subfolder's tree. */
  readonly tree: Id;
  readonly subfolder: string;
}

export async function resolveSnapshotArg(repo: Repository, index: MasterIndex, spec: string, filter: SnapshotFilter = {}): Promise<ResolvedSnapshot> {
  const { ref, subfolder } = splitSnapshotSpec(spec);
  const all = await loadSnapshots(repo);
  const entry = findSnapshot(ref === 'latest' ? all.filter((e) => matchesFilter(e.snapshot, filter)) : all, ref);
  const tree = subfolder ? await resolveSubfolder(new TreeLoader(repo, index), entry.snapshot.tree, subfolder) : entry.snapshot.tree;
  return { entry, tree, subfolder };
}

/** restic's `snapshots --json` object: the snapshot's own fields plus id and short_id. */
export function snapshotJson(e: SnapshotEntry): Record<string, unknown> {
  const obj = JSON.parse(utf8Decode(encodeSnapshot(e.snapshot))) as Record<string, unknown>;
  return { ...obj, id: e.id, short_id: e.id.slice(0, 8) };
}

/**
 * restic's FindFilteredSnapshots: the snapshots named by `args` (IDs, prefixes, `latest` within
 * the filter), or every snapshot matching the filter when none is named. Oldest first.
 */
export async function selectSnapshots(repo: Repository, args: readonly string[], filter: SnapshotFilter = {}): Promise<SnapshotEntry[]> {
  const all = await loadSnapshots(repo);
  const filtered = all.filter((e) => matchesFilter(e.snapshot, filter));
  if (args.length === 0) return filtered;
  const seen = new Set<string>();
  const out: SnapshotEntry[] = [];
  for (const a of args) {
    const e = findSnapshot(a === 'latest' ? filtered : all, a);
    if (!seen.has(e.id)) {
      seen.add(e.id);
      out.push(e);
    }
  }
  return out;
}
