/**
 * @module node/gallery-thumbs
 * Thumbnails and previews for the gallery (../shared/design/web-gallery.md §3), made on the
 * device with sharp (libvips): upright (EXIF orientation applied), WebP; thumbnail short side
 * 300 px with the long side at most 600 px, quality 70; preview long side 1920 px, quality 80;
 * never enlarged. Plus a ThumbHash of the picture.
 *
 * The file is decoded once (shrink-on-load to preview size for JPEG), and the thumbnail and the
 * hash are made from that preview-size raster. A file sharp cannot decode (damaged, HEIC with
 * HEVC, RAW) gets the shared placeholder: identical bytes, so it is stored once.
 */
import type { RenderedMedia } from '../core/engine/gallery/build.js';
import sharp from 'sharp';
import { toBase64 } from '../core/bytes.js';
import { thumbHash } from '../core/gallery/thumbhash.js';
import type { Size2 } from '../core/gallery/item.js';

export const THUMB_SHORT = 300;
export const THUMB_LONG_MAX = 600;
export const THUMB_QUALITY = 70;
export const PREVIEW_LONG = 1920;
export const PREVIEW_QUALITY = 80;
/**
 * libwebp effort for previews: 1 instead of the default 4 encodes a 1920 px preview in ~230 ms
 * instead of ~620 ms here, for files ~20 % larger (previews load one at a time; thumbnails,
 * loaded by the screenful, keep the default effort).
 */
export const PREVIEW_EFFORT = 1;

/** What the gallery build needs from the renderer (engine/gallery/build.ts owns the shape). */
export type Rendered = RenderedMedia;

// Two images at a time already fill this machine's two cores; libvips' own threads would only contend.
sharp.concurrency(1);

/** Thumbnail size for an upright W×H: short side 300, long side ≤ 600, never larger than the source. */
export function thumbSize(w: number, h: number): Size2 {
  const s = Math.min(THUMB_SHORT / Math.min(w, h), THUMB_LONG_MAX / Math.max(w, h), 1);
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

export function previewSize(w: number, h: number): Size2 {
  const s = Math.min(PREVIEW_LONG / Math.max(w, h), 1);
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

/** Renders an image file; a file that cannot be decoded gives the placeholder and a warning. */
export async function renderImage(bytes: Uint8Array): Promise<Rendered> {
  try {
    const input = sharp(bytes, { failOn: 'error', animated: false });
    const meta = await input.metadata();
    if (!meta.width || !meta.height) throw new Error('no image size');
    const orientation = meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
    const swap = orientation >= 5;
    const w = swap ? meta.height : meta.width;
    const h = swap ? meta.width : meta.height;
    const ps = previewSize(w, h);
    // rotate() with no angle applies the EXIF orientation; the output carries no EXIF (no metadata copied).
    const raster = await sharp(bytes, { failOn: 'error', animated: false }).rotate().resize(ps.w, ps.h, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const raw = () => sharp(raster.data, { raw: { width: raster.info.width, height: raster.info.height, channels: raster.info.channels } });
    const ts = thumbSize(w, h);
    const [preview, thumb, small] = await Promise.all([
      raw().webp({ quality: PREVIEW_QUALITY, effort: PREVIEW_EFFORT }).toBuffer(),
      raw().resize(ts.w, ts.h, { fit: 'fill' }).webp({ quality: THUMB_QUALITY }).toBuffer(),
      raw().resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
    ]);
    const hash = toBase64(thumbHash(small.info.width, small.info.height, new Uint8Array(small.data.buffer, small.data.byteOffset, small.data.length)));
    return { thumb: new Uint8Array(thumb), thumbSize: ts, preview: new Uint8Array(preview), previewSize: ps, hash, w, h, orientation };
  } catch (e) {
    return { ...(await placeholder('image')), warning: `cannot decode the image: ${(e as Error).message}` };
  }
}

const placeholders = new Map<string, Promise<Omit<Rendered, 'warning'>>>();

/**
 * The neutral picture for a file we cannot show (and for videos, which need ffmpeg for a real
 * poster frame): grey, 4:3 for images, 16:9 for videos.
 */
export function placeholder(kind: 'image' | 'video'): Promise<Omit<Rendered, 'warning'>> {
  let p = placeholders.get(kind);
  if (!p) {
    p = (async () => {
      const [w, h] = kind === 'video' ? [1280, 720] : [400, 300];
      const color = kind === 'video' ? { r: 40, g: 40, b: 44 } : { r: 128, g: 128, b: 128 };
      const make = async (s: Size2, q: number) => new Uint8Array(await sharp({ create: { width: s.w, height: s.h, channels: 3, background: color } }).webp({ quality: q }).toBuffer());
      const ts = thumbSize(w, h);
      const ps = { w, h };
      return { thumb: await make(ts, THUMB_QUALITY), thumbSize: ts, preview: await make(ps, PREVIEW_QUALITY), previewSize: ps, hash: null, w: 0, h: 0, orientation: 1 };
    })();
    placeholders.set(kind, p);
  }
  return p;
}

/** The gallery engine's renderer port, backed by sharp. */
export const sharpRenderer = {
  renderImage,
  placeholder: (kind: 'image' | 'video') => placeholder(kind),
};
