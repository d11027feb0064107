/**
 * @module repository/blob-loader
 * Reading one blob (spec §10.6): ranged read from its pack, authenticate, decompress, and check
 * SHA-256(plaintext) == blob ID. When a blob is stored in several packs, a damaged copy falls
 * back to the next one; if none works the error names the blob and the pack. A copy that fails
 * its check is read once more first (dropping a cached pack), as a bit may flip in transit.
 */
import type { CallOpts } from '../backend/backend.js';
import { CofferError, corrupt, isCofferError } from '../errors.js';
import type { BlobType, Id } from '../format/types.js';
import type { BlobLocation, MasterIndex } from './master-index.js';
import type { PackCache } from './pack-cache.js';
import type { Repository } from './repository.js';

/** Decrypts, decompresses and verifies one sealed blob already read from its pack. */
export function openBlob(repo: Repository, type: BlobType, id: Id, loc: BlobLocation, sealed: Uint8Array): Uint8Array {
  const what = `${type} blob ${id} in pack ${loc.packId}`;
  if (sealed.length !== loc.length) throw corrupt(what, `read ${sealed.length} bytes, expected ${loc.length}`);
  let plain = repo.open(sealed, what);
  if (loc.uncompressedLength > 0) {
    plain = repo.platform.zstd.decompress(plain, { expectedSize: loc.uncompressedLength });
  }
  if (repo.sha256Hex(plain) !== id) throw corrupt(what, 'plaintext does not match the blob ID (SHA-256 mismatch)');
  return plain;
}

export interface LoadBlobOptions extends CallOpts {
  /** Read small packs whole and keep them (for tree walks). */
  readonly cache?: PackCache;
}

export async function loadBlob(repo: Repository, index: MasterIndex, type: BlobType, id: Id, o?: LoadBlobOptions): Promise<Uint8Array> {
  const locations = index.lookupAll(type, id);
  if (locations.length === 0) {
    throw new CofferError('corrupt', `${type} blob ${id} is not in the index (the repository is incomplete; try "check")`);
  }
  let lastError: unknown;
  for (const loc of locations) {
    let damaged: Uint8Array | undefined;
    for (let attempt = 0; attempt < 2; attempt++) {
      let sealed: Uint8Array | undefined;
      try {
        sealed = await readSealed(repo, loc, damaged, o);
        return openBlob(repo, type, id, loc, sealed);
      } catch (e) {
        if (!isCofferError(e) || !['corrupt', 'not-found', 'range'].includes(e.code)) throw e;
        lastError = e;
        // Only a damaged answer is worth a second read; a missing pack or range stays missing.
        if (e.code !== 'corrupt' || !sealed) break;
        damaged = sealed;
      }
    }
  }
  if (isCofferError(lastError, 'corrupt')) throw lastError;
  throw corrupt(`${type} blob ${id}`, `cannot be read from pack ${locations[0]!.packId}: ${(lastError as Error).message}`, lastError);
}

/** The sealed bytes of one blob: from the pack cache when it holds the pack, else a ranged read. */
async function readSealed(repo: Repository, loc: BlobLocation, damaged: Uint8Array | undefined, o?: LoadBlobOptions): Promise<Uint8Array> {
  if (damaged) o?.cache?.drop(loc.packId, damaged);
  return (
    (await o?.cache?.read(loc.packId, loc.offset, loc.length, o)) ??
    (await repo.backend.get({ type: 'data', name: loc.packId }, { offset: loc.offset, length: loc.length }, o))
  );
}
