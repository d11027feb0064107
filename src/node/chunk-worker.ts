/**
 * @module node/chunk-worker
 * Worker thread body for ChunkWorkerPool: reads one file at a time (synchronously: this thread
 * has nothing else to do), cuts it into chunks and hashes each. A chunk whose ID it claims first
 * in the shared claim table (node/chunk-claims.ts) is compressed, sealed and added to one of the
 * worker's own two open data packs (chosen at random per blob, as restic 0.18 does); a finished
 * pack is sealed, hashed and transferred whole to the main thread, which uploads and indexes it.
 * A chunk already known (in the index, or claimed by any thread) costs only its hash. The main
 * thread gets, per file, the list of chunk IDs and sizes, batched: the parts of the files done
 * since the last batch leave together when the worker has drained its queued jobs (or 32 piled
 * up), so a queue of small files costs one message, not one per file.
 *
 * Without a claim table (or when it is full) a new chunk is sealed here and sent to the main
 * thread with the file's IDs, which dedups and packs it as before.
 *
 * Flow control: shared counters; the worker blocks (Atomics.wait) when the main thread has not
 * yet taken its earlier messages ([0]) or uploaded its earlier packs ([1]), so memory stays
 * bounded whatever the file size.
 */
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';
import { toHex } from '../core/bytes.js';
import { Chunker, MAX_SIZE } from '../core/chunker/chunker.js';
import { SEAL_OVERHEAD, seal, sealInto } from '../core/crypto/sealed-box.js';
import type { CryptoKey, PackedBlob } from '../core/format/types.js';
import type { Platform } from '../core/platform.js';
import { PackBuilder } from '../core/repository/pack-builder.js';
import { CLAIM_KNOWN, CLAIM_NEW, ClaimTable, type ClaimBuffers } from './chunk-claims.js';
import { nodePlatform } from './platform.js';

export interface WorkerInit {
  readonly type: 'init';
  readonly key: CryptoKey;
  readonly polynomial: string; // hex
  /** zstd level for data blobs, or null for none (repository v1 or --compression off). */
  readonly level: number | null;
  /** Int32Array over a SharedArrayBuffer: [message credits, pack credits]. */
  readonly credits: SharedArrayBuffer;
  /** Shared claim table: new chunks are packed here. Absent: every new chunk goes to the main thread sealed. */
  readonly claims?: ClaimBuffers;
  readonly packSize: number;
}

export interface WorkerFileJob {
  readonly type: 'file';
  readonly job: number;
  /** Raw path bytes as a latin1 string (cheaper to post than a typed array). */
  readonly path: string;
  /** Size from lstat, to size the read buffers. */
  readonly size: number;
}

export interface WorkerFlush {
  readonly type: 'flush';
}

/** Several file jobs in one message (the main thread batches what it queued in one turn). */
export interface WorkerJobs {
  readonly type: 'files';
  readonly jobs: readonly WorkerFileJob[];
}

export type WorkerPart = { type: 'part'; job: number; ids: string; sizes: number[]; last: boolean; sealed?: Uint8Array; uncompressedLength?: number };

export type WorkerReply =
  /**
   * Chunks of a file in order: `ids` is their hex IDs back to back (64 characters each). With
   * `sealed`, the part's last chunk was not packed here: its sealed blob (compressed first when
   * `uncompressedLength` > 0). `last`: the file's final part.
   */
  | WorkerPart
  /** Parts without sealed chunks, of one or more files, in order. */
  | { type: 'parts'; parts: WorkerPart[] }
  | { type: 'error'; job: number; message: string; errno?: string }
  /** A finished data pack (its buffer transferred) and the plaintext bytes of its blobs. */
  | { type: 'pack'; id: string; bytes: Uint8Array; blobs: readonly PackedBlob[]; plain: number }
  | { type: 'flushed' };

const READ_SIZE = 4 * 1024 * 1024;
/**
 * One read buffer for the whole run: a chunk not yet cut (at most MAX_SIZE) is moved to its
 * start before the next read, so every chunk is one contiguous view and no file allocates.
 * Pages a small file never reaches are never touched.
 */
const readBuf = new Uint8Array(MAX_SIZE + READ_SIZE);

/**
 * zstd straight into one reused buffer through zstd-napi's context (the platform compressor
 * returns a fresh exact-size copy per blob: two more allocations and a copy per chunk). Falls
 * back to the platform compressor when the addon is missing.
 */
