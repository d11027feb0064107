/**
 * @module engine/walk/used-blobs
 * The blobs reachable from a set of root trees (snapshots): what check, prune, stats and copy
 * all need. Each tree is visited once however many snapshots share it. Missing or damaged trees
 * are reported through `onTreeError` (and their subtrees are unknown) instead of aborting, so
 * callers like check can list every problem.
 */
import { CofferError } from '../../errors.js';
import type { Id } from '../../format/types.js';
import type { TreeLoader } from './tree-walker.js';

export interface UsedBlobs {
  readonly data: Set<Id>;
  readonly tree: Set<Id>;
}

export async function collectUsedBlobs(
  loader: TreeLoader,
  roots: readonly Id[],
  opts: { onTreeError?: (treeId: Id, error: unknown) => void; signal?: AbortSignal } = {},
): Promise<UsedBlobs> {
  const used: UsedBlobs = { data: new Set(), tree: new Set() };
  const stack = [...roots];
  while (stack.length > 0) {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
    const id = stack.pop()!;
    if (used.tree.has(id)) continue;
    used.tree.add(id);
    let tree;
    try {
      tree = await loader.load(id);
    } catch (e) {
      if (!opts.onTreeError) throw e;
      opts.onTreeError(id, e);
      continue;
    }
    for (const node of tree.nodes) {
      if (node.type === 'file') for (const b of node.content ?? []) used.data.add(b);
      else if (node.type === 'dir' && node.subtree) stack.push(node.subtree);
    }
  }
  return used;
}
