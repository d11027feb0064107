/**
 * @module gallery/thumbhash
 * ThumbHash encoder (Evan Wallace's published algorithm, https://evanw.github.io/thumbhash/):
 * an image of at most 100x100 RGBA becomes about 25 bytes holding the average colour and a few
 * DCT terms of luminance (L), yellow-blue (P), red-green (Q) and alpha, which the web app paints
 * as a blurred placeholder before the thumbnail arrives.
 *
 * Layout: 24-bit header (L dc 6 bits, P dc 6, Q dc 6, L scale 5, has-alpha 1), 16-bit header
 * (count of L terms on the short axis 3 bits, P scale 6, Q scale 6, landscape 1), an alpha byte
 * when there is alpha, then the AC terms as 4-bit nibbles, low nibble first.
 */

interface Channel {
  dc: number;
  ac: number[];
  scale: number;
}

/** DCT terms cx,cy with cx*ny < nx*(ny-cy) (a triangle: low frequencies only). */
function encodeChannel(values: Float64Array, w: number, h: number, nx: number, ny: number): Channel {
  let dc = 0;
  const ac: number[] = [];
  let scale = 0;
  const fx = new Float64Array(w);
  for (let cy = 0; cy < ny; cy++) {
    for (let cx = 0; cx * ny < nx * (ny - cy); cx++) {
      for (let x = 0; x < w; x++) fx[x] = Math.cos((Math.PI / w) * cx * (x + 0.5));
      let f = 0;
      for (let y = 0; y < h; y++) {
        const fy = Math.cos((Math.PI / h) * cy * (y + 0.5));
        for (let x = 0; x < w; x++) f += values[x + y * w]! * fx[x]! * fy;
      }
      f /= w * h;
      if (cx === 0 && cy === 0) dc = f;
      else {
        ac.push(f);
        scale = Math.max(scale, Math.abs(f));
      }
    }
  }
  if (scale > 0) for (let i = 0; i < ac.length; i++) ac[i] = 0.5 + (0.5 / scale) * ac[i]!;
  return { dc, ac, scale };
}

export function thumbHash(w: number, h: number, rgba: Uint8Array): Uint8Array {
  if (w < 1 || h < 1 || w > 100 || h > 100) throw new RangeError(`${w}x${h} does not fit in 100x100`);
  if (rgba.length < w * h * 4) throw new RangeError('too few pixels');
  const n = w * h;
  let ar = 0;
  let ag = 0;
  let ab = 0;
  let aa = 0;
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    ar += (a / 255) * rgba[i * 4]!;
    ag += (a / 255) * rgba[i * 4 + 1]!;
    ab += (a / 255) * rgba[i * 4 + 2]!;
    aa += a;
  }
  if (aa > 0) {
    ar /= aa;
    ag /= aa;
    ab /= aa;
  }
  const hasAlpha = aa < n;
  const lLimit = hasAlpha ? 5 : 7;
  const lx = Math.max(1, Math.round((lLimit * w) / Math.max(w, h)));
  const ly = Math.max(1, Math.round((lLimit * h) / Math.max(w, h)));
  const L = new Float64Array(n);
  const P = new Float64Array(n);
  const Q = new Float64Array(n);
  const A = new Float64Array(n);
  // Transparent pixels are composited over the average colour.
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3]! / 255;
    const r = ar * (1 - a) + (a / 255) * rgba[i * 4]!;
    const g = ag * (1 - a) + (a / 255) * rgba[i * 4 + 1]!;
    const b = ab * (1 - a) + (a / 255) * rgba[i * 4 + 2]!;
    L[i] = (r + g + b) / 3;
    P[i] = (r + g) / 2 - b;
    Q[i] = r - g;
    A[i] = a;
  }
  const l = encodeChannel(L, w, h, Math.max(3, lx), Math.max(3, ly));
  const p = encodeChannel(P, w, h, 3, 3);
  const q = encodeChannel(Q, w, h, 3, 3);
  const a = hasAlpha ? encodeChannel(A, w, h, 5, 5) : undefined;
  const landscape = w > h;
  const header24 = Math.round(63 * l.dc) | (Math.round(31.5 + 31.5 * p.dc) << 6) | (Math.round(31.5 + 31.5 * q.dc) << 12) | (Math.round(31 * l.scale) << 18) | ((hasAlpha ? 1 : 0) << 23);
  const header16 = (landscape ? ly : lx) | (Math.round(63 * p.scale) << 3) | (Math.round(63 * q.scale) << 9) | ((landscape ? 1 : 0) << 15);
  const acs = a ? [l.ac, p.ac, q.ac, a.ac] : [l.ac, p.ac, q.ac];
  const acCount = acs.reduce((s, x) => s + x.length, 0);
  const start = hasAlpha ? 6 : 5;
  const out = new Uint8Array(start + ((acCount + 1) >> 1));
  out[0] = header24 & 255;
  out[1] = (header24 >> 8) & 255;
  out[2] = header24 >> 16;
  out[3] = header16 & 255;
  out[4] = header16 >> 8;
  if (a) out[5] = Math.round(15 * a.dc) | (Math.round(15 * a.scale) << 4);
  let k = 0;
  for (const list of acs) {
    for (const f of list) {
      out[start + (k >> 1)]! |= Math.round(15 * f) << ((k & 1) << 2);
      k++;
    }
  }
  return out;
}

/** The average colour a hash stores (r, g, b in 0..1): used by tests and placeholders. */
export function thumbHashAverage(hash: Uint8Array): [number, number, number] {
  const header = hash[0]! | (hash[1]! << 8) | (hash[2]! << 16);
  const l = (header & 63) / 63;
  const p = ((header >> 6) & 63) / 31.5 - 1;
  const q = ((header >> 12) & 63) / 31.5 - 1;
  const b = l - (2 / 3) * p;
  const r = (3 * l - b + q) / 2;
  const g = r - q;
  const c = (x: number) => Math.max(0, Math.min(1, x));
  return [c(r), c(g), c(b)];
}
