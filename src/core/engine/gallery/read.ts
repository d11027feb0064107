/**
 * @module engine/gallery/read
 * Reading the gallery snapshot (../shared/design/web-gallery.md §3) and writing its user state,
 * for the web app's worker and the CLI alike (browser-safe).
 *
 * - `openGallery` loads the root of the newest gallery snapshot and `months.json`; shards,
 *   thumbnails, previews and originals load on demand by path, so a page reads only what is on
 *   screen.
 * - `updateGalleryState` writes a new gallery snapshot whose tree is the newest one's with only
 *   `/state.json` replaced (favourites, albums, trash, edits): shards, thumbnails and originals
 *   stay the same blobs. When the state's `hidden` list changes, the index files are encoded
 *   again from the current shards and `/hidden/index.json` (no original is read, nothing is
 *   rendered), so hidden items leave every view at once; `hideItems`/`unhideItems` wrap it.
 * - Both take `library: 'private'` for the private gallery (`/coffer/gallery-private`).
 */
import { CofferError } from '../../errors.js';
import { utf8Decode, utf8Encode } from '../../bytes.js';
import { nowGoTime } from '../../format/go-time.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { encodeTree, sortNodes } from '../../format/tree.js';
import type { GoTime, Id, Snapshot, TreeNode } from '../../format/types.js';
import type { CallOpts } from '../../backend/backend.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { loadMasterIndex, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import { PROGRAM_VERSION } from '../backup/backup.js';
import { latestRecordEntry } from '../records/records.js';
import { TreeLoader } from '../walk/tree-walker.js';
import { canonicalState, decodeHidden, decodeMonths, decodeShard, decodeState, EMPTY_STATE, encodeGalleryIndex, encodeJson, HIDDEN_INDEX, type GalleryState, type Months, type Shard } from '../../gallery/index-files.js';
import { isItemId, type GalleryItem } from '../../gallery/item.js';
import { galleryKind, saveFile, saveIndexNodes, type GalleryLibrary } from './build.js';

export interface OpenedGallery {
  readonly entry: SnapshotEntry;
  readonly months: Months;
  readonly state: GalleryState;
  /** Bytes of a file of the gallery tree (`/index/2024-06.json`, `/thumbs/ab/<id>.webp`, ...). */
  readFile(path: string): Promise<Uint8Array>;
  /** The file node at a path, or undefined. */
  node(path: string): Promise<TreeNode | undefined>;
  shard(month: string): Promise<Shard>;
  thumb(id: string): Promise<Uint8Array>;
  preview(id: string): Promise<Uint8Array>;
  /** The hidden items (`/hidden/index.json`), newest first; [] when there are none. */
  hidden(): Promise<GalleryItem[]>;
}

export interface GalleryOpenOptions extends CallOpts {
  readonly index?: MasterIndex;
  readonly entries?: readonly SnapshotEntry[];
  /** Which gallery (default `main`). */
  readonly library?: GalleryLibrary;
}

