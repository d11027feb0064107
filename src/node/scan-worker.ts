/**
 * @module node/scan-worker
 * Runs the backup's size scan (engine/backup/scan.ts) in a worker thread, so counting files for
 * the progress bar's percentage and ETA does not take time from the backup's own thread.
 */
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { scan, type ScanTotals } from '../core/engine/backup/scan.js';
import { anyMatch, parsePattern } from '../core/filter/pattern.js';
import { NodeFileSource } from './fs-source.js';

interface ScanJob {
  readonly targets: readonly string[];
  readonly excludes: readonly string[];
}

/** Starts a scan in a worker; `onUpdate` gets running totals; the promise resolves with the final ones. */
export function scanInWorker(job: ScanJob, onUpdate: (t: ScanTotals) => void): { done: Promise<ScanTotals | undefined>; stop: () => void } {
  const worker = new Worker(new URL(import.meta.url), { workerData: job });
  const done = new Promise<ScanTotals | undefined>((resolve) => {
    let last: ScanTotals | undefined;
    worker.on('message', (m: { totals: ScanTotals; final: boolean }) => {
      last = m.totals;
      onUpdate(m.totals);
      if (m.final) resolve(m.totals);
    });
    // A failed scan only costs the percentage; the backup reports real errors.
    worker.on('error', () => resolve(last));
    worker.on('exit', () => resolve(last));
  });
  return { done, stop: () => void worker.terminate() };
}

if (!isMainThread && parentPort) {
  const job = workerData as ScanJob;
  const patterns = job.excludes.map(parsePattern);
  const source = new NodeFileSource({ xattrs: false });
  void scan(source, job.targets, {
    ...(patterns.length ? { exclude: (item) => anyMatch(patterns, item.path) } : {}),
    onUpdate: (totals) => parentPort!.postMessage({ totals, final: false }),
  }).then((totals) => parentPort!.postMessage({ totals, final: true }));
}
