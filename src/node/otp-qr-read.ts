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

/** Every QR code jsQR finds in the image, in the order found. */
export function findQrCodes(img: Rgba): string[] {
  if (img.width * img.height > MAX_PIXELS) throw new CofferError('bad-input', 'image too large to search for QR codes');
  const data = new Uint8ClampedArray(img.data); // painted over below
  const out: string[] = [];
  for (let n = 0; n < MAX_CODES; n++) {
    const code = jsQR(data, img.width, img.height, { inversionAttempts: 'attemptBoth' });
    if (!code) break;
    out.push(code.data);
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
