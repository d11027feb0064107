/**
 * @module node/blob-open-worker
 * Worker thread body for BlobOpenPool: authenticates, decrypts, decompresses and hash-checks the
 * blobs of one pack range (the same checks as repository/blob-loader's openBlob). With `writes`,
 * each sound blob is written (pwrite) to the restorer's open descriptors here, and only its
 * length goes back: plaintexts never cross threads (the main thread's garbage and copies).
 * Files whose every blob is in the job can be created here too (a negative descriptor in
 * `writes` names one of `complete`): opened at their first write, completed when all their blobs
 * were written, else left open and handed back for the restorer to retry and close.
 */
import * as fs from 'node:fs';
import { hash } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { open as openSealed } from '../core/crypto/sealed-box.js';
import type { CryptoKey } from '../core/format/types.js';
import type { Platform } from '../core/platform.js';
import { completeHandedOver, createPartialSync } from './fs-restore.js';
import { completionAt, COMPLETION_FIELDS, type PackedCompletions } from './blob-open-worker-messages.js';
import type { HandOverOutcome } from '../core/engine/restore/sink.js';
import { nodePlatform } from './platform.js';

export interface OpenInit {
  readonly type: 'init';
  readonly key: CryptoKey;
}
export interface OpenJob {
  readonly job: number;
  readonly range: Uint8Array;
  readonly blobs: readonly { id: string; at: number; length: number; uncompressedLength: number; packId: string }[];
  /**
   * Per blob, where to write it (descriptors of this process), flat: per blob a count, then that
   * many (fd, offset) pairs (numbers clone far cheaper than an object per target). Absent: send
   * plaintexts back.
   */
  readonly writes?: Float64Array;
  /**
   * Files to complete (close, real name, metadata) once every blob written to their descriptor here
   * was written (packCompletions). Entry i with descriptor -(i+1): a file to create here first.
   */
  readonly complete?: PackedCompletions;
}

/**
 * Per blob: the plaintext (not written), its length (written everywhere), or why it failed to
 * open (string). job -1: the worker failed.
 */
export interface OpenReply {
  readonly job: number;
  readonly results: (Uint8Array | string | number)[];
  /**
   * Per `complete` entry: the outcome, 0 for done without warnings, or null when not attempted (a
   * blob for it was not written here; for a file to create: never created); `{ adopt }` for a file
   * created here and left open (a blob for it was not written): its descriptor, now the restorer's.
   */
  readonly completed?: (HandOverOutcome | 0 | null | { readonly adopt: number })[];
}

/** Writes all of `data` at `offset`; false when the file system refused (the restorer retries and reports). */
function writeAll(fd: number, data: Uint8Array, offset: number): boolean {
  try {
    let done = 0;
    while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
    return true;
  } catch {
    return false;
  }
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
    const results: (Uint8Array | string | number)[] = [];
    const transfer: ArrayBuffer[] = [];
    const w = msg.writes;
    /** Descriptors some blob of this job was not written to: they stay open for the main thread. */
    const unwritten = new Set<number>();
    /** Files created here, by their negative number in `writes`: descriptor, or -1 when creating failed. */
    const created = new Map<number, number>();
    const fdOf = (x: number): number => {
      if (x >= 0) return x;
      let fd = created.get(x);
      if (fd === undefined) created.set(x, (fd = createPartialSync(completionAt(msg.complete!, -x - 1).spec.partial)));
      return fd;
    };
    let wo = 0;
    for (let i = 0; i < msg.blobs.length; i++) {
      const nTargets = w ? w[wo]! : 0;
      const first = wo + 1;
      if (w) wo = first + 2 * nTargets;
      const b = msg.blobs[i]!;
      const what = `data blob ${b.id} in pack ${b.packId}`;
      try {
        if (b.at + b.length > msg.range.length) throw new Error(`${what}: short read`);
        let plain = openSealed(p.crypto, key, msg.range.subarray(b.at, b.at + b.length), what);
        if (b.uncompressedLength > 0) plain = p.zstd.decompress(plain, { expectedSize: b.uncompressedLength });
        // One native call with native hex (no digest object, no JS hex loop per blob).
        if (hash('sha256', plain, 'hex') !== b.id) throw new Error(`${what}: plaintext does not match the blob ID (SHA-256 mismatch)`);
        if (w) {
          let ok = true;
          for (let t = first; t < wo && ok; t += 2) {
            const fd = fdOf(w[t]!);
            ok = fd >= 0 && writeAll(fd, plain, w[t + 1]!);
          }
          if (ok) {
            results.push(plain.length);
            continue;
          }
        }
        const own = plain.byteOffset === 0 && plain.byteLength === plain.buffer.byteLength && !transfer.includes(plain.buffer as ArrayBuffer) ? plain : plain.slice();
        results.push(own);
        transfer.push(own.buffer as ArrayBuffer);
      } catch (e) {
        results.push((e as Error).message);
      }
      if (w && typeof results[i] !== 'number') for (let t = first; t < wo; t += 2) unwritten.add(w[t]!);
    }
    let completed: NonNullable<OpenReply['completed']> | undefined;
    if (msg.complete) {
      completed = [];
      for (let i = 0; i < msg.complete.nums.length / COMPLETION_FIELDS; i++) {
        const c = completionAt(msg.complete, i);
        const fd = c.fd < 0 ? (created.get(c.fd) ?? -1) : c.fd;
        if (fd < 0) completed.push(null);
        else if (unwritten.has(c.fd)) completed.push(c.fd < 0 ? { adopt: fd } : null);
        else {
          const outcome = completeHandedOver(fd, c.spec);
          completed.push(outcome.done && outcome.warnings.length === 0 ? 0 : outcome);
        }
      }
    }
    parentPort!.postMessage({ job: msg.job, results, ...(completed ? { completed } : {}) } satisfies OpenReply, transfer);
  });
});
