/**
 * @module repository/master-index
 * The in-memory union of all index files (spec §11): where each blob is stored.
 *
 * A blob is keyed by (type, id); the same blob may sit in several packs (after concurrent
 * backups or an interrupted prune) and all locations are kept so a reader can fall back when
 * one copy is damaged. Index files are loaded concurrently; each is verified by its storage ID.
 * Stored compactly (typed arrays, see MasterIndex): ~90 bytes per blob with growth slack and the
 * table, instead of ~360 with a Map of location objects and 64-char keys (6.6 vs 25.3 MiB for
 * 73.5k blobs); loaded from the index text straight into its columns (scanIndexColumns).
 */
import { forEachLimit } from '../async.js';
import type { CallOpts } from '../backend/backend.js';
import { CofferError } from '../errors.js';
import { flatId, idToWords, wordsToId } from '../format/id-text.js';
import { decodeIndexGeneric, scanIndexColumns, type IndexColumns } from '../format/index-file.js';
import { isLowerHexId, jsonText } from '../format/json.js';
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

/** Blob types as stored in `kinds`. */
const DATA = 0;
const TREE = 1;

/** A query ID parsed into words (one at a time: lookups are synchronous). */
const query = new Uint32Array(8);

/**
 * Compact storage (one entry per blob location, ~55 bytes each, no object per blob): the ID as
 * 8 uint32 words, its type, pack number, offset, length and uncompressed length in typed
 * arrays, entries of one pack contiguous (a pack is added whole); an open-addressing table maps
 * (type, ID) to its first entry, further locations of the same blob are chained in `nextLoc`.
 * Location objects and per-pack blob lists are built on demand by `lookup*` and `packBlobs`.
 */
export class MasterIndex {
  /** Index file IDs merged into this index. */
  readonly indexFiles = new Set<Id>();

  /** Pack ID -> pack number; `packList[n]` its ID, `packStart[n]` its first entry. */
  private readonly packNo = new Map<Id, number>();
  private readonly packList: Id[] = [];
  private readonly packStart: number[] = [];

  private count = 0;
  private cap = 0;
  private words = new Uint32Array(0);
  private kinds = new Uint8Array(0);
  private packOf = new Uint32Array(0);
  /** Uint32Array until a value does not fit, then Float64Array (exact up to 2^53). */
  private offsets: Uint32Array | Float64Array = new Uint32Array(0);
  private lengths: Uint32Array | Float64Array = new Uint32Array(0);
  private ulengths: Uint32Array | Float64Array = new Uint32Array(0);
  /** Next entry holding the same blob, -1 at the end of the chain. */
  private nextLoc = new Int32Array(0);

  /** Hash table of first entries (entry + 1; 0 = empty), at most half full. */
  private slots = new Int32Array(64);
  private keys = 0;
  private dataKeys = 0;
  /** Per-index hash seed, so no fixed set of IDs collides in every process. */
  private readonly seed = Math.floor(Math.random() * 2 ** 32) | 0;

  has(type: BlobType, id: Id): boolean {
    return this.find(type, id) >= 0;
  }

  /** First known location of a blob, or undefined. */
  lookup(type: BlobType, id: Id): BlobLocation | undefined {
    const e = this.find(type, id);
    return e < 0 ? undefined : this.location(e);
  }

  /** Every known location of a blob. */
  lookupAll(type: BlobType, id: Id): readonly BlobLocation[] {
    const out: BlobLocation[] = [];
    for (let e = this.find(type, id); e >= 0; e = this.nextLoc[e]!) out.push(this.location(e));
    return out;
  }

  get blobCount(): number {
    return this.keys;
  }

  /** Distinct data blobs. */
  get dataBlobCount(): number {
    return this.dataKeys;
  }

  /**
   * Calls `fn` with every distinct data blob's ID as its 32 bytes, in no particular order. The
   * bytes are one reused buffer (copy what you keep): no string or object per blob, for callers
   * that load the whole set (the chunk workers' claim table).
   */
  forEachDataDigest(fn: (digest: Uint8Array) => void): void {
    const digest = new Uint8Array(32);
    const view = new DataView(digest.buffer);
    const { slots, words, kinds } = this;
    for (let s = 0; s < slots.length; s++) {
      const e = slots[s]! - 1;
      if (e < 0 || kinds[e] !== DATA) continue;
      for (let k = 0; k < 8; k++) view.setUint32(k * 4, words[e * 8 + k]!, false);
      fn(digest);
    }
  }

