/**
 * @module engine/gallery/import
 * Importing a Google Photos Takeout, or any service's plain export, into the library. The
 * export's files become an ordinary backup snapshot (paths `["/google-takeout/<label>"]`, tag
 * `google-takeout`; plain exports `["/import/<label>"]`, tag `import`), so the originals are
 * kept, checked and restorable like any backup; then the gallery is built from it with the side
 * files' dates and places, and the albums and descriptions go into `state.json`.
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
import { isICloudDetails, parseEnteMetadata, parseICloudAlbum, parseICloudDetails, plainAlbumName } from '../../gallery/exports.js';
import { isYearFolder, parseAlbumMetadata, parseSideFile, sideFileFor, type TakeoutSide } from '../../gallery/takeout.js';
import { buildGallery, saveFile, type GalleryBuildResult, type GalleryEvents, type GalleryRenderer } from './build.js';
import { updateGalleryState } from './read.js';
import type { CountryOf } from '../../gallery/countries.js';

export const TAKEOUT_TAG = 'google-takeout';
export const IMPORT_TAG = 'import';

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

/** What differs between the kinds of export: where the snapshot goes, side files and albums. */
interface Flavor {
  readonly tag: string;
  /** Top folder of the snapshot path (`/<top>/<label>`). */
  readonly top: string;
  readonly fallbackLabel: string;
  readonly albumPrefix: string;
  /** The side file facts of a media file (`path` inside the export). */
  sideOf(path: string): TakeoutSide | undefined;
  /** The albums a media file belongs to. */
  albumsOf(path: string): string[];
}

type Warn = (path: string, message: string) => void;

/** Reads the small JSON/CSV side files of an export. */
async function readSmall(f: ImportFile, warn: Warn): Promise<Uint8Array | undefined> {
  // A big library's Photo Details.csv runs to a few MiB; past this it is not a side file.
  if (f.size > 64 * 1024 * 1024) {
    warn(f.path, 'too large for a side file: ignored');
    return undefined;
  }
  try {
    return await f.read();
  } catch (e) {
    warn(f.path, (e as Error).message);
    return undefined;
  }
}

async function takeoutFlavor(files: readonly ImportFile[]): Promise<Flavor> {
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
  return {
    tag: TAKEOUT_TAG,
    top: 'google-takeout',
    fallbackLabel: 'takeout',
    albumPrefix: 'takeout-',
    sideOf(path) {
      const name = basename(path);
      const jsons = jsonByDir.get(dirname(path));
      const sideName = jsons ? sideFileFor(name, new Set(jsons.keys())) : undefined;
      // Failing the name rules, a side file whose title is this file's name.
      return sideName ? jsons!.get(sideName) : jsons ? [...jsons.values()].find((s) => s.title === name) : undefined;
    },
    albumsOf(path) {
      const name = albumName(dirname(path), albumTitles);
      return name ? [name] : [];
    },
  };
}

/**
 * A plain export: folders are albums (see plainAlbumName); Ente's `metadata/<name>.json` and
 * iCloud's `Photo Details.csv` / `Albums/<album>.csv` are read when present. A side file that
 * cannot be read is a warning.
 */
async function plainFlavor(files: readonly ImportFile[], warn: Warn): Promise<Flavor> {
  const ente = new Map<string, TakeoutSide>();
  const icloudTaken = new Map<string, number>();
  const icloudAlbums = new Map<string, string[]>();
  const excluded = new Set<string>();
  for (const f of files) {
    const name = basename(f.path);
    const dir = dirname(f.path);
    const lower = name.toLowerCase();
    if (lower.endsWith('.json') && basename(dir) === 'metadata') {
      const bytes = await readSmall(f, warn);
      if (!bytes) continue;
      const side = parseEnteMetadata(bytes);
      excluded.add(dirname(dir) ? `${dirname(dir)}/metadata` : 'metadata');
      // Ente keeps deleted files in Trash/ at the export's root.
      excluded.add('Trash');
      if (side) ente.set(`${dirname(dir) ? dirname(dir) + '/' : ''}${name.slice(0, -5)}`, side);
      else warn(f.path, 'not a readable Ente metadata file: ignored');
    } else if (isICloudDetails(name)) {
      const bytes = await readSmall(f, warn);
      if (!bytes) continue;
      try {
        const d = parseICloudDetails(bytes);
        for (const [n, t] of d.taken) icloudTaken.set(n, t);
        if (d.bad) warn(f.path, `${d.bad} row${d.bad === 1 ? '' : 's'} without a readable name or date: ignored`);
        // iCloud's Photos folder holds the whole library, not an album.
        excluded.add(dir);
        for (const d of [dir, dirname(dir)]) excluded.add(d ? `${d}/Recently Deleted` : 'Recently Deleted');
        if (basename(dir) !== 'Photos') excluded.add(dir ? `${dir}/Photos` : 'Photos');
      } catch (e) {
        warn(f.path, (e as Error).message);
      }
    } else if (lower.endsWith('.csv') && basename(dir) === 'Albums') {
      const bytes = await readSmall(f, warn);
      if (!bytes) continue;
      try {
        const album = name.slice(0, -4);
        icloudAlbums.set(album, [...(icloudAlbums.get(album) ?? []), ...parseICloudAlbum(bytes)]);
      } catch (e) {
        warn(f.path, (e as Error).message);
      }
    }
  }
  const byName = new Map<string, string[]>();
  for (const [album, names] of icloudAlbums) for (const n of names) byName.set(n, [...(byName.get(n) ?? []), album]);
  return {
    tag: IMPORT_TAG,
    top: 'import',
    fallbackLabel: 'import',
    albumPrefix: 'import-',
    sideOf(path) {
      const e = ente.get(path);
      if (e) return e;
      const t = icloudTaken.get(basename(path));
      return t !== undefined ? { taken: t } : undefined;
    },
    albumsOf(path) {
      const out = new Set(byName.get(basename(path)) ?? []);
      const folder = plainAlbumName(dirname(path), excluded);
      if (folder) out.add(folder);
      return [...out];
    },
  };
}

export async function importTakeout(repo: Repository, files: readonly ImportFile[], opts: ImportOptions): Promise<ImportResult> {
  return importWith(repo, files, opts, await takeoutFlavor(files), []);
}

/** `coffer import folder`: any service's plain export (folders of photos, Ente, iCloud). */
export async function importFolder(repo: Repository, files: readonly ImportFile[], opts: ImportOptions): Promise<ImportResult> {
  const warnings: { path: string; message: string }[] = [];
  const warn: Warn = (path, message) => {
    warnings.push({ path, message });
    opts.events?.onWarning?.(path, message);
  };
  return importWith(repo, files, opts, await plainFlavor(files, warn), warnings);
}

async function importWith(repo: Repository, files: readonly ImportFile[], opts: ImportOptions, flavor: Flavor, early: { path: string; message: string }[]): Promise<ImportResult> {
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const warnings: { path: string; message: string }[] = [...early];
  const label = opts.label.replace(/[/\0]/g, '_') || flavor.fallbackLabel;
  const base = `/${flavor.top}/${label}`;

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
        const side = flavor.sideOf(parts.join('/'));
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
    const top = await saveDir(flavor.top, { files: [labelDir], dirs: new Map() });
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
      tags: [flavor.tag],
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
    for (const name of flavor.albumsOf(p)) {
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
          const id = `${flavor.albumPrefix}${toHex(sha256(utf8Encode(a.name))).slice(0, 16)}`;
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
