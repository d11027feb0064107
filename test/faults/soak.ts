/**
 * The fault soak: backups and restores through a FaultyBackend (test/helpers/faulty-backend.ts)
 * under the production decorators (timeouts, then retries), with seeded fault mixes, and the
 * invariants checked after each step. `runFaultSoak` is the long version (test/soak/run.ts calls
 * it); test/faults/soak.test.ts runs a few iterations.
 *
 * Per iteration: a repository on a MemBackend gets a first snapshot without faults; the source
 * changes; a second backup and restores of both snapshots run with one fault mix:
 *
 * - `transient` (errors, lost replies, hangs, slow answers, broken listings): everything must
 *   succeed and restore exactly, since the retry layer is there for exactly these.
 * - `damaged` (bit flips, short reads, truncated files, plus transients): operations may fail,
 *   but only with a CofferError; a restore may give up on files, but only by listing them.
 * - `permanent` (a file that fails for good, plus transients): operations may stop, but only with
 *   the storage's CofferError.
 *
 * Always: no restored file under its real name differs by a single byte from the source; every
 * file that is not there whole is reported and is either absent or `NAME.coffer-partial`; after
 * faults are turned off, `check --read-data` finds no error and every snapshot that was written
 * restores exactly (so a failed backup never damaged the repository).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../../src/core/backend/backend.js';
import { MemBackend } from '../../src/core/backend/mem.js';
import { withRetry } from '../../src/core/backend/retry.js';
import { withTimeouts } from '../../src/core/backend/timeout.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { checkRepository } from '../../src/core/engine/check/check.js';
import { restore, type RestoreOptions, type RestoreResult } from '../../src/core/engine/restore/restorer.js';
import { isCofferError } from '../../src/core/errors.js';
import type { Id } from '../../src/core/format/types.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { FsRestoreSink } from '../../src/node/fs-sink.js';
import { FaultyBackend, prng, type FaultKind } from '../helpers/faulty-backend.js';
import { CHEAP_KDF, FakeSource, LOCK_OWNER, PASSWORD, dir, file, platform, randomBytes, type FakeDir, type FakeFile } from '../helpers/mem-repo.js';

export type Scenario = 'transient' | 'damaged' | 'permanent';
export const SCENARIOS: readonly Scenario[] = ['transient', 'damaged', 'permanent'];

export interface FaultSoakOptions {
  readonly seed: number;
  readonly iterations: number;
  readonly log?: (line: string) => void;
  /** Only these scenarios (default: all, in turn). */
  readonly scenarios?: readonly Scenario[];
}

export interface FaultSoakResult {
  faultsInjected: number;
  /** Backups and restores run through the faulty backend. */
  operations: number;
  /** Broken invariants, one line each (empty when all is well). */
  failures: string[];
  /** Faults by kind, over all iterations. */
  byKind: Partial<Record<FaultKind, number>>;
  /** Operations that stopped with a clear error (allowed in the damaged and permanent scenarios). */
  stopped: number;
  /** Files a restore gave up on and listed (allowed in the damaged scenario). */
  filesGivenUp: number;
}

/** Fault rates per scenario, scaled by a per-iteration factor in [0.5, 1.5). */
function ratesFor(s: Scenario, scale: number): Partial<Record<FaultKind, number>> {
  const transient = { transient: 0.12, lostReply: 0.06, hang: 0.02, slow: 0.08, listBreak: 0.15 };
  const r: Partial<Record<FaultKind, number>> =
    s === 'transient' ? transient : s === 'damaged' ? { ...transient, corrupt: 0.15, shortRead: 0.08, truncate: 0.08 } : { ...transient, permanent: 0.04 };
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, Math.min(0.5, v * scale)]));
}

/**
 * The decorators a real client has (src/node/open-backend.ts), with test-sized delays, and enough
 * retries that a run of faults at these rates (under 0.5 per call) never outlasts them by chance.
 */
export function clientStack(b: Backend): Backend {
  return withRetry(withTimeouts(b, { baseMs: 150, perByteMs: 0 }), { retries: 16, baseDelayMs: 1, maxDelayMs: 10 });
}

/** A source of a few MiB: empty, small, medium and multi-chunk files in two folders. */
function makeSource(rnd: () => number, seed: number): FakeDir {
  const files: Record<string, FakeFile> = {};
  const sub: Record<string, FakeFile> = {};
  const n = 4 + Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) {
    const kind = rnd();
    const size = kind < 0.1 ? 0 : kind < 0.5 ? 1 + Math.floor(rnd() * 5000) : kind < 0.85 ? 20_000 + Math.floor(rnd() * 300_000) : 1_200_000 + Math.floor(rnd() * 1_500_000);
    (i % 2 ? sub : files)[`f${i}.bin`] = file(randomBytes(seed * 100 + i, size));
  }
  const many: Record<string, FakeFile> = {};
  const m = Math.floor(rnd() * 30);
  for (let i = 0; i < m; i++) many[`s${i}`] = file(randomBytes(seed * 100 + 50 + i, 1 + Math.floor(rnd() * 3000)));
  return dir({ data: dir({ ...files, sub: dir(sub), many: dir(many) }) });
}

