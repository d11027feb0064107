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
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
  const maxRead = opts.maxRead ?? DEFAULT_MAX_READ;
  const maxPlain = opts.maxPlain ?? DEFAULT_MAX_PLAIN;
  // Blobs of each pack; Map keeps first-use order of packs.
  const packs = new Map<Id, PlannedBlob[]>();
  const planned: (PlannedBlob | undefined)[] = new Array(blobs.ids.length);
  const files: FilePlan[] = [];
  for (let f = 0; f < fileCount; f++) {
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
      if (!blob) {
        planned[k] = blob = { id: blobs.ids[k]!, loc, targets: [] };
        let pack = packs.get(loc.packId);
        if (!pack) packs.set(loc.packId, (pack = []));
        pack.push(blob);
      }
      blob.targets.push({ file: f, offset });
      offset += plaintextSize(loc);
    }
    files.push({ blobs: content.length, size });
  }

  const reads: PackRead[] = [];
  let bytesRead = 0;
  for (const [packId, packBlobs] of packs) {
    const sorted = packBlobs.sort((a, b) => a.loc.offset - b.loc.offset);
    let group: PlannedBlob[] = [];
    let start = 0;
    let end = 0;
    let plain = 0;
    const emit = () => {
      if (group.length === 0) return;
      reads.push({ packId, offset: start, length: end - start, blobs: group });
      bytesRead += end - start;
      group = [];
    };
    for (const b of sorted) {
      const bStart = b.loc.offset;
      const bEnd = bStart + b.loc.length;
      const bPlain = plaintextSize(b.loc);
      if (group.length > 0 && (bStart - end > maxGap || bEnd - start > maxRead || plain + bPlain > maxPlain || bStart < end)) emit();
      if (group.length === 0) {
        start = bStart;
        plain = 0;
      }
      group.push(b);
      end = bEnd;
      plain += bPlain;
    }
    emit();
  }
  return { files, reads, bytesRead };
}
