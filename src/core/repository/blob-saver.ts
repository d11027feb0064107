/**
 * @module repository/blob-saver
 * Stores blobs: deduplicate, compress, encrypt, pack, upload, index (spec §9-§11, §20).
 *
 * Ordering that keeps the repository valid at every instant (a crash at any point leaves
 * something `restic check` accepts): a pack is uploaded completely under its hash before any
 * index entry names it, and index files are written only for uploaded packs. Packs that were
 * uploaded but not yet indexed when a crash happens are merely "unreferenced" (a hint in check,
 * removed by prune). Index files are written every `indexEveryPacks` packs or `indexEveryMs`
 * so that an interrupted backup's work is reused by the next run.
 *
 * Memory stays bounded: at most two open packs per blob type plus `uploads` finished packs in
 * flight; `save` waits when the upload queue is full.
 *
 * Like restic 0.18, each blob goes to one of two open packs of its type at random, so pack
 * contents do not reveal chunk sizes in file order (a chunking-fingerprint mitigation); at the
 * end the two are merged when they fit in one pack.
 *
 * Packs may also be assembled elsewhere (worker threads on Node, see node/chunk-workers.ts): such
 * a producer claims data blob IDs through `BlobClaims` (one store per ID across every thread),
 * hands finished packs to `addPack` (uploaded and indexed exactly like the saver's own) and is
 * flushed before the saver writes its last index.
 */
import type { CallOpts } from '../backend/backend.js';
import { Semaphore } from '../async.js';
import { SEAL_OVERHEAD, sealInto } from '../crypto/sealed-box.js';
import { encodeIndex } from '../format/index-file.js';
import type { BlobType, Id, IndexPack } from '../format/types.js';
import type { MasterIndex } from './master-index.js';
import { PackBuilder, type FinishedPack } from './pack-builder.js';
import type { Repository } from './repository.js';

export interface BlobSaverOptions {
  /** Packs uploading at once (default: the backend's connections, at least 2). */
  readonly uploads?: number;
  readonly indexEveryPacks?: number;
  readonly indexEveryMs?: number;
  readonly onPackUploaded?: (pack: FinishedPack) => void;
  readonly signal?: AbortSignal;
  /** Do everything but write to the backend (backup --dry-run). */
  readonly dryRun?: boolean;
}

/** Claims of data blob IDs shared with other pack producers (worker threads). */
export interface BlobClaims {
  /**
   * Claims `id` for this run: true when the caller is the first (it must store the blob), false
   * when the blob is stored or claimed already, undefined when the claims are full (the caller
   * decides with its own records).
   */
  claim(id: Id): boolean | undefined;
  /** Whether `id` is claimed (stored, or being stored by some producer). */
  has(id: Id): boolean;
}

/** Something that assembles packs for this saver and must deliver them before the last index. */
export interface PackProducer {
  /** Finishes open packs and resolves once each was handed to `addPack`. */
  flush(): Promise<void>;
}

export interface SaveResult {
  readonly id: Id;
  /** False when the blob was already stored (in the index or earlier in this run). */
  readonly added: boolean;
  /** Bytes this blob adds to the repository (sealed size), 0 when it was known. */
  readonly storedSize: number;
}

export interface SaverStats {
  dataBlobs: number;
  treeBlobs: number;
  /** Plaintext bytes of new blobs. */
  bytesAdded: number;
  /** Stored (sealed, maybe compressed) bytes of new blobs. */
  bytesAddedPacked: number;
  packs: number;
}

export class BlobSaver {
  private readonly builders: Record<BlobType, [PackBuilder, PackBuilder]>;
  /** Blobs accepted in this run but not yet in the index (their pack may still be uploading). */
  private readonly pending: Record<BlobType, Set<Id>> = { data: new Set(), tree: new Set() };
  private readonly uploadSlots: Semaphore;
  private readonly inFlight = new Set<Promise<void>>();
  private unindexed: IndexPack[] = [];
  private unindexedSince = 0;
  private failure: unknown;
  private claims: BlobClaims | undefined;
  private readonly producers: PackProducer[] = [];
  readonly stats: SaverStats = { dataBlobs: 0, treeBlobs: 0, bytesAdded: 0, bytesAddedPacked: 0, packs: 0 };
  readonly indexFilesWritten: Id[] = [];

