/**
 * @module inbox/staged
 * The inbox's pure model (design web-gallery.md §6): what a staged item's sealed `meta` says, where
 * an approved item goes in its snapshot, the decision log's entries, and the keyed digest that
 * lets a scanner holding only the public key skip content that is already pending. No I/O, no
 * Node: the web app's worker uses it too.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromHex, toHex, utf8Decode, utf8Encode } from '../bytes.js';
import { CofferError, corrupt } from '../errors.js';
import { parseExifDate } from '../gallery/dates.js';
import { readImageMeta } from '../gallery/exif.js';
import { mediaFromMagic } from '../gallery/item.js';

export type Decision = 'approve' | 'private' | 'reject';
export const DECISIONS: readonly Decision[] = ['approve', 'private', 'reject'];
/** Every snapshot the inbox writes carries it (plus `private`, `album:<A>`). */
export const INBOX_TAG = 'coffer-inbox';
export const PRIVATE_TAG = 'private';
export const STAGED_PARTS = ['meta', 'thumb', 'data', 'dedup'] as const;
export type StagedPart = (typeof STAGED_PARTS)[number];

/** The sealed `meta` part. */
export interface StagedMeta {
  readonly v: 1;
  readonly name: string;
  readonly size: number;
  /** The file's mtime in ms. */
  readonly mtime: number;
  readonly sha256: string;
  readonly type: string | null;
  /** `add:<hostname>`, `watch:<absolute folder>` or `upload:<device>`. */
  readonly source: string;
  /** ISO time it was staged. */
  readonly added: string;
  /** EXIF capture time (local wall time, `YYYY-MM-DDTHH:MM:SS`) or null. */
  readonly taken: string | null;
  /** Watched items: the file's absolute path (inside the folder of `source`). */
  readonly path?: string;
}

export interface DecisionEntry {
  readonly sha256: string;
  readonly decision: Decision;
  readonly time: string;
  readonly snapshot?: string;
}

const SHA_RE = /^[0-9a-f]{64}$/;
export const STAGE_ID_RE = /^[0-9a-f]{32}$/;

export function isStageId(s: string): boolean {
  return STAGE_ID_RE.test(s);
}

function validName(n: unknown): n is string {
  return typeof n === 'string' && n !== '' && n !== '.' && n !== '..' && !n.includes('/') && !n.includes('\0');
}

export function encodeMeta(meta: StagedMeta): Uint8Array {
  return utf8Encode(JSON.stringify(meta));
}

export function decodeMeta(bytes: Uint8Array, what: string): StagedMeta {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(utf8Decode(bytes)) as Record<string, unknown>;
  } catch {
    throw corrupt(what, 'meta is not JSON');
  }
  const ok =
    o && o.v === 1 && validName(o.name) && Number.isSafeInteger(o.size) && (o.size as number) >= 0 && typeof o.mtime === 'number' &&
    typeof o.sha256 === 'string' && SHA_RE.test(o.sha256) && (o.type === null || typeof o.type === 'string' || o.type === undefined) &&
    typeof o.source === 'string' && /^(add|watch|upload):./.test(o.source) && typeof o.added === 'string' &&
    (o.taken === null || o.taken === undefined || typeof o.taken === 'string') && (o.path === undefined || typeof o.path === 'string');
  if (!ok) throw corrupt(what, 'meta has missing or invalid fields');
  return { ...(o as unknown as StagedMeta), type: (o.type as string | null | undefined) ?? null, taken: (o.taken as string | null | undefined) ?? null };
}

/** A path component made of a device or host name (no slashes, never empty). */
function component(s: string): string {
  const c = s.replace(/[/\0]/g, '_').trim();
  return c === '' || c === '.' || c === '..' ? 'device' : c;
}

/**
 * Where an approved item goes: `root` is the snapshot's path, `file` the file's absolute path in
 * it. Watched items keep their place under the watched folder; added and uploaded ones go under
 * `/inbox/<device>` (added: this host).
 */
