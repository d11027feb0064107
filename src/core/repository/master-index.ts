/**
 * @module repository/master-index
 * The in-memory union of all index files (spec §11): where each blob is stored.
 *
 * A blob is keyed by (type, id); the same blob may sit in several packs (after concurrent
 * backups or an interrupted prune) and all locations are kept so a reader can fall back when
 * one copy is damaged. Index files are loaded concurrently; each is verified by its storage ID.
 */
import { forEachLimit } from '../async.js';
import type { CallOpts } from '../backend/backend.js';
import { decodeIndex } from '../format/index-file.js';
import type { BlobType, Id, IndexFile, PackedBlob } from '../format/types.js';
import type { Repository } from './repository.js';

export interface BlobLocation {
  readonly packId: Id;
  readonly offset: number;
  readonly length: number;
  /** 0 when stored uncompressed. */
  readonly uncompressedLength: number;
}

/** Plaintext size of a stored blob (sealed length minus IV and MAC, or its uncompressed length). */
export function plaintextSize(loc: BlobLocation): number {
  return loc.uncompressedLength > 0 ? loc.uncompressedLength : loc.length - 32;
}

export class MasterIndex {
  private readonly data = new Map<Id, BlobLocation | BlobLocation[]>();
  private readonly tree = new Map<Id, BlobLocation | BlobLocation[]>();
  /** Pack ID -> its blobs, as listed in the index. */
  private readonly packs = new Map<Id, PackedBlob[]>();
  /** Index file IDs merged into this index. */
  readonly indexFiles = new Set<Id>();

  private map(type: BlobType): Map<Id, BlobLocation | BlobLocation[]> {
    return type === 'data' ? this.data : this.tree;
  }

  has(type: BlobType, id: Id): boolean {
    return this.map(type).has(id);
  }

  /** First known location of a blob, or undefined. */
  lookup(type: BlobType, id: Id): BlobLocation | undefined {
    const v = this.map(type).get(id);
    return Array.isArray(v) ? v[0] : v;
  }

  /** Every known location of a blob. */
  lookupAll(type: BlobType, id: Id): readonly BlobLocation[] {
    const v = this.map(type).get(id);
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  }

  get blobCount(): number {
    return this.data.size + this.tree.size;
  }

  packIds(): IterableIterator<Id> {
    return this.packs.keys();
  }

  packBlobs(packId: Id): readonly PackedBlob[] | undefined {
    return this.packs.get(packId);
  }

  /** Adds one pack's blobs (from an index file or a freshly uploaded pack). */
  addPack(packId: Id, blobs: readonly PackedBlob[]): void {
    if (this.packs.has(packId)) return; // listed in two index files: identical by rule (§11.2)
    this.packs.set(packId, [...blobs]);
    for (const b of blobs) {
      const loc: BlobLocation = { packId, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength };
      const m = this.map(b.type);
      const prev = m.get(b.id);
      if (prev === undefined) m.set(b.id, loc);
      else if (Array.isArray(prev)) prev.push(loc);
      else m.set(b.id, [prev, loc]);
    }
  }

  addIndexFile(id: Id, file: IndexFile): void {
    this.indexFiles.add(id);
    for (const p of file.packs) this.addPack(p.id, p.blobs);
  }
}

/** Loads every index file of the repository (or the listed ones, `ids`) into a MasterIndex. */
export async function loadMasterIndex(repo: Repository, o?: CallOpts & { onFile?: () => void; ids?: readonly Id[] }): Promise<MasterIndex> {
  const index = new MasterIndex();
  const ids = o?.ids ?? (await repo.listIds('index', o));
  await forEachLimit(ids, Math.max(2, repo.backend.connections * 2), async (id) => {
    const json = await repo.loadUnpacked('index', id, o);
    index.addIndexFile(id, decodeIndex(json, `index/${id}`));
    o?.onFile?.();
  });
  return index;
}

/**
 * What a locking command reads from the index files, read ahead while its lock settles (after
 * the lock file is written there are 200 ms of waiting before it is held). `start` (the lock's
 * `onWritten`) lists the index files and reads them; `get`, once the lock is held, lists them
 * again and keeps the early result only if exactly the same files are listed: index files are
 * immutable and named by their content's hash, so the same names mean the same index. Otherwise
 * (a concurrent backup added one, a prune removed one), or if the early read failed or never
 * started (no lock, dry run), it reads them now. Spec §20's order (lock, then read) is kept.
 */
export class IndexReadAhead<T> {
  private early: Promise<{ readonly ids: ReadonlySet<Id>; readonly value: T } | undefined> | undefined;

  constructor(
    private readonly repo: Repository,
    /** Reads the given index files; any failure drops the early result (read again by `get`). */
    private readonly read: (ids: readonly Id[]) => Promise<T>,
    private readonly o?: CallOpts,
  ) {}

  /** Starts the early read (once). */
  readonly start = (): void => {
    this.early ??= this.repo
      .listIds('index', this.o)
      .then(async (ids) => ({ ids: new Set(ids), value: await this.read(ids) }))
      .catch(() => undefined);
  };

  /** The result for the index files listed now (call once the lock is held). */
  async get(): Promise<T> {
    // Listed now (the lock is held), while the early read may still be running.
    const [ready, ids] = await Promise.all([this.early, this.repo.listIds('index', this.o)]);
    this.early = undefined; // not kept alive by this object once handed out
    if (ready && ids.length === ready.ids.size && ids.every((id) => ready.ids.has(id))) return ready.value;
    return this.read(ids);
  }
}

/** The MasterIndex read ahead while a lock settles (see IndexReadAhead). */
export function masterIndexAhead(repo: Repository, o?: CallOpts): IndexReadAhead<MasterIndex> {
  return new IndexReadAhead(repo, (ids) => loadMasterIndex(repo, { ...o, ids }), o);
}