interface ZstdInto {
  compress(dst: Uint8Array, src: Uint8Array, level: number): number;
}
let zstdInto: { ctx: ZstdInto; out: Uint8Array } | undefined;
function loadZstdInto(): void {
  try {
    const b = createRequire(import.meta.url)('zstd-napi/binding') as { compressBound(n: number): number; CCtx: new () => ZstdInto };
    zstdInto = { ctx: new b.CCtx(), out: new Uint8Array(b.compressBound(MAX_SIZE)) };
  } catch {
    zstdInto = undefined;
  }
}
/** A part is sent when this many chunks piled up (a huge file's ID list stays bounded). */
const PART_CHUNKS = 4096;

let platform: Platform;
let init: WorkerInit;
let credits: Int32Array;
let claims: ClaimTable | undefined;
let polynomial: bigint;
const packs: [PackBuilder, PackBuilder] = [undefined!, undefined!];
const packPlain = [0, 0];

function takeCredit(index: 0 | 1): void {
  for (;;) {
    const c = Atomics.load(credits, index);
    if (c > 0) {
      if (Atomics.compareExchange(credits, index, c, c - 1) === c) return;
      continue;
    }
    Atomics.wait(credits, index, c, 1000);
  }
}

/** Random bits for the pack choice, drawn 2048 at a time. */
let bits: Uint8Array = new Uint8Array(0);
let bitAt = 0;
function randomBit(): 0 | 1 {
  if (bitAt >= bits.length * 8) {
    bits = platform.crypto.randomBytes(256);
    bitAt = 0;
  }
  const bit = (bits[bitAt >> 3]! >> (bitAt & 7)) & 1;
  bitAt++;
  return bit as 0 | 1;
}

function finishPack(slot: 0 | 1): void {
  const b = packs[slot];
  if (b.count === 0) return;
  const plain = packPlain[slot]!;
  packs[slot] = new PackBuilder('data', init.packSize + 1024 * 1024);
  packPlain[slot] = 0;
  const p = b.finish(
    (x) => seal(platform.crypto, init.key, x),
    (x) => toHex(platform.crypto.sha256(x)),
  );
  takeCredit(1);
  parentPort!.postMessage({ type: 'pack', id: p.id, bytes: p.bytes, blobs: p.blobs, plain } satisfies WorkerReply, [p.bytes.buffer as ArrayBuffer]);
}

/** Finishes both open packs (merged first when they fit in one). */
function flushPacks(): void {
  const [a, b] = packs;
  if (a.size + b.size < init.packSize) {
    a.absorb(b);
    packPlain[0]! += packPlain[1]!;
    packPlain[1] = 0;
  }
  finishPack(0);
  finishPack(1);
}

/** The chunk as stored before sealing: compressed (into the reused buffer) when due. */
function chunkBody(data: Uint8Array): Uint8Array {
  if (init.level === null || data.length === 0) return data;
  if (zstdInto && data.length <= MAX_SIZE) return zstdInto.out.subarray(0, zstdInto.ctx.compress(zstdInto.out, data, init.level));
  return platform.zstd.compress(data, init.level);
}

function sealChunk(data: Uint8Array): { sealed: Uint8Array; uncompressedLength: number } {
  const body = chunkBody(data);
  return { sealed: seal(platform.crypto, init.key, body), uncompressedLength: body === data ? 0 : data.length };
}

/** The current file's chunks not yet posted. */
let ids = '';
let sizes: number[] = [];

/** Parts waiting to leave in one message. */
let outbox: WorkerPart[] = [];
let outboxScheduled = false;
const OUTBOX_PARTS = 32;

function flushOutbox(): void {
  outboxScheduled = false;
  if (outbox.length === 0) return;
  const parts = outbox;
  outbox = [];
  parentPort!.postMessage({ type: 'parts', parts } satisfies WorkerReply);
}

function postPart(job: number, last: boolean, tail?: { sealed: Uint8Array; uncompressedLength: number }): void {
  const msg: WorkerPart = { type: 'part', job, ids, sizes, last };
  ids = '';
  sizes = [];
  if (!tail) {
    outbox.push(msg);
    if (outbox.length >= OUTBOX_PARTS) flushOutbox();
    else if (!outboxScheduled) {
      // After the jobs already queued on this thread's port (delivered before the check phase).
      outboxScheduled = true;
      setImmediate(flushOutbox);
    }
    return;
  }
  // A sealed chunk: after the parts before it, alone, against a credit (it holds up to 8 MiB).
  flushOutbox();
  takeCredit(0);
  // Transfer the buffer when the blob owns it entirely; otherwise copy.
  const s = tail.sealed;
  const own = s.byteOffset === 0 && s.byteLength === s.buffer.byteLength ? s : s.slice();
  parentPort!.postMessage({ ...msg, sealed: own, uncompressedLength: tail.uncompressedLength }, [own.buffer as ArrayBuffer]);
}

