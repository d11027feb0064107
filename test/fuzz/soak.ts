/**
 * The long version of the fuzzers, for `npm run soak` (test/soak/run.ts calls `runFuzzSoak`).
 * Every parser target gets `runs` inputs; the REST server gets runs/10 requests per mode and the
 * raw-HTTP listener runs/20 (each request is checked against the whole storage folder, so they cost
 * far more than a parse), and restic reads runs/25 mutated snapshot documents per binary as the
 * oracle of the snapshot decoder. Seeded: the same seed replays the same inputs.
 */
import { divergenceStats, parserTargets, runTarget } from './targets.js';
import { runRawHttpFuzz, runServerFuzz } from './server.js';
import { snapshotInputs, snapshotOracle } from './restic-oracle.js';
import { resticBinaries } from '../helpers/run.js';

export interface FuzzSoakOptions {
  /** Base seed; each target derives its own from it. */
  seed: number;
  /** Inputs per parser target (server requests are derived from it). */
  runs?: number;
  /** What test/soak/run.ts passes (2,000 quick, 50,000 full): taken as `runs` when `runs` is absent. */
  iterations?: number;
  log?: (line: string) => void;
}

export interface FuzzSoakResult {
  inputsTried: number;
  failures: string[];
  /** Per target: inputs tried (for the summary and docs/reliability.md). */
  perTarget: Record<string, number>;
  /** Frames the zstd implementations disagree on accepting (allowed; reported). */
  zstdDivergences: number;
  /** Documented decoder differences from restic the oracle met (allowed; reported). */
  knownDifferences: Record<string, number>;
}

export async function runFuzzSoak(opts: FuzzSoakOptions): Promise<FuzzSoakResult> {
  const { seed } = opts;
  const log = opts.log ?? (() => undefined);
  const runs = Math.max(50, Math.round(opts.runs ?? opts.iterations ?? 20_000));
  const failures: string[] = [];
  const perTarget: Record<string, number> = {};
  let inputsTried = 0;
  const targets = await parserTargets();
  for (const [i, t] of targets.entries()) {
    const started = Date.now();
    const r = runTarget(t, runs, (seed + i * 7919) | 0);
    perTarget[t.name] = r.tried;
    inputsTried += r.tried;
    if (r.failure) failures.push(r.failure);
    log(`fuzz ${t.name}: ${r.tried} inputs, ${r.failure ? 'FAILED' : 'ok'} (${Date.now() - started} ms)`);
  }
  const serverRuns = Math.max(10, Math.round(runs / 10));
  let started = Date.now();
  const s = await runServerFuzz(serverRuns, seed ^ 0x5eed);
  perTarget['server requests'] = s.tried;
  inputsTried += s.tried;
  failures.push(...s.failures);
  log(`fuzz server: ${s.tried} requests, ${s.failures.length ? 'FAILED' : 'ok'} (${Date.now() - started} ms)`);
  started = Date.now();
  const raw = await runRawHttpFuzz(Math.max(5, Math.round(runs / 20)), seed ^ 0xbeef);
  perTarget['raw HTTP requests'] = raw.tried;
  inputsTried += raw.tried;
  failures.push(...raw.failures);
  log(`fuzz raw HTTP: ${raw.tried} requests, ${raw.failures.length ? 'FAILED' : 'ok'} (${Date.now() - started} ms)`);
  // restic as the oracle of the snapshot decoder: batches of runs/25 documents per binary.
  const knownDifferences: Record<string, number> = {};
  const oracleRuns = Math.max(50, Math.round(runs / 25));
  for (const bin of resticBinaries()) {
    started = Date.now();
    const o = await snapshotOracle(bin, snapshotInputs(oracleRuns, (seed ^ 0x0dac1e) + bin.name.length));
    perTarget[`snapshot oracle (${bin.name})`] = o.tried;
    inputsTried += o.tried;
    failures.push(...o.failures.map((f) => `${bin.name} oracle: ${f.slice(0, 600)}`));
    for (const [k, n] of Object.entries(o.known)) knownDifferences[k] = (knownDifferences[k] ?? 0) + n;
    log(`fuzz ${bin.name} snapshot oracle: ${o.tried} documents, ${o.failures.length ? 'FAILED' : 'ok'} (${Date.now() - started} ms)`);
  }
  for (const [k, n] of Object.entries(knownDifferences)) log(`fuzz oracle: known difference ${k} × ${n}`);
  if (divergenceStats.count) log(`fuzz zstd: ${divergenceStats.count} damaged frames accepted by one implementation and refused by another (allowed, see docs/reliability.md)`);
  for (const f of failures) log(`FAILURE ${f}`);
  return { inputsTried, failures, perTarget, zstdDivergences: divergenceStats.count, knownDifferences };
}
