/**
 * @module engine/gallery/build
 * Builds the gallery snapshot (../shared/design/web-gallery.md §3) from backup snapshots,
 * incrementally:
 *
 * 1. Read the newest gallery snapshot (its shards and the thumbs/previews/originals nodes).
 * 2. Walk the given user snapshots; every photo or video file gets its item id from the node's
 *    content IDs (no data read). Known ids only gain a source.
 * 3. New ids only: read the file from the repository, read its metadata, render thumbnail and
 *    preview (through the `GalleryRenderer` port: sharp on Node), a bounded pool at a time.
 * 4. Write a complete new gallery snapshot in which unchanged shards, thumbnails and previews
 *    are the same blobs as before, and `/originals/xx/<id>.<ext>` file nodes reuse the
 *    originals' content blobs (nothing stored twice; restic keeps and checks every photo).
 *    When every index file comes out byte-identical, nothing is written.
 *
 * Two libraries: backups tagged `private` (the inbox's "keep private") feed only the private
 * gallery (`/coffer/gallery-private`, tagged `private` too), the others only the main one, so a
 * copy that excludes the tag `private` never holds a private photo, not even its thumbnail.
 * Hidden items (`state.hidden`) stay in their library but move to `/hidden/index.json`.
 *
 * Browser-safe (no Node imports): the renderer, the time zone and the country lookup come from
 * the caller.
 */
import { CofferError, isCofferError } from '../../errors.js';
import { utf8Decode, utf8Encode } from '../../bytes.js';
import { chunkBoundaries } from '../../chunker/chunker.js';
import { nowGoTime } from '../../format/go-time.js';
import { MODE_DIR } from '../../format/mode.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { encodeTree, sortNodes } from '../../format/tree.js';
import type { GoTime, Id, Snapshot, TreeNode } from '../../format/types.js';
import type { CallOpts } from '../../backend/backend.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { loadMasterIndex, plaintextSize, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import { PROGRAM_VERSION } from '../backup/backup.js';
import { INTERNAL_TAG, isRecordSnapshot, latestRecordEntry, RECORD_HOST, recordPath, recordTag } from '../records/records.js';
import { TreeLoader, walkTree } from '../walk/tree-walker.js';
import { decodeHidden, decodeShard, decodeState, EMPTY_STATE, encodeGalleryIndex, HIDDEN_INDEX, type GalleryState } from '../../gallery/index-files.js';
import type { CountryOf } from '../../gallery/countries.js';
import { itemId, mediaFromMagic, mediaFromName, originalName, type GalleryItem, type MediaKind, type Size2 } from '../../gallery/item.js';
import { describeImage, describeVideo, hostOffsetAt, type CaptureInfo } from '../../gallery/metadata.js';
import { formatOffset, wallTime } from '../../gallery/dates.js';
import type { TakeoutSide } from '../../gallery/takeout.js';
import { readVideoMeta, type RangeReader } from '../../gallery/mp4.js';

export const GALLERY_KIND = 'gallery';
/** The private library's record kind: paths `["/coffer/gallery-private"]`. */
export const PRIVATE_GALLERY_KIND = 'gallery-private';
/** User snapshots with this tag feed the private library only. */
export const PRIVATE_TAG = 'private';
export type GalleryLibrary = 'main' | 'private';
/** Tags of the inbox's approval snapshots (`inbox` from before the design's name). */
export const INBOX_TAGS: readonly string[] = ['coffer-inbox', 'inbox'];
/** Inbox snapshots this much older than the newest gallery are read again (a build racing an approval). */
const INBOX_SLACK_SEC = 86_400;

export function galleryKind(library: GalleryLibrary = 'main'): string {
  return library === 'private' ? PRIVATE_GALLERY_KIND : GALLERY_KIND;
}

/** Tags of a library's snapshot: both carry `coffer-gallery`; the private one also `private`. */
export function galleryTags(library: GalleryLibrary): string[] {
  return library === 'private' ? [INTERNAL_TAG, recordTag(GALLERY_KIND), recordTag(PRIVATE_GALLERY_KIND), PRIVATE_TAG] : [INTERNAL_TAG, recordTag(GALLERY_KIND)];
}

