/**
 * @module engine/backup/file-chunks
 * Reads a file and cuts it into content-defined chunks (spec §15), yielding each chunk's bytes
 * and ID in file order. Boundaries do not depend on the read size; reads overlap with the
 * chunking of the previous block.
 */
import { Chunker } from '../../chunker/chunker.js';
import { concatBytes, toHex } from '../../bytes.js';
import type { CryptoSuite } from '../../crypto/suite.js';
import type { Id } from '../../format/types.js';
import type { SourceFile } from './source.js';

export interface Chunk {
  readonly id: Id;
  readonly data: Uint8Array;
}

const READ_SIZE = 4 * 1024 * 1024;

/**
 * `expectedSize` (from lstat) sizes the read buffers: most files are small, and allocating
 * 4 MiB for each would drown the garbage collector. A file that grew is still read completely.
 */
export async function* fileChunks(file: SourceFile, polynomial: bigint, crypto: CryptoSuite, expectedSize = READ_SIZE): AsyncGenerator<Chunk> {
  const chunker = new Chunker(polynomial);
  let pieces: Uint8Array[] = [];
  let remaining = expectedSize;
  // +1 so that the end of a file of exactly the expected size is seen in the same read.
  const nextSize = () => Math.max(4096, Math.min(READ_SIZE, remaining + 1));
  let buf = new Uint8Array(nextSize());
  let n = await file.read(buf, 0, buf.length);
  while (n > 0) {
    remaining -= n;
    // Start the next read before chunking this block, so disk and CPU overlap.
    const nextBuf = new Uint8Array(nextSize());
    const nextRead = file.read(nextBuf, 0, nextBuf.length);
    try {
      let start = 0;
      while (start < n) {
        const cut = chunker.next(buf, start, n);
        if (cut < 0) {
          pieces.push(buf.subarray(start, n));
          break;
        }
        pieces.push(buf.subarray(start, cut));
        const data = pieces.length === 1 ? pieces[0]! : concatBytes(...pieces);
        pieces = [];
        yield { id: toHex(crypto.sha256(data)), data };
        start = cut;
      }
    } catch (e) {
      await nextRead.catch(() => undefined);
      throw e;
    }
    buf = nextBuf;
    n = await nextRead;
  }
  if (pieces.length > 0) {
    const data = concatBytes(...pieces);
    yield { id: toHex(crypto.sha256(data)), data };
  }
}
