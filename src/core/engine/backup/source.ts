/**
 * @module engine/backup/source
 * What the archiver needs from a file system, as a port: the Node edge implements it with
 * node:fs (src/node/fs-source.ts); tests and the browser could implement it with other stores.
 * Paths are POSIX strings as the user gave them; names are raw bytes.
 * Every failure to read the source MUST be a CofferError with code 'source' (the archiver skips
 * and reports those); any other error aborts the backup.
 */
import type { TreeNode } from '../../format/types.js';

/** Node metadata as read from the file system; `content` and `subtree` are filled in by the archiver. */
export type SourceMeta = Omit<TreeNode, 'content' | 'subtree'>;

export interface SourceItem {
  readonly name: Uint8Array;
  readonly meta: SourceMeta;
  /** Absolute path (for messages, filters and as the source's own handle). */
  readonly path: string;
  /** Raw path bytes, for names that are not UTF-8. */
  readonly rawPath: Uint8Array;
}

export interface SourceFile {
  /** Reads up to `length` bytes into `buf` at `offset`; returns 0 at end of file. */
  read(buf: Uint8Array, offset: number, length: number): Promise<number>;
  close(): Promise<void>;
}

export interface FileSource {
  /** Absolute, cleaned form of a target as given by the user. */
  absolute(path: string): string;
  /** lstat of an absolute path. */
  stat(path: string): Promise<SourceItem>;
  /**
   * Children of a directory, sorted by raw name bytes. Children that vanish or cannot be
   * examined are returned in `errors` rather than failing the whole directory.
   */
  readDir(dir: SourceItem): Promise<{ items: SourceItem[]; errors: SourceError[] }>;
  open(file: SourceItem): Promise<SourceFile>;
  /**
   * A hint, given before the repository is locked and its index loaded, that these targets (as
   * given by the user) will be backed up: start slow read-ahead (extended attributes) now.
   */
  prepare?(targets: readonly string[]): void;
}

export interface SourceError {
  readonly path: string;
  readonly error: Error;
}
