/**
 * @module engine/gallery/import
 * Importing a Google Photos Takeout into the library. The export's files become an ordinary
 * backup snapshot (paths `["/google-takeout/<label>"]`, tag `google-takeout`), so the originals
 * are kept, checked and restorable like any backup; then the gallery is built from it with the
 * side files' dates and places, and the albums and descriptions go into `state.json`.
 */
import { utf8Encode } from '../../bytes.js';
import { goTimeFromDate, nowGoTime } from '../../format/go-time.js';
import { MODE_DIR } from '../../format/mode.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { encodeTree, sortNodes } from '../../format/tree.js';
import type { GoTime, Id, Snapshot, TreeNode } from '../../format/types.js';
import type { CallOpts } from '../../backend/backend.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { loadMasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { PROGRAM_VERSION } from '../backup/backup.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../bytes.js';
import type { GalleryState } from '../../gallery/index-files.js';
import { itemId, mediaFromName } from '../../gallery/item.js';
import { isYearFolder, parseAlbumMetadata, parseSideFile, sideFileFor, type TakeoutSide } from '../../gallery/takeout.js';
import { buildGallery, saveFile, type GalleryBuildResult, type GalleryEvents, type GalleryRenderer } from './build.js';
import { updateGalleryState } from './read.js';
import type { CountryOf } from '../../gallery/countries.js';

export const TAKEOUT_TAG = 'google-takeout';

export interface ImportFile {
  /** Path inside the export, `/`-separated, no leading slash (`Takeout/Google Photos/Trip/IMG_1.jpg`). */
  readonly path: string;
  readonly size: number;
  readonly mtime: Date;
  read(): Promise<Uint8Array>;
}

export interface ImportOptions extends CallOpts {
  readonly owner: LockOwner;
  /** Host name of the import snapshot (this machine's). */
  readonly hostname: string;
  /** Names the export in the snapshot path (`/google-takeout/<label>`). */
  readonly label: string;
  readonly renderer: GalleryRenderer;
  readonly offsetAt?: (epochSec: number) => number;
  /** Country of a position (see buildGallery). */
  readonly countryOf?: CountryOf;
  readonly events?: GalleryEvents & { onFile?(done: number, total: number, path: string): void };
  readonly time?: GoTime;
}

export interface ImportResult {
  readonly snapshotId: Id;
  readonly files: number;
  readonly media: number;
  readonly withSideFile: number;
  readonly albums: number;
  readonly captions: number;
  readonly gallery: GalleryBuildResult;
  readonly warnings: readonly { path: string; message: string }[];
}

interface Dir {
  files: TreeNode[];
  dirs: Map<string, Dir>;
}

const dirname = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/** The album a folder stands for: its metadata.json title, else its name unless it is a year folder or Takeout's own. */
function albumName(folder: string, metadata: Map<string, string>): string | undefined {
  const titled = metadata.get(folder);
  if (titled) return titled;
  const name = basename(folder);
  if (!folder || isYearFolder(name) || /^(Takeout|Google Photos|Google Fotos)$/i.test(name)) return undefined;
  return /^(Google Photos|Google Fotos)$/i.test(basename(dirname(folder))) ? name : undefined;
}

