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

/** The aspect ratio (w/h) a hash was made at, from its term counts. */
export function thumbHashAspect(hash: Uint8Array): number {
  const hasAlpha = (hash[2]! & 0x80) !== 0;
  const landscape = (hash[4]! & 0x80) !== 0;
  const lx = landscape ? (hasAlpha ? 5 : 7) : hash[3]! & 7;
  const ly = landscape ? hash[3]! & 7 : hasAlpha ? 5 : 7;
  return lx / ly;
}

/**
 * Decodes a hash to a small RGBA image (32 px on the long side) for the web app to paint as a
 * blurred placeholder (canvas or data URL) while the thumbnail loads.
 */
export function thumbHashToRGBA(hash: Uint8Array): { w: number; h: number; rgba: Uint8Array } {
  const header24 = hash[0]! | (hash[1]! << 8) | (hash[2]! << 16);
  const header16 = hash[3]! | (hash[4]! << 8);
  const lDc = (header24 & 63) / 63;
  const pDc = ((header24 >> 6) & 63) / 31.5 - 1;
  const qDc = ((header24 >> 12) & 63) / 31.5 - 1;
  const lScale = ((header24 >> 18) & 31) / 31;
  const hasAlpha = header24 >> 23 !== 0;
  const pScale = ((header16 >> 3) & 63) / 63;
  const qScale = ((header16 >> 9) & 63) / 63;
  const landscape = header16 >> 15 !== 0;
  const lx = Math.max(3, landscape ? (hasAlpha ? 5 : 7) : header16 & 7);
  const ly = Math.max(3, landscape ? header16 & 7 : hasAlpha ? 5 : 7);
  const aDc = hasAlpha ? (hash[5]! & 15) / 15 : 1;
  const aScale = (hash[5]! >> 4) / 15;
  const start = hasAlpha ? 6 : 5;
  let k = 0;
  const channel = (nx: number, ny: number, scale: number) => {
    const ac: number[] = [];
    for (let cy = 0; cy < ny; cy++) {
      for (let cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); cx++) {
        const nibble = ((hash[start + (k >> 1)] ?? 0) >> ((k & 1) << 2)) & 15;
        ac.push((nibble / 7.5 - 1) * scale);
        k++;
      }
    }
    return ac;
  };
  // Saturation boosted by 1.25 to make up for quantization, as the reference decoder does.
  const lAc = channel(lx, ly, lScale);
  const pAc = channel(3, 3, pScale * 1.25);
  const qAc = channel(3, 3, qScale * 1.25);
  const aAc = hasAlpha ? channel(5, 5, aScale) : [];
  const ratio = thumbHashAspect(hash);
  const w = Math.round(ratio > 1 ? 32 : 32 * ratio);
  const h = Math.round(ratio > 1 ? 32 / ratio : 32);
  const rgba = new Uint8Array(w * h * 4);
  const fx = new Float64Array(Math.max(lx, 5));
  const fy = new Float64Array(Math.max(ly, 5));
  for (let y = 0, i = 0; y < h; y++) {
    for (let x = 0; x < w; x++, i += 4) {
      let l = lDc;
      let p = pDc;
      let q = qDc;
      let a = aDc;
      for (let cx = 0; cx < fx.length; cx++) fx[cx] = Math.cos((Math.PI / w) * (x + 0.5) * cx);
      for (let cy = 0; cy < fy.length; cy++) fy[cy] = Math.cos((Math.PI / h) * (y + 0.5) * cy);
      for (let cy = 0, j = 0; cy < ly; cy++) for (let cx = cy ? 0 : 1; cx * ly < lx * (ly - cy); cx++, j++) l += lAc[j]! * fx[cx]! * fy[cy]! * 2;
      for (let cy = 0, j = 0; cy < 3; cy++) {
        for (let cx = cy ? 0 : 1; cx < 3 - cy; cx++, j++) {
          const f = fx[cx]! * fy[cy]! * 2;
          p += pAc[j]! * f;
          q += qAc[j]! * f;
        }
      }
      if (hasAlpha) for (let cy = 0, j = 0; cy < 5; cy++) for (let cx = cy ? 0 : 1; cx < 5 - cy; cx++, j++) a += aAc[j]! * fx[cx]! * fy[cy]! * 2;
      const b = l - (2 / 3) * p;
      const r = (3 * l - b + q) / 2;
      const g = r - q;
      rgba[i] = Math.max(0, 255 * Math.min(1, r));
      rgba[i + 1] = Math.max(0, 255 * Math.min(1, g));
      rgba[i + 2] = Math.max(0, 255 * Math.min(1, b));
      rgba[i + 3] = Math.max(0, 255 * Math.min(1, a));
    }
  }
  return { w, h, rgba };
}
