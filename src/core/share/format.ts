/**
 * @module share/format
 * The share-link format (design web-gallery.md §7), pure and browser-safe: the link, the keys
 * derived from it, the manifest codec, and sealing a file as a stream of 1 MiB AES-256-GCM
 * chunks (crypto/chunked-gcm).
 *
 * - Link: `<base>/s/<id>#<key>`: id = 16 random bytes, key = 32 random bytes, both base64url
 *   without padding. The key lives only in the fragment, which browsers never send.
 * - Keys: file n uses HKDF-SHA256(key, salt = id, info = `coffer-share-v1 file n`); the manifest
 *   `coffer-share-v1 manifest`. The id as salt binds every file to its share (no swapping).
 * - Files: item k's original is file 3k, its thumbnail 3k+1 and its preview 3k+2 (absent when
 *   `hasThumb`/`hasPreview` is false). The number is part of the key, so an original cannot be
 *   served as another item's or as a thumbnail.
 */
import { randomBytes } from '@noble/hashes/utils.js';
import { CHUNK_SIZE, chunkCount, deriveKey, openBytes, PREFIX_SIZE, sealBytes, sealedSize } from '../crypto/chunked-gcm.js';
import { chunkCipher } from './gcm.js';
import { CofferError, corrupt } from '../errors.js';
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../bytes.js';

export const SHARE_ID_BYTES = 16;
export const SHARE_KEY_BYTES = 32;
export const MANIFEST_VERSION = 1;
/** Default lifetime of a share: 7 days. */
export const DEFAULT_EXPIRES_MS = 7 * 24 * 3600_000;
/** Longest lifetime accepted: a year. */
export const MAX_EXPIRES_MS = 366 * 24 * 3600_000;

/** base64url without padding (RFC 4648 §5). */
export function toBase64Url(b: Uint8Array): string {
  return toBase64(b).replace(/=+$/, '').replaceAll('+', '-').replaceAll('/', '_');
}

/** Decodes base64url without padding; undefined when malformed. */
export function fromBase64Url(s: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) return undefined;
  const std = s.replaceAll('-', '+').replaceAll('_', '/');
  try {
    const out = fromBase64(std + '='.repeat((4 - (std.length % 4)) % 4));
    // Reject non-canonical encodings (stray low bits): one link, one spelling.
    return toBase64Url(out) === s ? out : undefined;
  } catch {
    return undefined;
  }
}

/** A share id as it appears in paths: 22 base64url characters. */
export function isShareId(s: string): boolean {
  return s.length === 22 && fromBase64Url(s)?.length === SHARE_ID_BYTES;
}

export function newShareId(): string {
  return toBase64Url(randomBytes(SHARE_ID_BYTES));
}

export function newShareKey(): Uint8Array {
  return randomBytes(SHARE_KEY_BYTES);
}

function idBytes(id: string): Uint8Array {
  const b = fromBase64Url(id);
  if (!b || b.length !== SHARE_ID_BYTES) throw new CofferError('usage', 'not a share id');
  return b;
}

function checkShareKey(key: Uint8Array): void {
  if (key.length !== SHARE_KEY_BYTES) throw new RangeError('share key must be 32 bytes');
}

export function fileKey(key: Uint8Array, id: string, n: number): Uint8Array {
  checkShareKey(key);
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`bad file number ${n}`);
  return deriveKey(key, idBytes(id), `coffer-share-v1 file ${n}`);
}

export function manifestKey(key: Uint8Array, id: string): Uint8Array {
  checkShareKey(key);
  return deriveKey(key, idBytes(id), 'coffer-share-v1 manifest');
}

export type FileRole = 'original' | 'thumb' | 'preview';

/** The file number of item k's original, thumbnail or preview. */
export function fileNumber(item: number, role: FileRole): number {
  return item * 3 + (role === 'original' ? 0 : role === 'thumb' ? 1 : 2);
}

// ---------------------------------------------------------------- link

export interface ShareLink {
  /** Everything before `/s/<id>`, without a trailing slash. */
  readonly base: string;
  readonly id: string;
  readonly key: Uint8Array;
}

export function formatShareLink(base: string, id: string, key: Uint8Array): string {
  checkShareKey(key);
  idBytes(id);
  return `${base.replace(/\/+$/, '')}/s/${id}#${toBase64Url(key)}`;
}

/** Parses `<base>/s/<id>#<key>`; 'usage' error when it is not a share link. */
export function parseShareLink(link: string): ShareLink {
  const m = /^(.*)\/s\/([A-Za-z0-9_-]{22})\/?#([A-Za-z0-9_-]{43})$/.exec(link.trim());
  const key = m ? fromBase64Url(m[3]!) : undefined;
  if (!m || !isShareId(m[2]!) || !key || key.length !== SHARE_KEY_BYTES) throw new CofferError('usage', 'not a share link (expected <base>/s/<id>#<key>)');
  return { base: m[1]!, id: m[2]!, key };
}

/** The key of a fragment (`#<key>` or `<key>`), or undefined. */
export function keyOfFragment(hash: string): Uint8Array | undefined {
  const k = fromBase64Url(hash.startsWith('#') ? hash.slice(1) : hash);
  return k && k.length === SHARE_KEY_BYTES ? k : undefined;
}