export async function importTakeout(repo: Repository, files: readonly ImportFile[], opts: ImportOptions): Promise<ImportResult> {
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const warnings: { path: string; message: string }[] = [];
  const label = opts.label.replace(/[/\0]/g, '_') || 'takeout';
  const base = `/google-takeout/${label}`;

  // Side files and album titles first (small JSON files).
  const jsonByDir = new Map<string, Map<string, TakeoutSide>>();
  const albumTitles = new Map<string, string>();
  for (const f of files) {
    if (!f.path.toLowerCase().endsWith('.json') || f.size > 1024 * 1024) continue;
    const bytes = await f.read();
    if (basename(f.path) === 'metadata.json') {
      const a = parseAlbumMetadata(bytes);
      if (a) albumTitles.set(dirname(f.path), a.title);
      continue;
    }
    const side = parseSideFile(bytes);
    if (!side) continue;
    let m = jsonByDir.get(dirname(f.path));
    if (!m) jsonByDir.set(dirname(f.path), (m = new Map()));
    m.set(basename(f.path), side);
  }

  // The export as a backup snapshot.
  const lock = await RepositoryLock.acquire(repo, false, opts.owner, o);
  const time = opts.time ?? nowGoTime();
  const sides = new Map<string, TakeoutSide>();
  const mediaIds = new Map<string, string>();
  let entry: { id: Id; snapshot: Snapshot };
  try {
    const index = await loadMasterIndex(repo, o);
    const saver = new BlobSaver(repo, index, o);
    const root: Dir = { files: [], dirs: new Map() };
    let done = 0;
    for (const f of files) {
      const parts = f.path.split('/').filter((p) => p !== '' && p !== '.' && p !== '..');
      if (parts.length === 0) continue;
      let bytes: Uint8Array;
      try {
        bytes = await f.read();
      } catch (e) {
        warnings.push({ path: f.path, message: (e as Error).message });
        opts.events?.onWarning?.(f.path, (e as Error).message);
        continue;
      }
      const content = bytes.length ? await saveFile(repo, saver, bytes) : [];
      let d = root;
      for (const p of parts.slice(0, -1)) {
        let next = d.dirs.get(p);
        if (!next) d.dirs.set(p, (next = { files: [], dirs: new Map() }));
        d = next;
      }
      const mt = goTimeFromDate(f.mtime);
      d.files.push({ name: utf8Encode(parts[parts.length - 1]!), type: 'file', mode: 0o644, mtime: mt, atime: mt, ctime: mt, uid: 0, gid: 0, size: bytes.length, content });
      const name = parts[parts.length - 1]!;
      if (mediaFromName(name) && content.length) {
        const full = `${base}/${parts.join('/')}`;
        mediaIds.set(parts.join('/'), itemId(content));
        const jsons = jsonByDir.get(parts.slice(0, -1).join('/'));
        const sideName = jsons ? sideFileFor(name, new Set(jsons.keys())) : undefined;
        // Failing the name rules, a side file whose title is this file's name.
        const side = sideName ? jsons!.get(sideName) : jsons ? [...jsons.values()].find((s) => s.title === name) : undefined;
        if (side) sides.set(full, side);
      }
      opts.events?.onFile?.(++done, files.length, f.path);
    }
    const saveDir = async (name: string, d: Dir): Promise<TreeNode> => {
      const children = [...d.files];
      for (const [n, sub] of d.dirs) children.push(await saveDir(n, sub));
      const subtree = (await saver.save('tree', encodeTree({ nodes: sortNodes(children) }))).id;
      return { name: utf8Encode(name), type: 'dir', mode: MODE_DIR | 0o755, mtime: time, atime: time, ctime: time, uid: 0, gid: 0, content: null, subtree };
    };
    const labelDir = await saveDir(label, root);
    const top = await saveDir('google-takeout', { files: [labelDir], dirs: new Map() });
    const tree = (await saver.save('tree', encodeTree({ nodes: [top] }))).id;
    await saver.flush();
    const snapshot: Snapshot = {
      time,
      tree,
      paths: [base],
      hostname: opts.hostname,
      username: opts.owner.username,
      ...(opts.owner.uid ? { uid: opts.owner.uid } : {}),
      ...(opts.owner.gid ? { gid: opts.owner.gid } : {}),
      tags: [TAKEOUT_TAG],
      programVersion: PROGRAM_VERSION,
    };
    entry = { id: await repo.saveUnpacked('snapshots', encodeSnapshot(snapshot), o), snapshot };
  } finally {
    await lock.release();
  }

  const gallery = await buildGallery(repo, {
    owner: opts.owner,
    renderer: opts.renderer,
    snapshots: [entry],
    takeout: sides,
    ...(opts.offsetAt ? { offsetAt: opts.offsetAt } : {}),
    ...(opts.countryOf ? { countryOf: opts.countryOf } : {}),
    ...(opts.events ? { events: opts.events } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });

  // Albums and descriptions into state.json (merged with what the library has).
  const albums = new Map<string, { name: string; items: string[] }>();
  const captions = new Map<string, string>();
  for (const [p, id] of mediaIds) {
    const name = albumName(dirname(p), albumTitles);
    if (name) {
      const a = albums.get(name) ?? { name, items: [] };
      if (!a.items.includes(id)) a.items.push(id);
      albums.set(name, a);
    }
    const d = sides.get(`${base}/${p}`)?.description;
    if (d && !captions.has(id)) captions.set(id, d);
  }
  if (gallery.items > 0 && (albums.size || captions.size)) {
    const created = new Date(time.sec * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    await updateGalleryState(
      repo,
      (s): GalleryState => {
        const list = s.albums.map((a) => ({ ...a, items: [...a.items] }));
        for (const a of albums.values()) {
          const id = `takeout-${toHex(sha256(utf8Encode(a.name))).slice(0, 16)}`;
          const have = list.find((x) => x.id === id);
          if (have) {
            for (const i of a.items) if (!have.items.includes(i)) have.items.push(i);
          } else {
            list.push({ id, name: a.name, items: a.items, cover: a.items[0] ?? null, created });
          }
        }
        const edits = { ...s.edits };
        for (const [id, caption] of captions) if (edits[id]?.caption === undefined) edits[id] = { ...edits[id], caption };
        return { ...s, albums: list, edits };
      },
      { owner: opts.owner, ...(opts.signal ? { signal: opts.signal } : {}) },
    );
  }
  return { snapshotId: entry.id, files: files.length, media: mediaIds.size, withSideFile: sides.size, albums: albums.size, captions: captions.size, gallery, warnings: [...warnings, ...gallery.warnings] };
}
