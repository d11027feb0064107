/**
 * @module engine/backup/file-processor
 * How file content becomes blobs, as a port: the archiver asks a FileProcessor for a file's
 * chunks in order. The in-process implementation here reads, chunks and hashes on the calling
 * thread and leaves compression and encryption to the BlobSaver; the Node edge has a worker-pool
 * implementation (src/node/chunk-workers.ts) that also compresses and seals off the main thread,
 * so both cores work, and packs there too (the chunks it yields are then already stored: they
 * carry neither plaintext nor sealed bytes, and the saver knows their IDs as claimed).
 */
import type { CryptoSuite } from '../../crypto/suite.js';
import type { Id } from '../../format/types.js';
import type { BlobSaver } from '../../repository/blob-saver.js';
import type { MasterIndex } from '../../repository/master-index.js';
import { fileChunks } from './file-chunks.js';
import type { SourceFile, SourceItem } from './source.js';

/**
 * A chunk of a file: with `data` (the saver compresses, seals and packs it), with `sealed` (the
 * saver packs it), or with neither (already stored or claimed by the processor: `saver.save`
 * with its ID only finds it known).
 */
export interface ProcessedChunk {
  readonly id: Id;
  /** Plaintext length. */
  readonly size: number;
  /** Plaintext, when the saver still has to compress and seal it. */
  readonly data?: Uint8Array;
  /** Already sealed blob (compressed first when `uncompressedLength` > 0). */
  readonly sealed?: Uint8Array;
  readonly uncompressedLength?: number;
}

export interface FileProcessor {
  /** Chunks of a regular file in order. Source errors are CofferError 'source'. */
  chunks(item: SourceItem, open: () => Promise<SourceFile>): AsyncIterable<ProcessedChunk>;
  close?(): Promise<void>;
  /**
   * Called once before the first file with the run's saver and index, by processors that dedup
   * and pack themselves (they register as claims and as a pack producer on the saver).
   */
  attach?(saver: BlobSaver, index: MasterIndex): void;
}

export class InProcessFileProcessor implements FileProcessor {
  constructor(
    private readonly polynomial: bigint,
    private readonly crypto: CryptoSuite,
  ) {}

  async *chunks(item: SourceItem, open: () => Promise<SourceFile>): AsyncIterable<ProcessedChunk> {
    const file = await open();
    try {
      for await (const c of fileChunks(file, this.polynomial, this.crypto, item.meta.size ?? 0)) yield { id: c.id, size: c.data.length, data: c.data };
    } finally {
      await file.close().catch(() => undefined);
    }
  }
}
