/**
 * @module node/gallery-thumbs
 * Thumbnails and previews for the gallery (../shared/design/web-gallery.md §3), made on the
 * device with sharp (libvips): upright (EXIF orientation applied), WebP; thumbnail short side
 * 300 px with the long side at most 600 px, quality 70; preview long side 1920 px, quality 80;
 * never enlarged. Plus a ThumbHash of the picture.
 *
 * The file is decoded once (shrink-on-load to preview size for JPEG), the thumbnail is made from
 * that preview-size raster and the hash from the thumbnail's. HEIC/HEIF with HEVC is decoded by
 * libheif's heif-convert, video posters by ffmpeg (both Debian tools, optional), camera RAWs
 * by their largest embedded JPEG (core/gallery/raw.ts) turned by the RAW's own orientation. A file nothing
 * can decode (damaged, a RAW without an embedded JPEG) gets the shared placeholder: identical bytes, so it is stored once.
 * Speed and the measurements behind the settings: docs/gallery-render.md, bench/gallery.ts.
 */
import type { RenderedMedia } from '../core/engine/gallery/build.js';
import * as os from 'node:os';
import sharp from 'sharp';
import { toBase64 } from '../core/bytes.js';
import { thumbHash } from '../core/gallery/thumbhash.js';
import type { Size2 } from '../core/gallery/item.js';
import type { RangeReader } from '../core/gallery/mp4.js';
import { jpegWithOrientation, rawInfo } from '../core/gallery/raw.js';
import { decodeHeic, isHeif } from './gallery-heic.js';
import { videoPoster } from './gallery-video.js';

export const THUMB_SHORT = 300;
export const THUMB_LONG_MAX = 600;
export const THUMB_QUALITY = 70;
export const PREVIEW_LONG = 1920;
export const PREVIEW_QUALITY = 80;
/**
 * libwebp effort (method) for previews: 0, the fastest. On a 12 MP JPEG here, a 1920 px preview
 * costs ~50 ms of CPU at effort 0, ~64 ms at 1 (the old setting), ~620 ms at 4 (libwebp's
 * default); the files are ~10 % larger than at 1. See docs/gallery-render.md.
 */
export const PREVIEW_EFFORT = 0;
/** Thumbnails are 1/10 of the pixels; effort 1 costs ~10 ms (4: ~16 ms) and keeps them small. */
export const THUMB_EFFORT = 1;

/** What the gallery build needs from the renderer (engine/gallery/build.ts owns the shape). */
export type Rendered = RenderedMedia;

/** A video's poster, plus the duration ffprobe read (seconds; null when unknown). */
export type RenderedVideo = Rendered & { readonly duration: number | null };

/** The knobs of one render; the defaults are the gallery's contract (bench/gallery.ts varies them). */
export interface RenderOptions {
  readonly previewLong: number;
  readonly previewEffort: number;
  readonly thumbEffort: number;
}
/**
 * COFFER_GALLERY_PREVIEW_PX (320-4096) sets the previews' long side instead of 1920: for the
 * bench's whole-build runs, and a way to trade preview sharpness for build speed (see
 * docs/gallery-render.md: at 1280 px libjpeg decodes a 12 MP photo at half scale).
 */
function previewLongSetting(): number {
  const v = Number(process.env.COFFER_GALLERY_PREVIEW_PX);
  return Number.isInteger(v) && v >= 320 && v <= 4096 ? v : PREVIEW_LONG;
}
const DEFAULTS: RenderOptions = { previewLong: previewLongSetting(), previewEffort: PREVIEW_EFFORT, thumbEffort: THUMB_EFFORT };

/**
 * Images rendered at once by the build: one per core (each with one libvips thread, so they do
 * not contend), at most 4 (each holds its whole file, up to 256 MiB, in memory). Two here.
 * The build's own reading and decrypting runs on the main thread meanwhile.
 */
export const RENDER_POOL = Math.max(1, Math.min(4, os.availableParallelism()));
// Every photo is new, so libvips' operation cache would only hold memory.
sharp.concurrency(1);
sharp.cache(false);

/** The settings in force, for the bench's report. */
export function renderSettings(): RenderOptions & { vipsThreads: number; cache: boolean; pool: number } {
  return { ...DEFAULTS, vipsThreads: sharp.concurrency(), cache: false, pool: RENDER_POOL };
}