export function placement(meta: StagedMeta): { root: string; file: string } {
  const m = /^(add|watch|upload):(.+)$/.exec(meta.source);
  if (m && m[1] === 'watch') {
    const root = m[2]!.replace(/\/+$/, '') || '/';
    const p = meta.path ?? '';
    if (p.startsWith(root + '/') && !p.split('/').some((x) => x === '..' || x === '.')) return { root, file: p };
    return { root, file: `${root === '/' ? '' : root}/${meta.name}` };
  }
  const root = `/inbox/${component(m?.[2] ?? 'device')}`;
  return { root, file: `${root}/${meta.name}` };
}

/** Tags of the snapshot a decision writes. */
export function decisionTags(decision: 'approve' | 'private', album?: string): string[] {
  return [INBOX_TAG, ...(decision === 'private' ? [PRIVATE_TAG] : []), ...(album ? [`album:${album}`] : [])];
}

export function checkAlbum(album: string | undefined): void {
  if (album !== undefined && (album.trim() === '' || album.includes(','))) throw new CofferError('bad-input', '--album: give a name without commas');
}

/**
 * The unsealed `dedup` part: HMAC-SHA256 keyed by the inbox public key over the content's
 * SHA-256. A scanner with only the public key can skip content already pending; someone who sees
 * the staging folder but not the key learns only which staged items are equal.
 */
export function dedupDigest(publicKey: Uint8Array, sha256hex: string): string {
  if (!SHA_RE.test(sha256hex)) throw new CofferError('internal', 'dedupDigest: not a SHA-256');
  return toHex(hmac(sha256, publicKey, fromHex(sha256hex)));
}

export function encodeDecisions(entries: readonly DecisionEntry[]): string {
  return JSON.stringify(entries, null, 1) + '\n';
}

export function decodeDecisions(text: string, what: string): DecisionEntry[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw corrupt(what, 'not JSON');
  }
  if (!Array.isArray(v)) throw corrupt(what, 'not a list of decisions');
  return v.map((e: Partial<DecisionEntry>, i) => {
    if (!e || typeof e.sha256 !== 'string' || !SHA_RE.test(e.sha256) || !DECISIONS.includes(e.decision as Decision) || typeof e.time !== 'string') {
      throw corrupt(what, `entry ${i} is not {sha256, decision, time}`);
    }
    return { sha256: e.sha256, decision: e.decision as Decision, time: e.time, ...(typeof e.snapshot === 'string' ? { snapshot: e.snapshot } : {}) };
  });
}

/**
 * The IDs named on a command line: whole IDs, or unique prefixes of at least 6 digits (a stage ID
 * is 32 digits long). Every unknown or ambiguous one is refused before any work.
 */
export function resolveIds(known: readonly string[], ids: readonly string[]): string[] {
  if (ids.length === 0) throw new CofferError('bad-input', 'give at least one inbox item ID (see coffer inbox list)');
  const have = new Set(known);
  const unknown: string[] = [];
  const ambiguous: string[] = [];
  const out: string[] = [];
  for (const id of ids) {
    if (have.has(id)) {
      out.push(id);
      continue;
    }
    const m = id.length >= 6 ? known.filter((k) => k.startsWith(id.toLowerCase())) : [];
    if (m.length === 1) out.push(m[0]!);
    else (m.length > 1 ? ambiguous : unknown).push(id);
  }
  if (unknown.length) throw new CofferError('bad-input', `no pending inbox item ${unknown.join(', ')} (see coffer inbox list)`);
  if (ambiguous.length) throw new CofferError('bad-input', `inbox item ${ambiguous.join(', ')} is ambiguous: give more digits`);
  return [...new Set(out)];
}

/** EXIF capture time of an image's first bytes, or null. */
export function takenFromBytes(head: Uint8Array): string | null {
  const media = mediaFromMagic(head);
  if (!media || media.kind !== 'image') return null;
  try {
    const ex = readImageMeta(head, media.mime).exif;
    return parseExifDate(ex?.dateTimeOriginal) ?? parseExifDate(ex?.createDate) ?? null;
  } catch {
    return null;
  }
}

/** The MIME type of a file's first bytes, or null. */
export function typeFromBytes(head: Uint8Array): string | null {
  return mediaFromMagic(head)?.mime ?? null;
}
