/**
 * @module engine/backup/archiver
 * Backs up a set of targets into a snapshot (spec §16), incrementally against a parent.
 *
 * Walk: depth first, directories in byte order of names. A regular file whose name, type, size,
 * mtime, ctime and inode equal the parent snapshot's node (and whose blobs are all indexed) is
 * not read again: its content list is reused. Everything else is chunked and stored through the
 * BlobSaver, which deduplicates. A directory's tree blob is stored after all its children, so
 * identical folders produce identical tree IDs.
 *
 * Files are processed concurrently (bounded by `fileConcurrency`) so reads overlap with CPU
 * work; node order in trees is fixed by the walk, not by completion order.
 *
 * Targets: an absolute target `/a/b` appears in the root tree as `a` -> `b` (the ancestors carry
 * their real metadata); a relative target `b` appears as `b` (spec §12.8).
 */
import { Semaphore } from '../../async.js';
import { compareBytes, toHex, utf8Encode } from '../../bytes.js';
import { CofferError, isCofferError } from '../../errors.js';
import { timeEqual } from '../../format/go-time.js';
import { encodeTree, decodeTree } from '../../format/tree.js';
import type { Id, Tree, TreeNode } from '../../format/types.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { PackCache } from '../../repository/pack-cache.js';
import type { BlobSaver } from '../../repository/blob-saver.js';
import type { MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { InProcessFileProcessor, type FileProcessor } from './file-processor.js';
import { metaEncodesAlike, treesEncodeAlike } from './node-equal.js';
import type { FileSource, SourceItem } from './source.js';

export interface ArchiverEvents {
  /** A file or folder is being started. */
  onStart?(item: SourceItem): void;
  /** Bytes of a file were processed (read or found unchanged). */
  onBytes?(n: number): void;
  onFileDone?(item: SourceItem, status: 'new' | 'changed' | 'unmodified'): void;
  onDirDone?(item: SourceItem | undefined, status: 'new' | 'changed' | 'unmodified'): void;
  /** A source file or folder could not be read; it is left out of the snapshot. */
  onError?(path: string, error: Error): void;
}

export interface ArchiverOptions {
  /** Absolute path -> exclude? Called for every item below the targets. */
  readonly exclude?: (item: SourceItem) => boolean;
  /** Do not descend into other file systems (compares device IDs with the target's). */
  readonly oneFileSystem?: boolean;
  readonly fileConcurrency?: number;
  readonly signal?: AbortSignal;
  /** Turns file content into blobs; default: in-process chunking, saver compresses and seals. */
  readonly processor?: FileProcessor;
}

export interface ArchiveCounts {
  filesNew: number;
  filesChanged: number;
  filesUnmodified: number;
  dirsNew: number;
  dirsChanged: number;
  dirsUnmodified: number;
  totalFiles: number;
  totalBytes: number;
  errors: number;
}

/**
 * Finds a node by name in a parent tree. The walk asks in byte order of names, the order trees
 * are stored in, so a cursor that moves forward finds each node with a comparison or two (no
 * key string per name); a tree not stored in order (not written by restic) gets a map instead.
 */
class ParentTree {
  private byName: Map<string, TreeNode> | undefined;
  private next = 0;
  /** The parent tree's nodes in stored order (empty when there is no parent tree). */
  readonly nodes: readonly TreeNode[];
  constructor(tree: Tree | undefined) {
    const nodes = (this.nodes = tree?.nodes ?? []);
    for (let i = 1; i < nodes.length; i++) {
      if (compareBytes(nodes[i - 1]!.name, nodes[i]!.name) >= 0) {
        this.byName = new Map();
        for (const n of nodes) this.byName.set(toHex(n.name), n);
        break;
      }
    }
  }
  get(name: Uint8Array): TreeNode | undefined {
    if (this.byName) return this.byName.get(toHex(name));
    const nodes = this.nodes;
    // A name before the cursor's (asked out of order): search again from the start.
    if (this.next > 0 && compareBytes(nodes[this.next - 1]!.name, name) >= 0) this.next = 0;
    while (this.next < nodes.length) {
      const c = compareBytes(nodes[this.next]!.name, name);
      if (c === 0) return nodes[this.next++];
      if (c > 0) return undefined;
      this.next++;
    }
    return undefined;
  }
}

/** One folder of the synthetic hierarchy above the targets (spec §12.8). */
export interface TargetNode {
  readonly children: Map<string, TargetNode>;
  readonly name: Uint8Array;
  /** Absolute path of this component. */
  path: string;
  /** Backed up whole (a target), rather than only leading to one. */
  target: boolean;
}

/**
 * The hierarchy the root tree will have: an absolute target `/a/b` contributes `a` -> `b`, a
 * relative target `x/y` contributes `x` -> `y` (rooted at its given form, as restic does).
 */
export function targetHierarchy(targets: readonly string[], absolute: (t: string) => string): TargetNode {
  const root: TargetNode = { children: new Map(), name: new Uint8Array(), path: '/', target: false };
  for (const t of targets) {
    const abs = absolute(t);
    let relParts = (t.startsWith('/') ? abs : t).split('/').filter((p) => p !== '' && p !== '.');
    // As restic: `../x` is placed as `x`, and `.` makes the folder's contents the root itself.
    const up = relParts.lastIndexOf('..');
    if (up >= 0) relParts = relParts.slice(up + 1);
    if (relParts.length === 0) {
      root.path = abs;
      root.target = true;
      continue;
    }
    const absParts = abs.split('/').filter(Boolean);
    const offset = absParts.length - relParts.length;
    let node = root;
    for (let i = 0; i < relParts.length; i++) {
      const name = relParts[i]!;
      let child = node.children.get(name);
      if (!child) {
        child = { children: new Map(), name: utf8Encode(name), path: '/' + absParts.slice(0, offset + i + 1).join('/'), target: false };
        node.children.set(name, child);
      }
      node = child;
    }
    node.target = true;
  }
  return root;
}

export class Archiver {
  readonly counts: ArchiveCounts = {
    filesNew: 0,
    filesChanged: 0,
    filesUnmodified: 0,
    dirsNew: 0,
    dirsChanged: 0,
    dirsUnmodified: 0,
    totalFiles: 0,
    totalBytes: 0,
    errors: 0,
  };
  private readonly fileSlots: Semaphore;
  private readonly processor: FileProcessor;
  /** Parent trees are read pack by pack, not blob by blob. */
  private readonly parentPacks: PackCache;
  /** The first failure of a file or folder started by the walk (fatal: stops the walk). */
  private walkFailure: { e: unknown } | undefined;

  constructor(
    private readonly repo: Repository,
    private readonly index: MasterIndex,
    private readonly saver: BlobSaver,
    private readonly source: FileSource,
    private readonly events: ArchiverEvents = {},
    private readonly opts: ArchiverOptions = {},
  ) {
    this.fileSlots = new Semaphore(opts.fileConcurrency ?? 4);
    this.parentPacks = new PackCache(repo, index);
    this.processor = opts.processor ?? new InProcessFileProcessor(repo.config.chunkerPolynomial, repo.platform.crypto);
    this.processor.attach?.(saver, index);
  }

  private async loadParentTree(id: Id | undefined): Promise<ParentTree> {
    if (!id || !this.index.has('tree', id)) return new ParentTree(undefined);
    try {
      const bytes = await loadBlob(this.repo, this.index, 'tree', id, { cache: this.parentPacks });
      return new ParentTree(decodeTree(bytes, `tree ${id}`));
    } catch (e) {
      // A damaged parent only costs speed: everything below is read again.
      if (isCofferError(e, 'corrupt')) return new ParentTree(undefined);
      throw e;
    }
  }

  private checkCancelled(): void {
    if (this.opts.signal?.aborted) throw new CofferError('cancelled', 'backup interrupted');
  }

  private reportError(path: string, error: unknown): void {
    this.counts.errors++;
    this.events.onError?.(path, error instanceof Error ? error : new Error(String(error)));
  }

  /** Stores a tree and returns its ID. */
  private async saveTree(nodes: TreeNode[]): Promise<Id> {
    const r = await this.saver.save('tree', encodeTree({ nodes }));
    return r.id;
  }

  /**
   * Backs up `targets` (as given by the user) and returns the root tree ID.
   * `parentTree` is the root tree of the parent snapshot, if any.
   */
  async archive(targets: readonly string[], parentTree: Id | undefined): Promise<Id> {
    const root = targetHierarchy(targets, (t) => this.source.absolute(t));
    if (root.target) {
      // `backup .`: the folder's own tree is the root (other targets are inside it or ignored).
      const item = await this.source.stat(root.path);
      const parentRoot: TreeNode | undefined = parentTree ? { ...item.meta, content: null, subtree: parentTree } : undefined;
      const node = await this.processDir(item, parentRoot, item.meta.deviceId);
      if (!node?.subtree) throw new CofferError('usage', `cannot read ${root.path}`);
      return node.subtree;
    }
    const walkSynthetic = async (syn: TargetNode, parentId: Id | undefined): Promise<Id> => {
      const parent = await this.loadParentTree(parentId);
      const names = [...syn.children.values()].sort((a, b) => compareBytes(a.name, b.name));
      const nodes: TreeNode[] = [];
      for (const child of names) {
        let item: SourceItem;
        try {
          item = await this.source.stat(child.path);
        } catch (e) {
          if (!isCofferError(e, 'source')) throw e;
          this.reportError(child.path, e);
          continue;
        }
        const prev = parent.get(child.name);
        if (child.target) {
          if (this.opts.exclude?.(item)) continue; // excludes apply to the targets too, as in restic
          const n = await this.processItem({ ...item, name: child.name }, prev, item.meta.deviceId);
          if (n) nodes.push(n);
        } else {
          const subtree = await walkSynthetic(child, prev?.type === 'dir' ? prev.subtree : undefined);
          nodes.push({ ...item.meta, name: child.name, type: 'dir', content: null, subtree });
        }
      }
      return this.saveTree(nodes);
    };
    return walkSynthetic(root, parentTree);
  }

  /** Backs up one item; returns its node, or undefined when it is excluded or unreadable. */
  private async processItem(item: SourceItem, prev: TreeNode | undefined, rootDevice: bigint | undefined): Promise<TreeNode | undefined> {
    this.checkCancelled();
    switch (item.meta.type) {
      case 'dir':
        return this.processDir(item, prev, rootDevice);
      case 'file':
        return this.processFile(item, prev);
      case 'socket':
        return undefined; // restic skips sockets
      default:
        return { ...item.meta, content: null };
    }
  }

  private async processDir(dir: SourceItem, prev: TreeNode | undefined, rootDevice: bigint | undefined): Promise<TreeNode | undefined> {
    return (await this.walkDir(dir, prev, rootDevice)).node;
  }

  /**
   * Walks a folder: lists it, starts its files (each waits for a file slot) and walks its
   * subfolders in order, depth first, then returns at once with the folder's node still to come.
   * So the walk moves on to the next folder while this one's files are still being read (as
   * restic's archiver does), and the workers never drain at folder boundaries; the file slots
   * bound how far the walk runs ahead, so memory still follows the depth and the slots, not the
   * size of the tree. The tree blob is stored when all children are done.
   */
  private async walkDir(dir: SourceItem, prev: TreeNode | undefined, rootDevice: bigint | undefined): Promise<{ node: Promise<TreeNode | undefined> }> {
    this.events.onStart?.(dir);
    let listing;
    try {
      listing = await this.source.readDir(dir);
    } catch (e) {
      if (!isCofferError(e, 'source')) throw e;
      this.reportError(dir.path, e);
      return { node: Promise.resolve(undefined) };
    }
    for (const err of listing.errors) this.reportError(err.path, err.error);
    const prevTree = prev?.type === 'dir' ? prev.subtree : undefined;
    const parent = await this.loadParentTree(prevTree);
    // Unchanged files are settled here, synchronously: no file slot, no promise per file.
    const pending: (TreeNode | undefined | Promise<TreeNode | undefined>)[] = [];
    const observe = (p: Promise<TreeNode | undefined>) => {
      // Observed below; meanwhile a failure stops the walk instead of being unhandled.
      p.catch((e) => (this.walkFailure ??= { e }));
      pending.push(p);
    };
    for (const child of listing.items) {
      if (this.walkFailure) throw this.walkFailure.e;
      if (this.opts.exclude?.(child)) continue;
      const prevChild = parent.get(child.name);
      if (child.meta.type === 'dir') {
        if (this.opts.oneFileSystem && rootDevice !== undefined && child.meta.deviceId !== rootDevice) continue;
        observe((await this.walkDir(child, prevChild, rootDevice)).node);
      } else if (child.meta.type === 'file') {
        this.checkCancelled();
        const same = this.unchangedNode(child, prevChild);
        if (same) pending.push(same);
        else {
          await this.fileSlots.acquire();
          observe(this.processFile(child, prevChild).finally(() => this.fileSlots.release()));
        }
      } else {
        observe(this.processItem(child, prevChild, rootDevice));
      }
    }
    const node = (async (): Promise<TreeNode | undefined> => {
      const nodes = (await Promise.all(pending)).filter((n): n is TreeNode => n !== undefined);
      // Every child encodes as in the parent tree: that tree is this folder's tree, already stored
      // (loadParentTree found it in the index). Saves encoding, hashing and the lookup.
      const subtree = prevTree !== undefined && parent.nodes.length > 0 && treesEncodeAlike(nodes, parent.nodes) ? prevTree : await this.saveTree(nodes);
      const status = !prev ? 'new' : prev.subtree === subtree ? 'unmodified' : 'changed';
      if (status === 'new') this.counts.dirsNew++;
      else if (status === 'changed') this.counts.dirsChanged++;
      else this.counts.dirsUnmodified++;
      this.events.onDirDone?.(dir, status);
      return prev && prev.subtree === subtree && prev.content === null && metaEncodesAlike(dir.meta, prev) ? prev : { ...dir.meta, content: null, subtree };
    })();
    return { node };
  }

  private unchanged(item: SourceItem, prev: TreeNode | undefined): prev is TreeNode & { content: readonly Id[] } {
    if (!prev || prev.type !== 'file' || !prev.content) return false;
    const m = item.meta;
    if ((prev.size ?? 0) !== (m.size ?? 0)) return false;
    if (!timeEqual(prev.mtime, m.mtime) || !timeEqual(prev.ctime, m.ctime)) return false;
    if ((prev.inode ?? 0n) !== (m.inode ?? 0n)) return false;
    for (const id of prev.content) if (!this.saver.isKnown('data', id)) return false;
    return true;
  }

  /** The node of a file found unchanged against its parent node (counted and reported), or undefined. */
  private unchangedNode(item: SourceItem, prev: TreeNode | undefined): TreeNode | undefined {
    if (!this.unchanged(item, prev)) return undefined;
    const size = item.meta.size ?? 0;
    this.events.onStart?.(item);
    this.counts.totalFiles++;
    this.counts.filesUnmodified++;
    this.counts.totalBytes += size;
    this.events.onBytes?.(size);
    this.events.onFileDone?.(item, 'unmodified');
    // The parent's own node when nothing differs: no new object, and the folder's comparison
    // with its parent tree is then an identity check.
    return prev.subtree === undefined && metaEncodesAlike(item.meta, prev) ? prev : { ...item.meta, content: prev.content };
  }

  private async processFile(item: SourceItem, prev: TreeNode | undefined): Promise<TreeNode | undefined> {
    this.checkCancelled();
    const same = this.unchangedNode(item, prev);
    if (same) return same;
    this.events.onStart?.(item);
    this.counts.totalFiles++;
    const content: Id[] = [];
    let read = 0;
    try {
      for await (const chunk of this.processor.chunks(item, () => this.source.open(item))) {
        this.checkCancelled();
        if (chunk.sealed) await this.saver.saveSealed('data', chunk.id, chunk.sealed, chunk.uncompressedLength ?? 0, chunk.size);
        else await this.saver.save('data', chunk.data!, chunk.id);
        content.push(chunk.id);
        read += chunk.size;
        this.events.onBytes?.(chunk.size);
      }
    } catch (e) {
      // Only source errors (unreadable, vanished) skip the file; storage failures are fatal.
      if (!isCofferError(e, 'source')) throw e;
      this.counts.totalFiles--;
      this.reportError(item.path, e);
      return undefined;
    }
    this.counts.totalBytes += read;
    if (prev) this.counts.filesChanged++;
    else this.counts.filesNew++;
    this.events.onFileDone?.(item, prev ? 'changed' : 'new');
    // The size is what was actually read: a file that grew or shrank meanwhile stays consistent.
    return { ...item.meta, size: read, content };
  }
}
