/**
 * @module engine/walk/tree-walker
 * Loading trees from a snapshot and walking them depth first in name order, with a small cache
 * (walks revisit identical subtrees: unchanged folders share IDs).
 */
import { CofferError } from '../../errors.js';
import { utf8Decode, utf8Encode } from '../../bytes.js';
import { decodeTree } from '../../format/tree.js';
import type { Id, Tree, TreeNode } from '../../format/types.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { PackCache } from '../../repository/pack-cache.js';
import type { MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';

export class TreeLoader {
  private readonly cache = new Map<Id, Tree>();
  private readonly packs: PackCache;
  constructor(
    readonly repo: Repository,
    readonly index: MasterIndex,
    private readonly cacheSize = 256,
  ) {
    this.packs = new PackCache(repo, index);
  }

  async load(id: Id): Promise<Tree> {
    const hit = this.cache.get(id);
    if (hit) return hit;
    const tree = decodeTree(await loadBlob(this.repo, this.index, 'tree', id, { cache: this.packs }), `tree ${id}`);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, tree);
    return tree;
  }
}

/** Joins a display path ("/a/b") and a raw name. */
export function joinPath(dir: string, name: Uint8Array): string {
  return (dir === '/' ? '' : dir) + '/' + utf8Decode(name);
}

/**
 * Resolves a subfolder (`ID:sub/folder`) below a root tree to the tree ID of that folder.
 * Throws 'usage' when a component is missing or not a folder.
 */
export async function resolveSubfolder(loader: TreeLoader, root: Id, subfolder: string): Promise<Id> {
  let id = root;
  const parts = subfolder.split('/').filter((p) => p !== '' && p !== '.');
  for (let i = 0; i < parts.length; i++) {
    const tree = await loader.load(id);
    const want = utf8Encode(parts[i]!);
    const node = tree.nodes.find((n) => n.name.length === want.length && n.name.every((b, k) => b === want[k]));
    const shown = parts.slice(0, i + 1).join('/');
    if (!node) throw new CofferError('usage', `path "${shown}" not found in snapshot`);
    if (node.type !== 'dir' || !node.subtree) throw new CofferError('usage', `path "${shown}" is not a folder`);
    id = node.subtree;
  }
  return id;
}

export interface WalkEntry {
  /** Display path from the walk's root, starting with "/". */
  readonly path: string;
  /** Raw name components. */
  readonly rawPath: readonly Uint8Array[];
  readonly node: TreeNode;
}

/**
 * Visits every node below `tree` depth first. `visit` returns false to skip a folder's children.
 */
export async function walkTree(
  loader: TreeLoader,
  tree: Id,
  visit: (e: WalkEntry) => boolean | void | Promise<boolean | void>,
  base: { path: string; rawPath: readonly Uint8Array[] } = { path: '/', rawPath: [] },
): Promise<void> {
  const t = await loader.load(tree);
  for (const node of t.nodes) {
    const entry: WalkEntry = { path: joinPath(base.path, node.name), rawPath: [...base.rawPath, node.name], node };
    const descend = await visit(entry);
    if (node.type === 'dir' && node.subtree && descend !== false) {
      await walkTree(loader, node.subtree, visit, entry);
    }
  }
}
