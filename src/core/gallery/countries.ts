/**
 * @module gallery/countries
 * Offline country of a GPS position (design web-gallery.md §4: "place" search works offline):
 * point-in-polygon against world-atlas' `countries-110m` (Natural Earth, public domain), decoded
 * by our own TopoJSON reader. The caller passes the parsed JSON (the Node edge reads the file), so
 * this module stays pure and browser-safe.
 *
 * - Codes are ISO 3166-1 alpha-2 ("FR"), mapped from the file's numeric ISO ids by the table
 *   below; the three shapes without an id are mapped by name (Kosovo "XK", the user-assigned code
 *   in common use; Northern Cyprus and Somaliland to the states that claim them, as ISO does).
 * - Holes: a ring test is even-odd over all rings of a polygon, so a hole (Lesotho inside South
 *   Africa) is outside.
 * - Antimeridian: a ring whose edge jumps more than 180° of longitude (Fiji, Chukotka,
 *   Antarctica) is unwrapped (made continuous; one around a pole is closed along it) and the
 *   point is tested at lon and lon ± 360.
 * - The 110m outline is coarse (a coast can be 10 km off): a point in no polygon takes the
 *   country whose border is nearest within `nearKm` (default 40 km), so a beach photo gets its
 *   country and a mid-ocean one stays null.
 */
import { asTopology, decodeArcs, geometryPolygons, objectGeometries, unwrapRing, type Polygon, type Position } from './topojson.js';

export { unwrapRing };

/** ISO 3166-1 numeric → alpha-2, for the countries of `countries-110m`. */
const ISO_NUMERIC: Readonly<Record<string, string>> = {
  '004': 'AF', '008': 'AL', '010': 'AQ', '012': 'DZ', '024': 'AO', '031': 'AZ', '032': 'AR', '036': 'AU', '040': 'AT', '044': 'BS',
  '050': 'BD', '051': 'AM', '056': 'BE', '064': 'BT', '068': 'BO', '070': 'BA', '072': 'BW', '076': 'BR', '084': 'BZ', '090': 'SB',
  '096': 'BN', '100': 'BG', '104': 'MM', '108': 'BI', '112': 'BY', '116': 'KH', '120': 'CM', '124': 'CA', '140': 'CF', '144': 'LK',
  '148': 'TD', '152': 'CL', '156': 'CN', '158': 'TW', '170': 'CO', '178': 'CG', '180': 'CD', '188': 'CR', '191': 'HR', '192': 'CU',
  '196': 'CY', '203': 'CZ', '204': 'BJ', '208': 'DK', '214': 'DO', '218': 'EC', '222': 'SV', '226': 'GQ', '231': 'ET', '232': 'ER',
  '233': 'EE', '238': 'FK', '242': 'FJ', '246': 'FI', '250': 'FR', '260': 'TF', '262': 'DJ', '266': 'GA', '268': 'GE', '270': 'GM',
  '275': 'PS', '276': 'DE', '288': 'GH', '300': 'GR', '304': 'GL', '320': 'GT', '324': 'GN', '328': 'GY', '332': 'HT', '340': 'HN',
  '348': 'HU', '352': 'IS', '356': 'IN', '360': 'ID', '364': 'IR', '368': 'IQ', '372': 'IE', '376': 'IL', '380': 'IT', '384': 'CI',
  '388': 'JM', '392': 'JP', '398': 'KZ', '400': 'JO', '404': 'KE', '408': 'KP', '410': 'KR', '414': 'KW', '417': 'KG', '418': 'LA',
  '422': 'LB', '426': 'LS', '428': 'LV', '430': 'LR', '434': 'LY', '440': 'LT', '442': 'LU', '450': 'MG', '454': 'MW', '458': 'MY',
  '466': 'ML', '478': 'MR', '484': 'MX', '496': 'MN', '498': 'MD', '499': 'ME', '504': 'MA', '508': 'MZ', '512': 'OM', '516': 'NA',
  '524': 'NP', '528': 'NL', '540': 'NC', '548': 'VU', '554': 'NZ', '558': 'NI', '562': 'NE', '566': 'NG', '578': 'NO', '586': 'PK',
  '591': 'PA', '598': 'PG', '600': 'PY', '604': 'PE', '608': 'PH', '616': 'PL', '620': 'PT', '624': 'GW', '626': 'TL', '630': 'PR',
  '634': 'QA', '642': 'RO', '643': 'RU', '646': 'RW', '682': 'SA', '686': 'SN', '688': 'RS', '694': 'SL', '703': 'SK', '704': 'VN',
  '705': 'SI', '706': 'SO', '710': 'ZA', '716': 'ZW', '724': 'ES', '728': 'SS', '729': 'SD', '732': 'EH', '740': 'SR', '748': 'SZ',
  '752': 'SE', '756': 'CH', '760': 'SY', '762': 'TJ', '764': 'TH', '768': 'TG', '780': 'TT', '784': 'AE', '788': 'TN', '792': 'TR',
  '795': 'TM', '800': 'UG', '804': 'UA', '807': 'MK', '818': 'EG', '826': 'GB', '834': 'TZ', '840': 'US', '854': 'BF', '858': 'UY',
  '860': 'UZ', '862': 'VE', '887': 'YE', '894': 'ZM',
};
const BY_NAME: Readonly<Record<string, string>> = { Kosovo: 'XK', 'N. Cyprus': 'CY', Somaliland: 'SO' };

