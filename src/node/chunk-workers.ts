/**
 * @module node/chunk-workers
 * A FileProcessor that runs reading, chunking, hashing, dedup, compression, encryption and
 * packing in worker threads (one file per worker at a time), so a backup uses every core while
 * the main thread walks, uploads the finished packs and indexes them. Each worker has up to 32
 * files queued (balanced by bytes, so big files spread over the workers), so it never waits for
 * the main thread between files, and jobs and replies travel in batches.
 *
 * Dedup is exact across threads: a shared claim table (node/chunk-claims.ts), filled with the
 * index's data blobs when the workers start, decides which thread stores a new blob; the saver
 * uses the same table for the blobs it still packs itself. Per file only the chunk IDs and
 * sizes come back (the chunks are already stored, or being stored in a worker's open pack);
 * packs come back whole, one transfer per ~16 MiB, and are freed as soon as they are stored
 * (not when the main isolate next collects). Before the saver writes its last index it
 * flushes the workers' open packs (the pool is a PackProducer), so every blob a snapshot names
 * is uploaded, and indexed only after its pack is stored. Without `attach` (no saver) the
 * workers seal each new chunk and send it, as the main thread's dedup and packing expect.
 */
import * as os from 'node:os';
import { MessageChannel, Worker } from 'node:worker_threads';
import { CofferError } from '../core/errors.js';
import type { FileProcessor, ProcessedChunk } from '../core/engine/backup/file-processor.js';
import type { SourceItem } from '../core/engine/backup/source.js';
import type { BlobSaver, PackProducer } from '../core/repository/blob-saver.js';
import type { MasterIndex } from '../core/repository/master-index.js';
import type { Repository } from '../core/repository/repository.js';
import { ClaimTable } from './chunk-claims.js';
import type { WorkerFileJob, WorkerFlush, WorkerInit, WorkerJobs, WorkerPart, WorkerReply } from './chunk-worker.js';

/**
 * Sealed chunks (at most 8 MiB each) a worker may send ahead of the consumer, over all its
 * queued files: only when there is no claim table or it is full. Parts with IDs only are small
 * and need no credit.
 */
const CREDITS = 4;
/** Finished packs per worker transferred and not yet uploaded. */
const PACK_CREDITS = 2;
/**
 * Files queued on one worker at once. More than one, so a worker starts its next file right
 * after the last without waiting for a round trip through the main thread (with many small
 * files that round trip, not the work, set the pace: both workers were idle half the time).
 */
const JOBS_PER_WORKER = 2;
/**
 * With worker-side packing a queued file costs the main thread nothing but its slot, so the
 * queues are deep: replies (and jobs) then leave in batches, one message for many small files.
 */
const JOBS_PER_WORKER_PACKING = 32;

interface Slot {
  readonly worker: Worker;
  readonly credits: Int32Array;
  /** Receivers of the messages of the files queued on this worker, by job number. */
  readonly jobs: Map<number, (r: WorkerReply) => void>;
  dead: boolean;
  /** Resolves the pending flush of this worker. */
  flushed?: () => void;
  /** Jobs queued this turn, posted together. */
  outbox: WorkerFileJob[];
  /** Files queued on this worker and their bytes (to balance big files). */
  queued: number;
  bytes: number;
}

type PartReply = WorkerPart;

export class ChunkWorkerPool implements FileProcessor, PackProducer {
  private readonly slots: Slot[] = [];
  private readonly waiting: { size: number; resolve: (s: Slot) => void }[] = [];
  private nextJob = 1;
  private failure: Error | undefined;

  private started = false;
  private saver: BlobSaver | undefined;
  private index: MasterIndex | undefined;
  /** Packs handed to the saver whose upload is not yet under way. */
  private readonly handing = new Set<Promise<void>>();
  /** A worker was stopped mid-file: blobs it claimed may never have been stored. */
  private lost = false;

  constructor(
    private readonly repo: Repository,
    private readonly threads = Math.max(1, (os.availableParallelism?.() ?? os.cpus().length)),
    /** New blobs the claim table has room for beyond the index's (tests make it small). */
    private readonly claimHeadroom?: number,
  ) {}

  attach(saver: BlobSaver, index: MasterIndex): void {
    this.saver = saver;
    this.index = index;
    saver.addProducer(this);
  }

