/**
 * @module repository/pack-cache
 * Keeps whole small packs in memory so that reading many blobs of one pack costs one request
 * (tree packs: a walk over thousands of folders otherwise makes thousands of small reads, each a
 * round trip on remote storage). Bounded in bytes, least recently used first out; concurrent
 * requests for the same pack share one read. Blobs read through it are still authenticated and
 * hash-checked one by one by the blob loader, which drops a pack whose blob failed its check and
 * reads it again once (a bit flipped in transit must not stay cached for the whole walk).
 */
import type { CallOpts } from '../backend/backend.js';
import { expectedPackSize } from '../format/pack-header.js';
import type { Id } from '../format/types.js';
import type { MasterIndex } from './master-index.js';
import type { Repository } from './repository.js';

/** Packs larger than this are read blob by blob. */
const MAX_CACHED_PACK = 32 * 1024 * 1024;

export class PackCache {
  private readonly packs = new Map<Id, Promise<Uint8Array>>();
  private readonly sizes = new Map<Id, number>();
  /** The bytes each cached read resolved to (to tell which read a damaged blob came from). */
  private readonly resolved = new Map<Id, Uint8Array>();
  private bytes = 0;

  constructor(
    private readonly repo: Repository,
    private readonly index: MasterIndex,
    private readonly maxBytes = 64 * 1024 * 1024,
  ) {}

  /** The sealed bytes [offset, offset+length) of a pack, or undefined when the pack is too big to cache. */
  async read(packId: Id, offset: number, length: number, o?: CallOpts): Promise<Uint8Array | undefined> {
    let p = this.packs.get(packId);
    if (p) {
      // Refresh its place in the LRU order.
      this.packs.delete(packId);
      this.packs.set(packId, p);
    } else {
      const blobs = this.index.packBlobs(packId);
      if (!blobs) return undefined;
      const size = expectedPackSize(blobs);
      if (size > MAX_CACHED_PACK || size > this.maxBytes) return undefined;
      p = this.repo.backend.get({ type: 'data', name: packId }, undefined, o);
      this.packs.set(packId, p);
      this.sizes.set(packId, size);
      this.bytes += size;
      const read = p;
      read.then(
        (bytes) => {
          if (this.packs.get(packId) === read) this.resolved.set(packId, bytes);
        },
        () => {
          if (this.packs.get(packId) === read) this.forget(packId);
        },
      );
      this.evict();
    }
    const pack = await p;
    if (offset + length > pack.length) return undefined; // shorter than the index says: let the loader report it
    return pack.subarray(offset, offset + length);
  }

  /**
   * Forgets a pack whose read was damaged (`damaged`: bytes read from it), so that the next read
   * fetches it again. A pack already read again since is kept: concurrent readers of one bad
   * pack cause one new read, not one each.
   */
  drop(packId: Id, damaged: Uint8Array): void {
    if (this.resolved.get(packId)?.buffer === damaged.buffer) this.forget(packId);
  }

  private forget(packId: Id): void {
    if (this.packs.delete(packId)) this.bytes -= this.sizes.get(packId) ?? 0;
    this.sizes.delete(packId);
    this.resolved.delete(packId);
  }

  private evict(): void {
    for (const id of this.packs.keys()) {
      if (this.bytes <= this.maxBytes || this.packs.size <= 1) break;
      this.forget(id);
    }
  }
}
