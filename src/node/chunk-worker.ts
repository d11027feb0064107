/**
 * @module node/chunk-worker
 * Worker thread body for ChunkWorkerPool: reads one file at a time (synchronously: this thread
 * has nothing else to do), cuts it into chunks, hashes, compresses and seals each chunk, and
 * posts the sealed blobs to the main thread. Flow control: a shared credit counter; the worker
 * blocks (Atomics.wait) when the main thread has not yet taken its earlier chunks, so memory
 * stays bounded whatever the file size.
 */
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { concatBytes, toHex } from '../core/bytes.js';
import { Chunker } from '../core/chunker/chunker.js';
import { seal } from '../core/crypto/sealed-box.js';
import type { CryptoKey } from '../core/format/types.js';
import type { Platform } from '../core/platform.js';
import { nodePlatform } from './platform.js';

export interface WorkerInit {
  readonly type: 'init';
  readonly key: CryptoKey;
  readonly polynomial: string; // hex
  /** zstd level for data blobs, or null for none (repository v1 or --compression off). */
  readonly level: number | null;
  /** Int32Array over a SharedArrayBuffer: [credits]. */
  readonly credits: SharedArrayBuffer;
}

export interface WorkerFileJob {
  readonly type: 'file';
  readonly job: number;
  /** Raw path bytes as a latin1 string (cheaper to post than a typed array). */
  readonly path: string;
  /** Size from lstat, to size the read buffers. */
  readonly size: number;
}

export type WorkerReply =
  /** `last`: the file's final chunk (no separate 'end' follows): one message per small file. */
  | { type: 'chunk'; job: number; id: string; size: number; sealed: Uint8Array; uncompressedLength: number; last: boolean }
  | { type: 'end'; job: number }
  | { type: 'error'; job: number; message: string; errno?: string };

const READ_SIZE = 4 * 1024 * 1024;

let platform: Platform;
let init: WorkerInit;
let credits: Int32Array;

function takeCredit(): void {
  for (;;) {
    const c = Atomics.load(credits, 0);
    if (c > 0) {
      if (Atomics.compareExchange(credits, 0, c, c - 1) === c) return;
      continue;
    }
    Atomics.wait(credits, 0, c, 1000);
  }
}

/** The file's latest chunk, held back until the next one (or the end) so the last can say so. */
let held: (WorkerReply & { type: 'chunk' }) | undefined;

function post(last: boolean): void {
  const msg = held!;
  held = undefined;
  takeCredit();
  parentPort!.postMessage({ ...msg, last }, [msg.sealed.buffer as ArrayBuffer]);
}

function emit(job: number, data: Uint8Array): void {
  const id = toHex(platform.crypto.sha256(data));
  const compress = init.level !== null && data.length > 0;
  const body = compress ? platform.zstd.compress(data, init.level!) : data;
  const sealed = seal(platform.crypto, init.key, body);
  // Transfer the buffer when the blob owns it entirely; otherwise copy.
  const own = sealed.byteOffset === 0 && sealed.byteLength === sealed.buffer.byteLength ? sealed : sealed.slice();
  if (held) post(false);
  held = { type: 'chunk', job, id, size: data.length, sealed: own, uncompressedLength: compress ? data.length : 0, last: false };
}

function processFile(job: WorkerFileJob): void {
  let fd: number;
  try {
    fd = fs.openSync(Buffer.from(job.path, 'latin1'), 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    parentPort!.postMessage({ type: 'error', job: job.job, message: err.message, ...(err.code ? { errno: err.code } : {}) } satisfies WorkerReply);
    return;
  }
  try {
    const chunker = new Chunker(BigInt('0x' + init.polynomial));
    let pieces: Uint8Array[] = [];
    let pendingBytes = 0;
    // Buffers sized by the expected size: most files are small, 4 MiB each would drown the GC.
    let remaining = job.size;
    for (;;) {
      const buf = new Uint8Array(Math.max(4096, Math.min(READ_SIZE, remaining + 1)));
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      remaining -= n;
      let start = 0;
      while (start < n) {
        const cut = chunker.next(buf, start, n);
        const end = cut < 0 ? n : cut;
        pieces.push(buf.subarray(start, end));
        pendingBytes += end - start;
        if (cut < 0) break;
        const data = pieces.length === 1 ? pieces[0]! : concatBytes(...pieces);
        pieces = [];
        pendingBytes = 0;
        emit(job.job, data);
        start = cut;
      }
    }
    if (pendingBytes > 0) emit(job.job, pieces.length === 1 ? pieces[0]! : concatBytes(...pieces));
    if (held) post(true);
    else parentPort!.postMessage({ type: 'end', job: job.job } satisfies WorkerReply);
  } catch (e) {
    held = undefined; // a read error ends the file: chunks not yet sent are dropped with it
    const err = e as NodeJS.ErrnoException;
    parentPort!.postMessage({ type: 'error', job: job.job, message: err.message, ...(err.code ? { errno: err.code } : {}) } satisfies WorkerReply);
  } finally {
    fs.closeSync(fd);
  }
}


const queue: WorkerFileJob[] = [];
let ready = false;

parentPort!.on('message', (msg: WorkerInit | WorkerFileJob) => {
  if (msg.type === 'init') {
    init = msg;
    credits = new Int32Array(msg.credits);
    void nodePlatform().then((p) => {
      platform = p;
      ready = true;
      for (const j of queue.splice(0)) processFile(j);
    });
  } else if (ready) processFile(msg);
  else queue.push(msg);
});
