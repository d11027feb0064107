/**
 * @module web/app/worker-client
 * The page's side of the worker protocol: typed calls returning promises. The worker is created
 * at unlock and terminated at lock (which drops the keys with it).
 */
import type { WorkerEnvelope, WorkerReply, WorkerRequest, WorkerResults } from '../protocol.js';

export class WorkerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export class WorkerClient {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();

  constructor() {
    this.worker = new Worker(new URL('../worker/worker.js', import.meta.url), { type: 'module', name: 'coffer' });
    this.worker.onmessage = (e: MessageEvent<WorkerReply>) => {
      const w = this.waiting.get(e.data.id);
      if (!w) return;
      this.waiting.delete(e.data.id);
      if (e.data.ok) w.resolve(e.data.value);
      else w.reject(new WorkerError(e.data.error.code, e.data.error.message));
    };
    this.worker.onerror = (e) => {
      for (const w of this.waiting.values()) w.reject(new WorkerError('internal', e.message || 'the worker failed'));
      this.waiting.clear();
    };
  }

  call<R extends WorkerRequest>(req: R, transfer: Transferable[] = []): Promise<WorkerResults[R['op']]> {
    const id = this.nextId++;
    const env: WorkerEnvelope = { id, req };
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage(env, transfer);
    });
  }

  terminate(): void {
    this.worker.terminate();
    for (const w of this.waiting.values()) w.reject(new WorkerError('locked-page', 'locked'));
    this.waiting.clear();
  }
}
