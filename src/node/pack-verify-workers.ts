/**
 * @module node/pack-verify-workers
 * `check --read-data`'s CPU work off the main thread: a pool of worker threads (one per core),
 * each verifying one whole pack at a time: SHA-256 of the pack, the header, and every blob's
 * Poly1305, AES-CTR, zstd and SHA-256. On a local repository the workers read the packs
 * themselves (`verifyStored`: the main thread only hands out names, no pack is allocated per
 * read or crosses threads); on any other backend the main thread reads each pack and transfers
 * it (`verify`). The main thread collects the findings, so both cores verify.
 */
import * as os from 'node:os';
import { Worker } from 'node:worker_threads';
import { describeHandle, type Backend } from '../core/backend/backend.js';
import type { PackVerifier, StoredPackVerifier } from '../core/engine/check/check.js';
import { CofferError } from '../core/errors.js';
import type { Id, PackedBlob } from '../core/format/types.js';
import type { Repository } from '../core/repository/repository.js';
import { localBackendOf, type LocalBackend } from './local-backend.js';
import { flattenEntries } from './pack-verify-worker-entries.js';
import type { VerifyInit, VerifyJob, VerifyReply } from './pack-verify-worker.js';

/**
 * The workers' young generation (V8's default grows to ~48 MiB). Per blob a worker allocates a
 * ciphertext-sized Buffer (node:crypto's CTR output) and a cipher object, all dead at once; a
 * small young generation frees them sooner: peak RSS −70 to −90 MiB on the bench corpus, CPU
 * unchanged (scavenges only copy the few survivors).
 */
const YOUNG_GENERATION_MB = 4;

/** A worker's own read of a pack failed (verifyStored then reads through the backend). */
class ReadFailed extends CofferError {}

interface Slot {
  readonly worker: Worker;
  busy: number;
  readonly pending: Map<number, (r: VerifyReply) => void>;
}

export class PackVerifyPool {
  private readonly slots: Slot[] = [];
  private next = 1;
  private failure: Error | undefined;
  private readonly backend: Backend;
  /** The local repository whose packs the workers read themselves, if it is one. */
  private readonly local: LocalBackend | undefined;

  constructor(repo: Repository, threads = Math.max(1, os.availableParallelism?.() ?? os.cpus().length)) {
    this.backend = repo.backend;
    this.local = localBackendOf(repo.backend);
    for (let i = 0; i < threads; i++) {
      const worker = new Worker(new URL('./pack-verify-worker.js', import.meta.url), { resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB } });
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

  /**
   * Packs in flight that keep every worker busy: with `verifyStored` two per worker (the next job
   * waits in the worker, only a name and the index entries); otherwise one per worker plus one
   * being read.
   */
  get readConcurrency(): number {
    return this.local ? this.slots.length * 2 : this.slots.length + 1;
  }

  /** check's hook for bytes read by the caller: verifies one pack in the least busy worker. */
  readonly verify: PackVerifier = (packId, bytes, indexed) => {
    // Transfer the pack when it owns its buffer; otherwise copy it.
    const own = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
    return this.run(packId, indexed, { bytes: own }, [own.buffer as ArrayBuffer]);
  };

  /**
   * check's hook when the workers read the packs (local repositories only, else undefined): the
   * worker reads the pack's file itself. When that read fails, the pack is read once more through
   * the repository's backend (its retries for transient errors, its own error when it fails too)
   * and verified from those bytes.
   */
  get verifyStored(): StoredPackVerifier | undefined {
    const local = this.local;
    if (!local) return undefined;
    return async (packId, indexed) => {
      const h = { type: 'data' as const, name: packId };
      try {
        return await this.run(packId, indexed, { file: { path: local.pathOf(h), what: describeHandle(h) } }, []);
      } catch (e) {
        if (!(e instanceof ReadFailed)) throw e;
        return this.verify(packId, await this.backend.get(h), indexed);
      }
    };
  }

  private run(packId: Id, indexed: readonly PackedBlob[], what: Pick<VerifyJob, 'bytes' | 'file'>, transfer: ArrayBuffer[]): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    const slot = this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const job = this.next++;
    slot.busy++;
    return new Promise<string[]>((resolve, reject) => {
      slot.pending.set(job, (r) => {
        slot.busy--;
        if (r.job === -1) return reject(this.failure ?? new CofferError('internal', 'pack verify worker failed'));
        if (r.failure !== undefined) return reject(new CofferError('internal', r.failure));
        if (r.readError) return reject(new ReadFailed(r.readError.code, r.readError.message));
        resolve(r.problems);
      });
      const flat = flattenEntries(indexed);
      if (flat) transfer.push(flat.nums.buffer as ArrayBuffer, flat.types.buffer as ArrayBuffer);
      slot.worker.postMessage({ job, packId, ...what, indexed: flat ?? indexed } satisfies VerifyJob, transfer);
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
    this.slots.length = 0;
  }
}
