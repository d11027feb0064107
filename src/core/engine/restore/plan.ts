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

/** Plans the reads that fill files with the given content lists. */
export function planRestore(index: MasterIndex, contents: readonly (readonly Id[] | null | undefined)[], opts: PlanOptions = {}): RestorePlan {
  const maxGap = opts.maxGap ?? DEFAULT_MAX_GAP;
  const maxRead = opts.maxRead ?? DEFAULT_MAX_READ;
  const maxPlain = opts.maxPlain ?? DEFAULT_MAX_PLAIN;
  // packId -> blobId -> planned blob; Map keeps first-use order of packs.
  const packs = new Map<Id, Map<Id, PlannedBlob>>();
  const files: FilePlan[] = [];
  for (let f = 0; f < contents.length; f++) {
    const content = contents[f] ?? [];
    let offset = 0;
    let missing: Id | undefined;
    const places: [Id, BlobLocation, number][] = [];
    for (const id of content) {
      const loc = index.lookup('data', id);
      if (!loc) {
        missing = id;
        break;
      }
      places.push([id, loc, offset]);
      offset += plaintextSize(loc);
    }
    if (missing !== undefined) {
      files.push({ blobs: 0, size: 0, missing });
      continue;
    }
    for (const [id, loc, at] of places) {
      let pack = packs.get(loc.packId);
      if (!pack) packs.set(loc.packId, (pack = new Map()));
      let blob = pack.get(id);
      if (!blob) pack.set(id, (blob = { id, loc, targets: [] }));
      blob.targets.push({ file: f, offset: at });
    }
    files.push({ blobs: places.length, size: offset });
  }

  const reads: PackRead[] = [];
  let bytesRead = 0;
  for (const [packId, blobs] of packs) {
    const sorted = [...blobs.values()].sort((a, b) => a.loc.offset - b.loc.offset);
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
