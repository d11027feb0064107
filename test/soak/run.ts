/**
 * The soak (`npm run soak`): the long version of the reliability tests, seeded, with a summary.
 *
 *   node dist/test/soak/run.js [--seed N] [--quick] [--points N] [--only crash,awkward,faults,fuzz]
 *
 *  - crash: kill -9 of backup, forget --prune, prune and copy at seeded instants, at least
 *    `--points` (default 50; 5 with --quick) actual kills per operation, each followed by the
 *    harness's checks (test/crash/scenarios.ts);
 *  - awkward: the awkward-source and concurrency tests with the large sizes (a 4 GiB sparse file,
 *    100,000 files in one folder; 1 GiB and 20,000 with --quick);
 *  - faults / fuzz: runFaultSoak (test/faults/soak.ts) and runFuzzSoak (test/fuzz/soak.ts) when
 *    those modules exist (loaded dynamically: the soak says so and runs the rest when one is missing).
 *
 * Prints a summary (points killed, faults injected, inputs tried, failures) and exits 1 on any
 * failure. Needs the real restic (as the tests do); mounts need root.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hash32, seededRandom } from '../helpers/crash.js';
import { resticBinaries } from '../helpers/run.js';
import { CRASH_OPS, CrashLab, runCrashPoints, type CrashOpName } from '../crash/scenarios.js';

interface Args {
  seed: number;
  quick: boolean;
  points: number;
  only: Set<string>;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { seed: Number(process.env.COFFER_SOAK_SEED ?? Date.now() % 1_000_000), quick: false, points: 0, only: new Set(['crash', 'awkward', 'faults', 'fuzz']) };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const next = () => {
      const n = argv[++i];
      if (n === undefined) throw new Error(`${v} needs a value`);
      return n;
    };
    if (v === '--seed') a.seed = Number(next());
    else if (v === '--quick') a.quick = true;
    else if (v === '--points') a.points = Number(next());
    else if (v === '--only') a.only = new Set(next().split(','));
    else throw new Error(`unknown argument ${v} (--seed N, --quick, --points N, --only crash,awkward,faults,fuzz)`);
  }
  if (!Number.isInteger(a.seed)) throw new Error('--seed takes an integer');
  if (!a.points) a.points = a.quick ? 5 : 50;
  return a;
}

interface Section {
  name: string;
  lines: string[];
  failures: string[];
  killed?: number;
  faults?: number;
  inputs?: number;
  ran: boolean;
}

const log = (line: string) => console.log(line);

async function crashSection(args: Args, root: string): Promise<Section> {
  const s: Section = { name: 'crash', lines: [], failures: [], killed: 0, ran: true };
  const restics = resticBinaries();
  if (restics.length === 0) {
    s.failures.push('crash: restic is not installed');
    return s;
  }
  for (const op of CRASH_OPS) {
    const lab = new CrashLab(op, path.join(root, `crash-${op}`), { restics, log: (l) => log(`  ${l}`) });
    try {
      await lab.setup();
    } catch (e) {
      s.failures.push(`crash ${op}: setup: ${(e as Error).message}`);
      continue;
    }
    const t0 = Date.now();
    const { killed, run } = await runCrashPoints(lab, args.points, seededRandom(args.seed ^ hash32(op)), (point, ms, e) =>
      s.failures.push(`crash ${op} point ${point} (seed ${args.seed}, kill at ${ms} ms): ${e.message.split('\n').slice(0, 6).join(' | ')}`),
    );
    if (killed < args.points) s.failures.push(`crash ${op}: only ${killed} of ${run} points killed the process (runs too short?)`);
    s.killed! += killed;
    s.lines.push(`${op.padEnd(12)} ${killed} killed of ${run} points (a full run took ${lab.fullMs} ms; ${Math.round((Date.now() - t0) / 1000)} s)`);
    fs.rmSync(path.join(root, `crash-${op}`), { recursive: true, force: true });
  }
  return s;
}

function awkwardSection(args: Args): Section {
  const s: Section = { name: 'awkward', lines: [], failures: [], ran: true };
  const env = {
    ...process.env,
    COFFER_AWKWARD_SPARSE_GIB: args.quick ? '1' : '4',
    COFFER_AWKWARD_WIDE: args.quick ? '20000' : '100000',
  };
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', 'dist/test/awkward', 'dist/test/concurrency'], { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  const out = r.stdout ?? '';
  const num = (k: string) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(out)?.[1] ?? NaN);
  const pass = num('pass');
  const fail = num('fail');
  for (const l of out.split('\n')) if (/^\s*# (backup|first backup|at most|after the|the run with|\d+ vanished)/.test(l)) s.lines.push(l.trim().replace(/^# /, ''));
  s.lines.unshift(`${pass} tests passed, ${fail} failed (${env.COFFER_AWKWARD_SPARSE_GIB} GiB sparse file, ${env.COFFER_AWKWARD_WIDE} files in one folder; ${Math.round((Date.now() - t0) / 1000)} s)`);
  if (r.status !== 0 || !(fail === 0) || !(pass > 0)) {
    s.failures.push(`awkward: exit ${r.status}, ${pass} passed, ${fail} failed`);
    for (const l of out.split('\n').filter((x) => /^\s*not ok/.test(x))) s.failures.push(`awkward: ${l.trim()}`);
  }
  return s;
}

/** Loads an optional soak module; undefined when it is not there. */
async function optional(rel: string): Promise<Record<string, unknown> | undefined> {
  const url = new URL(rel, import.meta.url);
  if (!fs.existsSync(url)) return undefined;
  return (await import(url.href)) as Record<string, unknown>;
}

