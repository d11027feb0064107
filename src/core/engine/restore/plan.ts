/**
 * @module engine/restore/plan
 * Plans a restore's reads pack by pack (restic's approach): every data blob the selected files
 * need is looked up once, grouped by the pack that holds it, and each pack's needed blobs are
 * read in as few ranged reads as possible (neighbouring blobs merged into one read when the gap
 * between them is small), each read bounded in size so memory stays bounded. Each blob carries
 * the list of (file, offset) places it goes to, so a blob used by many files or many times in
 * one file is read and decrypted once.
 *
 * Packs are ordered by first use in file order, so the files of a folder complete close
 * together (few files open at once, metadata applied early). Pure: no I/O.
 */
import type { Id } from '../../format/types.js';
import { plaintextSize, type BlobLocation, type MasterIndex } from '../../repository/master-index.js';

/** Where one blob's plaintext goes. */
export interface BlobTarget {
  /** Index into the planned files. */
  readonly file: number;
  readonly offset: number;
}

export interface PlannedBlob {
  readonly id: Id;
  readonly loc: BlobLocation;
  readonly targets: BlobTarget[];
}

/** One ranged read of a pack: [offset, offset+length) holds `blobs`, in pack order. */
export interface PackRead {
  readonly packId: Id;
  readonly offset: number;
  readonly length: number;
  readonly blobs: readonly PlannedBlob[];
}

export interface FilePlan {
  /** Blob occurrences (a blob used twice in a file counts twice) still to be written. */
  readonly blobs: number;
  /** Plaintext size according to the index. */
  readonly size: number;
  /** The first blob of its content that is not in the index, if any (the file cannot be restored). */
  readonly missing?: Id;
}

export interface RestorePlan {
  readonly files: readonly FilePlan[];
  /** Reads in execution order. */
  readonly reads: readonly PackRead[];
  /** Sum of the read lengths (sealed bytes read from the repository). */
  readonly bytesRead: number;
}

export interface PlanOptions {
  /** Largest gap (bytes not needed) between two blobs read in one request. Default 1 MiB. */
  readonly maxGap?: number;
  /** Largest read; a single bigger blob is read alone. Default 8 MiB. */
  readonly maxRead?: number;
  /** Largest plaintext of one read's blobs together (compressible data inflates). Default 32 MiB. */
  readonly maxPlain?: number;
}

export const DEFAULT_MAX_GAP = 1024 * 1024;
export const DEFAULT_MAX_READ = 8 * 1024 * 1024;
export const DEFAULT_MAX_PLAIN = 32 * 1024 * 1024;

/** The distinct blobs a plan draws from, by number: ID and index location (undefined: not in the index). */
export interface BlobSource {
  readonly ids: readonly Id[];
  readonly locs: readonly (BlobLocation | undefined)[];
}

/** Plans the reads that fill files with the given content lists. */
export function planRestore(index: MasterIndex, contents: readonly (readonly Id[] | null | undefined)[], opts: PlanOptions = {}): RestorePlan {
  const ids: Id[] = [];
  const locs: (BlobLocation | undefined)[] = [];
  const byId = new Map<Id, number>();
  const numbered = contents.map((content) =>
    (content ?? []).map((id) => {
      let k = byId.get(id);
      if (k === undefined) {
        byId.set(id, (k = ids.length));
        ids.push(id);
        locs.push(index.lookup('data', id));
      }
      return k;
    }),
  );
  return planRestoreBlobs({ ids, locs }, numbered.length, (f) => numbered[f]!, opts);
}

/**
 * planRestore over blob numbers: file `f`'s content is `contentOf(f)`, numbers into `blobs` (each
 * blob's location looked up once by the caller, not once per use).
 */
export function planRestoreBlobs(blobs: BlobSource, fileCount: number, contentOf: (f: number) => ArrayLike<number>, opts: PlanOptions = {}): RestorePlan {
  const batch = new BatchPlanner(blobs, opts).plan(0, fileCount, contentOf);
  return { files: batch.files, reads: batch.reads, bytesRead: batch.bytesRead };
}

/** One batch of files planned by BatchPlanner: its files' plans and its new reads. */
export interface PlannedBatch {
  readonly files: FilePlan[];
  readonly reads: PackRead[];
  /** Sealed bytes this batch adds to the reads (its new reads, and earlier reads it extended). */
  readonly bytesRead: number;
}

/**
 * Plans a restore batch by batch (files in walk order), so the first reads can start while the
 * walk goes on. Within a batch, as planRestoreBlobs. Across batches each blob keeps exactly its
 * targets: a blob planned in an earlier batch whose read has not started gets the later files'
 * targets added to it (read once); one whose read has started (`start`) is planned again. A new
 * blob joins a read of its pack that has not started when it fits there (the same gap, size and
 * plaintext bounds), so a pack used on both sides of a batch boundary is still read as few times.
 */
export class BatchPlanner {
  /** By blob number: its planned blob and the read that holds it, while that read has not started. */
  private readonly planned: (PlannedBlob | undefined)[] = [];
  private readonly readOf: (PackRead | undefined)[] = [];
  private readonly started = new WeakSet<PackRead>();
  /** Per pack, its reads planned earlier (some may have started since). */
  private readonly packReads = new Map<Id, MutableRead[]>();
  private readonly maxGap: number;
  private readonly maxRead: number;
  private readonly maxPlain: number;

