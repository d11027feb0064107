/**
 * @module node/pack-verify-workers
 * `check --read-data`'s CPU work off the main thread: a pool of worker threads (one per core),
 * each verifying one whole pack at a time (transferred, not copied): SHA-256 of the pack, the
 * header, and every blob's Poly1305, AES-CTR, zstd and SHA-256. The main thread only reads packs
 * and collects the findings, so both cores verify (it was one core doing all of it).
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import type { PackVerifier } from '../core/engine/check/check.js';
import { CofferError } from '../core/errors.js';
import type { Repository } from '../core/repository/repository.js';
import type { VerifyInit, VerifyJob, VerifyReply } from './pack-verify-worker.js';

interface Slot {
  readonly worker: Worker;
  busy: number;
  readonly pending: Map<number, (r: VerifyReply) => void>;
}

export class PackVerifyPool {
  private readonly slots: Slot[] = [];
  private next = 1;
  private failure: Error | undefined;

  constructor(repo: Repository, threads = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./pack-verify-worker.js', import.meta.url));
      const slot: Slot = { worker, busy: 0, pending: new Map() };
      worker.postMessage({ type: 'init', key: repo.key, keyId: repo.keyId, config: repo.config } satisfies VerifyInit);
      worker.on('message', (r: VerifyReply) => {
        const done = slot.pending.get(r.job);
        slot.pending.delete(r.job);
        done?.(r);
      });
      worker.on('error', (e) => {
        this.failure = e;
        for (const done of slot.pending.values()) done({ job: -1, problems: [] });
        slot.pending.clear();
      });
      this.slots.push(slot);
    }
  }

  /** Reads in flight that keep every worker busy: one per worker plus one being read. */
  get readConcurrency(): number {
    return this.slots.length + 1;
  }

  /** check's hook: verifies one pack in the least busy worker. */
  readonly verify: PackVerifier = (packId, bytes, indexed) => {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const job = this.next++;
    // Transfer the pack when it owns its buffer; otherwise copy it.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    slot.busy++;
    return new Promise<string[]>((resolve, reject) => {
      slot.pending.set(job, (r) => {
        slot.busy--;
        if (r.job === -1) return reject(this.failure ?? new CofferError('internal', 'pack verify worker failed'));
        if (r.failure !== undefined) return reject(new CofferError('internal', r.failure));
        resolve(r.problems);
      });
      slot.worker.postMessage({ job, packId, bytes: own, indexed } satisfies VerifyJob, [own.buffer as ArrayBuffer]);
    });
  };

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
