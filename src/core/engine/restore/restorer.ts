/**
 * @module engine/restore/restorer
 * Restores a tree into a RestoreSink (spec §17).
 *
 * Order: folders and special files are created while walking; regular files are filled by a
 * bounded number of workers (blob by blob, each blob authenticated and hash-checked before a
 * single byte is written); hard links (`links > 1` with equal inode and device) are linked to the
 * first restored copy once it is complete; folder metadata is applied last, deepest first, so
 * writing children does not disturb a folder's times. A file whose content could not be
 * restored completely is abandoned (never left looking complete) and reported.
 */
import { CofferError, isCofferError } from '../../errors.js';
import type { Id, TreeNode } from '../../format/types.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { plaintextSize, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { forEachLimit } from '../../async.js';
import { anyMatch, childMayMatch, matchPath, type Pattern } from '../../filter/pattern.js';
import { TreeLoader, walkTree, type WalkEntry } from '../walk/tree-walker.js';
import type { RelPath, RestoreSink } from './sink.js';
import type { RestoredFile } from './verify.js';

export interface RestoreOptions {
  readonly include?: readonly Pattern[];
  readonly exclude?: readonly Pattern[];
  /** Path of the restored tree's root inside the snapshot (for pattern matching), e.g. "/" or "/home/u". */
  readonly basePath?: string;
  readonly fileConcurrency?: number;
  readonly signal?: AbortSignal;
  readonly events?: {
    onFileDone?(path: string, size: number): void;
    onBytes?(n: number): void;
    onError?(path: string, error: Error): void;
  };
}

export interface RestoreResult {
  files: number;
  dirs: number;
  others: number;
  bytes: number;
  errors: { path: string; message: string; leftAs?: string }[];
  /** Files whose content was restored (hard links excluded), for --verify. */
  restoredFiles: RestoredFile[];
}

interface PlannedFile {
  readonly entry: WalkEntry;
  /** For a hard link: the planned file whose copy it links to. */
  readonly linkTo?: PlannedFile;
  done?: Promise<boolean>;
}

function selected(opts: RestoreOptions, path: string, isDir: boolean, insideIncluded: boolean): 'yes' | 'descend' | 'no' {
  if (opts.exclude && anyMatch(opts.exclude, path)) return 'no';
  if (!opts.include?.length || insideIncluded) return 'yes';
  if (opts.include.some((p) => matchPath(p, path))) return 'yes';
  if (isDir && opts.include.some((p) => childMayMatch(p, path))) return 'descend';
  return 'no';
}

export async function restore(repo: Repository, index: MasterIndex, tree: Id, sink: RestoreSink, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const loader = new TreeLoader(repo, index);
  const result: RestoreResult = { files: 0, dirs: 0, others: 0, bytes: 0, errors: [], restoredFiles: [] };
  const files: PlannedFile[] = [];
  const dirs: WalkEntry[] = [];
  const links = new Map<string, PlannedFile>();
  const included = new Set<string>(); // display paths of folders restored whole
  const base = opts.basePath && opts.basePath !== '/' ? opts.basePath.replace(/\/+$/, '') : '';

  const fail = (path: string, e: unknown, leftAs?: string) => {
    const err = e instanceof Error ? e : new Error(String(e));
    result.errors.push({ path, message: err.message, ...(leftAs ? { leftAs } : {}) });
    opts.events?.onError?.(path, err);
  };

  await walkTree(loader, tree, async (e) => {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'restore interrupted');
    const full = base + e.path;
    const parentPath = e.path.slice(0, e.path.lastIndexOf('/')) || '/';
    const sel = selected(opts, full, e.node.type === 'dir', included.has(parentPath));
    if (sel === 'no') return false;
    const n = e.node;
    if (n.type === 'dir') {
      if (sel === 'yes') included.add(e.path);
      await sink.mkdir(e.rawPath, n);
      dirs.push(e);
      result.dirs++;
      return true;
    }
    if (n.type === 'file') {
      const key = n.links !== undefined && n.links > 1n && n.inode !== undefined ? `${n.deviceId ?? 0n}:${n.inode}` : undefined;
      const first = key ? links.get(key) : undefined;
      const planned: PlannedFile = first ? { entry: e, linkTo: first } : { entry: e };
      if (key && !first) links.set(key, planned);
      files.push(planned);
      return;
    }
    try {
      await sink.createSpecial(e.rawPath, n);
      await sink.setMetadata(e.rawPath, n);
      result.others++;
    } catch (err) {
      if (!isCofferError(err, 'source') && !isCofferError(err, 'permission')) throw err;
      fail(e.path, err);
    }
  });

  const restoreContent = async (f: PlannedFile): Promise<boolean> => {
    const { entry } = f;
    const node = entry.node;
    const writer = await sink.createFile(entry.rawPath, node);
    let offset = 0;
    try {
      for (const id of node.content ?? []) {
        if (opts.signal?.aborted) throw new CofferError('cancelled', 'restore interrupted');
        const blob = await loadBlob(repo, index, 'data', id);
        await writer.write(offset, blob);
        offset += blob.length;
        opts.events?.onBytes?.(blob.length);
      }
      await writer.close();
    } catch (e) {
      const leftAs = await writer.abandon().catch(() => undefined);
      if (!isCofferError(e, 'corrupt')) throw e;
      fail(entry.path, e, leftAs);
      return false;
    }
    await sink.setMetadata(entry.rawPath, node);
    result.restoredFiles.push({ path: entry.path, rawPath: entry.rawPath, node });
    result.files++;
    result.bytes += offset;
    opts.events?.onFileDone?.(entry.path, offset);
    return true;
  };

  // Link targets first, so links can wait on them without holding a worker slot forever.
  const originals = files.filter((f) => !f.linkTo);
  const linked = files.filter((f) => f.linkTo);
  await forEachLimit(originals, opts.fileConcurrency ?? 4, async (f) => {
    f.done = restoreContent(f);
    await f.done;
  });
  for (const f of linked) {
    if (!(await f.linkTo!.done)) {
      fail(f.entry.path, new CofferError('corrupt', 'not restored: the file it is a hard link of could not be restored'));
      continue;
    }
    await sink.hardlink(f.entry.rawPath, f.linkTo!.entry.rawPath);
    result.files++;
  }
  for (let i = dirs.length - 1; i >= 0; i--) await sink.setMetadata(dirs[i]!.rawPath, dirs[i]!.node);
  return result;
}

/** Size of a file node's content according to the index (for progress totals). */
export function contentSize(index: MasterIndex, content: readonly Id[] | null): number {
  let n = 0;
  for (const id of content ?? []) {
    const loc = index.lookup('data', id);
    if (loc) n += plaintextSize(loc);
  }
  return n;
}

export type { RelPath };
