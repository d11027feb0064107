/**
 * The gallery library's pure parts: our TopoJSON decoder, the offline country lookup against
 * world-atlas' countries-110m (known cities, the sea, borders, a hole, the antimeridian), and the
 * index codec's hidden items and country counts. Fast (about 1 s).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { countryLookup, inPolygon, isoAlpha2, unwrapRing } from '../../src/core/gallery/countries.js';
import { asTopology, decodeArcs, geometryPolygons, objectGeometries } from '../../src/core/gallery/topojson.js';
import { decodeGeo, decodeHidden, decodeMonths, decodeSearch, decodeShard, decodeState, EMPTY_STATE, encodeGalleryIndex, HIDDEN_INDEX } from '../../src/core/gallery/index-files.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';
import { loadCountryLookup } from '../../src/node/gallery-countries.js';
import { gallerySnapshot, type GalleryLibrary } from '../../src/core/engine/gallery/build.js';
import { planRecordRetention } from '../../src/core/engine/records/retention.js';
import { isRecordSnapshot, recordKindOf } from '../../src/core/engine/records/records.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import type { SnapshotEntry } from '../../src/core/repository/snapshots.js';

const atlas = (name: string) => JSON.parse(fs.readFileSync(createRequire(import.meta.url).resolve(`world-atlas/${name}`), 'utf8'));

describe('gallery library: TopoJSON decoder', () => {
  it('undoes quantization and delta encoding, joins arcs and reverses negative ones', () => {
    // Two arcs sharing the edge (0,0)-(0,2): a square split in two triangles, scale 0.5, shift (10, 20).
    const topo = {
      type: 'Topology',
      transform: { scale: [0.5, 0.5], translate: [10, 20] },
      arcs: [
        [[0, 0], [0, 2]], // arc 0: (10,20) -> (10,21)
        [[0, 2], [2, 0], [0, -2], [-2, 0]], // arc 1: (10,21) -> (11,21) -> (11,20) -> (10,20)
      ],
      objects: {
        shapes: {
          type: 'GeometryCollection',
          geometries: [
            { type: 'Polygon', id: '250', arcs: [[0, 1]] },
            { type: 'MultiPolygon', id: 'x', arcs: [[[~1, ~0]]] },
            { type: 'Point', coordinates: [0, 0] },
          ],
        },
      },
    };
    const t = asTopology(topo);
    const arcs = decodeArcs(t);
    assert.deepEqual(arcs[1], [[10, 21], [11, 21], [11, 20], [10, 20]]);
    const [poly, multi, point] = objectGeometries(t, 'shapes').map((g) => geometryPolygons(g, arcs));
    assert.deepEqual(poly, [[[[10, 20], [10, 21], [11, 21], [11, 20], [10, 20]]]]);
    assert.deepEqual(multi, [[[[10, 20], [11, 20], [11, 21], [10, 21], [10, 20]]]]);
    assert.deepEqual(point, []);
    assert.equal(inPolygon(poly![0]!, 10.5, 20.5), true);
    assert.equal(inPolygon(poly![0]!, 11.5, 20.5), false);
    assert.throws(() => asTopology({ type: 'FeatureCollection' }), /not a Topology/);
    assert.throws(() => geometryPolygons({ type: 'Polygon', arcs: [[7]] }, arcs), /out of range/);
  });

  it('counts a hole as outside and unwraps a ring across the antimeridian', () => {
    const outer = [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]] as const;
    const hole = [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]] as const;
    assert.equal(inPolygon([outer, hole], 5, 5), false);
    assert.equal(inPolygon([outer, hole], 2, 5), true);
    const ring = unwrapRing([[170, 0], [-170, 0], [-170, 10], [170, 10], [170, 0]]);
    assert.deepEqual(ring.map((p) => p[0]), [170, 190, 190, 170, 170]);
    // Around the pole: closed along it.
    const polar = unwrapRing([[-180, -70], [0, -70], [179, -70], [-180, -71]]);
    assert.deepEqual(polar.slice(-3), [[180, -90], [-180, -90], [-180, -70]]);
    assert.equal(inPolygon([polar], 10, -80), true);
    assert.equal(inPolygon([polar], 10, -60), false);
  });

  it('maps every countries-110m shape to an ISO 3166-1 alpha-2 code', () => {
    const t = asTopology(atlas('countries-110m.json'));
    const codes = objectGeometries(t, 'countries').map((g) => isoAlpha2(g.id, g.properties?.['name']));
    assert.equal(codes.filter((c) => c === undefined).length, 0);
    assert.ok(codes.every((c) => /^[A-Z]{2}$/.test(c!)));
    assert.equal(isoAlpha2('250', 'France'), 'FR');
    assert.equal(isoAlpha2(undefined, 'Kosovo'), 'XK');
  });
});

describe('gallery library: country of a position', () => {
  const countryOf = countryLookup(atlas('countries-110m.json'));
  const cases: [string, number, number, string | null][] = [
    ['Paris', 48.8566, 2.3522, 'FR'],
    ['the Eiffel tower', 48.85837, 2.29448, 'FR'],
    ['New York', 40.7128, -74.006, 'US'],
    ['Sydney', -33.8688, 151.2093, 'AU'],
    ['Tokyo', 35.6762, 139.6503, 'JP'],
    ['mid-Atlantic', 0, -30, null],
    ['South Pacific', -40, -100, null],
    // Borders: a few km apart, on either side.
    ['Strasbourg', 48.5734, 7.7521, 'FR'],
    ['Kehl', 48.5767, 7.8158, 'DE'],
    ['San Diego', 32.7157, -117.1611, 'US'],
    ['Tijuana', 32.5149, -117.0382, 'MX'],
    // A hole: Lesotho inside South Africa.
    ['Maseru area', -29.6, 28.2, 'LS'],
    ['Bloemfontein', -29.0852, 26.1596, 'ZA'],
    // The antimeridian: Fiji and Chukotka lie on both sides of it.
    ['Fiji, west of 180', -17.7, 178.1, 'FJ'],
    ['Chukotka, east of 180', 66, -175, 'RU'],
    ['Anadyr', 64.73, 177.5, 'RU'],
    ['a longitude past 180', 66, 185, 'RU'],
    ['Antarctica', -80, 0, 'AQ'],
    ['the South Pole (a ring around the pole)', -89.9, 45, 'AQ'],
    ['the North Pole', 89.9, 0, null],
  ];
  for (const [name, lat, lon, code] of cases) {
    it(`${name} → ${code ?? 'none'}`, () => assert.equal(countryOf(lat, lon), code));
  }
  it('rejects nonsense and honours nearKm = 0 (coast points need the nearest-border fallback)', () => {
    assert.equal(countryOf(Number.NaN, 2), null);
    assert.equal(countryOf(91, 2), null);
    // Honolulu's harbour is outside the coarse 110m outline but within 40 km of Oahu's.
    const strict = countryLookup(atlas('countries-110m.json'), { nearKm: 0 });
    const near = [[21.3069, -157.8583], [-33.8688, 151.2093], [43.2965, 5.3698]].filter(([la, lo]) => strict(la!, lo!) === null);
    for (const [la, lo] of near) assert.notEqual(countryOf(la!, lo!), null);
  });
  it('the Node edge loads the bundled file once and answers like the core lookup', () => {
    const f = loadCountryLookup();
    assert.equal(f, loadCountryLookup());
    assert.equal(f(48.8566, 2.3522), 'FR');
  });
});

function item(n: number, taken: string, extra: Partial<GalleryItem> = {}): GalleryItem {
  return {
    id: n.toString(16).padStart(32, '0'),
    kind: 'image',
    mime: 'image/jpeg',
    name: `IMG_${n}.jpg`,
    taken,
    offset: null,
    takenFrom: 'exif',
    w: 4,
    h: 3,
    orientation: 1,
    size: 100 * n,
    duration: null,
    camera: null,
    gps: null,
    country: null,
    content: ['ab'.repeat(32)],
    hints: [],
    sources: [{ path: `/p/IMG_${n}.jpg`, snapshot: 'cd'.repeat(32) }],
    thumb: { w: 4, h: 3 },
    preview: { w: 4, h: 3 },
    hash: null,
    ...extra,
  };
}

describe('gallery library: hidden items and countries in the index', () => {
  const items = [
    item(1, '2024-06-01T10:00:00', { gps: [48.85837, 2.29448], country: 'FR' }),
    item(2, '2024-06-02T10:00:00', { gps: [40.7128, -74.006], country: 'US' }),
    item(3, '2024-05-01T10:00:00', { gps: [48.8, 2.3], country: 'FR' }),
    item(4, '2024-05-02T10:00:00'),
  ];
  it('fills the countries of months.json and search.json', () => {
    const files = encodeGalleryIndex(items, EMPTY_STATE);
    assert.deepEqual(decodeMonths(files.get('months.json')!).countries, [{ code: 'FR', count: 2 }, { code: 'US', count: 1 }]);
    const s = decodeSearch(files.get('search.json')!);
    assert.deepEqual(s.countries, ['FR', 'US']);
    assert.deepEqual(s.ids.map((id, i) => [id.slice(-1), s.country[i] === -1 ? null : s.countries[s.country[i]!]]), [['2', 'US'], ['1', 'FR'], ['4', null], ['3', 'FR']]);
    assert.deepEqual(decodeHidden(files.get(HIDDEN_INDEX)!).items, []);
  });
  it('moves hidden items out of the shards, counts, geo and search into hidden/index.json', () => {
    const hide = [items[1]!.id, items[2]!.id];
    const files = encodeGalleryIndex(items, { ...EMPTY_STATE, hidden: hide });
    const months = decodeMonths(files.get('months.json')!);
    assert.equal(months.count, 2);
    assert.deepEqual(months.months.map((m) => [m.month, m.count, m.bytes]), [['2024-06', 1, 100], ['2024-05', 1, 400]]);
    assert.deepEqual(months.countries, [{ code: 'FR', count: 1 }]);
    for (const m of months.months) assert.equal(decodeShard(files.get(`index/${m.month}.json`)!).items.length, m.count);
    const visible = [items[0]!.id, items[3]!.id];
    assert.deepEqual(decodeShard(files.get('index/2024-06.json')!).items.map((i) => i.id), [visible[0]]);
    assert.deepEqual(decodeGeo(files.get('geo.json')!).points.map((p) => p[2]), [visible[0]]);
    assert.deepEqual([...decodeSearch(files.get('search.json')!).ids].sort(), [...visible].sort());
    const hidden = decodeHidden(files.get(HIDDEN_INDEX)!).items;
    assert.deepEqual(hidden.map((i) => i.id), [items[1]!.id, items[2]!.id], 'newest first');
    assert.deepEqual(hidden[0]!.gps, [40.7128, -74.006]);
    assert.deepEqual(decodeState(files.get('state.json')!).hidden, [...hide].sort());
    // Unhiding gives back exactly the bytes of a library that never hid them.
    const back = encodeGalleryIndex(items, { ...EMPTY_STATE, hidden: [] });
    for (const [k, v] of encodeGalleryIndex(items, EMPTY_STATE)) assert.deepEqual(back.get(k), v, k);
  });
  it('reads a state.json written before `hidden` existed', () => {
    const old = new TextEncoder().encode('{"version":1,"favorites":[],"albums":[],"trash":[],"edits":{}}');
    assert.deepEqual(decodeState(old).hidden, []);
  });
});

describe('gallery library: both galleries in the record retention', () => {
  it('keeps the newest two of each gallery as separate groups', () => {
    const now = 1_790_000_000;
    const entries: SnapshotEntry[] = [];
    for (const lib of ['main', 'private'] as GalleryLibrary[]) {
      for (let i = 0; i < 5; i++) {
        const snapshot = gallerySnapshot(lib, 'a'.repeat(64), fromUnixNanos(BigInt(now - 3600 * (5 - i)) * 1_000_000_000n, 0), { username: 'u', hostname: 'h', pid: 1 }, undefined);
        entries.push({ id: `${lib === 'main' ? 'a' : 'b'}${i.toString(16).padStart(63, '0')}`, snapshot });
      }
    }
    const priv = entries[5]!.snapshot;
    assert.deepEqual(priv.paths, ['/coffer/gallery-private']);
    assert.ok(priv.tags!.includes('private') && priv.tags!.includes('coffer-gallery') && priv.tags!.includes('coffer-internal'));
    assert.equal(recordKindOf(priv), 'gallery-private');
    assert.equal(isRecordSnapshot(priv, 'gallery'), false, 'the private gallery is not the ordinary one');
    assert.equal(recordKindOf(entries[0]!.snapshot), 'gallery');
    const groups = planRecordRetention(entries, now * 1000);
    assert.equal(groups.length, 2);
    const kept = groups.flatMap((g) => g.keep.map((e) => e.id)).sort();
    assert.deepEqual(kept, [entries[3]!.id, entries[4]!.id, entries[8]!.id, entries[9]!.id].sort());
  });
});