  constructor(
    private readonly blobs: BlobSource,
    opts: PlanOptions = {},
  ) {
    this.maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
    this.maxRead = opts.maxRead ?? DEFAULT_MAX_READ;
    this.maxPlain = opts.maxPlain ?? DEFAULT_MAX_PLAIN;
  }

  /** The read is being executed: its blobs' target lists are final from now on. */
  start(r: PackRead): void {
    this.started.add(r);
  }

  /**
   * Plans files `first`..`first + count - 1` (their numbers in the targets); `contentOf(f)` for
   * f in 0..count-1. Returns their plans (in order) and the batch's new reads in execution order.
   */
  plan(first: number, count: number, contentOf: (f: number) => ArrayLike<number>): PlannedBatch {
    const { blobs, planned, readOf } = this;
    // Numbers of the blobs of each pack new in this batch; Map keeps first-use order of packs.
    const packs = new Map<Id, number[]>();
    const files: FilePlan[] = [];
    for (let f = 0; f < count; f++) {
      const content = contentOf(f);
      let size = 0;
      let missing: Id | undefined;
      for (let i = 0; i < content.length; i++) {
        const loc = blobs.locs[content[i]!];
        if (!loc) {
          missing = blobs.ids[content[i]!];
          break;
        }
        size += plaintextSize(loc);
      }
      if (missing !== undefined) {
        files.push({ blobs: 0, size: 0, missing });
        continue;
      }
      let offset = 0;
      for (let i = 0; i < content.length; i++) {
        const k = content[i]!;
        const loc = blobs.locs[k]!;
        let blob = planned[k];
        const read = readOf[k];
        if (blob && read && this.started.has(read)) blob = undefined; // its targets are final: read it again
        if (!blob) {
          planned[k] = blob = { id: blobs.ids[k]!, loc, targets: [] };
          readOf[k] = undefined;
          let pack = packs.get(loc.packId);
          if (!pack) packs.set(loc.packId, (pack = []));
          pack.push(k);
        }
        blob.targets.push({ file: first + f, offset });
        offset += plaintextSize(loc);
      }
      files.push({ blobs: content.length, size });
    }

    const reads: PackRead[] = [];
    let bytesRead = 0;
    for (const [packId, numbers] of packs) {
      let sorted = numbers.sort((a, b) => blobs.locs[a]!.offset - blobs.locs[b]!.offset);
      let earlier = this.packReads.get(packId);
      if (earlier) {
        earlier = earlier.filter((r) => !this.started.has(r));
        if (earlier.length > 0) {
          this.packReads.set(packId, earlier);
          sorted = sorted.filter((k) => {
            const grown = this.join(earlier!, k);
            if (grown === undefined) return true;
            bytesRead += grown;
            return false;
          });
        } else this.packReads.delete(packId);
      }
      let group: number[] = [];
      let start = 0;
      let end = 0;
      let plain = 0;
      const emit = () => {
        if (group.length === 0) return;
        const read: MutableRead = { packId, offset: start, length: end - start, blobs: group.map((k) => planned[k]!), plain };
        for (const k of group) readOf[k] = read;
        let list = this.packReads.get(packId);
        if (!list) this.packReads.set(packId, (list = []));
        list.push(read);
        reads.push(read);
        bytesRead += end - start;
        group = [];
      };
      for (const k of sorted) {
        const loc = blobs.locs[k]!;
        const bStart = loc.offset;
        const bEnd = bStart + loc.length;
        const bPlain = plaintextSize(loc);
        if (group.length > 0 && (bStart - end > this.maxGap || bEnd - start > this.maxRead || plain + bPlain > this.maxPlain || bStart < end)) emit();
        if (group.length === 0) {
          start = bStart;
          plain = 0;
        }
        group.push(k);
        end = bEnd;
        plain += bPlain;
      }
      emit();
    }
    return { files, reads, bytesRead };
  }

  /** Adds new blob `k` to one of `reads` (same pack, not started) if it fits the bounds: the bytes that read grew by, or undefined. */
  private join(reads: MutableRead[], k: number): number | undefined {
    const loc = this.blobs.locs[k]!;
    const bStart = loc.offset;
    const bEnd = bStart + loc.length;
    const bPlain = plaintextSize(loc);
    for (const r of reads) {
      const start = Math.min(r.offset, bStart);
      const end = Math.max(r.offset + r.length, bEnd);
      if (end - start > this.maxRead || r.plain + bPlain > this.maxPlain) continue;
      if (bStart - (r.offset + r.length) > this.maxGap || r.offset - bEnd > this.maxGap) continue;
      // Its place in pack order; it must not overlap its neighbours.
      let j = r.blobs.length;
      while (j > 0 && r.blobs[j - 1]!.loc.offset > bStart) j--;
      const prev = r.blobs[j - 1];
      const next = r.blobs[j];
      if ((prev && prev.loc.offset + prev.loc.length > bStart) || (next && next.loc.offset < bEnd)) continue;
      r.blobs.splice(j, 0, this.planned[k]!);
      const grown = end - start - r.length;
      r.offset = start;
      r.length = end - start;
      r.plain += bPlain;
      this.readOf[k] = r;
      return grown;
    }
    return undefined;
  }
}

/** A read as the planner keeps it until it starts: it may still grow. */
interface MutableRead {
  readonly packId: Id;
  offset: number;
  length: number;
  readonly blobs: PlannedBlob[];
  plain: number;
}
