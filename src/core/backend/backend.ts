/**
 * @module backend/backend
 * The storage contract every backend implements (local, REST, S3, SFTP, rclone, memory).
 * Files are immutable and whole: a repository never appends to or rewrites a file (except
 * `config` on a version upgrade). Obligations, as in restic's backend.go:
 *
 * - `get` of a missing file MUST throw CofferError 'not-found'. A range that reaches past the end
 *   of the file MUST throw CofferError 'range' (never return short data silently).
 * - `put` MUST be all-or-nothing: readers never see a partial file under its final name (temp
 *   name + rename, or one PUT). Putting a name that exists MAY replace it.
 * - `list` MUST yield each file of the type exactly once, with its size; names only (for `data`,
 *   the shard folder is hidden). Files whose names are not valid IDs are skipped.
 * - `delete` of a missing file MUST throw 'not-found'.
 * - Transient failures throw 'transient' (the retry decorator retries those only).
 * - `location` is safe to show: it never contains a password or secret key.
 */

export type FileType = 'config' | 'keys' | 'locks' | 'snapshots' | 'index' | 'data';

export const FILE_TYPES: readonly FileType[] = ['config', 'keys', 'locks', 'snapshots', 'index', 'data'];

export interface Handle {
  readonly type: FileType;
  /** 64-hex name; '' for `config`. */
  readonly name: string;
}

export interface FileInfo {
  readonly name: string;
  readonly size: number;
}

export interface CallOpts {
  readonly signal?: AbortSignal;
}

export interface ByteRange {
  readonly offset: number;
  /** Omitted: to the end of the file. */
  readonly length?: number;
}

export interface Backend {
  readonly location: string;
  /** How many requests may usefully run at once. */
  readonly connections: number;
  stat(h: Handle, o?: CallOpts): Promise<FileInfo>;
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array>;
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void>;
  delete(h: Handle, o?: CallOpts): Promise<void>;
  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo>;
  /** Creates the empty repository structure (folders) if the medium needs it. */
  create(o?: CallOpts): Promise<void>;
  /** Releases connections (SFTP sessions, child processes). */
  close?(): Promise<void>;
}

/** Human-readable name of a handle for messages: `data/ab12cd34…`, `config`. */
export function describeHandle(h: Handle): string {
  return h.type === 'config' ? 'config' : `${h.type}/${h.name}`;
}