/** Whether a user snapshot belongs to the private library. */
export function isPrivateSnapshot(s: Snapshot): boolean {
  return !isRecordSnapshot(s) && (s.tags ?? []).includes(PRIVATE_TAG);
}
/** Images larger than this are not read (a placeholder instead): memory stays bounded. */
export const MAX_IMAGE_BYTES = 256 * 1024 * 1024;
/** Items stay in the trash this long, then a build leaves them out of the library. */
export const TRASH_MS = 30 * 86400_000;

/** Ids whose trash entry is older than 30 days: out of the library, and kept out. */
export function purgedIds(state: GalleryState, now: number): Set<string> {
  const out = new Set<string>();
  for (const t of state.trash) {
    const at = Date.parse(t.deleted);
    if (Number.isFinite(at) && now - at >= TRASH_MS) out.add(t.id);
  }
  return out;
}

export interface RenderedMedia {
  readonly thumb: Uint8Array;
  readonly thumbSize: Size2;
  readonly preview: Uint8Array;
  readonly previewSize: Size2;
  readonly hash: string | null;
  /** Upright size of the original, 0 when unknown. */
  readonly w: number;
  readonly h: number;
  readonly orientation: number;
  /** Set when a placeholder stands in for a file that could not be decoded. */
  readonly warning?: string;
}

/** Makes thumbnails and previews (sharp on Node, a canvas in a browser). */
export interface GalleryRenderer {
  renderImage(bytes: Uint8Array): Promise<RenderedMedia>;
  placeholder(kind: MediaKind): Promise<RenderedMedia>;
  /**
   * A video's poster frame as preview and thumbnail, read through the ranged reader (a big video
   * costs only the reads the decoder makes); `duration` when the renderer's tool knows it.
   * Renderers without one (a browser) give videos the placeholder.
   */
  renderVideo?(read: RangeReader, size: number): Promise<RenderedMedia & { readonly duration?: number | null }>;
  /** Files it can render at once without contention (node: one per core, up to 4); default 2. */
  readonly concurrency?: number;
}

export interface GalleryEvents {
  /** The walk found `total` new files to process. */
  onPlanned?(total: number, known: number): void;
  onProcessed?(done: number, total: number, path: string): void;
  onWarning?(path: string, message: string): void;
}

export interface GalleryBuildOptions extends CallOpts {
  readonly owner: LockOwner;
  readonly renderer: GalleryRenderer;
  /** Backup snapshots to take photos from; default: the newest of each host and paths. */
  readonly snapshots?: readonly SnapshotEntry[];
  readonly time?: GoTime;
  /** Files processed at once (default: the renderer's `concurrency`, else 2). */
  readonly concurrency?: number;
  /** Zone offset of the backup host at an instant (videos' UTC creation times are shown in it). */
  readonly offsetAt?: (epochSec: number) => number;
  readonly events?: GalleryEvents;
  /** Skip the lock (the caller holds one). */
  readonly unlocked?: boolean;
  /** Already loaded, to save a round trip. */
  readonly index?: MasterIndex;
  /** Now, epoch ms (tests): the trash's 30 days count from it. */
  readonly now?: number;
  /** Side-file facts by snapshot path (Google Takeout): a date and place when the file has none. */
  readonly takeout?: ReadonlyMap<string, TakeoutSide>;
  /** Country of a position (ISO alpha-2); without it items keep the country they had. */
  readonly countryOf?: CountryOf;
  /**
   * Also read every inbox approval snapshot (tag `coffer-inbox`) newer than its library's
   * gallery (default true): each approval is a small snapshot of the same paths, so the newest
   * per host and paths would miss all but the last one between two builds.
   */
  readonly inbox?: boolean;
}

/** One library's part of a build. */
export interface LibraryBuildResult {
  readonly snapshotId?: Id;
  readonly items: number;
  readonly added: number;
  readonly removed: number;
  readonly processed: number;
  readonly sourcesAdded: number;
}

/** Counts are the sum over both libraries. */
export interface GalleryBuildResult {
  /** The new (main) gallery snapshot, undefined when nothing changed. */
  readonly snapshotId?: Id;
  /** The new private gallery snapshot, undefined when nothing changed (or there is none). */
  readonly privateSnapshotId?: Id;
  readonly libraries: { readonly main: LibraryBuildResult; readonly private?: LibraryBuildResult };
  readonly items: number;
  readonly added: number;
  readonly removed: number;
  readonly processed: number;
  readonly sourcesAdded: number;
  readonly warnings: readonly { path: string; message: string }[];
  readonly ms: number;
}