/** Changes some files and adds one (the second backup has new data and reuses the rest). */
function changeSource(root: FakeDir, rnd: () => number, seed: number): void {
  const data = root.children.data as FakeDir;
  for (const [name, e] of Object.entries(data.children)) {
    if (e.type === 'file' && rnd() < 0.4) data.children[name] = file(randomBytes(seed * 100 + 77 + name.length, 1 + Math.floor(rnd() * 400_000)));
  }
  data.children['added.bin'] = file(randomBytes(seed * 100 + 99, 1_100_000 + Math.floor(rnd() * 600_000)));
}

/** "/data/x" -> bytes of every file in the fake tree. */
function filesOf(root: FakeDir): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  const walk = (d: FakeDir, p: string) => {
    for (const [n, e] of Object.entries(d.children)) {
      if (e.type === 'dir') walk(e, `${p}/${n}`);
      else if (e.type === 'file') out.set(`${p}/${n}`, e.data);
    }
  };
  walk(root, '');
  return out;
}

/** A fault-free view of the stored repository. */
async function cleanRepo(mem: MemBackend): Promise<Repository> {
  return openRepository(mem, await platform(), { password: PASSWORD, packSize: PACK_SIZE });
}

/** Small packs, so a few MiB make many files and many calls to fault. */
export const PACK_SIZE = 128 * 1024;

