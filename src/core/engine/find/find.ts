/**
 * @module engine/find
 * restic's `find`: nodes whose path matches a pattern, and where given blobs, trees or packs
 * are used. A pattern matches a path when it matches a run of its components (anchored at the
 * root when it starts with `/`, anywhere otherwise), so a match's children match too, as in
 * restic; folders whose children cannot match are skipped.
 */
import { utf8Decode } from '../../bytes.js';
import type { Id, TreeNode } from '../../format/types.js';
import { childMayMatch, matchPath, parsePattern, type Pattern } from '../../filter/pattern.js';
import type { MasterIndex } from '../../repository/master-index.js';
import { walkTree, type TreeLoader } from '../walk/tree-walker.js';

export interface FindPattern {
  readonly pattern: Pattern;
  /** The pattern followed by `**`: restic also matches a prefix of the path. */
  readonly prefix: Pattern;
  readonly ignoreCase: boolean;
}

export function parseFindPattern(text: string, ignoreCase = false): FindPattern {
  const pattern = parsePattern(ignoreCase ? text.toLowerCase() : text);
  return { pattern, prefix: { text: pattern.text, parts: [...pattern.parts, '**'] }, ignoreCase };
}

export async function findByPattern(
  loader: TreeLoader,
  tree: Id,
  patterns: readonly FindPattern[],
  onMatch: (path: string, node: TreeNode) => void,
): Promise<void> {
  await walkTree(loader, tree, (e) => {
    const matched = patterns.some((p) => matchPath(p.prefix, p.ignoreCase ? e.path.toLowerCase() : e.path));
    if (matched) {
      onMatch(e.path, e.node);
      return true;
    }
    if (e.node.type !== 'dir') return true;
    return patterns.some((p) => childMayMatch(p.pattern, p.ignoreCase ? e.path.toLowerCase() : e.path));
  });
}

export interface FoundObject {
  readonly kind: 'blob' | 'tree';
  readonly id: Id;
  readonly path: string;
  /** The tree holding the file (blobs only). */
  readonly parentTree?: Id;
}

/** IDs or ID prefixes the user asked for; a found one is replaced by its full ID. */
export class WantedIds {
  private readonly prefixes: Set<string>;
  constructor(ids: Iterable<string>) {
    this.prefixes = new Set([...ids].map((s) => s.toLowerCase()));
  }
  get size(): number {
    return this.prefixes.size;
  }
  /** The wanted entry matching `id`, if any. */
  match(id: Id): string | undefined {
    if (this.prefixes.has(id)) return id;
    for (const p of this.prefixes) if (id.startsWith(p)) return p;
    return undefined;
  }
  forget(p: string): void {
    this.prefixes.delete(p);
  }
}

/**
 * Reports where wanted blobs (in file contents) and trees (folders, or the root) are used below
 * `root`.
 */
export async function findObjects(
  loader: TreeLoader,
  root: Id,
  want: { blobs?: WantedIds; trees?: WantedIds; once?: boolean },
  onFound: (f: FoundObject) => void,
): Promise<void> {
  // As restic 0.18, every use is reported; with `once`, an ID found here is not looked for in later snapshots.
  const found: [WantedIds, string][] = [];
  const hit = (set: WantedIds | undefined, id: Id): boolean => {
    const p = set?.match(id);
    if (p === undefined) return false;
    found.push([set!, p]);
    return true;
  };
  if (hit(want.trees, root)) onFound({ kind: 'tree', id: root, path: '/' });
  const visit = async (treeId: Id, prefix: string): Promise<void> => {
    const tree = await loader.load(treeId);
    for (const n of tree.nodes) {
      const p = (prefix === '/' ? '' : prefix) + '/' + utf8Decode(n.name);
      if (n.type === 'dir' && n.subtree) {
        if (hit(want.trees, n.subtree)) onFound({ kind: 'tree', id: n.subtree, path: p });
        await visit(n.subtree, p);
      } else if (n.type === 'file' && want.blobs) {
        for (const b of n.content ?? []) {
          if (hit(want.blobs, b)) onFound({ kind: 'blob', id: b, path: p, parentTree: treeId });
        }
      }
    }
  };
  await visit(root, '/');
  if (want.once) for (const [set, p] of found) set.forget(p);
}

/** The blobs stored in the given packs (ID prefixes), for `find --pack`. */
export function blobsInPacks(index: MasterIndex, packs: readonly string[]): { blobs: Id[]; trees: Id[]; unknown: string[] } {
  const blobs: Id[] = [];
  const trees: Id[] = [];
  const unknown: string[] = [];
  const all = [...index.packIds()];
  for (const p of packs) {
    const hits = all.filter((id) => id.startsWith(p.toLowerCase()));
    if (hits.length === 0) unknown.push(p);
    for (const id of hits) for (const b of index.packBlobs(id) ?? []) (b.type === 'data' ? blobs : trees).push(b.id);
  }
  return { blobs, trees, unknown };
}