function emit(job: number, data: Uint8Array): void {
  const digest = platform.crypto.sha256(data);
  const id = toHex(digest);
  ids += id;
  sizes.push(data.length);
  const r = claims ? claims.claimDigest(digest) : -1;
  if (r === CLAIM_KNOWN) {
    // stored already, or being stored by another thread
  } else if (r === CLAIM_NEW) {
    // Sealed straight into its pack: no box of its own, one copy (the cipher's output) at most.
    const body = chunkBody(data);
    const slot = randomBit();
    const b = packs[slot];
    const length = body.length + SEAL_OVERHEAD;
    sealInto(platform.crypto, init.key, body, b.room(length), b.size);
    b.commit(id, length, body === data ? 0 : data.length);
    packPlain[slot]! += data.length;
    if (b.size >= init.packSize) finishPack(slot);
  } else {
    postPart(job, false, sealChunk(data));
    return;
  }
  if (sizes.length >= PART_CHUNKS) postPart(job, false);
}

function postError(job: number, e: unknown): void {
  flushOutbox();
  const err = e as NodeJS.ErrnoException;
  parentPort!.postMessage({ type: 'error', job, message: err.message, ...(err.code ? { errno: err.code } : {}) } satisfies WorkerReply);
}

function processFile(job: WorkerFileJob): void {
  let fd: number;
  try {
    fd = fs.openSync(Buffer.from(job.path, 'latin1'), 'r');
  } catch (e) {
    postError(job.job, e);
    return;
  }
  try {
    const chunker = new Chunker(polynomial);
    const buf = readBuf;
    // buf[chunkStart, filled) is the chunk being cut; the chunker has seen it up to `filled`.
    let chunkStart = 0;
    let filled = 0;
    let total = 0;
    for (;;) {
      if (buf.length - filled < READ_SIZE) {
        buf.copyWithin(0, chunkStart, filled);
        filled -= chunkStart;
        chunkStart = 0;
      }
      // One read for a file that fits (+1 to see its end), at most READ_SIZE.
      const want = Math.min(READ_SIZE, Math.max(4096, job.size + 1));
      const n = fs.readSync(fd, buf, filled, want, null);
      if (n === 0) break;
      total += n;
      let at = filled;
      filled += n;
      while (at < filled) {
        const cut = chunker.next(buf, at, filled);
        if (cut < 0) break;
        emit(job.job, buf.subarray(chunkStart, cut));
        chunkStart = at = cut;
      }
      // A short read that completes the size lstat gave is the end of a regular file: save the
      // read that would return 0 (one system call per file).
      if (n < want && total === job.size) break;
    }
    if (filled > chunkStart) emit(job.job, buf.subarray(chunkStart, filled));
    postPart(job.job, true);
  } catch (e) {
    // A read error ends the file: its IDs not yet sent are dropped with it (blobs already
    // packed stay stored, unreferenced, which is harmless).
    ids = '';
    sizes = [];
    postError(job.job, e);
  } finally {
    fs.closeSync(fd);
  }
}

function handle(msg: WorkerJobs | WorkerFlush): void {
  if (msg.type === 'files') for (const j of msg.jobs) processFile(j);
  else {
    flushPacks();
    flushOutbox();
    parentPort!.postMessage({ type: 'flushed' } satisfies WorkerReply);
  }
}

const queue: (WorkerJobs | WorkerFlush)[] = [];
let ready = false;

parentPort!.on('message', (msg: WorkerInit | WorkerJobs | WorkerFlush) => {
  if (msg.type === 'init') {
    init = msg;
    credits = new Int32Array(msg.credits);
    claims = msg.claims ? new ClaimTable(msg.claims) : undefined;
    polynomial = BigInt('0x' + msg.polynomial);
    loadZstdInto();
    packs[0] = new PackBuilder('data', msg.packSize + 1024 * 1024);
    packs[1] = new PackBuilder('data', msg.packSize + 1024 * 1024);
    void nodePlatform().then((p) => {
      platform = p;
      ready = true;
      for (const j of queue.splice(0)) handle(j);
    });
  } else if (ready) handle(msg);
  else queue.push(msg);
});
