/**
 * @module engine/check/subset
 * `--read-data-subset` as restic parses and applies it:
 *   n/t   packs whose ID's first byte % t == n-1 (t at most 256; every pack lands in one bucket)
 *   x%    a random x percent of the packs (at least one when there are packs)
 *   SIZE  (e.g. 500M; K/M/G/T are powers of 1024) a random share of packs equal to SIZE / total
 */
import { CofferError } from '../../errors.js';
import type { Id } from '../../format/types.js';

export type Subset =
  | { readonly kind: 'bucket'; readonly n: number; readonly t: number }
  | { readonly kind: 'percent'; readonly percent: number }
  | { readonly kind: 'size'; readonly bytes: number };

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

export function parseSubset(s: string): Subset {
  const bad = (why: string) => new CofferError('usage', `invalid --read-data-subset "${s}": ${why}`);
  let m = /^(\d+)\/(\d+)$/.exec(s);
  if (m) {
    const n = Number(m[1]);
    const t = Number(m[2]);
    if (n < 1 || t < 1 || n > t) throw bad('expected n/t with 1 <= n <= t');
    if (t > 256) throw bad('the number of buckets t must be at most 256');
    return { kind: 'bucket', n, t };
  }
  m = /^(\d+(?:\.\d*)?|\.\d+)%$/.exec(s);
  if (m) {
    const percent = Number(m[1]);
    if (!(percent > 0 && percent <= 100)) throw bad('the percentage must be above 0 and at most 100');
    return { kind: 'percent', percent };
  }
  m = /^(\d+)([bkmgt]?)$/i.exec(s);
  if (m) {
    const bytes = Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
    if (!(bytes > 0)) throw bad('the size must be above 0');
    return { kind: 'size', bytes };
  }
  throw bad('use n/t, a percentage like 10% or a size like 500M');
}

/** Picks the packs to read. `random()` returns a float in [0, 1) (injected: the core has no Math.random policy). */
export function selectPacks(packs: ReadonlyMap<Id, number>, subset: Subset, random: () => number = Math.random): Id[] {
  if (subset.kind === 'bucket') {
    return [...packs.keys()].filter((id) => parseInt(id.slice(0, 2), 16) % subset.t === subset.n - 1);
  }
  let percent = subset.kind === 'percent' ? subset.percent : 0;
  if (subset.kind === 'size') {
    let total = 0;
    for (const size of packs.values()) total += size;
    percent = total > 0 ? (subset.bytes / total) * 100 : 0;
  }
  let count = Math.floor(packs.size * (percent / 100));
  if (packs.size > 0 && count < 1) count = 1;
  count = Math.min(count, packs.size);
  // Fisher-Yates shuffle, then the first `count`.
  const ids = [...packs.keys()];
  for (let i = ids.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [ids[i], ids[j]] = [ids[j]!, ids[i]!];
  }
  return ids.slice(0, count);
}
