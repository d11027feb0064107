/**
 * @module web/gallery/layout
 * The timeline's geometry, pure (no DOM): months, then days, then rows of square cells. Months
 * whose shard has not arrived yet are estimated from `months.json` counts (a header and
 * ceil(count / cols) rows), so the whole scroll height is known before any shard loads
 * (design web-gallery.md §4); a shard's arrival makes its month exact.
 */
import type { GalleryItem } from '../../core/gallery/item.js';

export interface LayoutSizes {
  readonly cols: number;
  /** Row height: a cell plus the gap below it. */
  readonly row: number;
  readonly monthHeader: number;
  readonly dayHeader: number;
}

export type Block =
  | { readonly kind: 'month'; readonly key: string; readonly month: string; readonly count: number; readonly top: number; readonly height: number }
  | { readonly kind: 'day'; readonly key: string; readonly day: string; readonly top: number; readonly height: number }
  | { readonly kind: 'row'; readonly key: string; readonly items: readonly GalleryItem[]; readonly top: number; readonly height: number }
  | { readonly kind: 'estimate'; readonly key: string; readonly month: string; readonly count: number; readonly top: number; readonly height: number };

export interface Layout {
  readonly blocks: readonly Block[];
  readonly height: number;
  /** Top and height of each month (header included), for scroll anchoring. */
  readonly months: ReadonlyMap<string, { top: number; height: number }>;
}

/** `taken` is local wall time: the day is its first 10 characters, whatever the viewer's zone. */
export const dayOf = (taken: string): string => taken.slice(0, 10);

export function layout(months: readonly { month: string; count: number }[], shards: ReadonlyMap<string, readonly GalleryItem[]>, s: LayoutSizes): Layout {
  const blocks: Block[] = [];
  const spans = new Map<string, { top: number; height: number }>();
  let y = 0;
  for (const m of months) {
    const start = y;
    const items = shards.get(m.month);
    blocks.push({ kind: 'month', key: `m:${m.month}`, month: m.month, count: items ? items.length : m.count, top: y, height: s.monthHeader });
    y += s.monthHeader;
    if (!items) {
      const h = s.dayHeader + Math.ceil(m.count / s.cols) * s.row;
      blocks.push({ kind: 'estimate', key: `e:${m.month}`, month: m.month, count: m.count, top: y, height: h });
      y += h;
    } else {
      let i = 0;
      while (i < items.length) {
        const day = dayOf(items[i]!.taken);
        let j = i;
        while (j < items.length && dayOf(items[j]!.taken) === day) j++;
        blocks.push({ kind: 'day', key: `d:${day}`, day, top: y, height: s.dayHeader });
        y += s.dayHeader;
        for (let r = i; r < j; r += s.cols) {
          blocks.push({ kind: 'row', key: `r:${items[r]!.id}:${s.cols}`, items: items.slice(r, Math.min(j, r + s.cols)), top: y, height: s.row });
          y += s.row;
        }
        i = j;
      }
    }
    spans.set(m.month, { top: start, height: y - start });
  }
  return { blocks, height: y, months: spans };
}

/** Index of the first block whose bottom is below `y` (blocks ascend by top). */
export function firstBlockAt(blocks: readonly Block[], y: number): number {
  let lo = 0;
  let hi = blocks.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const b = blocks[mid]!;
    if (b.top + b.height <= y) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
