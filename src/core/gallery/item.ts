/**
 * @module gallery/item
 * The gallery's item model (../shared/design/web-gallery.md §3), the id rule and media detection.
 *
 * An item's `id` is the first 16 bytes (hex) of SHA-256 over its original's content blob IDs as
 * raw 32-byte values, in order: free to compute from a backup's tree (no data read) and the same
 * for the same photo wherever it sits, so two copies make one item with two `sources`.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex } from '../bytes.js';
import type { Id } from '../format/types.js';
import { RAW_MIME, rawInfo } from './raw.js';

export type MediaKind = 'image' | 'video';
/** Where `taken` came from; `mtime` is a guess the UI marks as such. */
export type TakenFrom = 'exif' | 'xmp' | 'quicktime' | 'takeout' | 'mtime';

export interface Camera {
  readonly make?: string;
  readonly model?: string;
  readonly lens?: string;
}

export interface ItemSource {
  /** Path inside the snapshot, as `restic ls` shows it. */
  readonly path: string;
  /** The first snapshot the item was seen in at this path. */
  readonly snapshot: Id;
}

export interface Size2 {
  readonly w: number;
  readonly h: number;
}

export interface GalleryItem {
  readonly id: string;
  readonly kind: MediaKind;
  readonly mime: string;
  readonly name: string;
  /** Local wall time `YYYY-MM-DDTHH:MM:SS`, as the camera showed it. */
  readonly taken: string;
  /** `+02:00` when known, else null. */
  readonly offset: string | null;
  readonly takenFrom: TakenFrom;
  /** As displayed (after orientation); 0 when unknown (a file we could not decode). */
  readonly w: number;
  readonly h: number;
  readonly orientation: number;
  readonly size: number;
  /** Seconds, videos only. */
  readonly duration: number | null;
  readonly camera: Camera | null;
  /** [lat, lon], 5 decimals. */
  readonly gps: [number, number] | null;
  /** ISO 3166 alpha-2; null until a country lookup exists (see docs/gallery.md). */
  readonly country: string | null;
  readonly content: readonly Id[];
  /** [pack id, offset, length] per content blob, a hint only (prune may move blobs). */
  readonly hints: readonly (readonly [Id, number, number])[];
  readonly sources: readonly ItemSource[];
  readonly thumb: Size2;
  readonly preview: Size2;
  /** ThumbHash, standard base64; null when the file could not be decoded. */
  readonly hash: string | null;
  /** Set when the original could not be decoded: thumbnail and preview are placeholders. */
  readonly broken?: true;
}

/** The item id of a file whose content is `content` (blob IDs, hex, in order). */
export function itemId(content: readonly Id[]): string {
  const raw = new Uint8Array(content.length * 32);
  content.forEach((id, i) => raw.set(fromHex(id), i * 32));
  return toHex(sha256(raw).subarray(0, 16));
}

const ID_RE = /^[0-9a-f]{32}$/;
export function isItemId(s: unknown): s is string {
  return typeof s === 'string' && ID_RE.test(s);
}

const IMAGE_EXT: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  jpe: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
  gif: 'image/gif',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  heic: 'image/heic',
  heif: 'image/heif',
  avif: 'image/avif',
  // Camera RAW: shown by their embedded JPEG preview (gallery/raw.ts); originals kept as they are.
  ...RAW_MIME,
};
const VIDEO_EXT: Record<string, string> = {
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  '3gp': 'video/3gpp',
};

/** The lower-case extension of a file name ('' when none). */
export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
}

/** Kind and MIME type from a file name, or undefined when it is not a photo or video. */
export function mediaFromName(name: string): { kind: MediaKind; mime: string } | undefined {
  const ext = extensionOf(name);
  if (IMAGE_EXT[ext]) return { kind: 'image', mime: IMAGE_EXT[ext]! };
  if (VIDEO_EXT[ext]) return { kind: 'video', mime: VIDEO_EXT[ext]! };
  return undefined;
}

/** Kind and MIME type from the first bytes (magic numbers), or undefined. */
export function mediaFromMagic(b: Uint8Array): { kind: MediaKind; mime: string } | undefined {
  const at = (o: number, s: string) => s.split('').every((c, i) => b[o + i] === c.charCodeAt(0));
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: 'image', mime: 'image/jpeg' };
  if (at(0, '\x89PNG\r\n\x1a\n')) return { kind: 'image', mime: 'image/png' };
  if (at(0, 'RIFF') && at(8, 'WEBP')) return { kind: 'image', mime: 'image/webp' };
  if (at(0, 'GIF8')) return { kind: 'image', mime: 'image/gif' };
  // Camera RAWs first: most are TIFF files underneath (raw.ts tells them apart).
  const raw = rawInfo(b);
  if (raw) return { kind: 'image', mime: raw.mime };
  if (at(0, 'II*\0') || at(0, 'MM\0*')) return { kind: 'image', mime: 'image/tiff' };
  if (at(4, 'ftyp')) {
    const brand = String.fromCharCode(...b.subarray(8, 12));
    if (/^(heic|heix|hevc|heim|heis|mif1|msf1)$/.test(brand)) return { kind: 'image', mime: 'image/heic' };
    if (/^avi[fs]$/.test(brand)) return { kind: 'image', mime: 'image/avif' };
    if (brand === 'qt  ') return { kind: 'video', mime: 'video/quicktime' };
    return { kind: 'video', mime: 'video/mp4' };
  }
  return undefined;
}

/** The file name under `/originals/<id[0:2]>/`: the id and the original's extension, lower case. */
export function originalName(id: string, name: string): string {
  const ext = extensionOf(name);
  return /^[a-z0-9]{1,8}$/.test(ext) ? `${id}.${ext}` : id;
}