/** Thumbnail size for an upright W×H: short side 300, long side ≤ 600, never larger than the source. */
export function thumbSize(w: number, h: number): Size2 {
  const s = Math.min(THUMB_SHORT / Math.min(w, h), THUMB_LONG_MAX / Math.max(w, h), 1);
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

export function previewSize(w: number, h: number, long = PREVIEW_LONG): Size2 {
  const s = Math.min(long / Math.max(w, h), 1);
  return { w: Math.max(1, Math.round(w * s)), h: Math.max(1, Math.round(h * s)) };
}

const SHARP_INPUT = { failOn: 'error', animated: false, sequentialRead: true } as const;

/**
 * The pipeline shared by photos, HEIC and video posters: one decode straight to preview size
 * (for JPEG, libjpeg's DCT scaling does most of the shrink while decoding), then the preview,
 * the thumbnail from that raster and the ThumbHash from the thumbnail's raster.
 * `upright`: the pixels are already upright (a converter applied the orientation), so the EXIF
 * orientation, if any survived, must not be applied again.
 */
async function renderPixels(bytes: Uint8Array, upright: boolean, options: Partial<RenderOptions> = {}): Promise<Rendered> {
  const o = { ...DEFAULTS, ...options };
  const meta = await sharp(bytes, SHARP_INPUT).metadata();
  if (!meta.width || !meta.height) throw new Error('no image size');
  const orientation = meta.orientation && meta.orientation >= 1 && meta.orientation <= 8 ? meta.orientation : 1;
  const swap = !upright && orientation >= 5;
  const w = swap ? meta.height : meta.width;
  const h = swap ? meta.width : meta.height;
  const ps = previewSize(w, h, o.previewLong);
  const ts = thumbSize(w, h);
  let input = sharp(bytes, SHARP_INPUT);
  // rotate() with no angle applies the EXIF orientation; the output carries no EXIF (no metadata copied).
  if (!upright) input = input.rotate();
  const raster = await input.resize(ps.w, ps.h, { fit: 'fill' }).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const raw = (b: Buffer, info: { width: number; height: number; channels: 1 | 2 | 3 | 4 }) => sharp(b, { raw: { width: info.width, height: info.height, channels: info.channels } });
  const [preview, small] = await Promise.all([
    raw(raster.data, raster.info).webp({ quality: PREVIEW_QUALITY, effort: o.previewEffort }).toBuffer(),
    raw(raster.data, raster.info).resize(ts.w, ts.h, { fit: 'fill' }).raw().toBuffer({ resolveWithObject: true }),
  ]);
  const [thumb, tiny] = await Promise.all([
    raw(small.data, small.info).webp({ quality: THUMB_QUALITY, effort: o.thumbEffort }).toBuffer(),
    raw(small.data, small.info).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true }),
  ]);
  const hash = toBase64(thumbHash(tiny.info.width, tiny.info.height, new Uint8Array(tiny.data.buffer, tiny.data.byteOffset, tiny.data.length)));
  return { thumb: new Uint8Array(thumb), thumbSize: ts, preview: new Uint8Array(preview), previewSize: ps, hash, w, h, orientation: upright ? 1 : orientation };
}

/**
 * Renders an image file; a file that cannot be decoded gives the placeholder and a warning.
 * HEIC/HEIF with HEVC (which sharp's libvips cannot decode) goes through libheif's
 * `heif-convert` first (node/gallery-heic.ts).
 */
export async function renderImage(bytes: Uint8Array, options?: Partial<RenderOptions>): Promise<Rendered> {
  try {
    const raw = rawInfo(bytes);
    if (raw) {
      if (raw.previews.length === 0) return { ...(await placeholder('image')), warning: 'camera RAW without an embedded JPEG preview' };
      let error = '';
      // Largest first; a damaged one (a cut-off file) gives way to the next, smaller one.
      for (const p of raw.previews) {
        const jpeg = bytes.subarray(p.offset, p.offset + p.length);
        try {
          // The RAW's IFD0 orientation is authoritative (default 1), not the preview's own EXIF;
          // a RAF has only the preview's.
          return await renderPixels(raw.container === 'tiff' ? jpegWithOrientation(jpeg, raw.orientation ?? 1) : jpeg, false, options);
        } catch (e) {
          error = (e as Error).message;
        }
      }
      return { ...(await placeholder('image')), warning: `cannot decode the RAW's embedded preview: ${error}` };
    }
    if (isHeif(bytes) && !(await sharpDecodesHeif(bytes))) {
      const decoded = await decodeHeic(bytes);
      if (!decoded.ok) return { ...(await placeholder('image')), warning: decoded.reason };
      // Upright as libheif decodes it; the EXIF tag it copied is not authoritative in HEIF.
      return await renderPixels(decoded.image, true, options);
    }
    return await renderPixels(bytes, false, options);
  } catch (e) {
    return { ...(await placeholder('image')), warning: `cannot decode the image: ${(e as Error).message}` };
  }
}

/** sharp's prebuilt libvips reads HEIF headers and AV1 (AVIF) pixels, not HEVC. */
async function sharpDecodesHeif(bytes: Uint8Array): Promise<boolean> {
  try {
    return (await sharp(bytes, SHARP_INPUT).metadata()).compression === 'av1';
  } catch {
    return false;
  }
}

/**
 * Renders a video's poster: the frame at 1 s (10 % of a clip shorter than 10 s), upright, as
 * its preview and thumbnail (node/gallery-video.ts runs ffmpeg). Without ffmpeg, the neutral
 * placeholder (one warning per process on stderr, not one per video); a video ffmpeg cannot
 * read gets the placeholder and a warning.
 */
export async function renderVideo(read: RangeReader, size: number, options?: Partial<RenderOptions>): Promise<RenderedVideo> {
  const poster = await videoPoster(read, size);
  if (!poster.ok) {
    const p = await placeholder('video');
    return { ...p, duration: null, ...(poster.missing ? {} : { warning: poster.reason }) };
  }
  try {
    return { ...(await renderPixels(poster.frame, true, options)), duration: poster.duration };
  } catch (e) {
    return { ...(await placeholder('video')), duration: poster.duration, warning: `cannot decode the poster frame: ${(e as Error).message}` };
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

/**
 * The gallery engine's renderer port, backed by sharp (plus heif-convert and ffmpeg).
 * `renderVideo` is for the build's video branch (it takes the ranged reader it already has).
 */
export const sharpRenderer = {
  concurrency: RENDER_POOL,
  renderImage: (bytes: Uint8Array) => renderImage(bytes),
  renderVideo: (read: RangeReader, size: number) => renderVideo(read, size),
  placeholder: (kind: 'image' | 'video') => placeholder(kind),
};
