/**
 * The gallery's pure geometry (src/web/gallery/layout.ts, cluster.ts): month estimates before
 * shards load, exact days and rows after, the block search used by the virtual grid, and the
 * map's Web Mercator projection and grid clustering.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { firstBlockAt, layout } from '../../src/web/gallery/layout.js';
import { cluster, project, unproject } from '../../src/web/gallery/cluster.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';

const S = { cols: 4, row: 104, monthHeader: 50, dayHeader: 30 };
const item = (id: number, taken: string): GalleryItem => ({ id: id.toString(16).padStart(32, '0'), taken }) as GalleryItem;

test('layout: estimates from months.json, exact after a shard, no item twice', () => {
  const months = [{ month: '2024-06', count: 5 }, { month: '2024-05', count: 100_000 }];
  const est = layout(months, new Map(), S);
  assert.equal(est.height, 50 + 30 + 2 * 104 + 50 + 30 + 25_000 * 104);
  assert.deepEqual(est.blocks.map((b) => b.kind), ['month', 'estimate', 'month', 'estimate']);
  const june = [item(1, '2024-06-30T10:00:00'), item(2, '2024-06-30T09:00:00'), item(3, '2024-06-02T08:00:00'), item(4, '2024-06-02T07:00:00'), item(5, '2024-06-02T06:00:00')];
  const exact = layout(months, new Map([['2024-06', june]]), S);
  assert.deepEqual(exact.blocks.slice(0, 5).map((b) => b.kind), ['month', 'day', 'row', 'day', 'row']);
  const rows = exact.blocks.filter((b) => b.kind === 'row');
  assert.deepEqual(rows.flatMap((r) => (r.kind === 'row' ? r.items.map((i) => i.taken) : [])), june.map((i) => i.taken));
  assert.equal(exact.months.get('2024-06')!.height, 50 + 2 * (30 + 104));
  assert.equal(exact.months.get('2024-05')!.top, exact.months.get('2024-06')!.height);
  // Tops ascend with no gap, so the binary search is sound.
  for (let i = 1; i < exact.blocks.length; i++) assert.equal(exact.blocks[i]!.top, exact.blocks[i - 1]!.top + exact.blocks[i - 1]!.height);
  for (const y of [0, 49, 50, 79, 80, 300, 2_000_000]) {
    const i = firstBlockAt(exact.blocks, y);
    const b = exact.blocks[i]!;
    assert.ok(b.top <= y && y < b.top + b.height, `block at ${y}`);
  }
});

test('map: projection round trip and clustering by grid cell', () => {
  for (const [lat, lon] of [[48.85837, 2.29448], [-33.85678, 151.21529], [0, 0]] as const) {
    const [x, y] = project(lat, lon);
    const [a, b] = unproject(x, y);
    assert.ok(Math.abs(a - lat) < 1e-9 && Math.abs(b - lon) < 1e-9);
  }
  const pts: [number, number, string][] = [[48.85837, 2.29448, 'a'], [48.8584, 2.2945, 'b'], [-33.85678, 151.21529, 'c']];
  const world = cluster(pts, 0.05);
  assert.deepEqual(world.map((c) => c.ids.length).sort(), [1, 2]);
  assert.equal(cluster(pts, 1e-7).length, 3, 'zoomed far in, every point on its own');
});
