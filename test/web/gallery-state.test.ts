/**
 * The gallery page's pure pieces: state edits (albums, favourites, hide, trash; bad edits refused
 * and nothing else touched) and search over `/search.json` columns made by the core's own
 * encoder (date range inclusive of the end day, country, camera label, name words).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { decodeSearch, EMPTY_STATE, encodeGalleryIndex } from '../../src/core/gallery/index-files.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';
import { applyEdit, goneIds, type UiState } from '../../src/web/gallery/state-edit.js';
import { searchRows } from '../../src/web/gallery/search-query.js';

const id = (n: number): string => n.toString(16).padStart(32, '0');

test('gallery state edits: albums, favourites, hide, trash', () => {
  let s: UiState = { ...EMPTY_STATE, hidden: [] };
  s = applyEdit(s, { kind: 'albumCreate', id: 'a1b2c3d4e5f60718', name: '  Trip ', ids: [id(1), id(2), id(1)], created: '2024-01-01T00:00:00Z' });
  assert.deepEqual(s.albums, [{ id: 'a1b2c3d4e5f60718', name: 'Trip', items: [id(1), id(2)], cover: null, created: '2024-01-01T00:00:00Z' }]);
  s = applyEdit(s, { kind: 'albumAdd', album: 'a1b2c3d4e5f60718', ids: [id(2), id(3), id(4)] });
  assert.deepEqual(s.albums[0]!.items, [id(1), id(2), id(3), id(4)]);
  s = applyEdit(s, { kind: 'albumMove', album: 'a1b2c3d4e5f60718', id: id(1), to: 2 });
  assert.deepEqual(s.albums[0]!.items, [id(2), id(3), id(1), id(4)]);
  s = applyEdit(s, { kind: 'albumMove', album: 'a1b2c3d4e5f60718', id: id(4), to: -5 });
  assert.deepEqual(s.albums[0]!.items, [id(4), id(2), id(3), id(1)]);
  s = applyEdit(s, { kind: 'albumCover', album: 'a1b2c3d4e5f60718', id: id(3) });
  s = applyEdit(s, { kind: 'albumRemove', album: 'a1b2c3d4e5f60718', ids: [id(3)] });
  assert.equal(s.albums[0]!.cover, null, 'removing the cover clears it');
  s = applyEdit(s, { kind: 'albumRename', album: 'a1b2c3d4e5f60718', name: 'Paris' });
  assert.equal(s.albums[0]!.name, 'Paris');
  assert.throws(() => applyEdit(s, { kind: 'albumRename', album: 'a1b2c3d4e5f60718', name: '   ' }), /needs a name/);
  assert.throws(() => applyEdit(s, { kind: 'albumAdd', album: 'nope-nope', ids: [id(1)] }), /no longer exists/);
  assert.throws(() => applyEdit(s, { kind: 'albumAdd', album: 'a1b2c3d4e5f60718', ids: ['../etc'] }), /invalid gallery item id/);
  assert.throws(() => applyEdit(s, { kind: 'albumCover', album: 'a1b2c3d4e5f60718', id: id(9) }), /cover/);
  s = applyEdit(s, { kind: 'favorite', ids: [id(5), id(6)], on: true });
  s = applyEdit(s, { kind: 'favorite', ids: [id(5)], on: false });
  assert.deepEqual(s.favorites, [id(6)]);
  s = applyEdit(s, { kind: 'hide', ids: [id(7)], on: true });
  s = applyEdit(s, { kind: 'trash', ids: [id(8), id(2)], on: true, time: '2024-02-02T00:00:00Z' });
  assert.deepEqual([...goneIds(s)].sort(), [id(2), id(7), id(8)]);
  s = applyEdit(s, { kind: 'trash', ids: [id(2)], on: false, time: '' });
  s = applyEdit(s, { kind: 'hide', ids: [id(7)], on: false });
  assert.deepEqual([...goneIds(s)], [id(8)]);
  assert.deepEqual(s.albums[0]!.items, [id(4), id(2), id(1)], 'hiding or trashing does not edit albums');
  s = applyEdit(s, { kind: 'albumDelete', album: 'a1b2c3d4e5f60718' });
  assert.deepEqual(s.albums, []);
});

function item(n: number, taken: string, name: string, camera: { make: string; model: string } | null, country: string | null): GalleryItem {
  return {
    id: id(n), kind: 'image', mime: 'image/jpeg', name, taken, offset: null, takenFrom: 'exif', w: 10, h: 10, orientation: 1, size: 1, duration: null,
    camera, gps: country ? [1, 1] : null, country, content: ['ab'.repeat(32)], hints: [], sources: [{ path: `/p/${name}`, snapshot: 'ab'.repeat(32) }],
    thumb: { w: 1, h: 1 }, preview: { w: 1, h: 1 }, hash: null,
  };
}

test('gallery search: date range, place, camera, name over the encoded search.json', () => {
  const canon = { make: 'Canon', model: 'Canon EOS R6' };
  const pixel = { make: 'Google', model: 'Pixel 8' };
  const items = [
    item(1, '2024-06-30T23:59:59', 'IMG_0001.jpg', canon, 'FR'),
    item(2, '2024-07-01T00:00:00', 'Beach Day.JPG', pixel, 'FR'),
    item(3, '2024-05-01T00:00:00', 'beach-sunset.jpg', canon, 'AU'),
    item(4, '2023-12-31T12:00:00', 'scan.png', null, null),
  ];
  const idx = decodeSearch(encodeGalleryIndex(items, EMPTY_STATE).get('search.json')!);
  const ids = (q: Parameters<typeof searchRows>[1]): string[] => searchRows(idx, q).map((r) => idx.ids[r]!).sort();
  assert.deepEqual(ids({ from: '2024-05-01', to: '2024-06-30' }), [id(1), id(3)], 'the end day is included, the next day is not');
  assert.deepEqual(ids({ from: '2024-07-01' }), [id(2)]);
  assert.deepEqual(ids({ to: '2023-12-31' }), [id(4)]);
  assert.deepEqual(ids({ place: 'fr' }), [id(1), id(2)]);
  assert.deepEqual(ids({ place: 'JP' }), []);
  assert.deepEqual(ids({ camera: 'Canon EOS R6' }), [id(1), id(3)], 'the label does not repeat the make');
  assert.deepEqual(ids({ camera: 'Google Pixel 8', place: 'FR' }), [id(2)]);
  assert.deepEqual(ids({ q: 'BEACH' }), [id(2), id(3)]);
  assert.deepEqual(ids({ q: 'beach sun' }), [id(3)], 'every word must match');
  assert.deepEqual(ids({ q: 'beach', place: 'AU', from: '2024-01-01' }), [id(3)]);
});