  /** A claim table with every data blob of the index, shared with the saver. */
  private claimTable(): ClaimTable | undefined {
    if (!this.saver || !this.index) return undefined;
    const index = this.index;
    // Filled from the index's own ID bytes: no blob list, object or hex string per blob.
    const t = ClaimTable.create(index.dataBlobCount, this.claimHeadroom);
    index.forEachDataDigest((d) => t.claimDigest(d));
    this.saver.useClaims(t);
    return t;
  }

  /**
   * Workers start with the first file to read: an unchanged re-backup reads none, and each
   * worker costs a V8 isolate and a crypto/zstd setup (about 0.2 CPU-seconds each here).
   */
  private start(): void {
    this.started = true;
    const repo = this.repo;
    const level = repo.dataCompressionLevel;
    const claims = this.claimTable();
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(new URL('./chunk-worker.js', import.meta.url));
      const sab = new SharedArrayBuffer(8);
      const slot: Slot = { worker, credits: new Int32Array(sab), jobs: new Map(), dead: false, outbox: [], queued: 0, bytes: 0 };
      Atomics.store(slot.credits, 0, CREDITS);
      Atomics.store(slot.credits, 1, PACK_CREDITS);
      const init: WorkerInit = {
        type: 'init',
        key: repo.key,
        polynomial: repo.config.chunkerPolynomial.toString(16),
        level: level ?? null,
        credits: sab,
        packSize: repo.packSize,
        ...(claims ? { claims: claims.buffers } : {}),
      };
      worker.postMessage(init);
      worker.on('message', (r: WorkerReply) => {
        if (r.type === 'pack') this.takePack(slot, r);
        else if (r.type === 'parts') for (const p of r.parts) slot.jobs.get(p.job)?.(p);
        else if (r.type === 'flushed') slot.flushed?.();
        else slot.jobs.get(r.job)?.(r);
      });
      worker.on('error', (e) => {
        this.failure = e;
        slot.flushed?.();
        for (const deliver of slot.jobs.values()) deliver({ type: 'error', job: -1, message: `worker failed: ${e.message}` });
      });
      this.slots.push(slot);
    }
  }

  /** Hands a worker's finished pack to the saver; the worker gets its pack credit back after the upload. */
  private takePack(slot: Slot, r: WorkerReply & { type: 'pack' }): void {
    const giveBack = (stored: boolean) => {
      if (stored) release(r.bytes);
      Atomics.add(slot.credits, 1, 1);
      Atomics.notify(slot.credits, 1);
    };
    const handed = this.saver!.addPack({ id: r.id, bytes: r.bytes, blobs: r.blobs }, r.plain, giveBack).catch((e: unknown) => {
      this.failure ??= e instanceof Error ? e : new Error(String(e));
    });
    this.handing.add(handed);
    void handed.finally(() => this.handing.delete(handed));
  }

  /** PackProducer: the workers finish their open packs; resolves once each is with the saver. */
  async flush(): Promise<void> {
    const waits = this.slots
      .filter((s) => !s.dead)
      .map(
        (s) =>
          new Promise<void>((resolve) => {
            s.flushed = resolve;
            s.worker.postMessage({ type: 'flush' } satisfies WorkerFlush);
          }),
      );
    await Promise.all(waits);
    while (this.handing.size > 0) await Promise.all([...this.handing]);
    if (this.failure) throw this.failure;
    if (this.lost) throw new CofferError('internal', 'a chunk worker was stopped before its packs were stored');
  }

  /** Files the archiver should have in flight: enough to keep every worker's queue full. */
  get fileConcurrency(): number {
    return this.threads * JOBS_PER_WORKER_PACKING + 2;
  }

  /** The live worker with the fewest queued bytes (then files), if one has room. */
  private pick(): Slot | undefined {
    const room = this.saver ? JOBS_PER_WORKER_PACKING : JOBS_PER_WORKER;
    let best: Slot | undefined;
    for (const s of this.slots) {
      if (s.dead || s.queued >= room) continue;
      if (!best || s.bytes < best.bytes || (s.bytes === best.bytes && s.queued < best.queued)) best = s;
    }
    return best;
  }

  private reserve(s: Slot, size: number): Slot {
    s.queued++;
    s.bytes += size;
    return s;
  }

  /** Queues a job; the jobs queued in one turn of the event loop leave in one message. */
  private post(slot: Slot, job: WorkerFileJob): void {
    slot.outbox.push(job);
    if (slot.outbox.length > 1) return;
    setImmediate(() => {
      const jobs = slot.outbox;
      slot.outbox = [];
      if (!slot.dead) slot.worker.postMessage({ type: 'files', jobs } satisfies WorkerJobs);
    });
  }

  /** A worker for a file of `size` bytes, its place reserved at once. */
  private acquire(size: number): Promise<Slot> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.started) this.start();
    const s = this.pick();
    if (s) return Promise.resolve(this.reserve(s, size));
    return new Promise((resolve) => this.waiting.push({ size, resolve }));
  }

  private release(s: Slot, job: number, size: number): void {
    s.jobs.delete(job);
    s.queued--;
    s.bytes -= size;
    for (let free; this.waiting.length > 0 && (free = this.pick()); ) {
      const w = this.waiting.shift()!;
      w.resolve(this.reserve(free, w.size));
    }
  }

  async *chunks(item: SourceItem): AsyncIterable<ProcessedChunk> {
    const size = item.meta.size ?? 0;
    const slot = await this.acquire(size);
    const job = this.nextJob++;
    const inbox: WorkerReply[] = [];
    let wake: (() => void) | undefined;
    slot.jobs.set(job, (r) => {
      inbox.push(r);
      wake?.();
    });
    const raw = item.rawPath;
    const msg: WorkerFileJob = { type: 'file', job, path: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1'), size: item.meta.size ?? 0 };
    this.post(slot, msg);
    let finished = false;
    try {
      for (;;) {
        if (inbox.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const r = inbox.shift()!;
        if (r.type === 'error') {
          finished = true;
          if (r.job === -1) throw new CofferError('internal', r.message);
          throw new CofferError('source', `${item.path}: ${systemErrorText(r.message)}`);
        }
        const part = r as PartReply;
        if (part.sealed) {
          // Give the worker one more credit for the sealed chunk taken.
          Atomics.add(slot.credits, 0, 1);
          Atomics.notify(slot.credits, 0);
        }
        // The file is done once its last part is here: the consumer may stop after it.
        if (part.last) finished = true;
        const n = part.sizes.length;
        for (let i = 0; i < n; i++) {
          const id = part.ids.slice(i * 64, i * 64 + 64);
          if (i === n - 1 && part.sealed) yield { id, size: part.sizes[i]!, sealed: part.sealed, uncompressedLength: part.uncompressedLength ?? 0 };
          else yield { id, size: part.sizes[i]! };
        }
        if (part.last) return;
      }
    } finally {
      if (finished || slot.dead) this.release(slot, job, size);
      else this.abandon(slot, job);
    }
  }

  /**
   * A consumer stopped mid-file: the worker is still busy with it (its credits are off), so it
   * is retired; files queued behind on it fail (this only happens when the backup is failing or
   * cancelled anyway).
   */
  private abandon(slot: Slot, job: number): void {
    slot.dead = true;
    if (this.saver) this.lost = true;
    slot.jobs.delete(job);
    void slot.worker.terminate();
    const i = this.slots.indexOf(slot);
    if (i >= 0) this.slots.splice(i, 1);
    for (const deliver of slot.jobs.values()) deliver({ type: 'error', job: -1, message: 'worker retired after an interrupted file' });
    slot.jobs.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}

/**
 * Frees a pack's memory now instead of at the main isolate's next full GC: the buffer is
 * detached by transferring it into a message that is then dropped unread. Without this, every
 * ~16 MiB pack counted as external memory until collected, which forced a full GC of the main
 * heap about every second pack and kept hundreds of MiB of dead packs in RSS. Only once the
 * backend's put resolved (one caveat: an attempt the timeout layer gave up on, whose retry then
 * succeeded, may in theory still have a local write pending in the thread pool).
 */
function release(bytes: Uint8Array): void {
  const { port1, port2 } = new MessageChannel();
  port1.postMessage(null, [bytes.buffer as ArrayBuffer]);
  port1.close();
  port2.close();
}

/** "EACCES: permission denied, open '/x'" -> "permission denied": the path is already named. */
function systemErrorText(message: string): string {
  return /^[A-Z][A-Z0-9]+: (.*?)(?:, \w+ '.*')?$/s.exec(message)?.[1] ?? message;
}