  constructor(
    private readonly repo: Repository,
    private readonly index: MasterIndex,
    private readonly opts: BlobSaverOptions = {},
  ) {
    this.builders = {
      data: [this.newBuilder('data'), this.newBuilder('data')],
      tree: [this.newBuilder('tree'), this.newBuilder('tree')],
    };
    this.uploadSlots = new Semaphore(opts.uploads ?? Math.max(2, repo.backend.connections));
  }

  /** Data packs are given their full size up front (untouched pages cost nothing); tree packs grow. */
  private newBuilder(type: BlobType): PackBuilder {
    return type === 'data' ? new PackBuilder(type, this.repo.packSize + 1024 * 1024) : new PackBuilder(type);
  }

  /** Shares data blob dedup with other producers: from now on every new data blob is claimed. */
  useClaims(claims: BlobClaims): void {
    this.claims = claims;
  }

  addProducer(p: PackProducer): void {
    this.producers.push(p);
  }

  /** Whether a blob is stored or already accepted in this run. */
  isKnown(type: BlobType, id: Id): boolean {
    return this.index.has(type, id) || this.pending[type].has(id) || (type === 'data' && this.claims !== undefined && this.claims.has(id));
  }

  /** Known, or (data blobs with claims) claimed by another producer: false means "store it". */
  private knownOrClaimed(type: BlobType, id: Id): boolean {
    if (this.index.has(type, id) || this.pending[type].has(id)) return true;
    return type === 'data' && this.claims !== undefined && this.claims.claim(id) === false;
  }

  /**
   * A pack finished by another producer (its blobs claimed through the claims): uploaded,
   * indexed and counted like the saver's own. Resolves once the upload is under way (it waits
   * for an upload slot); `onDone` runs when the upload has ended, whatever its outcome, with
   * `stored` true when the backend holds the pack (nothing reads `pack.bytes` any more: the
   * producer may release them at once).
   */
  async addPack(pack: FinishedPack, plainBytes: number, onDone?: (stored: boolean) => void): Promise<void> {
    try {
      this.throwIfFailed();
      await this.uploadSlots.acquire();
    } catch (e) {
      onDone?.(false);
      throw e;
    }
    for (const b of pack.blobs) {
      if (b.type === 'data') this.stats.dataBlobs++;
      else this.stats.treeBlobs++;
      this.stats.bytesAddedPacked += b.length;
    }
    this.stats.bytesAdded += plainBytes;
    let stored = false;
    const upload = this.upload(pack, () => (stored = true)).finally(() => {
      this.uploadSlots.release();
      this.inFlight.delete(upload);
      onDone?.(stored);
    });
    this.inFlight.add(upload);
  }

  /** Compresses (when due), seals and packs a blob unless it is known. */
  async save(type: BlobType, plaintext: Uint8Array, knownId?: Id): Promise<SaveResult> {
    const id = knownId ?? this.repo.sha256Hex(plaintext);
    if (this.knownOrClaimed(type, id)) return { id, added: false, storedSize: 0 };
    this.pending[type].add(id);
    const level = type === 'data' ? this.repo.dataCompressionLevel : this.repo.metadataCompressionLevel;
    // An empty blob must never be stored compressed: uncompressed_length 0 means "not compressed".
    const compressed = level !== undefined && plaintext.length > 0;
    const body = compressed ? this.repo.platform.zstd.compress(plaintext, level) : plaintext;
    this.throwIfFailed();
    // Sealed straight into its pack: no intermediate box and copy.
    const slot = this.randomBit();
    const b = this.builders[type][slot]!;
    const length = body.length + SEAL_OVERHEAD;
    sealInto(this.repo.platform.crypto, this.repo.key, body, b.room(length), b.size);
    b.commit(id, length, compressed ? plaintext.length : 0);
    await this.packed(type, slot, plaintext.length, length);
    return { id, added: true, storedSize: length };
  }

  /**
   * Packs a blob that was already compressed (if `uncompressedLength` > 0) and sealed elsewhere
   * (a worker), unless it is known. The caller vouches that `id` is the plaintext's SHA-256.
   */
  async saveSealed(type: BlobType, id: Id, sealed: Uint8Array, uncompressedLength: number, plainSize: number): Promise<SaveResult> {
    if (this.knownOrClaimed(type, id)) return { id, added: false, storedSize: 0 };
    this.pending[type].add(id);
    await this.addSealed(type, id, sealed, uncompressedLength, plainSize);
    return { id, added: true, storedSize: sealed.length };
  }

