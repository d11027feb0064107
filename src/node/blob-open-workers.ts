/**
 * @module node/blob-open-workers
 * Restore's CPU work off the main thread: a pool of worker threads (one per core) that take one
 * planned pack range each (transferred, not copied) and return its blobs authenticated,
 * decrypted, decompressed and hash-checked (transferred back). The main thread keeps reading
 * ranges and writing files meanwhile. A blob that fails comes back as an error message; the
 * restorer then falls back to its other copies (blob-loader) and reports it as before.
 * With direct writes the workers pwrite plaintexts into the restored files themselves, and
 * complete (close, rename, ownership, mode, times) the files whose last blobs they wrote, and
 * create the files whose every blob is in their read, so both cores share a restore's per-file
 * system calls.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BlobOpener, OpenedRange } from '../core/engine/restore/restorer.js';
import type { PlannedBlob } from '../core/engine/restore/plan.js';
import { CofferError } from '../core/errors.js';
import type { Repository } from '../core/repository/repository.js';
import type { OpenInit, OpenJob, OpenReply } from './blob-open-worker.js';
import { packCompletions, packWrites } from './blob-open-worker-messages.js';
import type { HandOverOutcome } from '../core/engine/restore/sink.js';
import type { HandOverSpec } from './fs-restore.js';

const DONE: HandOverOutcome = { done: true, warnings: [] };

interface Slot {
  readonly worker: Worker;
  busy: number;
  readonly pending: Map<number, (r: OpenReply) => void>;
}

interface Queued {
  readonly msg: OpenJob;
  readonly transfer: ArrayBuffer[];
  readonly done: (r: OpenReply) => void;
}

export class BlobOpenPool {
  private readonly slots: Slot[] = [];
  private next = 1;
  private failure: Error | undefined;
  /**
   * Jobs not given to a worker yet: each goes to the first worker that is free (assigning at
   * submission could queue a job behind a long one while the other worker idles).
   */
  private readonly queue: Queued[] = [];

  constructor(repo: Repository, threads = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    for (let i = 0; i < threads; i++) {
      // The workers close descriptors the main thread opened (files they complete): untracked, or
      // Node warns on every such close.
      const worker = new Worker(new URL('./blob-open-worker.js', import.meta.url), { trackUnmanagedFds: false });
      const slot: Slot = { worker, busy: 0, pending: new Map() };
      worker.postMessage({ type: 'init', key: repo.key } satisfies OpenInit);
      worker.on('message', (r: OpenReply) => {
        const done = slot.pending.get(r.job);
        slot.pending.delete(r.job);
        slot.busy--;
        this.pump();
        done?.(r);
      });
      worker.on('error', (e) => {
        this.failure = e;
        for (const done of slot.pending.values()) done({ job: -1, results: [] });
        slot.pending.clear();
        for (const q of this.queue.splice(0)) q.done({ job: -1, results: [] });
      });
      this.slots.push(slot);
    }
  }

  /** Gives queued jobs to free workers. */
  private pump(): void {
    while (this.queue.length > 0 && !this.failure) {
      const slot = this.slots.find((s) => s.busy === 0);
      if (!slot) return;
      const q = this.queue.shift()!;
      slot.busy++;
      slot.pending.set(q.msg.job, q.done);
      slot.worker.postMessage(q.msg, q.transfer);
    }
  }

  /** The restorer's hook: opens every blob of one read. */
  readonly open: BlobOpener = (range, rangeOffset, blobs, writes, complete) => {
    if (this.failure) return Promise.reject(this.failure);
    const job = this.next++;
    // Transfer the range when it owns its buffer; otherwise copy it.
    const own = range.byteOffset === 0 && range.byteLength === range.buffer.byteLength ? range : range.slice();
    const msg: OpenJob = {
      job,
      range: own,
      blobs: blobs.map((b: PlannedBlob) => ({ id: b.id, at: b.loc.offset - rangeOffset, length: b.loc.length, uncompressedLength: b.loc.uncompressedLength, packId: b.loc.packId })),
      ...(writes ? { writes: packWrites(writes) } : {}),
      ...(writes && complete ? { complete: packCompletions(complete as { fd: number; spec: HandOverSpec }[]) } : {}),
    };
    return new Promise<OpenedRange>((resolve, reject) => {
      const done = (r: OpenReply) => {
        if (r.job === -1) return reject(this.failure ?? new CofferError('internal', 'blob worker failed'));
        resolve({
          blobs: r.results.map((x) => (typeof x === 'string' ? new CofferError('corrupt', x) : x)),
          ...(r.completed ? { completed: r.completed.map((c) => (c === 0 ? DONE : c === null ? undefined : 'adopt' in c ? c.adopt : c)) } : {}),
        });
      };
      this.queue.push({ msg, transfer: [own.buffer as ArrayBuffer], done });
      this.pump();
    });
  };

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
