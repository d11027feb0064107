/**
 * @module web/gallery/cluster
 * The map's geometry, pure: Web Mercator on a square world of side 1 (x east, y south), and
 * grid clustering (points in one grid cell of the current zoom become one marker at their mean).
 */
export interface Cluster {
  readonly x: number;
  readonly y: number;
  readonly lat: number;
  readonly lon: number;
  readonly ids: readonly string[];
}

const MAX_LAT = 85.05112878;

export function project(lat: number, lon: number): [number, number] {
  const phi = (Math.max(-MAX_LAT, Math.min(MAX_LAT, lat)) * Math.PI) / 180;
  return [(lon + 180) / 360, (1 - Math.log(Math.tan(phi) + 1 / Math.cos(phi)) / Math.PI) / 2];
}

export function unproject(x: number, y: number): [number, number] {
  const lat = (Math.atan(Math.sinh(Math.PI * (1 - 2 * y))) * 180) / Math.PI;
  return [lat, x * 360 - 180];
}

/** Points grouped by cells of side `cell` (world units). */
export function cluster(points: readonly (readonly [number, number, string])[], cell: number): Cluster[] {
  const groups = new Map<string, { sx: number; sy: number; slat: number; slon: number; ids: string[] }>();
  for (const [lat, lon, id] of points) {
    const [x, y] = project(lat, lon);
    const k = `${Math.floor(x / cell)}:${Math.floor(y / cell)}`;
    let g = groups.get(k);
    if (!g) groups.set(k, (g = { sx: 0, sy: 0, slat: 0, slon: 0, ids: [] }));
    g.sx += x;
    g.sy += y;
    g.slat += lat;
    g.slon += lon;
    g.ids.push(id);
  }
  return [...groups.values()].map((g) => {
    const n = g.ids.length;
    return { x: g.sx / n, y: g.sy / n, lat: Math.round((g.slat / n) * 1e5) / 1e5, lon: Math.round((g.slon / n) * 1e5) / 1e5, ids: g.ids };
  });
}
