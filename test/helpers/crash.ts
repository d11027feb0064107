/** Helpers for the interruption tests (test/crash): bulk seeded data, a killable coffer, polling. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './paths.js';
import { testEnv, type RunResult } from './run.js';

/** Fast deterministic pseudo-random bytes (AES-256-CTR keystream keyed by the label): ~GB/s. */
export function seededBytes(label: string, length: number): Buffer {
  const key = createHash('sha256').update(label).digest();
  const c = createCipheriv('aes-256-ctr', key, Buffer.alloc(16));
  return Buffer.concat([c.update(Buffer.alloc(length)), c.final()]);
}

/** A small seeded PRNG (mulberry32) giving floats in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const MiB = 1024 * 1024;

/**
 * Writes `big/<i>.bin` files of the given sizes (MiB) and `small/<d>/<i>.txt` files (1-60 KiB),
 * all from `seed`. Returns the bytes written. Rewriting with another seed changes every file's
 * content (and mtime), so a backup on top must read and store all of it again.
 */
export function writeBulkTree(root: string, seed: string, opts: { bigMiB: readonly number[]; small?: number }): number {
  let total = 0;
  fs.mkdirSync(path.join(root, 'big'), { recursive: true });
  opts.bigMiB.forEach((mib, i) => {
    const data = seededBytes(`${seed}/big/${i}`, Math.round(mib * MiB) + i * 7);
    fs.writeFileSync(path.join(root, 'big', `${i}.bin`), data);
    total += data.length;
  });
  const rnd = seededRandom(hash32(seed));
  for (let i = 0; i < (opts.small ?? 0); i++) {
    const dir = path.join(root, 'small', String(i % 10));
    fs.mkdirSync(dir, { recursive: true });
    const data = seededBytes(`${seed}/small/${i}`, 1024 + Math.floor(rnd() * 60 * 1024));
    fs.writeFileSync(path.join(dir, `${i}.txt`), data);
    total += data.length;
  }
  return total;
}

export function hash32(s: string): number {
  return createHash('sha256').update(s).digest().readUInt32LE(0);
}

export interface Started {
  readonly child: ChildProcess;
  /** Resolves when the process has exited (and its pipes closed). */
  readonly done: Promise<RunResult & { signal: NodeJS.Signals | null }>;
}

/** Starts `coffer` without waiting, so the test can signal it. */
export function startCoffer(args: string[], env: NodeJS.ProcessEnv = testEnv()): Started {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<RunResult & { signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? -1, signal, stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
  });
  return { child, done };
}

/** Polls `cond` every `everyMs` until it holds (true) or `timeoutMs` passes (false). */
export async function waitFor(cond: () => boolean, timeoutMs: number, everyMs = 5): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Names of the finished (non-temporary) files of one repository folder, recursively. */
export function repoFiles(repo: string, dir: 'data' | 'index' | 'snapshots' | 'locks' | 'keys'): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.isDirectory()) walk(path.join(d, e.name));
      else if (/^[0-9a-f]{64}$/.test(e.name)) out.push(e.name);
    }
  };
  walk(path.join(repo, dir));
  return out.sort();
}

/** The last JSON line of a `--json` run's stdout (the summary). */
export function lastJson<T = any>(stdout: string): T {
  const lines = stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as T;
}

/** Whether a process with this PID exists (signal 0). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * A point in a running backup: a time after start, its lock file (the CLI is running its command,
 * so its signal handlers are installed, however slow the start under load), the n-th new pack, or
 * the next index file.
 */
export type Instant =
  | { afterMs: number }
  | { afterLock: true; jitterMs: number }
  | { afterPacks: number; jitterMs: number }
  | { afterIndex: true; jitterMs: number };

/**
 * Waits for `instant` of the backup `run` writing into `repo` (counts are relative to the
 * repository when called), or until the process exits. Returns a description for diagnostics.
 */
export async function reachInstant(run: Started, repo: string, instant: Instant): Promise<string> {
  const t0 = Date.now();
  const exited = () => run.child.exitCode !== null || run.child.signalCode !== null;
  if ('afterMs' in instant) {
    await waitFor(exited, instant.afterMs, 5);
    return `${instant.afterMs} ms`;
  }
  let what: string;
  if ('afterPacks' in instant) {
    const base = repoFiles(repo, 'data').length;
    await waitFor(() => exited() || repoFiles(repo, 'data').length >= base + instant.afterPacks, 120_000, 3);
    what = `pack ${instant.afterPacks}`;
  } else if ('afterLock' in instant) {
    await waitFor(() => exited() || repoFiles(repo, 'locks').length > 0, 120_000, 2);
    what = 'the lock';
  } else {
    const base = repoFiles(repo, 'index').length;
    await waitFor(() => exited() || repoFiles(repo, 'index').length > base, 120_000, 2);
    what = 'the index file';
  }
  if (instant.jitterMs > 0) await new Promise((r) => setTimeout(r, instant.jitterMs));
  return `${instant.jitterMs} ms after ${what} (${Date.now() - t0} ms)`;
}

/** The outcome of running a command with a kill -9 scheduled `afterMs` after its start. */
export interface KillOutcome {
  /** True when SIGKILL ended it; false when it finished first. */
  readonly killed: boolean;
  readonly result: RunResult & { signal: NodeJS.Signals | null };
  readonly pid: number;
  /** Milliseconds from start to exit. */
  readonly ms: number;
}

/** Runs `coffer args` and kills it (SIGKILL) `afterMs` after the spawn, unless it exits first. */
export async function runAndKill(args: string[], env: NodeJS.ProcessEnv, afterMs: number): Promise<KillOutcome> {
  const t0 = Date.now();
  const run = startCoffer(args, env);
  const exited = () => run.child.exitCode !== null || run.child.signalCode !== null;
  await waitFor(exited, afterMs, 2);
  if (!exited()) run.child.kill('SIGKILL');
  const result = await run.done;
  return { killed: result.signal === 'SIGKILL', result, pid: run.child.pid!, ms: Date.now() - t0 };
}

/** Copies a repository (or any folder) to a fresh place, replacing what was there. */
export function cloneDir(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true, preserveTimestamps: true });
}