/** The alpha-2 code of a `countries-110m` geometry, or undefined. */
export function isoAlpha2(id: unknown, name: unknown): string | undefined {
  if (typeof id === 'string' || typeof id === 'number') {
    const code = ISO_NUMERIC[String(id).padStart(3, '0')];
    if (code) return code;
  }
  return typeof name === 'string' ? BY_NAME[name] : undefined;
}

export type CountryOf = (lat: number, lon: number) => string | null;

interface Shape {
  readonly code: string;
  /** Rings made continuous across the antimeridian (longitudes may leave [-180, 180]). */
  readonly polygons: readonly Polygon[];
  readonly box: readonly [number, number, number, number];
}

/** Even-odd ray cast (eastward ray) over one ring. */
function crossings(ring: readonly Position[], lon: number, lat: number): number {
  let n = 0;
  for (let k = 0, j = ring.length - 1; k < ring.length; j = k++) {
    const [xi, yi] = ring[k]!;
    const [xj, yj] = ring[j]!;
    if (yi > lat !== yj > lat && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) n++;
  }
  return n;
}

/** Whether [lon, lat] is inside a polygon with holes (outer ring, then holes). */
export function inPolygon(polygon: Polygon, lon: number, lat: number): boolean {
  let n = 0;
  for (const r of polygon) n += crossings(r, lon, lat);
  return n % 2 === 1;
}

/** Distance in km from a point to a segment, on a local equirectangular plane (fine for tens of km). */
function segmentKm(lon: number, lat: number, a: Position, b: Position): number {
  const k = Math.cos((lat * Math.PI) / 180);
  const ax = (a[0] - lon) * k;
  const ay = a[1] - lat;
  const bx = (b[0] - lon) * k;
  const by = b[1] - lat;
  const dx = bx - ax;
  const dy = by - ay;
  const len = dx * dx + dy * dy;
  const t = len > 0 ? Math.max(0, Math.min(1, -(ax * dx + ay * dy) / len)) : 0;
  return Math.hypot(ax + t * dx, ay + t * dy) * 111.195;
}

/**
 * A lookup over a parsed `countries-110m.json` (object `countries`): (lat, lon) → alpha-2 code,
 * or null at sea. Build it once; a lookup costs a few bounding-box tests and one or two polygons.
 */
export function countryLookup(topology: unknown, opts: { nearKm?: number } = {}): CountryOf {
  const t = asTopology(topology);
  const arcs = decodeArcs(t);
  const shapes: Shape[] = [];
  for (const g of objectGeometries(t, 'countries')) {
    const code = isoAlpha2(g.id, g.properties?.['name']);
    if (!code) continue;
    const polygons = geometryPolygons(g, arcs).map((p) => p.map(unwrapRing));
    if (!polygons.length) continue;
    let box: [number, number, number, number] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const p of polygons) for (const [x, y] of p[0] ?? []) box = [Math.min(box[0], x), Math.min(box[1], y), Math.max(box[2], x), Math.max(box[3], y)];
    shapes.push({ code, polygons, box });
  }
  const nearKm = opts.nearKm ?? 40;
  return (lat, lon) => {
    if (!Number.isFinite(lat) || !Number.isFinite(lon) || lat < -90 || lat > 90) return null;
    lon = ((((lon + 180) % 360) + 360) % 360) - 180;
    for (const s of shapes) {
      for (const x of [lon, lon + 360, lon - 360]) {
        if (x < s.box[0] || x > s.box[2] || lat < s.box[1] || lat > s.box[3]) continue;
        if (s.polygons.some((p) => inPolygon(p, x, lat))) return s.code;
      }
    }
    if (nearKm <= 0) return null;
    // Not inside any shape: the nearest border within nearKm (a coast the 110m outline cuts).
    const margin = nearKm / 111.195 / Math.max(0.05, Math.cos((lat * Math.PI) / 180));
    let best: string | null = null;
    let bestKm = nearKm;
    for (const s of shapes) {
      for (const x of [lon, lon + 360, lon - 360]) {
        if (x < s.box[0] - margin || x > s.box[2] + margin || lat < s.box[1] - nearKm / 111 || lat > s.box[3] + nearKm / 111) continue;
        for (const p of s.polygons) {
          for (const r of p) {
            for (let k = 1; k < r.length; k++) {
              const d = segmentKm(x, lat, r[k - 1]!, r[k]!);
              if (d < bestKm) (bestKm = d), (best = s.code);
            }
          }
        }
      }
    }
    return best;
  };
}