/** The snapshots a default build reads: the newest user snapshot of each host and paths. */
export function newestUserSnapshots(entries: readonly SnapshotEntry[]): SnapshotEntry[] {
  const newest = new Map<string, SnapshotEntry>();
  for (const e of entries) {
    if (isRecordSnapshot(e.snapshot)) continue;
    const key = `${e.snapshot.hostname}\0${[...e.snapshot.paths].sort().join('\0')}`;
    const prev = newest.get(key);
    if (!prev || e.snapshot.time.sec > prev.snapshot.time.sec || (e.snapshot.time.sec === prev.snapshot.time.sec && e.snapshot.time.nsec >= prev.snapshot.time.nsec)) newest.set(key, e);
  }
  return [...newest.values()].sort((a, b) => a.snapshot.time.sec - b.snapshot.time.sec || a.snapshot.time.nsec - b.snapshot.time.nsec);
}

interface PreviousGallery {
  readonly entry: SnapshotEntry;
  readonly items: Map<string, GalleryItem>;
  readonly state: GalleryState;
  /** Index files as stored (`months.json`, `index/2024-06.json`, ...). */
  readonly files: Map<string, Uint8Array>;
  /** `thumbs` / `previews` / `originals` nodes by item id. */
  readonly nodes: Record<'thumbs' | 'previews' | 'originals', Map<string, TreeNode>>;
}

async function readFile(repo: Repository, index: MasterIndex, node: TreeNode, o: CallOpts): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for (const id of node.content ?? []) {
    const b = await loadBlob(repo, index, 'data', id, o);
    parts.push(b);
    total += b.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) out.set(p, at), (at += p.length);
  return out;
}

async function loadPrevious(repo: Repository, index: MasterIndex, loader: TreeLoader, entries: readonly SnapshotEntry[], kind: string, o: CallOpts): Promise<PreviousGallery | undefined> {
  const entry = await latestRecordEntry(repo, kind, o, entries);
  if (!entry) return undefined;
  const root = await loader.load(entry.snapshot.tree);
  const files = new Map<string, Uint8Array>();
  const nodes: PreviousGallery['nodes'] = { thumbs: new Map(), previews: new Map(), originals: new Map() };
  const items = new Map<string, GalleryItem>();
  let state = EMPTY_STATE;
  for (const n of root.nodes) {
    const name = utf8Decode(n.name);
    if (n.type === 'file' && name.endsWith('.json')) {
      files.set(name, await readFile(repo, index, n, o));
    } else if (n.type === 'dir' && n.subtree && name === 'index') {
      for (const s of (await loader.load(n.subtree)).nodes) {
        if (s.type !== 'file') continue;
        const sname = `index/${utf8Decode(s.name)}`;
        const bytes = await readFile(repo, index, s, o);
        files.set(sname, bytes);
        for (const it of decodeShard(bytes, `${entry.id.slice(0, 8)}:/${sname}`).items) items.set(it.id, it);
      }
    } else if (n.type === 'dir' && n.subtree && name === 'hidden') {
      const h = (await loader.load(n.subtree)).nodes.find((x) => x.type === 'file' && utf8Decode(x.name) === 'index.json');
      if (h) {
        const bytes = await readFile(repo, index, h, o);
        files.set(HIDDEN_INDEX, bytes);
        for (const it of decodeHidden(bytes).items) items.set(it.id, it);
      }
    } else if (n.type === 'dir' && n.subtree && (name === 'thumbs' || name === 'previews' || name === 'originals')) {
      for (const d of (await loader.load(n.subtree)).nodes) {
        if (d.type !== 'dir' || !d.subtree) continue;
        for (const f of (await loader.load(d.subtree)).nodes) {
          const id = utf8Decode(f.name).slice(0, 32);
          if (f.type === 'file') nodes[name].set(id, f);
        }
      }
    }
  }
  const st = files.get('state.json');
  if (st) state = decodeState(st);
  return { entry, items, state, files, nodes };
}