  packIds(): IterableIterator<Id> {
    return this.packNo.keys();
  }

  /** The pack's blobs as listed in the index (a new array each call). */
  packBlobs(packId: Id): readonly PackedBlob[] | undefined {
    const p = this.packNo.get(packId);
    if (p === undefined) return undefined;
    const end = p + 1 < this.packStart.length ? this.packStart[p + 1]! : this.count;
    const out: PackedBlob[] = [];
    for (let e = this.packStart[p]!; e < end; e++) {
      out.push({
        type: this.kinds[e] === TREE ? 'tree' : 'data',
        id: wordsToId(this.words, e * 8),
        offset: this.offsets[e]!,
        length: this.lengths[e]!,
        uncompressedLength: this.ulengths[e]!,
      });
    }
    return out;
  }

  /** Adds one pack's blobs (from an index file or a freshly uploaded pack). */
  addPack(packId: Id, blobs: readonly PackedBlob[]): void {
    if (this.packNo.has(packId)) return; // listed in two index files: identical by rule (§11.2)
    const first = this.count;
    this.reserve(first + blobs.length);
    for (let i = 0; i < blobs.length; i++) {
      if (!idToWords(blobs[i]!.id, this.words, (first + i) * 8)) throw new CofferError('internal', `pack ${packId} lists a blob whose ID is not 64 lowercase hex digits`);
    }
    // A flat copy: the caller's string may be a slice of a whole decoded index file.
    const flat = isLowerHexId(packId, 0) ? flatId(packId) : packId;
    const p = this.packList.length;
    this.packNo.set(flat, p);
    this.packList.push(flat);
    this.packStart.push(first);
    for (let i = 0; i < blobs.length; i++) {
      const b = blobs[i]!;
      const e = first + i;
      this.kinds[e] = b.type === 'tree' ? TREE : DATA;
      this.packOf[e] = p;
      this.offsets = store(this.offsets, e, b.offset);
      this.lengths = store(this.lengths, e, b.length);
      this.ulengths = store(this.ulengths, e, b.uncompressedLength);
      this.nextLoc[e] = -1;
      this.count = e + 1;
      this.link(e);
    }
  }

  /** Adds a decoded index file in columns (scanIndexColumns): no object or string per blob. */
  addIndexColumns(id: Id, c: IndexColumns): void {
    this.indexFiles.add(id);
    this.reserve(this.count + c.count);
    let i = 0;
    for (let p = 0; p < c.packIds.length; p++) {
      const end = c.packEnds[p]!;
      const packId = c.packIds[p]!;
      if (!this.packNo.has(packId)) {
        const first = this.count;
        const n = end - i;
        const pn = this.packList.length;
        this.packNo.set(packId, pn);
        this.packList.push(packId);
        this.packStart.push(first);
        this.words.set(c.words.subarray(i * 8, end * 8), first * 8);
        this.kinds.set(c.kinds.subarray(i, end), first);
        this.packOf.fill(pn, first, first + n);
        this.nextLoc.fill(-1, first, first + n);
        for (let k = 0; k < n; k++) {
          const e = first + k;
          this.offsets = store(this.offsets, e, c.offsets[i + k]!);
          this.lengths = store(this.lengths, e, c.lengths[i + k]!);
          this.ulengths = store(this.ulengths, e, c.ulengths[i + k]!);
          this.count = e + 1;
          this.link(e);
        }
      }
      i = end;
    }
  }

  addIndexFile(id: Id, file: IndexFile): void {
    this.indexFiles.add(id);
    let n = 0;
    for (const p of file.packs) n += p.blobs.length;
    this.reserve(this.count + n);
    for (const p of file.packs) this.addPack(p.id, p.blobs);
  }

  private location(e: number): BlobLocation {
    return { packId: this.packList[this.packOf[e]!]!, offset: this.offsets[e]!, length: this.lengths[e]!, uncompressedLength: this.ulengths[e]! };
  }

