/**
 * @module engine/diff
 * restic's `diff`: walks two trees side by side in name order and reports each change
 * (`+` added, `-` removed, `M` content modified, `T` type changed, `U` metadata only with
 * `metadata`, `?` content changed while all metadata is equal: bitrot), and counts added and
 * removed files, folders, others and blobs, with the blobs' plaintext sizes, as restic does.
 */
import { compareBytes, utf8Decode } from '../../bytes.js';
import { CofferError } from '../../errors.js';
import { encodeTree } from '../../format/tree.js';
import type { BlobType, Id, TreeNode } from '../../format/types.js';
import { plaintextSize, type MasterIndex } from '../../repository/master-index.js';
import type { TreeLoader } from '../walk/tree-walker.js';

export interface DiffChange {
  readonly path: string;
  readonly modifier: string;
}

export interface DiffStat {
  files: number;
  dirs: number;
  others: number;
  dataBlobs: number;
  treeBlobs: number;
  bytes: number;
}

export interface DiffResult {
  changedFiles: number;
  added: DiffStat;
  removed: DiffStat;
}

type BlobSet = Set<string>; // `${type}:${id}`

function zeroStat(): DiffStat {
  return { files: 0, dirs: 0, others: 0, dataBlobs: 0, treeBlobs: 0, bytes: 0 };
}

function count(s: DiffStat, n: TreeNode): void {
  if (n.type === 'file') s.files++;
  else if (n.type === 'dir') s.dirs++;
  else s.others++;
}

function addBlobs(set: BlobSet, n: TreeNode | undefined): void {
  if (!n) return;
  if (n.type === 'file') for (const b of n.content ?? []) set.add('data:' + b);
  else if (n.type === 'dir' && n.subtree) set.add('tree:' + n.subtree);
}

/** Node equality as restic's Node.Equals: every field, compared via the canonical encoding. */
function sameNode(a: TreeNode, b: TreeNode): boolean {
  const ea = encodeTree({ nodes: [a] });
  const eb = encodeTree({ nodes: [b] });
  return compareBytes(ea, eb) === 0;
}

function sameContent(a: TreeNode, b: TreeNode): boolean {
  const x = a.content ?? [];
  const y = b.content ?? [];
  return x.length === y.length && x.every((id, i) => id === y[i]);
}

function join(prefix: string, name: Uint8Array): string {
  return (prefix.endsWith('/') ? prefix : prefix + '/') + utf8Decode(name);
}

export interface DiffOptions {
  readonly metadata?: boolean;
  readonly onChange: (c: DiffChange) => void;
  readonly onError?: (message: string) => void;
  readonly signal?: AbortSignal;
}

export async function diffTrees(loader: TreeLoader, index: MasterIndex, tree1: Id, tree2: Id, opts: DiffOptions): Promise<DiffResult> {
  const before: BlobSet = new Set(['tree:' + tree1]);
  const after: BlobSet = new Set(['tree:' + tree2]);
  const common: BlobSet = new Set();
  const res: DiffResult = { changedFiles: 0, added: zeroStat(), removed: zeroStat() };
  const checkAbort = () => {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
  };

  const collect = async (set: BlobSet, id: Id): Promise<void> => {
    for (const n of (await loader.load(id)).nodes) {
      addBlobs(set, n);
      if (n.type === 'dir' && n.subtree) await collect(set, n.subtree);
    }
  };

  const printDir = async (mod: string, stat: DiffStat, set: BlobSet, prefix: string, id: Id): Promise<void> => {
    for (const n of (await loader.load(id)).nodes) {
      checkAbort();
      let name = join(prefix, n.name);
      if (n.type === 'dir') name += '/';
      opts.onChange({ path: name, modifier: mod });
      count(stat, n);
      addBlobs(set, n);
      if (n.type === 'dir' && n.subtree) await printDir(mod, stat, set, name, n.subtree);
    }
  };

  const walk = async (prefix: string, id1: Id, id2: Id): Promise<void> => {
    const a = (await loader.load(id1)).nodes;
    const b = (await loader.load(id2)).nodes;
    let i = 0;
    let j = 0;
    while (i < a.length || j < b.length) {
      checkAbort();
      const c = i >= a.length ? 1 : j >= b.length ? -1 : compareBytes(a[i]!.name, b[j]!.name);
      const n1 = c <= 0 ? a[i++] : undefined;
      const n2 = c >= 0 ? b[j++] : undefined;
      addBlobs(before, n1);
      addBlobs(after, n2);
      if (n1 && n2) {
        let name = join(prefix, n1.name);
        let mod = '';
        if (n1.type !== n2.type) mod += 'T';
        if (n2.type === 'dir') name += '/';
        if (n1.type === 'file' && n2.type === 'file' && !sameContent(n1, n2)) {
          mod += 'M';
          res.changedFiles++;
          if (sameNode({ ...n1, content: null }, { ...n2, content: null })) mod += '?';
        } else if (opts.metadata && !sameNode(n1, n2)) mod += 'U';
        if (mod) opts.onChange({ path: name, modifier: mod });
        if (n1.type === 'dir' && n2.type === 'dir' && n1.subtree && n2.subtree) {
          if (n1.subtree === n2.subtree) await collect(common, n1.subtree);
          else await walk(name, n1.subtree, n2.subtree);
        }
      } else if (n1) {
        let name = join(prefix, n1.name);
        if (n1.type === 'dir') name += '/';
        opts.onChange({ path: name, modifier: '-' });
        count(res.removed, n1);
        if (n1.type === 'dir' && n1.subtree) await printDir('-', res.removed, before, name, n1.subtree);
      } else if (n2) {
        let name = join(prefix, n2.name);
        if (n2.type === 'dir') name += '/';
        opts.onChange({ path: name, modifier: '+' });
        count(res.added, n2);
        if (n2.type === 'dir' && n2.subtree) await printDir('+', res.added, after, name, n2.subtree);
      }
    }
  };

  await walk('/', tree1, tree2);

  const tally = (only: BlobSet, other: BlobSet, stat: DiffStat) => {
    for (const key of only) {
      if (other.has(key) || common.has(key)) continue;
      const type = key.slice(0, 4) as BlobType;
      const id = key.slice(5);
      if (type === 'data') stat.dataBlobs++;
      else stat.treeBlobs++;
      const loc = index.lookup(type, id);
      if (!loc) opts.onError?.(`unable to find blob size for ${type} blob ${id}`);
      else stat.bytes += plaintextSize(loc);
    }
  };
  tally(before, after, res.removed);
  tally(after, before, res.added);
  return res;
}