/** A RangeReader over a file's content blobs, loading only the blobs a read touches. */
function blobRangeReader(repo: Repository, index: MasterIndex, content: readonly Id[], o: CallOpts): { read: RangeReader; size: number } {
  const starts: number[] = [];
  let size = 0;
  for (const id of content) {
    const loc = index.lookup('data', id);
    if (!loc) throw new CofferError('corrupt', `data blob ${id} is not in the index`);
    starts.push(size);
    size += plaintextSize(loc);
  }
  const cache = new Map<number, Uint8Array>();
  const blob = async (i: number) => {
    let b = cache.get(i);
    if (!b) {
      b = await loadBlob(repo, index, 'data', content[i]!, o);
      if (cache.size >= 2) cache.delete(cache.keys().next().value!);
      cache.set(i, b);
    }
    return b;
  };
  const read: RangeReader = async (offset, length) => {
    const end = Math.min(size, offset + length);
    if (offset >= end) return new Uint8Array(0);
    const out = new Uint8Array(end - offset);
    let i = starts.findIndex((s, k) => offset >= s && (k === starts.length - 1 || offset < starts[k + 1]!));
    let at = offset;
    while (at < end && i >= 0 && i < content.length) {
      const b = await blob(i);
      const from = at - starts[i]!;
      const n = Math.min(b.length - from, end - at);
      out.set(b.subarray(from, from + n), at - offset);
      at += n;
      i++;
    }
    return out;
  };
  return { read, size };
}

interface Candidate {
  readonly id: string;
  readonly node: TreeNode;
  readonly path: string;
  readonly snapshot: Id;
  readonly name: string;
  readonly kind: MediaKind;
  readonly mime: string;
}

interface Processed {
  readonly item: GalleryItem;
  readonly thumb: Uint8Array;
  readonly preview: Uint8Array;
  readonly original: TreeNode;
}

