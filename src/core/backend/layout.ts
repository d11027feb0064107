/**
 * @module backend/layout
 * The path scheme of restic's local/SFTP layout (spec §2), also rest-server's on-disk layout:
 * `config`, `keys/<id>`, `locks/<id>`, `snapshots/<id>`, `index/<id>`, `data/<xx>/<id>`.
 * Pure string work with '/' separators; backends join the results onto their root.
 */
import { CofferError } from '../errors.js';
import type { FileType, Handle } from './backend.js';

const ID_RE = /^[0-9a-f]{64}$/;

/** True for a full 64-char lowercase hex ID (the only names `list` reports). */
export function isValidId(name: string): boolean {
  return ID_RE.test(name);
}

/** Folder of a file type relative to the repository root; '' for `config` (the root itself). */
export function dirPath(type: FileType): string {
  return type === 'config' ? '' : type;
}

/** Relative path of a file: `config`, `keys/<id>`, `data/ab/ab…`. */
export function filePath(h: Handle): string {
  if (h.type === 'config') return 'config';
  if (h.type === 'data') return `data/${h.name.slice(0, 2)}/${h.name}`;
  return `${h.type}/${h.name}`;
}

/** The 256 shard folders of `data/`, `data/00` … `data/ff`. */
export function dataShardDirs(): string[] {
  const out: string[] = [];
  for (let i = 0; i < 256; i++) out.push(`data/${i.toString(16).padStart(2, '0')}`);
  return out;
}

/**
 * Every folder `restic init` creates, parents first: the five type folders, then the
 * 256 data shards (restic 0.14+ creates no `tmp/`).
 */
export function initDirs(): string[] {
  return ['data', 'index', 'keys', 'locks', 'snapshots', ...dataShardDirs()];
}

/**
 * Rejects names that would escape the layout or be unlistable. `config` takes ''; the others a
 * full ID, since `list` only ever reports valid IDs and a file under any other name would be lost.
 */
export function checkHandle(h: Handle): void {
  if (h.type === 'config') {
    if (h.name !== '') throw new CofferError('internal', `config handle must have an empty name, got "${h.name}"`);
    return;
  }
  if (!isValidId(h.name)) throw new CofferError('internal', `invalid file name for ${h.type}: "${h.name}" (want 64 hex digits)`);
}
