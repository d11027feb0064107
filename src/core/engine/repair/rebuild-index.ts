/**
 * @module engine/repair/rebuild-index
 * `repair index` (restic's rebuild-index): a new set of index files built from what is really
 * stored. Index entries of packs that exist with the size their entries imply are kept (unless
 * `readAllPacks`); every other pack's own header is read. Damaged packs are reported and left
 * out; entries for packs that no longer exist are dropped.
 *
 * Ordering (§20): the new index files are written completely before any old one is deleted, so
 * the repository stays readable by restic at every instant.
 */
import { forEachLimit } from '../../async.js';
import type { CallOpts } from '../../backend/backend.js';
import { CofferError, isCofferError } from '../../errors.js';
import { decodeIndex, encodeIndex } from '../../format/index-file.js';
import { expectedPackSize } from '../../format/pack-header.js';
import type { Id, IndexPack, PackedBlob } from '../../format/types.js';
import type { Repository } from '../../repository/repository.js';
import { readPackHeader } from '../check/pack-file.js';

/** restic starts a new index file after this many blobs. */
const MAX_BLOBS_PER_INDEX = 50_000;

export interface RebuildIndexOptions {
  /** Read every pack's header, also of packs the old index describes correctly. */
  readonly readAllPacks?: boolean;
  readonly signal?: AbortSignal;
}

export interface RebuildIndexEvents {
  onWarning?(message: string): void;
  onProgress?(done: number, total: number): void;
}

export interface RebuildIndexResult {
  /** Packs in the new index. */
  readonly packs: number;
  /** Packs whose header was read. */
  readonly packsRead: number;
  /** Packs left out because their header is damaged. */
  readonly damagedPacks: { readonly id: Id; readonly reason: string }[];
  /** Packs the old index listed that do not exist. */
  readonly missingPacks: Id[];
  readonly oldIndexFiles: Id[];
  readonly newIndexFiles: Id[];
}

function isFinding(e: unknown): e is CofferError {
  return isCofferError(e) && ['corrupt', 'not-found', 'range', 'unsupported'].includes(e.code);
}

export async function rebuildIndex(repo: Repository, opts: RebuildIndexOptions = {}, events: RebuildIndexEvents = {}): Promise<RebuildIndexResult> {
  const o: CallOpts | undefined = opts.signal ? { signal: opts.signal } : undefined;
  const warn = (m: string) => events.onWarning?.(m);

  // What the old index says, from every file that can still be read.
  const oldIndexFiles = await repo.listIds('index', o);
  const known = new Map<Id, readonly PackedBlob[]>();
  if (!opts.readAllPacks) {
    await forEachLimit(oldIndexFiles, Math.max(2, repo.backend.connections * 2), async (id) => {
      try {
        const file = decodeIndex(await repo.loadUnpacked('index', id, o), `index/${id}`);
        for (const p of file.packs) if (!known.has(p.id)) known.set(p.id, p.blobs);
      } catch (e) {
        if (!isFinding(e)) throw e;
        warn(`index file ${e.message}: ignored, its packs are read again`);
      }
    });
  }

  const stored = new Map<Id, number>();
  for await (const f of repo.list('data', o)) stored.set(f.name, f.size);

  const packs = new Map<Id, readonly PackedBlob[]>();
  const toRead: Id[] = [];
  for (const [id, size] of stored) {
    const blobs = known.get(id);
    if (blobs && expectedPackSize(blobs) === size) packs.set(id, blobs);
    else toRead.push(id);
  }
  const missingPacks = [...known.keys()].filter((id) => !stored.has(id)).sort();
  for (const id of missingPacks) warn(`pack ${id}: listed in the index but does not exist; removed from the index`);

  const damagedPacks: { id: Id; reason: string }[] = [];
  let done = 0;
  toRead.sort();
  events.onProgress?.(0, toRead.length);
  await forEachLimit(toRead, Math.max(2, repo.backend.connections * 2), async (id) => {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
    try {
      packs.set(id, await readPackHeader(repo, id, stored.get(id)!, o));
    } catch (e) {
      if (!isFinding(e)) throw e;
      damagedPacks.push({ id, reason: e.message });
      warn(`pack ${id}: damaged, left out of the index: ${e.message.replace(`pack ${id}: `, '')}`);
    }
    done++;
    events.onProgress?.(done, toRead.length);
  });
  damagedPacks.sort((a, b) => (a.id < b.id ? -1 : 1));

  // Write the new index files: all blobs of a pack in one file.
  const newIndexFiles: Id[] = [];
  let batch: IndexPack[] = [];
  let blobs = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    newIndexFiles.push(await repo.saveUnpacked('index', encodeIndex({ packs: batch }), o));
    batch = [];
    blobs = 0;
  };
  for (const id of [...packs.keys()].sort()) {
    const list = packs.get(id)!;
    if (blobs > 0 && blobs + list.length > MAX_BLOBS_PER_INDEX) await flush();
    batch.push({ id, blobs: list });
    blobs += list.length;
  }
  await flush();

  // Only now remove the old ones (never one that happens to share a new file's name).
  const keep = new Set(newIndexFiles);
  for (const id of oldIndexFiles) {
    if (keep.has(id)) continue;
    await repo.backend.delete({ type: 'index', name: id }, o).catch((e) => {
      if (!isCofferError(e, 'not-found')) throw e;
    });
  }

  return { packs: packs.size, packsRead: toRead.length, damagedPacks, missingPacks, oldIndexFiles, newIndexFiles };
}
