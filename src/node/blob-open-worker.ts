/**
 * @module node/blob-open-worker
 * Worker thread body for BlobOpenPool: authenticates, decrypts, decompresses and hash-checks the
 * blobs of one pack range (the same checks as repository/blob-loader's openBlob).
 */
import { parentPort } from 'node:worker_threads';
import { toHex } from '../core/bytes.js';
import { open as openSealed } from '../core/crypto/sealed-box.js';
import type { CryptoKey } from '../core/format/types.js';
import type { Platform } from '../core/platform.js';
import { nodePlatform } from './platform.js';

export interface OpenInit {
  readonly type: 'init';
  readonly key: CryptoKey;
}
export interface OpenJob {
  readonly job: number;
  readonly range: Uint8Array;
  readonly blobs: readonly { id: string; at: number; length: number; uncompressedLength: number; packId: string }[];
}
/** Per blob: the plaintext, or why it failed. job -1: the worker failed. */
export interface OpenReply {
  readonly job: number;
  readonly results: (Uint8Array | string)[];
}

let platform: Promise<Platform> | undefined;
let key: CryptoKey;

parentPort!.on('message', (msg: OpenInit | OpenJob) => {
  if ('type' in msg) {
    key = msg.key;
    platform = nodePlatform();
    return;
  }
  void platform!.then((p) => {
    const results: (Uint8Array | string)[] = [];
    const transfer: ArrayBuffer[] = [];
    for (const b of msg.blobs) {
      const what = `data blob ${b.id} in pack ${b.packId}`;
      try {
        if (b.at + b.length > msg.range.length) throw new Error(`${what}: short read`);
        let plain = openSealed(p.crypto, key, msg.range.subarray(b.at, b.at + b.length), what);
        if (b.uncompressedLength > 0) plain = p.zstd.decompress(plain, { expectedSize: b.uncompressedLength });
        if (toHex(p.crypto.sha256(plain)) !== b.id) throw new Error(`${what}: plaintext does not match the blob ID (SHA-256 mismatch)`);
        const own = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength && !transfer.includes(plain.buffer as ArrayBuffer) ? plain : plain.slice();
        results.push(own);
        transfer.push(own.buffer as ArrayBuffer);
      } catch (e) {
        results.push((e as Error).message);
      }
    }
    parentPort!.postMessage({ job: msg.job, results } satisfies OpenReply, transfer);
  });
});