function hintsOf(index: MasterIndex, content: readonly Id[]): [Id, number, number][] {
  const out: [Id, number, number][] = [];
  for (const id of content) {
    const loc = index.lookup('data', id);
    if (!loc) return [];
    out.push([loc.packId, loc.offset, loc.length]);
  }
  return out;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

async function processOne(repo: Repository, index: MasterIndex, c: Candidate, renderer: GalleryRenderer, offsetAt: ((s: number) => number) | undefined, side: TakeoutSide | undefined, o: CallOpts): Promise<Processed & { warning?: string }> {
  const size = c.node.size ?? 0;
  let kind = c.kind;
  let mime = c.mime;
  let info: CaptureInfo;
  let rendered: RenderedMedia;
  if (kind === 'video') {
    const r = blobRangeReader(repo, index, c.node.content ?? [], o);
    info = describeVideo(await readVideoMeta(r.read, r.size), c.node.mtime, offsetAt);
    if (renderer.renderVideo) {
      const video = await renderer.renderVideo(r.read, r.size);
      rendered = video;
      if (info.duration === null && typeof video.duration === 'number') info = { ...info, duration: video.duration };
    } else {
      rendered = await renderer.placeholder('video');
    }
  } else if (size > MAX_IMAGE_BYTES) {
    info = describeImage(new Uint8Array(0), mime, c.node.mtime);
    rendered = { ...(await renderer.placeholder('image')), warning: `larger than ${MAX_IMAGE_BYTES} bytes: not read` };
  } else {
    const bytes = await readFile(repo, index, c.node, o);
    const magic = mediaFromMagic(bytes);
    if (magic && magic.kind === 'image') mime = magic.mime;
    info = describeImage(bytes, mime, c.node.mtime);
    rendered = await renderer.renderImage(bytes);
  }
  const broken = rendered.warning !== undefined;
  // The file's own date wins (it keeps the local wall time); a Takeout side file beats the mtime.
  if (side?.taken !== undefined && info.takenFrom === 'mtime') {
    const off = (offsetAt ?? hostOffsetAt)(side.taken);
    const taken = wallTime(side.taken, off);
    if (taken) info = { ...info, taken, offset: formatOffset(off), takenFrom: 'takeout' };
  }
  if (side?.gps && !info.gps) info = { ...info, gps: [Math.round(side.gps[0] * 1e5) / 1e5, Math.round(side.gps[1] * 1e5) / 1e5] };
  const item: GalleryItem = {
    id: c.id,
    kind,
    mime,
    name: c.name,
    taken: info.taken,
    offset: info.offset,
    takenFrom: info.takenFrom,
    // The decoder's upright size is exact; the header's is the fallback for placeholders.
    w: rendered.w || info.w,
    h: rendered.h || info.h,
    orientation: rendered.w ? rendered.orientation : info.orientation,
    size,
    duration: info.duration,
    camera: info.camera,
    gps: info.gps,
    country: null,
    content: [...(c.node.content ?? [])],
    hints: hintsOf(index, c.node.content ?? []),
    sources: [{ path: c.path, snapshot: c.snapshot }],
    thumb: rendered.thumbSize,
    preview: rendered.previewSize,
    hash: rendered.hash,
    ...(broken && kind === 'image' ? { broken: true as const } : {}),
  };
  const original: TreeNode = {
    name: utf8Encode(originalName(c.id, c.name)),
    type: 'file',
    mode: 0o644,
    mtime: c.node.mtime,
    atime: c.node.atime,
    ctime: c.node.ctime,
    uid: 0,
    gid: 0,
    size,
    content: [...(c.node.content ?? [])],
  };
  return { item, thumb: rendered.thumb, preview: rendered.preview, original, ...(rendered.warning ? { warning: rendered.warning } : {}) };
}

/** Stores a file's bytes (chunked as a backup would) and returns its content IDs. */
export async function saveFile(repo: Repository, saver: BlobSaver, data: Uint8Array): Promise<Id[]> {
  const content: Id[] = [];
  let start = 0;
  for (const end of chunkBoundaries(repo.config.chunkerPolynomial, data)) {
    content.push((await saver.save('data', data.subarray(start, end))).id);
    start = end;
  }
  return content;
}

function fileNode(name: string, size: number, content: Id[], time: GoTime): TreeNode {
  return { name: utf8Encode(name), type: 'file', mode: 0o644, mtime: time, atime: time, ctime: time, uid: 0, gid: 0, size, content };
}

async function saveDir(saver: BlobSaver, name: string, children: TreeNode[], time: GoTime): Promise<TreeNode> {
  const subtree = (await saver.save('tree', encodeTree({ nodes: sortNodes(children) }))).id;
  return { name: utf8Encode(name), type: 'dir', mode: MODE_DIR | 0o755, mtime: time, atime: time, ctime: time, uid: 0, gid: 0, content: null, subtree };
}

/** `thumbs/` etc.: one folder per first two hex digits of the id. */
async function saveFanout(saver: BlobSaver, name: string, nodes: Map<string, TreeNode>, time: GoTime): Promise<TreeNode> {
  const groups = new Map<string, TreeNode[]>();
  for (const [id, n] of nodes) {
    const k = id.slice(0, 2);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(n);
  }
  const dirs: TreeNode[] = [];
  for (const [k, g] of [...groups].sort()) dirs.push(await saveDir(saver, k, g, time));
  return saveDir(saver, name, dirs, time);
}

/** Runs `fn` over `items` with at most `limit` running at once, in order of start. */
async function pool<T>(items: readonly T[], limit: number, fn: (x: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, run));
}

/** The tree nodes of the index files: root files, `index/`, `hidden/`. */
export async function saveIndexNodes(repo: Repository, saver: BlobSaver, files: ReadonlyMap<string, Uint8Array>, time: GoTime): Promise<TreeNode[]> {
  const root: TreeNode[] = [];
  const dirs = new Map<string, TreeNode[]>([['index', []]]);
  for (const [name, data] of files) {
    const slash = name.indexOf('/');
    const node = fileNode(slash < 0 ? name : name.slice(slash + 1), data.length, await saveFile(repo, saver, data), time);
    if (slash < 0) root.push(node);
    else {
      const d = name.slice(0, slash);
      dirs.set(d, [...(dirs.get(d) ?? []), node]);
    }
  }
  for (const [d, nodes] of dirs) root.push(await saveDir(saver, d, nodes, time));
  return root;
}

/** A library's gallery snapshot (not saved). */
export function gallerySnapshot(library: GalleryLibrary, tree: Id, time: GoTime, owner: LockOwner, parent: Id | undefined): Snapshot {
  return {
    time,
    ...(parent ? { parent } : {}),
    tree,
    paths: [recordPath(galleryKind(library))],
    hostname: RECORD_HOST,
    username: owner.username,
    ...(owner.uid ? { uid: owner.uid } : {}),
    ...(owner.gid ? { gid: owner.gid } : {}),
    tags: galleryTags(library),
    programVersion: PROGRAM_VERSION,
  };
}

