/**
 * @module web/gallery/map
 * The map of geotagged photos, `#/map` (design web-gallery.md §4): `/geo.json` drawn as SVG in
 * Web Mercator, markers clustered on a grid that follows the zoom (cluster.ts), with no request
 * leaving the origin. The base (`map-base`) is the world-atlas `land-110m` outline (Natural
 * Earth, public domain), served by our own server as a static asset and decoded here by the
 * core's TopoJSON reader, under a graticule. Wheel or +/− zoom, drag pans, a cluster click zooms
 * in on it; a single photo's marker opens the timeline. If the user set a tile server
 * (`coffer web --map-tiles`, `/api/info`'s `mapTiles`), its raster tiles are drawn over the
 * outline (`map-tile`), and the note names the server that sees the requests.
 */
import { h } from '../app/dom.js';
import { registerView } from '../app/views.js';
import { cluster, project } from './cluster.js';
import { installGalleryStyle } from './style.js';
import { landPathData } from '../../core/gallery/land.js';
import { parseTileTemplate, tileUrl, tileZoom, tilesForView, type TileTemplate } from '../../core/gallery/tiles.js';

const SVG = 'http://www.w3.org/2000/svg';
const CELL_PX = 56;
/** The bundled outline, served beside the app (web-assets' EXTRA_FILES): same origin only. */
const LAND_URL = new URL('../../../../node_modules/world-atlas/land-110m.json', import.meta.url);

let landPath: Promise<string> | undefined;

function loadLand(): Promise<string> {
  landPath ??= fetch(LAND_URL, { credentials: 'same-origin' })
    .then((r) => {
      if (!r.ok) throw new Error(`land outline: HTTP ${r.status}`);
      return r.json();
    })
    .then((topology) => landPathData(topology, project));
  landPath.catch(() => (landPath = undefined)); // try again on the next visit
  return landPath;
}

/** The tile server the user set, if any (checked again here: the page trusts no string blindly). */
function tileServer(template: string | undefined): TileTemplate | undefined {
  const t = template === undefined ? undefined : parseTileTemplate(template);
  return typeof t === 'object' ? t : undefined;
}

function s<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, ...kids: (Node | string)[]): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k === 'testid' ? 'data-testid' : k, String(v));
  for (const c of kids) el.append(c);
  return el;
}

