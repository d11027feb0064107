/**
 * @module node/chunk-workers
 * A FileProcessor that runs reading, chunking, hashing, compression and encryption in worker
 * threads (one file per worker at a time), so a backup uses every core while the main thread
 * deduplicates, packs and uploads. Each worker has up to two files queued, so it never waits for
 * the main thread between files. Chunks come back in file order, already sealed; chunks the
 * repository already has are simply dropped by the BlobSaver.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { CofferError } from '../core/errors.js';
import type { FileProcessor, ProcessedChunk } from '../core/engine/backup/file-processor.js';
import type { SourceItem } from '../core/engine/backup/source.js';
import type { Repository } from '../core/repository/repository.js';
import type { WorkerFileJob, WorkerInit, WorkerReply } from './chunk-worker.js';

/** Chunks a worker may send ahead of the consumer (each at most 8 MiB), over all its queued files. */
const CREDITS = 4;
/**
 * Files queued on one worker at once. More than one, so a worker starts its next file right
 * after the last without waiting for a round trip through the main thread (with many small
 * files that round trip, not the work, set the pace: both workers were idle half the time).
 */
const JOBS_PER_WORKER = 2;

interface Slot {
  readonly worker: Worker;
  readonly credits: Int32Array;
  /** Receivers of the messages of the files queued on this worker, by job number. */
  readonly jobs: Map<number, (r: WorkerReply) => void>;
  dead: boolean;
}

export class ChunkWorkerPool implements FileProcessor {
  private readonly slots: Slot[] = [];
  private readonly waiting: ((s: Slot) => void)[] = [];
  private nextJob = 1;
  private failure: Error | undefined;

  private started = false;

  constructor(
    private readonly repo: Repository,
    private readonly threads = Math.max(1, (os.availableParallelism?.() ?? os.cpus().length)),
  ) {}

  /**
   * Workers start with the first file to read: an unchanged re-backup reads none, and each
   * worker costs a V8 isolate and a crypto/zstd setup (about 0.2 CPU-seconds each here).
   */
  private start(): void {
    this.started = true;
    const repo = this.repo;
    const level = repo.dataCompressionLevel;
    for (let i = 0; i < this.threads; i++) {
      const worker = new Worker(new URL('./chunk-worker.js', import.meta.url));
      const sab = new SharedArrayBuffer(4);
      const slot: Slot = { worker, credits: new Int32Array(sab), jobs: new Map(), dead: false };
      Atomics.store(slot.credits, 0, CREDITS);
      const init: WorkerInit = {
        type: 'init',
        key: repo.key,
        polynomial: repo.config.chunkerPolynomial.toString(16),
        level: level ?? null,
        credits: sab,
      };
      worker.postMessage(init);
      worker.on('message', (r: WorkerReply) => slot.jobs.get(r.job)?.(r));
      worker.on('error', (e) => {
        this.failure = e;
        for (const deliver of slot.jobs.values()) deliver({ type: 'error', job: -1, message: `worker failed: ${e.message}` });
      });
      this.slots.push(slot);
    }
  }

  /** The live worker with the fewest queued files, if one has room. */
  private pick(): Slot | undefined {
    let best: Slot | undefined;
    for (const s of this.slots) if (!s.dead && s.jobs.size < JOBS_PER_WORKER && (!best || s.jobs.size < best.jobs.size)) best = s;
    return best;
  }

  private acquire(): Promise<Slot> {
    if (this.failure) return Promise.reject(this.failure);
    if (!this.started) this.start();
    const s = this.pick();
    if (s) return Promise.resolve(s);
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(s: Slot, job: number): void {
    s.jobs.delete(job);
    const free = this.waiting.length > 0 ? this.pick() : undefined;
    if (free) this.waiting.shift()!(free);
  }

  async *chunks(item: SourceItem): AsyncIterable<ProcessedChunk> {
    const slot = await this.acquire();
    const job = this.nextJob++;
    const inbox: WorkerReply[] = [];
    let wake: (() => void) | undefined;
    slot.jobs.set(job, (r) => {
      inbox.push(r);
      wake?.();
    });
    const raw = item.rawPath;
    const msg: WorkerFileJob = { type: 'file', job, path: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1'), size: item.meta.size ?? 0 };
    slot.worker.postMessage(msg);
    let finished = false;
    try {
      for (;;) {
        if (inbox.length === 0) await new Promise<void>((r) => (wake = r));
        wake = undefined;
        const r = inbox.shift()!;
        if (r.type === 'end') {
          finished = true;
          return;
        }
        if (r.type === 'error') {
          finished = true;
          if (r.job === -1) throw new CofferError('internal', r.message);
          throw new CofferError('source', `${item.path}: ${systemErrorText(r.message)}`);
        }
        // Give the worker one more credit for the chunk taken.
        Atomics.add(slot.credits, 0, 1);
        Atomics.notify(slot.credits, 0);
        // The file is done once its last chunk is here: the consumer may stop after it.
        if (r.last) finished = true;
        yield { id: r.id, size: r.size, sealed: r.sealed, uncompressedLength: r.uncompressedLength };
        if (r.last) return;
      }
    } finally {
      if (finished || slot.dead) this.release(slot, job);
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

/** "EACCES: permission denied, open '/x'" -> "permission denied": the path is already named. */
function systemErrorText(message: string): string {
  return /^[A-Z][A-Z0-9]+: (.*?)(?:, \w+ '.*')?$/s.exec(message)?.[1] ?? message;
}