function oneLine(e: unknown): string | undefined {
  if (!isCofferError(e)) return `not a CofferError: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
  if (e.code === 'internal') return `internal error: ${e.message}`;
  if (e.message.includes('\n') || e.message.length === 0) return `message is not one line: ${JSON.stringify(e.message)}`;
  return undefined;
}

export interface RestoreCheck {
  /** Restore stopped with this error (undefined: it completed). */
  error?: unknown;
  result?: RestoreResult;
  /** Files reported incomplete, with the name left. */
  incomplete: Map<string, string | undefined>;
}

/**
 * Restores `tree` into a fresh folder and checks the folder against `want` ("/data/x" -> bytes):
 * returns the broken invariants (a wrong or unreported file), plus what happened.
 */
export async function restoreAndCompare(
  repo: Repository,
  tree: Id,
  want: Map<string, Uint8Array>,
  target: string,
  opts: RestoreOptions = {},
): Promise<{ problems: string[]; check: RestoreCheck }> {
  const problems: string[] = [];
  const check: RestoreCheck = { incomplete: new Map() };
  const reported = new Set<string>();
  try {
    const index = await loadMasterIndex(repo);
    check.result = await restore(repo, index, tree, new FsRestoreSink(target), {
      ...opts,
      events: {
        onError: (p) => reported.add(p),
        onIncomplete: (p, leftAs) => check.incomplete.set(p, leftAs),
      },
    });
  } catch (e) {
    check.error = e;
  }
  for (const [p, bytes] of want) {
    const real = path.join(target, p);
    const partial = real + '.coffer-partial';
    if (fs.existsSync(real)) {
      const got = fs.readFileSync(real);
      if (!got.equals(Buffer.from(bytes))) problems.push(`${p}: restored under its real name with wrong content (${got.length} bytes, want ${bytes.length})`);
      if (fs.existsSync(partial)) problems.push(`${p}: both the file and ${p}.coffer-partial exist`);
      continue;
    }
    // Not there whole: the restore must have stopped or reported it.
    if (check.error === undefined && !reported.has(p)) problems.push(`${p}: missing from the restore and not reported`);
    if (fs.existsSync(partial) && check.incomplete.get(p) !== partial) problems.push(`${p}: left as .coffer-partial but not listed as incomplete (listed: ${String(check.incomplete.get(p))})`);
  }
  for (const [p, leftAs] of check.incomplete) {
    if (leftAs !== undefined && !fs.existsSync(leftAs)) problems.push(`${p}: listed as left at ${leftAs}, which does not exist`);
  }
  if (check.error !== undefined) {
    const bad = oneLine(check.error);
    if (bad) problems.push(`restore: ${bad}`);
  }
  return { problems, check };
}

export async function runFaultSoak(opts: FaultSoakOptions): Promise<FaultSoakResult> {
  const log = opts.log ?? (() => undefined);
  const res: FaultSoakResult = { faultsInjected: 0, operations: 0, failures: [], byKind: {}, stopped: 0, filesGivenUp: 0 };
  const scenarios = opts.scenarios ?? SCENARIOS;
  const p = await platform();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-fault-soak-'));
  try {
    for (let it = 0; it < opts.iterations; it++) {
      const seed = (opts.seed * 7919 + it) >>> 0;
      const scenario = scenarios[it % scenarios.length]!;
      const rnd = prng(seed);
      const tag = `iteration ${it} (seed ${seed}, ${scenario})`;
      const fail = (msg: string) => {
        res.failures.push(`${tag}: ${msg}`);
        log(`FAIL ${tag}: ${msg}`);
      };
      try {
        const mem = new MemBackend();
        await initRepository(mem, p, { password: PASSWORD, kdf: CHEAP_KDF, username: 'soak', hostname: 'soak' });
        const root = makeSource(rnd, seed);
        const src = new FakeSource(root);
        const first = await backup(await cleanRepo(mem), src, { targets: ['/data'], hostname: 'soak', owner: LOCK_OWNER });
        const want1 = filesOf(root);
        changeSource(root, rnd, seed);
        const want2 = filesOf(root);

        const faulty = new FaultyBackend(mem, { seed, rates: ratesFor(scenario, 0.5 + rnd()), slowMs: 3, hangMs: 400 });
        const stack = clientStack(faulty);
        let repo: Repository | undefined;
        // Opening (config, keys) goes through transient faults only, so the damaging mixes are spent on backup and restore.
        faulty.enabled = scenario === 'transient';
        try {
          repo = await openRepository(stack, p, { password: PASSWORD, packSize: PACK_SIZE });
          faulty.enabled = true;
        } catch (e) {
          // Opening reads config and keys: a damaged answer may stop it, clearly.
          if (scenario === 'transient') fail(`open failed under transient faults: ${(e as Error).message}`);
          const bad = oneLine(e);
          if (bad) fail(`open: ${bad}`);
          log(`${tag}: open stopped: ${(e as Error).message}`);
          res.stopped++;
        }
        let second: Id | undefined;
        if (repo) {
          res.operations++;
          try {
            second = (await backup(repo, src, { targets: ['/data'], hostname: 'soak', owner: LOCK_OWNER })).snapshot.tree;
          } catch (e) {
            if (scenario === 'transient') fail(`backup failed under transient faults: ${(e as Error).message}`);
            const bad = oneLine(e);
            if (bad) fail(`backup: ${bad}`);
            log(`${tag}: backup stopped: ${(e as Error).message}`);
            res.stopped++;
          }
          for (const [tree, want, name] of [[first.snapshot.tree, want1, 'first'], ...(second ? [[second, want2, 'second']] : [])] as [Id, Map<string, Uint8Array>, string][]) {
            res.operations++;
            const target = path.join(scratch, `${it}-${name}-faulty`);
            // Small reads on odd iterations: a call per blob or two, so more calls to fault.
            const { problems, check } = await restoreAndCompare(repo, tree, want, target, it % 2 ? { maxRead: 64 * 1024 } : {});
            for (const x of problems) fail(`restore of the ${name} snapshot: ${x}`);
            const givenUp = check.result?.errors.length ?? 0;
            res.filesGivenUp += givenUp;
            if (check.error !== undefined) {
              res.stopped++;
              log(`${tag}: restore of the ${name} snapshot stopped: ${(check.error as Error).message}`);
            }
            if (givenUp) log(`${tag}: restore of the ${name} snapshot gave up on ${givenUp} files: ${check.result!.errors[0]!.message}`);
            if (scenario === 'transient' && (check.error !== undefined || givenUp > 0)) {
              fail(`restore of the ${name} snapshot under transient faults: ${check.error !== undefined ? (check.error as Error).message : check.result!.errors.map((e) => e.message).join('; ')}`);
            }
            if (scenario === 'permanent' && givenUp > 0) fail(`restore under permanent faults gave up on files instead of stopping: ${check.result!.errors[0]!.message}`);
            fs.rmSync(target, { recursive: true, force: true });
          }
        }

        // The repository itself was never damaged: check it and restore every snapshot, faults off.
        faulty.enabled = false;
        const clean = await cleanRepo(mem);
        const c = await checkRepository(clean, { readData: true });
        for (const e of c.errors) fail(`check --read-data after the faults: ${e}`);
        for (const [tree, want, name] of [[first.snapshot.tree, want1, 'first'], ...(second ? [[second, want2, 'second']] : [])] as [Id, Map<string, Uint8Array>, string][]) {
          const target = path.join(scratch, `${it}-${name}-clean`);
          const { problems, check } = await restoreAndCompare(clean, tree, want, target);
          for (const x of problems) fail(`clean restore of the ${name} snapshot: ${x}`);
          if (check.error !== undefined || (check.result?.errors.length ?? 0) > 0) fail(`clean restore of the ${name} snapshot failed`);
          fs.rmSync(target, { recursive: true, force: true });
        }
        res.faultsInjected += faulty.injected;
        for (const [k, n] of Object.entries(faulty.counts())) res.byKind[k as FaultKind] = (res.byKind[k as FaultKind] ?? 0) + n;
        log(`${tag}: ${faulty.injected} faults, second backup ${second ? 'written' : 'stopped'}, ${faulty.hangsAborted} hangs aborted`);
      } catch (e) {
        fail(`unexpected: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return res;
}