  private async addSealed(type: BlobType, id: Id, sealed: Uint8Array, uncompressedLength: number, plainSize: number): Promise<void> {
    this.throwIfFailed();
    const slot = this.randomBit();
    const b = this.builders[type][slot]!;
    b.add(id, sealed, uncompressedLength);
    await this.packed(type, slot, plainSize, sealed.length);
  }

  /** Counts a blob just added to pack `slot` and finishes that pack when it is full. */
  private async packed(type: BlobType, slot: 0 | 1, plainSize: number, storedSize: number): Promise<void> {
    if (type === 'data') this.stats.dataBlobs++;
    else this.stats.treeBlobs++;
    this.stats.bytesAdded += plainSize;
    this.stats.bytesAddedPacked += storedSize;
    if (this.builders[type][slot].size >= this.repo.packSize) await this.finishPack(type, slot);
  }

  /** Random bits for the pack choice, drawn 2048 at a time (one system call per blob showed in profiles). */
  private bits: Uint8Array = new Uint8Array(0);
  private bitAt = 0;
  private randomBit(): 0 | 1 {
    if (this.bitAt >= this.bits.length * 8) {
      this.bits = this.repo.platform.crypto.randomBytes(256);
      this.bitAt = 0;
    }
    const bit = (this.bits[this.bitAt >> 3]! >> (this.bitAt & 7)) & 1;
    this.bitAt++;
    return bit as 0 | 1;
  }

  private async finishPack(type: BlobType, slot: 0 | 1): Promise<void> {
    const b = this.builders[type][slot];
    if (b.count === 0) return;
    this.builders[type][slot] = this.newBuilder(type);
    await this.uploadSlots.acquire();
    let pack: FinishedPack;
    try {
      pack = b.finish((p) => this.repo.seal(p), (x) => this.repo.sha256Hex(x));
    } catch (e) {
      this.uploadSlots.release();
      throw e;
    }
    const upload = this.upload(pack).finally(() => {
      this.uploadSlots.release();
      this.inFlight.delete(upload);
    });
    this.inFlight.add(upload);
  }

  /** `onStored`: the backend has the pack (called before it is indexed). */
  private async upload(pack: FinishedPack, onStored?: () => void): Promise<void> {
    try {
      if (!this.opts.dryRun) await this.repo.backend.put({ type: 'data', name: pack.id }, pack.bytes, this.callOpts());
      onStored?.();
      this.stats.packs++;
      this.index.addPack(pack.id, pack.blobs);
      for (const blob of pack.blobs) this.pending[blob.type].delete(blob.id);
      if (this.unindexed.length === 0) this.unindexedSince = Date.now();
      this.unindexed.push({ id: pack.id, blobs: pack.blobs });
      this.opts.onPackUploaded?.(pack);
      if (
        this.unindexed.length >= (this.opts.indexEveryPacks ?? 64) ||
        Date.now() - this.unindexedSince >= (this.opts.indexEveryMs ?? 5 * 60_000)
      ) {
        await this.writeIndex(this.callOpts());
      }
    } catch (e) {
      this.failure ??= e;
    }
  }

  private async writeIndex(o: CallOpts | undefined): Promise<void> {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed;
    this.unindexed = [];
    if (this.opts.dryRun) return;
    const json = encodeIndex({ packs });
    let id: Id;
    try {
      id = await this.repo.saveUnpacked('index', json, o);
    } catch (e) {
      // Not indexed yet: keep them for the next attempt (e.g. flushUploaded after a cancel).
      this.unindexed = packs.concat(this.unindexed);
      throw e;
    }
    this.index.indexFiles.add(id);
    this.indexFilesWritten.push(id);
  }

  private callOpts(): CallOpts | undefined {
    return this.opts.signal ? { signal: this.opts.signal } : undefined;
  }

  private throwIfFailed(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  /** Finishes open packs, waits for every upload, and writes the remaining index entries. */
  async flush(): Promise<void> {
    for (const p of this.producers) await p.flush();
    for (const type of ['data', 'tree'] as const) {
      const [a, b] = this.builders[type];
      if (a.size + b.size < this.repo.packSize) {
        a.absorb(b);
        this.builders[type][1] = this.newBuilder(type);
      }
      await this.finishPack(type, 0);
      await this.finishPack(type, 1);
    }
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    this.throwIfFailed();
    await this.writeIndex(this.callOpts());
  }

  /**
   * After a cancellation: waits for the uploads already under way and indexes them, without
   * packing anything more, so the next run reuses what was stored.
   */
  async flushUploaded(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
    await this.writeIndex(undefined); // the run's signal has fired; this write must still happen
  }
}