/** `chosen` plus the inbox snapshots newer than (a day before) their library's newest gallery, oldest first. */
function withInboxSnapshots(chosen: readonly SnapshotEntry[], entries: readonly SnapshotEntry[], privateIds: ReadonlySet<Id>): SnapshotEntry[] {
  const newest = (kind: string) => entries.filter((e) => isRecordSnapshot(e.snapshot, kind)).reduce((t, e) => Math.max(t, e.snapshot.time.sec), -Infinity);
  const since = { main: newest(GALLERY_KIND) - INBOX_SLACK_SEC, private: newest(PRIVATE_GALLERY_KIND) - INBOX_SLACK_SEC };
  const have = new Set(chosen.map((e) => e.id));
  const extra = entries.filter((e) => !have.has(e.id) && !isRecordSnapshot(e.snapshot) && (e.snapshot.tags ?? []).some((t) => INBOX_TAGS.includes(t)) && e.snapshot.time.sec >= since[privateIds.has(e.id) ? 'private' : 'main']);
  if (!extra.length) return [...chosen];
  return [...chosen, ...extra].sort((a, b) => a.snapshot.time.sec - b.snapshot.time.sec || a.snapshot.time.nsec - b.snapshot.time.nsec);
}

/** One library's plan after the walk. */
interface LibraryPlan {
  readonly library: GalleryLibrary;
  readonly prev: PreviousGallery | undefined;
  readonly items: Map<string, GalleryItem>;
  readonly todo: Candidate[];
  readonly extraSources: Map<string, { path: string; snapshot: Id }[]>;
  readonly removed: number;
  sourcesAdded: number;
}

async function planLibrary(loader: TreeLoader, library: GalleryLibrary, prev: PreviousGallery | undefined, sources: readonly SnapshotEntry[], privateIds: ReadonlySet<Id>, now: number): Promise<LibraryPlan> {
  // Items 30 days in the trash leave the library; their trash entry stays as a tombstone so a
  // backup that still holds the file does not bring them back.
  const purged = purgedIds(prev?.state ?? EMPTY_STATE, now);
  const items = new Map<string, GalleryItem>();
  for (const [id, it] of prev?.items ?? []) {
    if (purged.has(id)) continue;
    // The main library never keeps a source from a private backup (an older build mixed them):
    // an item seen only there leaves it.
    if (library === 'main' && it.sources.some((x) => privateIds.has(x.snapshot))) {
      const kept = it.sources.filter((x) => !privateIds.has(x.snapshot));
      if (kept.length) items.set(id, { ...it, sources: kept });
      continue;
    }
    items.set(id, it);
  }
  const removed = (prev?.items.size ?? 0) - items.size;
  const queued = new Map<string, Candidate>();
  const extraSources = new Map<string, { path: string; snapshot: Id }[]>();
  let sourcesAdded = 0;
  // Walk: ids from content IDs; known ids gain sources, new ids are queued once.
  for (const s of sources) {
    await walkTree(loader, s.snapshot.tree, (e) => {
      if (e.node.type !== 'file' || !e.node.content || e.node.content.length === 0) return;
      const name = utf8Decode(e.node.name);
      const media = mediaFromName(name);
      if (!media) return;
      const id = itemId(e.node.content);
      if (purged.has(id)) return;
      const known = items.get(id);
      if (known) {
        if (!known.sources.some((x) => x.path === e.path)) {
          items.set(id, { ...known, sources: [...known.sources, { path: e.path, snapshot: s.id }] });
          sourcesAdded++;
        }
        return;
      }
      const q = queued.get(id);
      if (q) {
        const extra = extraSources.get(id) ?? [];
        if (q.path !== e.path && !extra.some((x) => x.path === e.path)) extra.push({ path: e.path, snapshot: s.id });
        extraSources.set(id, extra);
        return;
      }
      queued.set(id, { id, node: e.node, path: e.path, snapshot: s.id, name, ...media });
    });
  }
  // Newest mtime first: a cheap guess of display order before any date is read.
  const todo = [...queued.values()].sort((x, y) => y.node.mtime.sec - x.node.mtime.sec || (x.id < y.id ? -1 : 1));
  return { library, prev, items, todo, extraSources, removed, sourcesAdded };
}

