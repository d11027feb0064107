/**
 * @module node/scan-worker
 * Runs the backup's size scan in a worker thread, so counting files for the progress bar's
 * percentage and ETA does not take time from the backup's own thread. Same totals as
 * engine/backup/scan.ts over a NodeFileSource, but cheaper: folder entries come with their type
 * (no lstat for folders and links), only regular files are lstat'ed (plain numbers, no bigint
 * stats, no node metadata, no sorting). It runs beside every backup, so its CPU counts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { ScanTotals } from '../core/engine/backup/scan.js';
import { anyMatch, parsePattern } from '../core/filter/pattern.js';

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

/**
 * Files, folders and bytes below `targets` (absolute paths; not following symlinks), leaving out
 * what `exclude` matches (absolute paths, as the archiver's excludes see them). Unreadable
 * entries are skipped: the archiver reports them.
 */
export function countTree(targets: readonly string[], exclude: ((p: string) => boolean) | undefined, onUpdate?: (t: ScanTotals) => void): ScanTotals {
  const totals: ScanTotals = { files: 0, dirs: 0, bytes: 0 };
  let lastUpdate = 0;
  const tick = () => {
    const now = Date.now();
    if (onUpdate && now - lastUpdate > 200) {
      lastUpdate = now;
      onUpdate({ ...totals });
    }
  };
  const visitDir = (raw: Buffer) => {
    totals.dirs++;
    let entries: fs.Dirent<Buffer>[];
    try {
      entries = fs.readdirSync(raw, { withFileTypes: true, encoding: 'buffer' });
    } catch {
      return;
    }
    const prefix = raw.length === 1 && raw[0] === 0x2f ? raw : Buffer.concat([raw, Buffer.from('/')]);
    for (const e of entries) {
      if (!e.isFile() && !e.isDirectory()) continue;
      const child = Buffer.concat([prefix, e.name]);
      if (exclude?.(child.toString('utf8'))) continue;
      if (e.isDirectory()) visitDir(child);
      else {
        try {
          totals.bytes += fs.lstatSync(child).size;
          totals.files++;
        } catch {
          // vanished or unreadable: the archiver reports it
        }
      }
    }
    tick();
  };
  for (const t of targets) {
    const raw = Buffer.from(path.resolve(t));
    let st: fs.Stats;
    try {
      st = fs.lstatSync(raw);
    } catch {
      continue; // reported by the archiver
    }
    if (st.isDirectory()) visitDir(raw);
    else if (st.isFile()) {
      totals.files++;
      totals.bytes += st.size;
    }
  }
  return totals;
}

if (!isMainThread && parentPort) {
  const job = workerData as ScanJob;
  const patterns = job.excludes.map(parsePattern);
  const totals = countTree(job.targets, patterns.length ? (p) => anyMatch(patterns, p) : undefined, (t) => parentPort!.postMessage({ totals: t, final: false }));
  parentPort.postMessage({ totals, final: true });
}