/** The numbers a result object reports, whatever it names them. */
function countOf(result: Record<string, unknown>, pattern: RegExp): number {
  let n = 0;
  for (const [k, v] of Object.entries(result)) if (pattern.test(k) && typeof v === 'number') n += v;
  return n;
}

function failuresOf(result: Record<string, unknown>): string[] {
  const f = result.failures;
  if (Array.isArray(f)) return f.map(String);
  if (typeof f === 'number') return f > 0 ? [`${f} failures`] : [];
  return [];
}

async function faultSection(args: Args): Promise<Section> {
  const s: Section = { name: 'faults', lines: [], failures: [], faults: 0, ran: false };
  const mod = await optional('../faults/soak.js');
  if (typeof mod?.runFaultSoak !== 'function') {
    s.lines.push('not run: test/faults/soak.ts (runFaultSoak) is missing');
    return s;
  }
  s.ran = true;
  const t0 = Date.now();
  const r = (await (mod.runFaultSoak as (o: object) => Promise<Record<string, unknown>>)({ seed: args.seed, iterations: args.quick ? 6 : 90, log: (l: string) => log(`  ${l}`) })) ?? {};
  s.faults = countOf(r, /^faults/i);
  s.lines.push(`${s.faults} faults injected over ${countOf(r, /^operations$/)} operations, ${countOf(r, /^stopped$/)} stopped with a clear error, ${countOf(r, /^filesGivenUp$/)} files given up and listed (${Math.round((Date.now() - t0) / 1000)} s)`);
  if (r.byKind && typeof r.byKind === 'object') s.lines.push(`by kind: ${Object.entries(r.byKind as Record<string, number>).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  s.failures.push(...failuresOf(r).map((f) => `faults: ${f}`));
  return s;
}

async function fuzzSection(args: Args): Promise<Section> {
  const s: Section = { name: 'fuzz', lines: [], failures: [], inputs: 0, ran: false };
  const mod = await optional('../fuzz/soak.js');
  if (typeof mod?.runFuzzSoak !== 'function') {
    s.lines.push('not run: test/fuzz/soak.ts (runFuzzSoak) is missing');
    return s;
  }
  s.ran = true;
  const t0 = Date.now();
  const r = (await (mod.runFuzzSoak as (o: object) => Promise<Record<string, unknown>>)({ seed: args.seed, quick: args.quick, iterations: args.quick ? 2_000 : 50_000, log: (l: string) => log(`  ${l}`) })) ?? {};
  s.inputs = countOf(r, /input|tried|cases|runs/i);
  s.lines.push(`${s.inputs} inputs tried (${Math.round((Date.now() - t0) / 1000)} s)`);
  s.failures.push(...failuresOf(r).map((f) => `fuzz: ${f}`));
  return s;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-soak-'));
  const t0 = Date.now();
  log(`coffer soak: seed ${args.seed}${args.quick ? ' (quick)' : ''}, ${args.points} kills per operation; replay with --seed ${args.seed}`);
  const sections: Section[] = [];
  const run = async (name: string, f: () => Promise<Section> | Section) => {
    if (!args.only.has(name)) return;
    log(`\n== ${name}`);
    try {
      sections.push(await f());
    } catch (e) {
      sections.push({ name, lines: [], failures: [`${name}: ${(e as Error).stack ?? String(e)}`], ran: true });
    }
  };
  try {
    await run('crash', () => crashSection(args, root));
    await run('awkward', () => awkwardSection(args));
    await run('faults', () => faultSection(args));
    await run('fuzz', () => fuzzSection(args));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
  const failures = sections.flatMap((s) => s.failures);
  const sum = (k: 'killed' | 'faults' | 'inputs') => sections.reduce((n, s) => n + (s[k] ?? 0), 0);
  log(`\n== summary (seed ${args.seed}${args.quick ? ', quick' : ''}, ${Math.round((Date.now() - t0) / 1000)} s)`);
  for (const s of sections) for (const l of s.lines) log(`${s.name.padEnd(8)} ${l}`);
  log(`points killed: ${sum('killed')}`);
  log(`faults injected: ${sum('faults')}${sections.some((s) => s.name === 'faults' && !s.ran) ? ' (fault soak not run)' : ''}`);
  log(`inputs tried: ${sum('inputs')}${sections.some((s) => s.name === 'fuzz' && !s.ran) ? ' (fuzz soak not run)' : ''}`);
  log(`failures: ${failures.length}`);
  for (const f of failures) log(`  FAILED ${f}`);
  return failures.length ? 1 : 0;
}

// node --test runs every file under dist/test, this one included: only run when started directly.
if (!process.env.NODE_TEST_CONTEXT) {
  main().then(
    (code) => process.exit(code),
    (e) => {
      console.error(`soak: ${(e as Error).message}`);
      process.exit(1);
    },
  );
}

export type { CrashOpName };
