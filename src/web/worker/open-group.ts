/**
 * @module web/worker/open-group
 * One planned read of a download (session.ts readPlan): the pack range fetched in one request,
 * then every blob in it decrypted and hashed by WebCrypto ahead of the core's own `openBlob`,
 * which verifies the MAC, decompresses and checks the SHA-256 against the blob ID as always
 * (prepared-suite.ts). Used by the session worker itself and by its openers (opener.ts): the
 * same code, so the same checks, wherever a read runs. A CofferError means "this fast path
 * could not open it": the caller retries through the core's loader, which reports properly.
 */
import { openBlob } from '../../core/repository/blob-loader.js';
import type { BlobLocation } from '../../core/repository/master-index.js';
import type { Repository } from '../../core/repository/repository.js';
import type { Id } from '../../core/format/types.js';
import type { Platform } from '../../core/platform.js';
import { webPlatform } from '../../core/platform-web.js';
import { PreparedSuite, PreparedZstd } from './prepared-suite.js';

export interface PackRead {
  readonly packId: string;
  readonly offset: number;
  readonly length: number;
  readonly blobs: readonly { readonly id: Id; readonly loc: BlobLocation }[];
}

/** Whether `repo` runs on the prepared suite (openGroup's precondition). */
export function canOpenGroups(repo: Repository): boolean {
  return repo.platform.crypto instanceof PreparedSuite && repo.platform.zstd instanceof PreparedZstd;
}

/**
 * Opens every blob of read `g`. With `plainBuffer` (the read's length), decryptions go there
 * instead of into new buffers: the caller may reuse it once this returned, and a returned blob
 * that is a view of it (one stored uncompressed) must be copied out before that.
 */
export async function openGroup(repo: Repository, g: PackRead, read: (packId: string, offset: number, length: number) => Promise<Uint8Array>, plainBuffer?: Uint8Array): Promise<Uint8Array[]> {
  const suite = repo.platform.crypto as PreparedSuite;
  const zstd = repo.platform.zstd as PreparedZstd;
  const all = await read(g.packId, g.offset, g.length);
  const at = (b: PackRead['blobs'][number], buf: Uint8Array, edge: number): Uint8Array => buf.subarray(b.loc.offset - g.offset + edge, b.loc.offset - g.offset + b.loc.length - edge);
  const sealed = g.blobs.map((b) => at(b, all, 0));
  // WebCrypto is asynchronous: prepare the whole read at once. A blob stored uncompressed is
  // decrypted into a new buffer of its own (sent as it is, not copied out of plainBuffer);
  // plainBuffer takes only the frames left to the zstd library.
  const into = (b: PackRead['blobs'][number]): Uint8Array | undefined => (plainBuffer && b.loc.uncompressedLength > 0 && b.loc.length >= 32 ? at(b, plainBuffer, 16) : undefined);
  await Promise.all(g.blobs.map((b, i) => suite.prepare(repo.key, sealed[i]!, b.loc.uncompressedLength, zstd, into(b))));
  return g.blobs.map((b, i) => openBlob(repo, 'data', b.id, b.loc, sealed[i]!));
}

/** The core's web platform with the prepared suite (WebCrypto for file bytes, see prepared-suite.ts). */
export async function preparedPlatform(): Promise<Platform & { crypto: PreparedSuite; zstd: PreparedZstd }> {
  const web = await webPlatform();
  return { crypto: new PreparedSuite(), zstd: new PreparedZstd(web.zstd) };
}