registerView({
  id: 'map',
  routes: ['map'],
  nav: { testid: 'nav-map', label: 'Map', order: 6 },
  render: async (ctx, _route, main, signal) => {
    installGalleryStyle();
    ctx.setTitle('Map');
    const info = await ctx.client().call({ op: 'galleryMonths' });
    const geo = info ? await ctx.client().call({ op: 'galleryGeo' }) : { version: 1 as const, points: [] };
    const tiles = tileServer(ctx.mapTiles);
    if (signal.aborted) return;
    if (!geo.points.length) {
      main.appendChild(h('p', { class: 'g-empty', testid: 'map-empty' }, 'No geotagged photos yet.'));
      return;
    }
    // View box in world units (the world is the unit square), fitted to the points.
    const xy = geo.points.map(([lat, lon]) => project(lat, lon));
    const xs = xy.map((p) => p[0]);
    const ys = xy.map((p) => p[1]);
    const [x0, x1, y0, y1] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
    let vw = 0; // set by the first draw, when the map's size is known
    let cx = (x0 + x1) / 2;
    let cy = (y0 + y1) / 2;
    const base = s('g', { testid: 'map-base', class: 'map-base', 'clip-path': 'url(#map-world)', 'data-land': 'loading' });
    const grid = s('path', { d: '', fill: 'none', 'stroke-width': 1, 'vector-effect': 'non-scaling-stroke', class: 'map-grid' });
    const land = s('path', { d: '', class: 'map-land', fill: '#cfd8c4', stroke: '#8a9a7e', 'stroke-width': 0.5, 'fill-rule': 'evenodd', 'vector-effect': 'non-scaling-stroke' });
    const tileLayer = s('g', { class: 'map-tiles' });
    base.append(s('rect', { x: 0, y: 0, width: 1, height: 1, class: 'map-sea' }), land, tileLayer, grid);
    if (tiles) grid.setAttribute('display', 'none');
    /** Tiles on screen by "z/x/y": kept across redraws, so panning asks only for new ones. */
    const shownTiles = new Map<string, SVGImageElement>();
    loadLand().then(
      (path) => {
        land.setAttribute('d', path);
        base.setAttribute('data-land', 'loaded');
      },
      () => base.setAttribute('data-land', 'failed'),
    );
    const d: string[] = [];
    for (let lon = -180; lon <= 180; lon += 15) d.push(`M${(lon + 180) / 360} 0V1`);
    for (let lat = -75; lat <= 75; lat += 15) {
      const y = project(lat, 0)[1];
      d.push(`M0 ${y}H1`);
    }
    grid.setAttribute('d', d.join(''));
    const markers = s('g', {});
    const clip = s('clipPath', { id: 'map-world', clipPathUnits: 'userSpaceOnUse' }, s('rect', { x: 0, y: 0, width: 1, height: 1 }));
    const svg = s('svg', { class: 'map', role: 'img', 'aria-label': `Map of ${geo.points.length} geotagged photos` }, s('defs', {}, clip), base, markers);
    const wrap = h('div', { class: 'map-wrap' }, svg,
      h('div', { class: 'map-tools' },
        h('button', { type: 'button', testid: 'map-zoom-in', 'aria-label': 'Zoom in', onclick: () => zoom(0.5) }, '+'),
        h('button', { type: 'button', testid: 'map-zoom-out', 'aria-label': 'Zoom out', onclick: () => zoom(2) }, '−')),
      h('p', { class: 'map-note muted', testid: 'map-note' }, `${geo.points.length} geotagged ${geo.points.length === 1 ? 'photo' : 'photos'} · `
        + (tiles ? `map tiles from ${tiles.host}, which sees the areas you view` : 'drawn in this page, no map server')));
    main.appendChild(wrap);

    // Markers are drawn in screen pixels (crisp text at any zoom); the base is scaled to match.
    const draw = (): void => {
      const w = svg.clientWidth || 800;
      const hgt = svg.clientHeight || 500;
      if (!vw) vw = Math.min(1, Math.max(0.02, (x1 - x0) * 1.25, ((y1 - y0) * 1.25 * w) / hgt));
      const unit = vw / w; // world units per pixel
      const left = cx - (w * unit) / 2;
      const top = cy - (hgt * unit) / 2;
      const sx = (x: number): number => (x - left) / unit;
      const sy = (y: number): number => (y - top) / unit;
      svg.setAttribute('viewBox', `0 0 ${w} ${hgt}`);
      base.setAttribute('transform', `matrix(${1 / unit} 0 0 ${1 / unit} ${-left / unit} ${-top / unit})`);
      if (tiles) drawTiles(tiles, left, top, w * unit, hgt * unit, unit);
      markers.replaceChildren();
      for (const c of cluster(geo.points, CELL_PX * unit)) {
        const n = c.ids.length;
        const r = n === 1 ? 7 : 11 + Math.min(12, Math.log2(n) * 3);
        const g = s('g', { testid: 'map-marker', class: 'map-marker', 'data-count': n, 'data-lat': c.lat, 'data-lon': c.lon, tabindex: 0, role: 'button', 'aria-label': `${n} ${n === 1 ? 'photo' : 'photos'} at ${c.lat}, ${c.lon}` },
          s('circle', { cx: sx(c.x), cy: sy(c.y), r }),
          ...(n > 1 ? [s('text', { x: sx(c.x), y: sy(c.y), 'font-size': 12, 'text-anchor': 'middle', 'dominant-baseline': 'central' }, String(n))] : []));
        g.addEventListener('click', () => {
          if (n > 1 && vw > 0.0005) {
            cx = c.x;
            cy = c.y;
            zoom(0.25);
          } else ctx.navigate('#/gallery');
        });
        markers.append(g);
      }
    };
    const drawTiles = (t: TileTemplate, left: number, top: number, width: number, height: number, unit: number): void => {
      const want = new Map(tilesForView(left, top, width, height, tileZoom(unit)).map((v) => [`${v.z}/${v.x}/${v.y}`, v]));
      for (const [key, el] of shownTiles) if (!want.has(key)) (el.remove(), shownTiles.delete(key));
      for (const [key, v] of want) {
        if (shownTiles.has(key)) continue;
        // A hair larger than the tile: no hairline seams between neighbours at fractional scales.
        // `crossorigin=anonymous`: never a cookie, even to a tile server on this host (cookies
        // ignore ports); the server must allow CORS, as map libraries that fetch tiles need too.
        const el = s('image', { testid: 'map-tile', 'data-tile': key, crossorigin: 'anonymous', href: tileUrl(t, v.z, v.x, v.y), x: v.wx, y: v.wy, width: v.size * 1.002, height: v.size * 1.002, preserveAspectRatio: 'none' });
        el.addEventListener('load', () => el.setAttribute('data-state', 'loaded'), { once: true });
        el.addEventListener('error', () => el.setAttribute('data-state', 'failed'), { once: true });
        shownTiles.set(key, el);
        tileLayer.append(el);
      }
    };
    const zoom = (f: number): void => {
      vw = Math.min(1, Math.max(0.0002, vw * f));
      draw();
    };
    svg.addEventListener('wheel', (e) => {
      e.preventDefault();
      zoom(e.deltaY > 0 ? 1.25 : 0.8);
    }, { passive: false });
    let drag: { x: number; y: number; cx: number; cy: number } | undefined;
    svg.addEventListener('pointerdown', (e) => (drag = { x: e.clientX, y: e.clientY, cx, cy }));
    window.addEventListener('pointerup', () => (drag = undefined), { signal });
    svg.addEventListener('pointermove', (e) => {
      if (!drag || !(e.buttons & 1)) return;
      const unit = vw / (svg.clientWidth || 800);
      cx = drag.cx - (e.clientX - drag.x) * unit;
      cy = drag.cy - (e.clientY - drag.y) * unit;
      draw();
    });
    const ro = new ResizeObserver(() => draw());
    ro.observe(svg);
    signal.addEventListener('abort', () => ro.disconnect());
  },
});
