/**
 * @module gallery/topojson
 * A small TopoJSON decoder (enough for world-atlas' `countries-110m` and `land-110m`): quantized,
 * delta-encoded arcs become longitude/latitude lines, and Polygon/MultiPolygon geometries become
 * rings of points. Written from the TopoJSON specification; pure (the caller hands over the parsed
 * JSON, so core never reads a file).
 *
 * - With a `transform`, each arc's positions are deltas of integers: position k is the running
 *   sum of deltas 0..k, then `x * scale + translate`.
 * - An arc index `i < 0` means arc `~i` reversed. Consecutive arcs of a ring share their joining
 *   point, so every arc after the first drops its first position.
 */
import { CofferError } from '../errors.js';

export type Position = readonly [number, number];
/** A closed ring of [lon, lat] (first point repeated last). */
export type Ring = readonly Position[];
/** Outer ring first, then holes. */
export type Polygon = readonly Ring[];

export interface TopoGeometry {
  readonly type: string;
  readonly id?: string | number;
  readonly properties?: Readonly<Record<string, unknown>>;
  readonly arcs?: unknown;
  readonly geometries?: readonly TopoGeometry[];
}

export interface Topology {
  readonly type: 'Topology';
  readonly objects: Readonly<Record<string, TopoGeometry>>;
  readonly arcs: readonly (readonly (readonly number[])[])[];
  readonly transform?: { readonly scale: readonly [number, number]; readonly translate: readonly [number, number] };
}

function bad(why: string): CofferError {
  return new CofferError('corrupt', `TopoJSON: ${why}`);
}

/** Checks the outer shape of a parsed TopoJSON document. */
export function asTopology(v: unknown): Topology {
  const t = v as Topology;
  if (!t || typeof t !== 'object' || t.type !== 'Topology' || !Array.isArray(t.arcs) || !t.objects || typeof t.objects !== 'object') throw bad('not a Topology');
  return t;
}

/** Every arc as absolute [lon, lat] positions. */
export function decodeArcs(t: Topology): Position[][] {
  const tf = t.transform;
  return t.arcs.map((arc) => {
    if (!Array.isArray(arc)) throw bad('arc is not an array');
    const out: Position[] = [];
    let x = 0;
    let y = 0;
    for (const p of arc) {
      if (!Array.isArray(p) || typeof p[0] !== 'number' || typeof p[1] !== 'number') throw bad('bad arc position');
      if (tf) {
        x += p[0];
        y += p[1];
        out.push([x * tf.scale[0] + tf.translate[0], y * tf.scale[1] + tf.translate[1]]);
      } else out.push([p[0], p[1]]);
    }
    return out;
  });
}

function ring(arcs: readonly Position[][], refs: unknown): Ring {
  if (!Array.isArray(refs)) throw bad('ring is not a list of arcs');
  const out: Position[] = [];
  for (const r of refs) {
    if (typeof r !== 'number' || !Number.isInteger(r)) throw bad('bad arc index');
    const arc = arcs[r < 0 ? ~r : r];
    if (!arc) throw bad(`arc ${r} out of range`);
    const pts = r < 0 ? [...arc].reverse() : arc;
    for (let k = out.length ? 1 : 0; k < pts.length; k++) out.push(pts[k]!);
  }
  return out;
}

/** The polygons of a Polygon or MultiPolygon geometry (others: none). */
export function geometryPolygons(g: TopoGeometry, arcs: readonly Position[][]): Polygon[] {
  if (g.type === 'Polygon') return [(g.arcs as unknown[]).map((r) => ring(arcs, r))];
  if (g.type === 'MultiPolygon') return (g.arcs as unknown[][]).map((p) => p.map((r) => ring(arcs, r)));
  return [];
}

/** The geometries of an object (a GeometryCollection's members, or the object itself). */
export function objectGeometries(t: Topology, name: string): readonly TopoGeometry[] {
  const o = t.objects[name];
  if (!o) throw bad(`no object ${JSON.stringify(name)}`);
  return o.type === 'GeometryCollection' ? (o.geometries ?? []) : [o];
}

/**
 * A ring with continuous longitudes: where an edge jumps more than 180° (it crosses the
 * antimeridian) the rest is shifted by 360°, so longitudes may leave [-180, 180]. A ring that
 * then fails to close by a whole turn goes around a pole (Antarctica): it is closed along it.
 */
export function unwrapRing(ring: readonly Position[]): Position[] {
  const out: Position[] = [];
  let shift = 0;
  for (let k = 0; k < ring.length; k++) {
    const [lon, lat] = ring[k]!;
    if (k > 0) {
      const d = lon + shift - out[k - 1]![0];
      if (d > 180) shift -= 360;
      else if (d < -180) shift += 360;
    }
    out.push([lon + shift, lat]);
  }
  const first = out[0];
  const last = out[out.length - 1];
  if (first && last && Math.abs(last[0] - first[0]) > 180) {
    const pole = out.reduce((s, p) => s + p[1], 0) < 0 ? -90 : 90;
    out.push([last[0], pole], [first[0], pole], first);
  }
  return out;
}
