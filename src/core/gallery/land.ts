/**
 * @module gallery/land
 * The offline world map's base (design web-gallery.md §4): world-atlas' `land-110m` TopoJSON as
 * one SVG path in the map's own projection (the web app passes its Web Mercator on the unit
 * square, the same one its markers use). Pure: the caller fetches the JSON.
 *
 * Rings that cross the antimeridian (Chukotka, Fiji, Antarctica) are made continuous and drawn
 * again one world to the left or right, so the caller clips to the world's square and no stray
 * line runs across the map.
 */
import { asTopology, decodeArcs, geometryPolygons, objectGeometries, unwrapRing } from './topojson.js';

/** `(lat, lon) → [x, y]` in the map's world units. */
export type Projection = (lat: number, lon: number) => readonly [number, number];

export function landPathData(topology: unknown, project: Projection, objectName = 'land'): string {
  const t = asTopology(topology);
  const arcs = decodeArcs(t);
  const d: string[] = [];
  const f = (v: number) => String(Math.round(v * 1e6) / 1e6);
  for (const g of objectGeometries(t, objectName)) {
    for (const polygon of geometryPolygons(g, arcs)) {
      for (const raw of polygon) {
        const ring = unwrapRing(raw);
        const xs = ring.map((p) => p[0]);
        const shifts = [0, ...(Math.min(...xs) < -180 ? [360] : []), ...(Math.max(...xs) > 180 ? [-360] : [])];
        for (const sh of shifts) {
          ring.forEach(([lon, lat], k) => {
            const [x, y] = project(lat, lon + sh);
            d.push(`${k ? 'L' : 'M'}${f(x)} ${f(y)}`);
          });
          d.push('Z');
        }
      }
    }
  }
  return d.join('');
}