/** `7d`, `12h`, `30m`, `2s` (or a bare number of seconds) to milliseconds. */
export function parseExpires(s: string): number {
  const m = /^(\d{1,7})([dhms]?)$/.exec(s.trim());
  if (!m) throw new CofferError('usage', `--expires ${JSON.stringify(s)}: give a duration such as 7d, 12h, 30m or 2s`);
  const ms = Number(m[1]) * ({ d: 86400_000, h: 3600_000, m: 60_000, s: 1000, '': 1000 } as const)[m[2] as 'd' | 'h' | 'm' | 's' | ''];
  if (ms <= 0 || ms > MAX_EXPIRES_MS) throw new CofferError('usage', `--expires ${s}: between 1s and 366d`);
  return ms;
}

// ---------------------------------------------------------------- manifest

export interface ShareItem {
  readonly name: string;
  readonly mime: string;
  /** Plaintext bytes of the original. */
  readonly size: number;
  /** `YYYY-MM-DDTHH:MM:SS` local wall time, when known. */
  readonly taken?: string;
  readonly w?: number;
  readonly h?: number;
  /** Chunks of the original's sealed stream. */
  readonly chunks: number;
  readonly hasThumb: boolean;
  readonly hasPreview: boolean;
}

export interface ShareManifest {
  readonly version: number;
  /** Milliseconds since the epoch. */
  readonly created: number;
  readonly expires: number;
  readonly items: readonly ShareItem[];
}

export const MAX_ITEMS = 10_000;

const isStr = (v: unknown, max = 4096): v is string => typeof v === 'string' && v.length <= max;
const isNat = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

/** A file name fit to save: no folders, no control characters. */
export function safeName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\x00-\x1f\x7f]/g, '_').trim();
  return clean === '' || clean === '.' || clean === '..' ? 'file' : clean.slice(0, 255);
}

export function encodeManifest(m: ShareManifest): Uint8Array {
  return utf8Encode(JSON.stringify(m));
}

export function decodeManifest(b: Uint8Array, what = 'share manifest'): ShareManifest {
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(b));
  } catch {
    throw corrupt(what, 'not JSON');
  }
  const o = v as Record<string, unknown>;
  if (!o || typeof o !== 'object' || o.version !== MANIFEST_VERSION) throw corrupt(what, 'unknown manifest version');
  if (!isNat(o.created) || !isNat(o.expires) || !Array.isArray(o.items) || o.items.length > MAX_ITEMS) throw corrupt(what, 'bad manifest fields');
  const items = o.items.map((x: unknown, i: number): ShareItem => {
    const it = x as Record<string, unknown>;
    if (!it || typeof it !== 'object' || !isStr(it.name) || !isStr(it.mime, 200) || !isNat(it.size) || !isNat(it.chunks) || typeof it.hasThumb !== 'boolean' || typeof it.hasPreview !== 'boolean') {
      throw corrupt(what, `bad item ${i}`);
    }
    if (it.chunks !== chunkCount(it.size)) throw corrupt(what, `item ${i}: chunk count does not match its size`);
    if ((it.taken !== undefined && !isStr(it.taken, 40)) || (it.w !== undefined && !isNat(it.w)) || (it.h !== undefined && !isNat(it.h))) throw corrupt(what, `bad item ${i}`);
    return {
      name: safeName(it.name),
      mime: it.mime,
      size: it.size,
      ...(it.taken !== undefined ? { taken: it.taken as string } : {}),
      ...(it.w !== undefined ? { w: it.w as number } : {}),
      ...(it.h !== undefined ? { h: it.h as number } : {}),
      chunks: it.chunks,
      hasThumb: it.hasThumb,
      hasPreview: it.hasPreview,
    };
  });
  return { version: MANIFEST_VERSION, created: o.created, expires: o.expires, items };
}

export function sealManifest(key: Uint8Array, id: string, m: ShareManifest): Uint8Array {
  return sealBytes(manifestKey(key, id), encodeManifest(m));
}

export function openManifest(key: Uint8Array, id: string, sealed: Uint8Array): ShareManifest {
  return decodeManifest(openBytes(manifestKey(key, id), sealed, 'share manifest'));
}

// ---------------------------------------------------------------- files

export function sealFile(key: Uint8Array, id: string, n: number, plain: Uint8Array): Uint8Array {
  return sealBytes(fileKey(key, id, n), plain);
}

export function openFile(key: Uint8Array, id: string, n: number, sealed: Uint8Array): Uint8Array {
  return openBytes(fileKey(key, id, n), sealed, `share file ${n}`);
}

/**
 * Seals a stream of `size` plaintext bytes (any piece sizes) as file n, a piece at a time:
 * at most one chunk is held in memory; WebCrypto's GCM when there is one (share/gcm.ts).
 * Throws when the source gives more or fewer bytes.
 */
export async function* sealFileStream(key: Uint8Array, id: string, n: number, size: number, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const cipher = await chunkCipher(fileKey(key, id, n));
  const prefix = randomBytes(PREFIX_SIZE);
  yield prefix;
  const total = chunkCount(size);
  const buf = new Uint8Array(Math.min(CHUNK_SIZE, size));
  let fill = 0;
  let index = 0;
  let seen = 0;
  for await (const piece of source) {
    seen += piece.length;
    if (seen > size) throw new CofferError('corrupt', `file ${n}: the source is longer than its ${size} bytes`);
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(piece.length - at, buf.length - fill);
      buf.set(piece.subarray(at, at + take), fill);
      fill += take;
      at += take;
      if (fill === buf.length && index < total - 1) {
        yield await cipher.seal(prefix, index, false, buf);
        index++;
        fill = 0;
      }
    }
  }
  if (seen !== size) throw new CofferError('corrupt', `file ${n}: the source gave ${seen} of its ${size} bytes`);
  yield await cipher.seal(prefix, index, true, buf.subarray(0, fill));
}

export { sealedSize, chunkCount, PREFIX_SIZE };