async function fileBytes(repo: Repository, index: MasterIndex, node: TreeNode, o: CallOpts): Promise<Uint8Array> {
  const parts = [];
  for (const id of node.content ?? []) parts.push(await loadBlob(repo, index, 'data', id, o));
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

/** The newest gallery snapshot of a library, or undefined when the repository has none yet. */
export async function openGallery(repo: Repository, o: GalleryOpenOptions = {}): Promise<OpenedGallery | undefined> {
  const entry = await latestRecordEntry(repo, galleryKind(o.library), o, o.entries);
  if (!entry) return undefined;
  const index = o.index ?? (await loadMasterIndex(repo, o));
  const loader = new TreeLoader(repo, index);
  const node = async (path: string): Promise<TreeNode | undefined> => {
    const parts = path.split('/').filter(Boolean);
    let tree = entry.snapshot.tree;
    for (let i = 0; i < parts.length; i++) {
      const n = (await loader.load(tree)).nodes.find((x) => utf8Decode(x.name) === parts[i]);
      if (!n) return undefined;
      if (i === parts.length - 1) return n.type === 'file' ? n : undefined;
      if (n.type !== 'dir' || !n.subtree) return undefined;
      tree = n.subtree;
    }
    return undefined;
  };
  const readFile = async (path: string) => {
    const n = await node(path);
    if (!n) throw new CofferError('not-found', `gallery ${entry.id.slice(0, 8)} has no ${path}`);
    return fileBytes(repo, index, n, o);
  };
  const months = decodeMonths(await readFile('/months.json'));
  const stateNode = await node('/state.json');
  const state = stateNode ? decodeState(await fileBytes(repo, index, stateNode, o)) : EMPTY_STATE;
  const byId = (dir: string) => (id: string) => {
    if (!isItemId(id)) throw new CofferError('usage', `invalid gallery item id ${JSON.stringify(id)}`);
    return readFile(`/${dir}/${id.slice(0, 2)}/${id}.webp`);
  };
  return {
    entry,
    months,
    state,
    readFile,
    node,
    shard: async (month) => decodeShard(await readFile(`/index/${month}.json`), `${entry.id.slice(0, 8)}:/index/${month}.json`),
    thumb: byId('thumbs'),
    preview: byId('previews'),
    hidden: async () => {
      const n = await node(`/${HIDDEN_INDEX}`);
      return n ? [...decodeHidden(await fileBytes(repo, index, n, o)).items] : [];
    },
  };
}

/** Every item of a gallery: its shards and its hidden index. */
async function allItems(g: OpenedGallery): Promise<GalleryItem[]> {
  const out: GalleryItem[] = [];
  for (const m of g.months.months) out.push(...(await g.shard(m.month)).items);
  out.push(...(await g.hidden()));
  return out;
}

const sameIds = (a: readonly string[], b: readonly string[]) => a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/**
 * Replaces `/state.json` of the newest gallery snapshot with `update(state)` in a new snapshot
 * (parent: the newest). Returns undefined when the state did not change.
 */
export async function updateGalleryState(
  repo: Repository,
  update: (s: GalleryState) => GalleryState,
  opts: CallOpts & { owner: LockOwner; time?: GoTime; library?: GalleryLibrary },
): Promise<{ id: Id; snapshot: Snapshot } | undefined> {
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const lock = await RepositoryLock.acquire(repo, false, opts.owner, o);
  try {
    const index = await loadMasterIndex(repo, o);
    const g = await openGallery(repo, { ...o, index, ...(opts.library ? { library: opts.library } : {}) });
    if (!g) throw new CofferError('not-found', `there is no ${opts.library === 'private' ? 'private ' : ''}gallery yet (coffer gallery build)`);
    const next = canonicalState(update(g.state));
    const before = encodeJson(canonicalState(g.state));
    const bytes = encodeJson(next);
    if (before.length === bytes.length && before.every((b, i) => b === bytes[i])) return undefined;
    const time = opts.time ?? nowGoTime();
    const saver = new BlobSaver(repo, index, o);
    const old = (await new TreeLoader(repo, index).load(g.entry.snapshot.tree)).nodes;
    let root: TreeNode[];
    if (sameIds(g.state.hidden, next.hidden)) {
      // Only the state changed: the shards stay as they are.
      const content = await saveFile(repo, saver, bytes);
      root = old.filter((n) => utf8Decode(n.name) !== 'state.json');
      root.push({ name: utf8Encode('state.json'), type: 'file', mode: 0o644, mtime: time, atime: time, ctime: time, uid: 0, gid: 0, size: bytes.length, content });
    } else {
      // Hidden items move between the shards and /hidden/index.json: encode the index again
      // from the items as stored (unchanged months give the same blobs); media trees stay.
      const files = encodeGalleryIndex(await allItems(g), next);
      root = old.filter((n) => n.type === 'dir' && ['thumbs', 'previews', 'originals'].includes(utf8Decode(n.name)));
      root.push(...(await saveIndexNodes(repo, saver, files, time)));
    }
    const tree = (await saver.save('tree', encodeTree({ nodes: sortNodes(root) }))).id;
    await saver.flush();
    const snapshot: Snapshot = { ...g.entry.snapshot, time, parent: g.entry.id, tree, username: opts.owner.username, programVersion: PROGRAM_VERSION };
    delete (snapshot as { summary?: unknown }).summary;
    const id = await repo.saveUnpacked('snapshots', encodeSnapshot(snapshot), o);
    return { id, snapshot };
  } finally {
    await lock.release();
  }
}

/** Hides items (out of the shards, counts, map and search; into `/hidden/index.json`). */
export function hideItems(repo: Repository, ids: readonly string[], opts: CallOpts & { owner: LockOwner; time?: GoTime; library?: GalleryLibrary }): Promise<{ id: Id; snapshot: Snapshot } | undefined> {
  for (const id of ids) if (!isItemId(id)) throw new CofferError('usage', `invalid gallery item id ${JSON.stringify(id)}`);
  return updateGalleryState(repo, (s) => ({ ...s, hidden: [...new Set([...s.hidden, ...ids])] }), opts);
}

/** Brings hidden items back into the shards, counts, map and search. */
export function unhideItems(repo: Repository, ids: readonly string[], opts: CallOpts & { owner: LockOwner; time?: GoTime; library?: GalleryLibrary }): Promise<{ id: Id; snapshot: Snapshot } | undefined> {
  const drop = new Set(ids);
  return updateGalleryState(repo, (s) => ({ ...s, hidden: s.hidden.filter((x) => !drop.has(x)) }), opts);
}
