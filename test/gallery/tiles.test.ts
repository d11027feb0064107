/**
 * The map's optional tile server (core/gallery/tiles.ts): which templates are accepted, and
 * which tiles cover a view.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MAX_TILE_ZOOM, parseTileTemplate, tileUrl, tileZoom, tilesForView } from '../../src/core/gallery/tiles.js';
import { project } from '../../src/web/gallery/cluster.js';

test('tile templates: https anywhere, http only on this machine, {z}/{x}/{y} required, no credentials', () => {
  const ok = parseTileTemplate('https://tile.example.org/osm/{z}/{x}/{y}.png?key=abc');
  assert.equal(typeof ok, 'object');
  if (typeof ok === 'string') return;
  assert.equal(ok.origin, 'https://tile.example.org');
  assert.equal(ok.host, 'tile.example.org');
  assert.equal(tileUrl(ok, 3, 4, 5), 'https://tile.example.org/osm/3/4/5.png?key=abc');
  const local = parseTileTemplate('http://127.0.0.1:8081/{z}/{x}/{y}.png');
  assert.equal(typeof local === 'object' && local.origin, 'http://127.0.0.1:8081');
  for (const [bad, why] of [
    ['http://tile.example.org/{z}/{x}/{y}.png', /https/],
    ['https://tile.example.org/{z}/{x}.png', /no \{y\}/],
    ['https://user:secret@tile.example.org/{z}/{x}/{y}.png', /user name or password/],
    ['https://{s}.tile.example.org/{z}/{x}/{y}.png', /must look like/],
    ['https://tile.example.org/{z}/{x}/{y}/{r}.png', /only use/],
    ['javascript:alert(1)//{z}{x}{y}', /must look like/],
    ['tile.example.org/{z}/{x}/{y}.png', /must look like/],
  ] as const) {
    const r = parseTileTemplate(bad);
    assert.equal(typeof r, 'string', bad);
    assert.match(r as string, why, bad);
    assert.ok(!(r as string).includes('secret'), 'the message never repeats a password');
  }
});

test('tile zoom follows the scale: ~256 px per tile, clamped to 0..19', () => {
  assert.equal(tileZoom(1 / 256), 0); // the whole world in 256 px
  assert.equal(tileZoom(1 / (256 * 2 ** 10)), 10);
  assert.equal(tileZoom(1 / (256 * 2 ** 10 * 1.3)), 10);
  assert.equal(tileZoom(1), 0);
  assert.equal(tileZoom(1e-12), MAX_TILE_ZOOM);
});

test('the tiles of a view cover it, stay inside the world and name the slippy-map tile of a place', () => {
  // A place's tile by the slippy-map formula (asinh form, independent of project's ln form).
  for (const [lat, lon] of [[48.85837, 2.29448], [-33.85678, 151.21529], [0.5, -0.5]] as const) {
    const z = 12;
    const n = 2 ** z;
    const rad = (lat * Math.PI) / 180;
    const want = [Math.floor(((lon + 180) / 360) * n), Math.floor(((1 - Math.asinh(Math.tan(rad)) / Math.PI) / 2) * n)];
    const [px, py] = project(lat, lon);
    const [one] = tilesForView(px - 1e-9, py - 1e-9, 2e-9, 2e-9, z);
    assert.deepEqual([one!.x, one!.y], want, `${lat},${lon}`);
  }
  // A view: every tile touches it, and together they cover its corners.
  const [l, t, w, h] = [0.3, 0.2, 0.05, 0.03];
  const tiles = tilesForView(l, t, w, h, 7);
  const n = 2 ** 7;
  for (const v of tiles) {
    assert.ok(v.x >= 0 && v.x < n && v.y >= 0 && v.y < n);
    assert.ok(v.wx < l + w && v.wx + v.size > l && v.wy < t + h && v.wy + v.size > t);
  }
  const covered = (x: number, y: number) => tiles.some((v) => x >= v.wx && x <= v.wx + v.size && y >= v.wy && y <= v.wy + v.size);
  for (const [x, y] of [[l, t], [l + w, t], [l, t + h], [l + w, t + h]]) assert.ok(covered(x!, y!));
  // Outside the world, and views larger than the world, stay inside it; the count is capped.
  assert.deepEqual(tilesForView(1.5, 0.2, 0.1, 0.1, 3), []);
  assert.equal(tilesForView(-1, -1, 3, 3, 1).length, 4);
  assert.equal(tilesForView(0, 0, 1, 1, 10, 50).length, 50);
});
