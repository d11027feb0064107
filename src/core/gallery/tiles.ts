/**
 * @module core/gallery/tiles
 * The optional raster tile server under the gallery's map (issue 11: "an optional tile server the
 * user may set"). Off by default: the bundled outline needs no request leaving the origin. A
 * user who sets one (`coffer web --map-tiles URL`) accepts that the tile server learns which
 * areas of the map they look at; the page says so. Pure: template checks and tile arithmetic in
 * the map's world units (Web Mercator, the world is the unit square, as `cluster.project`).
 */

/** A checked tile URL template, e.g. `https://tile.example.org/{z}/{x}/{y}.png`. */
export interface TileTemplate {
  readonly template: string;
  /** The origin the page's CSP must allow for images. */
  readonly origin: string;
  /** The host, for the note that says who sees the requests. */
  readonly host: string;
}

/** One tile of a view: its address and its square in world units. */
export interface ViewTile {
  readonly z: number;
  readonly x: number;
  readonly y: number;
  /** Left and top edge and side, in world units. */
  readonly wx: number;
  readonly wy: number;
  readonly size: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** Tile servers serve 0–19; deeper zooms show the z-19 tiles larger. */
export const MAX_TILE_ZOOM = 19;
/** Tiles are drawn at about this many pixels a side. */
const TILE_PX = 256;

/**
 * Checks a template and returns it with its origin, or a message saying what is wrong (the
 * caller turns it into a usage error). https only, except for a server on this machine; no
 * user name or password in the URL (it would be shown and sent with every tile); `{z}`, `{x}`
 * and `{y}` in the path or query, nowhere else.
 */
export function parseTileTemplate(raw: string): TileTemplate | string {
  const m = /^(https?):\/\/([^/?#{}]+)([/?][^#]*)$/.exec(raw.trim());
  if (!m) return 'the tile URL must look like https://host/{z}/{x}/{y}.png';
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  for (const p of ['{z}', '{x}', '{y}']) if (!rest.includes(p)) return `the tile URL has no ${p}`;
  if (/\{(?![zxy]\})/.test(rest)) return 'the tile URL may only use {z}, {x} and {y}';
  if (authority.includes('@')) return 'the tile URL must not hold a user name or password';
  let url: URL;
  try {
    url = new URL(`${scheme}://${authority}/`);
  } catch {
    return 'the tile URL has no valid host';
  }
  if (scheme === 'http' && !LOOPBACK.has(url.hostname)) return 'the tile URL must use https (plain http only for a server on this machine)';
  return { template: `${scheme}://${authority}${rest}`, origin: url.origin, host: url.host };
}

/** The URL of one tile. */
export function tileUrl(t: TileTemplate, z: number, x: number, y: number): string {
  return t.template.replace('{z}', String(z)).replace('{x}', String(x)).replace('{y}', String(y));
}

/** The zoom whose tiles show at about 256 px when `unit` world units span one pixel. */
export function tileZoom(unit: number): number {
  if (!(unit > 0)) return 0;
  return Math.max(0, Math.min(MAX_TILE_ZOOM, Math.round(Math.log2(1 / (unit * TILE_PX)))));
}

/**
 * The tiles that cover the view (left, top, width, height in world units, clipped to the world)
 * at zoom `z`, row by row; at most `limit` (a huge screen at a deep zoom asks for no more).
 */
export function tilesForView(left: number, top: number, width: number, height: number, z: number, limit = 256): ViewTile[] {
  const n = 2 ** z;
  const size = 1 / n;
  const clampIndex = (v: number): number => Math.max(0, Math.min(n - 1, Math.floor(v * n)));
  const x0 = clampIndex(left);
  const x1 = clampIndex(left + width);
  const y0 = clampIndex(top);
  const y1 = clampIndex(top + height);
  const out: ViewTile[] = [];
  if (left + width <= 0 || left >= 1 || top + height <= 0 || top >= 1) return out;
  for (let y = y0; y <= y1; y++)
    for (let x = x0; x <= x1; x++) {
      if (out.length >= limit) return out;
      out.push({ z, x, y, wx: x * size, wy: y * size, size });
    }
  return out;
}
