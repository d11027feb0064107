/**
 * @module core/inbox/inbox
 * The review inbox's pure model: the local index of pending items and the decision log that keeps
 * a rejected (or already stored) file from being offered again. No I/O: src/node/inbox.ts reads
 * files and keeps the index on this device only (pending items never reach a repository).
 */
import { CofferError } from '../errors.js';
import { parseExifDate } from '../gallery/dates.js';
import { readImageMeta } from '../gallery/exif.js';
import { mediaFromMagic } from '../gallery/item.js';

export type Decision = 'approve' | 'private' | 'reject';

export interface InboxItem {
  /** First 12 hex digits of the content's SHA-256: a changed file is a new item. */
  readonly id: string;
  readonly name: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly sha256: string;
  /** `added` (coffer inbox add) or `watch:<folder>`. */
  readonly source: string;
  /** Where the file was found. */
  readonly path: string;
  /** For added items: the copy kept in the inbox folder, relative to it. */
  readonly staged?: string;
  /** ISO time it entered the inbox. */
  readonly added: string;
  /** EXIF capture time (local wall time) when the file has one. */
  readonly taken: string | null;
}

export interface DecisionEntry {
  readonly sha256: string;
  readonly decision: Decision;
  readonly time: string;
  readonly snapshot?: string;
}

export interface InboxIndex {
  readonly version: 1;
  readonly items: readonly InboxItem[];
  readonly decisions: readonly DecisionEntry[];
}

export function emptyIndex(): InboxIndex {
  return { version: 1, items: [], decisions: [] };
}

export function checkIndex(v: unknown): InboxIndex {
  const o = v as Partial<InboxIndex> | null;
  if (!o || o.version !== 1 || !Array.isArray(o.items) || !Array.isArray(o.decisions)) throw new CofferError('corrupt', 'inbox index: not a version 1 index');
  return o as InboxIndex;
}

export function itemIdOf(sha256: string): string {
  return sha256.slice(0, 12);
}

/** Whether content with this hash is pending or was decided already (then it is not offered again). */
export function isKnown(index: InboxIndex, sha256: string): boolean {
  return index.items.some((i) => i.sha256 === sha256) || index.decisions.some((d) => d.sha256 === sha256);
}

export function withItem(index: InboxIndex, item: InboxItem): InboxIndex {
  if (isKnown(index, item.sha256)) return index;
  return { ...index, items: [...index.items, item] };
}

/** Pending items, oldest first (by the time they entered, then the file's mtime). */
export function pending(index: InboxIndex): InboxItem[] {
  return [...index.items].sort((a, b) => a.added.localeCompare(b.added) || a.mtimeMs - b.mtimeMs || a.id.localeCompare(b.id));
}

/** The items named by `ids` (whole IDs); every unknown ID is refused with 'bad-input' before any work. */
export function resolveIds(index: InboxIndex, ids: readonly string[]): InboxItem[] {
  if (ids.length === 0) throw new CofferError('bad-input', 'give at least one inbox item ID (see coffer inbox list)');
  const unknown = ids.filter((id) => !index.items.some((i) => i.id === id));
  if (unknown.length) throw new CofferError('bad-input', `no pending inbox item ${unknown.join(', ')} (see coffer inbox list)`);
  const seen = new Set<string>();
  return ids.filter((id) => !seen.has(id) && seen.add(id)).map((id) => index.items.find((i) => i.id === id)!);
}

/** Removes the decided items and logs the decisions by content hash. */
export function decide(index: InboxIndex, items: readonly InboxItem[], decision: Decision, time: string, snapshot?: string): InboxIndex {
  const done = new Set(items.map((i) => i.sha256));
  return {
    ...index,
    items: index.items.filter((i) => !done.has(i.sha256)),
    decisions: [...index.decisions, ...items.map((i) => ({ sha256: i.sha256, decision, time, ...(snapshot ? { snapshot } : {}) }))],
  };
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