  /** Slot of (kind, words at `w[at..]`): its first entry's slot, or the empty slot where it would go. */
  private slotOf(kind: number, w: Uint32Array, at: number): number {
    const slots = this.slots;
    const mask = slots.length - 1;
    const words = this.words;
    let h = this.seed ^ kind;
    for (let k = 0; k < 8; k++) h = Math.imul(h ^ w[at + k]!, 0x9e3779b1) ^ (h >>> 15);
    for (let s = h & mask; ; s = (s + 1) & mask) {
      const e = slots[s]! - 1;
      if (e < 0) return s;
      if (this.kinds[e] !== kind) continue;
      const b = e * 8;
      if (
        words[b] === w[at] && words[b + 1] === w[at + 1] && words[b + 2] === w[at + 2] && words[b + 3] === w[at + 3] &&
        words[b + 4] === w[at + 4] && words[b + 5] === w[at + 5] && words[b + 6] === w[at + 6] && words[b + 7] === w[at + 7]
      ) return s;
    }
  }

  /** First entry of a blob, or -1 (also for a string that is not an ID). */
  private find(type: BlobType, id: Id): number {
    if (!idToWords(id, query, 0)) return -1;
    return this.slots[this.slotOf(type === 'tree' ? TREE : DATA, query, 0)]! - 1;
  }

  /** Puts entry `e` in the table: a new blob, or the last location of a known one. */
  private link(e: number): void {
    const s = this.slotOf(this.kinds[e]!, this.words, e * 8);
    let h = this.slots[s]! - 1;
    if (h >= 0) {
      while (this.nextLoc[h]! >= 0) h = this.nextLoc[h]!;
      this.nextLoc[h] = e;
      return;
    }
    this.slots[s] = e + 1;
    if (this.kinds[e] === DATA) this.dataKeys++;
    if (++this.keys * 2 > this.slots.length) this.rehash(this.slots.length * 2);
  }

  private rehash(size: number): void {
    const old = this.slots;
    this.slots = new Int32Array(size);
    for (let s = 0; s < old.length; s++) {
      const e = old[s]! - 1;
      if (e >= 0) this.slots[this.slotOf(this.kinds[e]!, this.words, e * 8)] = e + 1;
    }
  }

  /** Room for `n` entries (growing by half, so the slack stays below a third). */
  private reserve(n: number): void {
    if (n <= this.cap) return;
    const cap = Math.max(n, Math.floor(this.cap * 1.5), 1024);
    this.words = grow(this.words, new Uint32Array(cap * 8));
    this.kinds = grow(this.kinds, new Uint8Array(cap));
    this.packOf = grow(this.packOf, new Uint32Array(cap));
    this.offsets = grow(this.offsets, this.offsets instanceof Float64Array ? new Float64Array(cap) : new Uint32Array(cap));
    this.lengths = grow(this.lengths, this.lengths instanceof Float64Array ? new Float64Array(cap) : new Uint32Array(cap));
    this.ulengths = grow(this.ulengths, this.ulengths instanceof Float64Array ? new Float64Array(cap) : new Uint32Array(cap));
    this.nextLoc = grow(this.nextLoc, new Int32Array(cap));
    this.cap = cap;
    // The table sized for every entry at once: one rehash per growth, not several while adding.
    let size = this.slots.length;
    while (size < cap * 2) size *= 2;
    if (size > this.slots.length) this.rehash(size);
  }
}

function grow<T extends Uint32Array | Uint8Array | Int32Array | Float64Array>(old: T, fresh: T): T {
  fresh.set(old as never);
  return fresh;
}

/** Writes `v` at `i`, switching the array to Float64Array when `v` is not a uint32. */
function store(a: Uint32Array | Float64Array, i: number, v: number): Uint32Array | Float64Array {
  if (a instanceof Uint32Array && v !== v >>> 0) {
    const f = new Float64Array(a.length);
    f.set(a);
    a = f;
  }
  a[i] = v;
  return a;
}

/** Loads every index file of the repository (or the listed ones, `ids`) into a MasterIndex. */
export async function loadMasterIndex(repo: Repository, o?: CallOpts & { onFile?: () => void; ids?: readonly Id[] }): Promise<MasterIndex> {
  const index = new MasterIndex();
  const ids = o?.ids ?? (await repo.listIds('index', o));
  await forEachLimit(ids, Math.max(2, repo.backend.connections * 2), async (id) => {
    const json = await repo.loadUnpacked('index', id, o);
    // The canonical layout straight into the index's columns; anything else through the generic decoder.
    const cols = scanIndexColumns(jsonText(json));
    if (cols) index.addIndexColumns(id, cols);
    else index.addIndexFile(id, decodeIndexGeneric(jsonText(json), `index/${id}`));
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
