/**
 * @module node/otp-qr-read
 * Reads the QR codes in a PNG or JPEG image (a screenshot or photo of Google Authenticator's
 * export, or of a site's 2FA setup code) with pngjs/jpeg-js and jsQR. jsQR finds one code per
 * pass, so each code found is painted over and the image searched again: an export screen may
 * show several. Returns the texts; the caller parses them as URIs.
 */
import jsQRModule from 'jsqr';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { CofferError } from '../core/errors.js';

type JsQR = typeof import('jsqr').default;
// jsqr is CommonJS: the default import is module.exports, a function that also has `.default`.
const jsQR: JsQR = ((jsQRModule as unknown as { default?: JsQR }).default ?? (jsQRModule as unknown as JsQR));

export interface Rgba {
  readonly width: number;
  readonly height: number;
  readonly data: Uint8ClampedArray;
}

const MAX_CODES = 16;
const MAX_PIXELS = 40_000_000;
const FULL_PIXELS = 3_000_000;
const WINDOW_PIXELS = 1_000_000;
const WINDOW_BUDGET_MS = 10_000;

export function isImage(bytes: Uint8Array): boolean {
  return isPng(bytes) || isJpeg(bytes);
}

function isPng(b: Uint8Array): boolean {
  return b.length > 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47;
}

function isJpeg(b: Uint8Array): boolean {
  return b.length > 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff;
}

export function decodeImage(bytes: Uint8Array, what: string): Rgba {
  try {
    if (isPng(bytes)) {
      const png = pngjs.PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length));
      return { width: png.width, height: png.height, data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (isJpeg(bytes)) {
      const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_PIXELS / 1e6, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, data: new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length) };
    }
  } catch (e) {
    throw new CofferError('bad-input', `${what}: damaged image (${(e as Error).message.slice(0, 80)})`);
  }
  throw new CofferError('bad-input', `${what}: not a PNG or JPEG image`);
}

/**
 * Every QR code found in the image, in the order found. jsQR reads one code per pass and is
 * confused by several codes side by side, so when the whole image gives nothing, overlapping
 * windows (two thirds and halves of each side) are searched too.
 */
export function findQrCodes(img: Rgba): string[] {
  if (img.width * img.height > MAX_PIXELS) throw new CofferError('bad-input', 'image too large to search for QR codes');
  // jsQR's time grows faster than the pixel count on textured photos: search a copy of at most
  // a few megapixels (a phone screen's QR code stays readable), then windows on a smaller one
  // (they cover the image about 15 times over), within a time budget.
  const deadline = Date.now() + WINDOW_BUDGET_MS;
  const found = findInImage(downscale(img, FULL_PIXELS), 'attemptBoth');
  if (found.length > 0) return found;
  img = downscale(img, WINDOW_PIXELS);
  const out = new Set<string>();
  for (const dx of [1, 2, 3]) {
    for (const dy of [1, 2, 3]) {
      if (dx === 1 && dy === 1) continue;
      const w = Math.ceil((2 * img.width) / (dx + 1));
      const h = Math.ceil((2 * img.height) / (dy + 1));
      for (let i = 0; i < dx; i++) {
        for (let j = 0; j < dy; j++) {
          if (Date.now() > deadline) return [...out];
          const x0 = Math.floor((i * img.width) / (dx + 1));
          const y0 = Math.floor((j * img.height) / (dy + 1));
          for (const t of findInImage(crop(img, x0, y0, Math.min(w, img.width - x0), Math.min(h, img.height - y0)), 'dontInvert')) out.add(t);
        }
      }
    }
  }
  return [...out];
}

function crop(img: Rgba, x0: number, y0: number, w: number, h: number): Rgba {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) data.set(img.data.subarray(((y0 + y) * img.width + x0) * 4, ((y0 + y) * img.width + x0 + w) * 4), y * w * 4);
  return { width: w, height: h, data };
}

/** The image shrunk by a whole factor (mean of each block) to at most `maxPixels`. */
function downscale(img: Rgba, maxPixels: number): Rgba {
  const f = Math.ceil(Math.sqrt((img.width * img.height) / maxPixels));
  if (f <= 1) return img;
  const w = Math.floor(img.width / f);
  const h = Math.floor(img.height / f);
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 4; c++) {
        let sum = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) sum += img.data[((y * f + dy) * img.width + x * f + dx) * 4 + c]!;
        data[(y * w + x) * 4 + c] = sum / (f * f);
      }
    }
  }
  return { width: w, height: h, data };
}

/** jsQR repeatedly, painting each code found white so that the next pass finds another. */
function findInImage(img: Rgba, inversionAttempts: 'attemptBoth' | 'dontInvert'): string[] {
  const data = new Uint8ClampedArray(img.data);
  const out: string[] = [];
  for (let n = 0; n < MAX_CODES; n++) {
    const code = jsQR(data, img.width, img.height, { inversionAttempts });
    if (!code) break;
    if (!out.includes(code.data)) out.push(code.data);
    const l = code.location;
    const xs = [l.topLeftCorner.x, l.topRightCorner.x, l.bottomLeftCorner.x, l.bottomRightCorner.x];
    const ys = [l.topLeftCorner.y, l.topRightCorner.y, l.bottomLeftCorner.y, l.bottomRightCorner.y];
    const x0 = Math.max(0, Math.floor(Math.min(...xs)) - 2);
    const x1 = Math.min(img.width - 1, Math.ceil(Math.max(...xs)) + 2);
    const y0 = Math.max(0, Math.floor(Math.min(...ys)) - 2);
    const y1 = Math.min(img.height - 1, Math.ceil(Math.max(...ys)) + 2);
    if (x1 <= x0 || y1 <= y0) break;
    for (let y = y0; y <= y1; y++) data.fill(255, (y * img.width + x0) * 4, (y * img.width + x1 + 1) * 4);
  }
  return out;
}

/** The texts of the QR codes in an image file's bytes; refuses an image without any. */
export function readQrImage(bytes: Uint8Array, what: string): string[] {
  const codes = findQrCodes(decodeImage(bytes, what));
  if (codes.length === 0) throw new CofferError('bad-input', `${what}: no QR code found in the image`);
  return codes;
}
