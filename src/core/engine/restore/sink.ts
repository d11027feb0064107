/**
 * @module engine/restore/sink
 * Where a restore writes, as a port: the Node edge implements it on the file system
 * (src/node/fs-sink.ts); the browser implements it with downloads. Paths are arrays of raw
 * name components relative to the restore target.
 */
import type { TreeNode } from '../../format/types.js';

export type RelPath = readonly Uint8Array[];

export interface FileWriter {
  /** Writes `data` at `offset`; calls may come out of order. */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** Content complete: close and keep. */
  close(): Promise<void>;
  /**
   * Content incomplete: close, and never leave it looking complete under its real name: keep it
   * under a name that says it is partial (returned) or remove it (undefined).
   */
  abandon(): Promise<string | undefined>;
  /**
   * Optional: an OS file descriptor that other threads of this process may write to (positional
   * writes) until close or abandon, so blob workers can write plaintexts themselves instead of
   * handing them back. Undefined when the writer has none (browser sinks, closed files).
   */
  descriptor?(): number | undefined;
  /**
   * Optional, with `descriptor`: a structured-clonable description that lets the blob opener that
   * writes this file's last blobs complete it on its own thread (what close() and the sink's
   * setMetadata do: close, real name, metadata), or undefined when that must happen here.
   */
  handOver?(): unknown;
  /** The opener's outcome of handOver(): the writer is closed and its metadata applied; an error is thrown as close() would throw it. */
  handedOver?(outcome: HandOverOutcome): void;
}

/** What a blob opener reports about a file it completed (FileWriter.handOver). */
export type HandOverOutcome =
  | { readonly done: true; readonly warnings: readonly string[] }
  | { readonly done: false; readonly error: string; readonly code?: string };

export interface RestoreSink {
  mkdir(path: RelPath, node: TreeNode): Promise<void>;
  /** Optional: told, during the walk, of every regular file that will be created (before any content of a file of its folder is written). */
  expect?(path: RelPath): void;
  createFile(path: RelPath, node: TreeNode): Promise<FileWriter>;
  /**
   * Optional, for sinks whose writers offer descriptors: a structured-clonable description that
   * lets the blob opener create this file itself (under its partial name), write all of its
   * content and complete it (what createFile, the writer's close and setMetadata do), or
   * undefined when the file must be created here. Asked only for a file not created yet whose
   * every blob is in one read, after `expect` has seen every file of its folder. With handedOverFile and adoptFile.
   */
  handOverFile?(path: RelPath, node: TreeNode): unknown;
  /** The opener completed a file of handOverFile: as FileWriter.handedOver (an error is thrown as close() would throw it). */
  handedOverFile?(spec: unknown, outcome: HandOverOutcome): void;
  /**
   * The opener created a file of handOverFile but did not complete it (a blob failed): a writer
   * on the descriptor it left open, for the retry and close here. `fd` undefined: the opener's
   * answer was lost (it may have created the file); the writer can only abandon it.
   */
  adoptFile?(spec: unknown, fd: number | undefined): FileWriter;
  /** Symlinks, fifos, devices. Unsupported types may be skipped with a warning. */
  createSpecial(path: RelPath, node: TreeNode): Promise<void>;
  hardlink(path: RelPath, existing: RelPath): Promise<void>;
  /** Ownership, mode, times, xattrs: called after content, and for folders after all children. */
  setMetadata(path: RelPath, node: TreeNode): Promise<void>;
  /** Reads back a restored file for --verify. */
  readFile?(path: RelPath): AsyncIterable<Uint8Array>;
}
