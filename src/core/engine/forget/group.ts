/**
 * @module engine/forget/group
 * Grouping snapshots for the retention policy (restic's GroupSnapshots): by any combination of
 * host, paths and tags (paths and tags compared as sorted sets), or all in one group.
 */
import { CofferError } from '../../errors.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';

export interface GroupBy {
  readonly host: boolean;
  readonly paths: boolean;
  readonly tags: boolean;
}

/** A group's key as restic's JSON shows it: unused parts are "" / null. */
export interface GroupKey {
  readonly hostname: string;
  readonly paths: readonly string[] | null;
  readonly tags: readonly string[] | null;
}

export interface SnapshotGroup {
  readonly key: GroupKey;
  readonly entries: SnapshotEntry[];
}

/** Parses `--group-by` ("host,paths" by default; "" for no grouping). */
export function parseGroupBy(text: string): GroupBy {
  const g = { host: false, paths: false, tags: false };
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    if (p === 'host') g.host = true;
    else if (p === 'paths' || p === 'path') g.paths = true;
    else if (p === 'tags' || p === 'tag') g.tags = true;
    else throw new CofferError('usage', `unknown grouping option "${p}" for --group-by (use host, paths, tags)`);
  }
  return g;
}

function sorted(a: readonly string[] | undefined): string[] | null {
  return a && a.length > 0 ? [...a].sort() : null;
}

/** Groups in a stable order (by key); each group's entries keep their input order. */
export function groupSnapshots(entries: readonly SnapshotEntry[], by: GroupBy): SnapshotGroup[] {
  const groups = new Map<string, SnapshotGroup>();
  for (const e of entries) {
    const key: GroupKey = {
      hostname: by.host ? (e.snapshot.hostname ?? '') : '',
      paths: by.paths ? sorted(e.snapshot.paths) : null,
      tags: by.tags ? sorted(e.snapshot.tags) : null,
    };
    const k = JSON.stringify(key);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { key, entries: [] }));
    g.entries.push(e);
  }
  return [...groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, g]) => g);
}

/** restic's SnapshotGroupKey.String(): "host h1, paths [/a /b], tags [x]". */
export function describeGroupKey(k: GroupKey): string {
  const parts: string[] = [];
  if (k.hostname) parts.push(`host ${k.hostname}`);
  if (k.paths) parts.push(`paths [${k.paths.join(' ')}]`);
  if (k.tags) parts.push(`tags [${k.tags.join(' ')}]`);
  return parts.join(', ');
}