export async function buildGallery(repo: Repository, opts: GalleryBuildOptions): Promise<GalleryBuildResult> {
  const started = Date.now();
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const lock = opts.unlocked ? undefined : await RepositoryLock.acquire(repo, false, opts.owner, o);
  let saver: BlobSaver | undefined;
  try {
    const entries = await loadSnapshots(repo, o);
    const index = opts.index ?? (await loadMasterIndex(repo, o));
    const loader = new TreeLoader(repo, index);
    const chosen = opts.snapshots ?? newestUserSnapshots(entries);
    for (const s of chosen) {
      if (isRecordSnapshot(s.snapshot)) throw new CofferError('usage', `snapshot ${s.id.slice(0, 8)} is one of Coffer's own records, not a backup`);
    }
    const privateIds = new Set([...entries, ...chosen].filter((e) => isPrivateSnapshot(e.snapshot)).map((e) => e.id));
    const sources = opts.inbox === false ? chosen : withInboxSnapshots(chosen, entries, privateIds);
    const now = opts.now ?? Date.now();

    // 1-2. Read each library's newest gallery and walk its backups. The private library is
    // planned only when it has a backup or a gallery already.
    const plans: LibraryPlan[] = [];
    plans.push(await planLibrary(loader, 'main', await loadPrevious(repo, index, loader, entries, GALLERY_KIND, o), sources.filter((s) => !privateIds.has(s.id)), privateIds, now));
    const privSources = sources.filter((s) => privateIds.has(s.id));
    const privPrev = await loadPrevious(repo, index, loader, entries, PRIVATE_GALLERY_KIND, o);
    if (privSources.length || privPrev) plans.push(await planLibrary(loader, 'private', privPrev, privSources, privateIds, now));
    const total = plans.reduce((n, p) => n + p.todo.length, 0);
    opts.events?.onPlanned?.(total, plans.reduce((n, p) => n + p.items.size, 0));

    const time = opts.time ?? nowGoTime();
    saver = new BlobSaver(repo, index, o);
    const warnings: { path: string; message: string }[] = [];
    const results: LibraryBuildResult[] = [];
    let done = 0;
    for (const plan of plans) {
      const { prev, items, todo, extraSources } = plan;
      const thumbs = new Map<string, TreeNode>(prev?.nodes.thumbs ?? []);
      const previews = new Map<string, TreeNode>(prev?.nodes.previews ?? []);
      const originals = new Map<string, TreeNode>(prev?.nodes.originals ?? []);

      // 3. New ids: metadata, thumbnail, preview. Saved per batch in display order (newest
      // first), so a screen of thumbnails tends to share packs.
      const BATCH = 32;
      for (let b = 0; b < todo.length; b += BATCH) {
        const batch = todo.slice(b, b + BATCH);
        const processed: Processed[] = [];
        await pool(batch, opts.concurrency ?? opts.renderer.concurrency ?? 2, async (c) => {
          let r: Processed & { warning?: string };
          try {
            r = await processOne(repo, index, c, opts.renderer, opts.offsetAt, opts.takeout?.get(c.path), o);
          } catch (e) {
            // Cancellation and repository errors stop the build; anything else is this file's
            // problem: it gets the placeholder and a warning.
            if (opts.signal?.aborted || isCofferError(e)) throw e;
            const warning = `cannot process: ${(e as Error).message}`;
            const fallback: GalleryRenderer = { placeholder: (k) => opts.renderer.placeholder(k), renderImage: async () => ({ ...(await opts.renderer.placeholder('image')), warning }) };
            r = await processOne(repo, index, c, fallback, opts.offsetAt, opts.takeout?.get(c.path), o);
          }
          if (r.warning) {
            warnings.push({ path: c.path, message: r.warning });
            opts.events?.onWarning?.(c.path, r.warning);
          }
          const extra = extraSources.get(c.id) ?? [];
          processed.push(extra.length ? { ...r, item: { ...r.item, sources: [...r.item.sources, ...extra] } } : r);
          plan.sourcesAdded += extra.length;
          opts.events?.onProcessed?.(++done, total, c.path);
        });
        processed.sort((x, y) => (x.item.taken < y.item.taken ? 1 : x.item.taken > y.item.taken ? -1 : x.item.id < y.item.id ? -1 : 1));
        for (const r of processed) thumbs.set(r.item.id, fileNode(`${r.item.id}.webp`, r.thumb.length, await saveFile(repo, saver, r.thumb), time));
        for (const r of processed) previews.set(r.item.id, fileNode(`${r.item.id}.webp`, r.preview.length, await saveFile(repo, saver, r.preview), time));
        for (const r of processed) {
          originals.set(r.item.id, r.original);
          items.set(r.item.id, r.item);
        }
      }

      for (const [id, it] of items) {
        // Hints follow the blobs: a prune that moved them is repaired by the next build.
        const hints = hintsOf(index, it.content);
        let next = hints.length && JSON.stringify(hints) !== JSON.stringify(it.hints) ? { ...it, hints } : it;
        // The country follows the lookup (an older build had none).
        if (opts.countryOf) {
          const country = next.gps ? opts.countryOf(next.gps[0], next.gps[1]) : null;
          if (country !== (next.country ?? null)) next = { ...next, country };
        }
        if (next !== it) items.set(id, next);
      }

      // 4. Write, unless every index file is unchanged. The web app may have saved a new state
      // (favourites, albums, hidden) while we worked: take the newest.
      const kind = galleryKind(plan.library);
      let state = prev?.state ?? EMPTY_STATE;
      const latest = await latestRecordEntry(repo, kind, o);
      if (latest && latest.id !== prev?.entry.id) {
        const stateNode = (await loader.load(latest.snapshot.tree)).nodes.find((n) => n.type === 'file' && utf8Decode(n.name) === 'state.json');
        if (stateNode) state = decodeState(await readFile(repo, index, stateNode, o));
      }
      const files = encodeGalleryIndex([...items.values()], state);
      // No gallery yet and nothing to put in one: nothing to write either.
      const unchanged = prev === undefined ? items.size === 0 : todo.length === 0 && files.size === prev.files.size && [...files].every(([k, v]) => bytesEqual(v, prev.files.get(k)));
      const base: LibraryBuildResult = { items: items.size, added: todo.length, removed: plan.removed, processed: todo.length, sourcesAdded: plan.sourcesAdded };
      if (unchanged) {
        results.push(base);
        continue;
      }
      // Items whose thumbnail or original node is missing (a damaged earlier gallery) would break
      // the web app: say so rather than write a snapshot that points nowhere.
      for (const id of items.keys()) {
        if (!thumbs.has(id) || !previews.has(id) || !originals.has(id)) throw new CofferError('corrupt', `gallery item ${id} has no thumbnail, preview or original in ${prev?.entry.id.slice(0, 8) ?? 'the gallery'}`);
      }
      const keep = (m: Map<string, TreeNode>) => new Map([...m].filter(([id]) => items.has(id)));
      const root = await saveIndexNodes(repo, saver, files, time);
      root.push(await saveFanout(saver, 'thumbs', keep(thumbs), time));
      root.push(await saveFanout(saver, 'previews', keep(previews), time));
      root.push(await saveFanout(saver, 'originals', keep(originals), time));
      const tree = (await saver.save('tree', encodeTree({ nodes: sortNodes(root) }))).id;
      await saver.flush();
      const snapshotId = await repo.saveUnpacked('snapshots', encodeSnapshot(gallerySnapshot(plan.library, tree, time, opts.owner, prev?.entry.id)), o);
      results.push({ ...base, snapshotId });
    }
    await saver.flush();
    const sum = (k: 'items' | 'added' | 'removed' | 'processed' | 'sourcesAdded') => results.reduce((n, r) => n + r[k], 0);
    const [main, priv] = results as [LibraryBuildResult, LibraryBuildResult | undefined];
    return {
      ...(main.snapshotId ? { snapshotId: main.snapshotId } : {}),
      ...(priv?.snapshotId ? { privateSnapshotId: priv.snapshotId } : {}),
      libraries: { main, ...(priv ? { private: priv } : {}) },
      items: sum('items'),
      added: sum('added'),
      removed: sum('removed'),
      processed: sum('processed'),
      sourcesAdded: sum('sourcesAdded'),
      warnings,
      ms: Date.now() - started,
    };
  } catch (e) {
    // Interrupted or failed: index the packs already uploaded, so the next build reuses them.
    await saver?.flushUploaded().catch(() => undefined);
    throw e;
  } finally {
    await lock?.release();
  }
}
