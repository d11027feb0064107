/**
 * `coffer run-scheduled`: what the schedule runs. Each step is independent (a failed backup
 * still lets the copies sync what exists): backup of the scheduled paths, sync, a structure
 * check of the primary weekly, a drill every `drillEveryDays` (when the drill command exists),
 * then status. The run is appended to runs.jsonl; a failed step sends a `failure` alert and the
 * status sends `unsafe`/`recovered` alerts. Exit 1 when a step failed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { isCofferError } from '../../core/errors.js';
import { DEFAULT_SAMPLE, runDrill } from '../../core/engine/drill/drill.js';
import type { KitCopy } from '../../core/kit/kit-text.js';
import { appendDrill, appendRun, loadConfig, readRuns, requireConfig, updateState, type CofferConfig } from '../../node/config.js';
import { FsRestoreSink } from '../../node/fs-sink.js';
import { copyBackend } from '../../node/open-copy.js';
import { drillEnv } from './drill.js';
import { dispatchAlerts } from '../../node/alerts/dispatch.js';
import { str, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { computeStatus } from './status.js';
import { runSync } from './sync.js';
import { passwordOnce, primaryLocation } from './copies.js';
import { scanOnce } from '../../node/inbox-scanner.js';

interface Step {
  step: string;
  ok: boolean;
  ms: number;
  code?: number;
  error?: string;
  skipped?: string;
}

interface RunRecord {
  at: string;
  finishedAt?: string;
  ok: boolean;
  steps: Step[];
  verdict?: string;
}

const DAY_MS = 86_400_000;

function iso(ms = Date.now()): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Runs `coffer ARGS` as a child (same Node, same script, same environment). */
function coffer(cli: Cli, args: string[]): Promise<{ code: number; stderr: string }> {
  const script = process.argv[1] ?? '';
  // Always the primary of the config (it may not be the default location).
  const pre = ['-r', primaryLocation(cli, loadConfig(cli.env))];
  const pf = str(cli.globals['password-file']);
  const pc = str(cli.globals['password-command']);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...pre, ...(pf ? ['--password-file', pf] : []), ...(pc ? ['--password-command', pc] : []), ...args], {
      env: cli.env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
    child.on('error', (e) => resolve({ code: 127, stderr: e.message }));
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: err }));
  });
}

function lastLine(s: string): string {
  return s.trim().split('\n').filter(Boolean).at(-1) ?? '';
}

/** The newest time a step passed in earlier runs. */
function lastPassed(runs: readonly RunRecord[], step: string): number {
  let best = 0;
  for (const r of runs) for (const s of r.steps ?? []) if (s.step === step && s.ok && !s.skipped) best = Math.max(best, Date.parse(r.at) || 0);
  return best;
}

async function timed(steps: Step[], name: string, fn: () => Promise<Omit<Step, 'step' | 'ms'>>): Promise<void> {
  const t0 = Date.now();
  try {
    steps.push({ step: name, ...(await fn()), ms: Date.now() - t0 });
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    steps.push({ step: name, ok: false, ms: Date.now() - t0, error: (e as Error).message });
  }
}

/**
 * The scheduled drill: the kit is not at hand, so it opens each copy with the normal password,
 * in a fresh environment (design §9), restores a sample, verifies it and records the result in
 * the copy like any drill. Kit checks are left to status (key IDs).
 */
async function scheduledDrill(cli: Cli, config: CofferConfig): Promise<Omit<Step, 'step' | 'ms'>> {
  const copies: KitCopy[] = config.copies.map((c) => ({
    name: c.name,
    url: c.url,
    repositoryId: c.repositoryId,
    keyId: config.kit?.copies[c.name]?.keyId ?? '',
    options: Object.entries(c.options).map(([k, v]) => `${k}=${v}`),
    needsEnv: c.credentials.env,
    needs: [],
  }));
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-drill-'));
  try {
    const env = drillEnv(cli.env, home, copies);
    let n = 0;
    const report = await runDrill(
      {
        kitId: config.kit?.id ?? 'scheduled',
        kitCreated: config.kit?.createdAt ?? new Date(0).toISOString(),
        recoveryKey: await passwordOnce(cli),
        copies,
        mode: 'sample',
        sample: DEFAULT_SAMPLE,
        record: true,
      },
      {
        platform: await cli.platform(),
        backend: (k) => copyBackend(config.copies.find((c) => c.name === k.name)!, { env, retry: { retries: 2, baseDelayMs: 300, maxDelayMs: 1000 } }),
        sink: async (label) => new FsRestoreSink(path.join(home, 'restore', `${++n}-${label}`)),
        now: () => performance.now(),
        owner: { ...cli.lockOwner(), username: 'coffer-drill' },
        signal: cli.signal,
      },
    );
    try {
      appendDrill(report, cli.env);
    } catch {
      // a cache
    }
    const failed = report.copies.filter((c) => c.verdict !== 'pass');
    return { ok: failed.length === 0, ...(failed.length ? { error: failed.map((c) => `${c.name}: ${c.failures[0]?.code ?? c.reason}: ${c.failures[0]?.detail ?? ''}`).join('; ') } : {}) };
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const command: Command = {
  name: 'run-scheduled',
  summary: 'What the schedule runs: backup, sync, weekly check, periodic drill, status, alerts.',
  usage: '',
  help: 'Normally started by the systemd timer or the crontab line of "coffer schedule install".',
  options: {},
  async run(cli) {
    const config = requireConfig(cli.env);
    const schedule = config.schedule;
    const runs = readRuns<RunRecord>(cli.env);
    const record: RunRecord = { at: iso(), ok: true, steps: [] };
    const steps = record.steps;

    // New files in the inbox's watched folders are staged sealed (no password needed; design §6).
    if (config.inbox?.watch.length) {
      await timed(steps, 'inbox-scan', async () => {
        const r = await scanOnce(cli.env, primaryLocation(cli, config));
        return r.ran ? { ok: r.problems.length === 0, ...(r.problems.length ? { error: r.problems.join('; ') } : {}) } : { ok: true, skipped: r.reason };
      });
    }
    if (schedule?.paths.length) {
      await timed(steps, 'backup', async () => {
        const r = await coffer(cli, ['backup', '-q', ...schedule.paths]);
        return { ok: r.code === 0, code: r.code, ...(r.code ? { error: lastLine(r.stderr) || `exit ${r.code}` } : {}) };
      });
    }
    if (config.copies.length) {
      await timed(steps, 'sync', async () => {
        const out = await runSync(cli, []);
        const failed = out.filter((o) => !o.ok);
        return { ok: failed.length === 0, ...(failed.length ? { error: failed.map((o) => `${o.name}: ${o.error}`).join('; ') } : {}) };
      });
    }
    if (Date.now() - lastPassed(runs, 'check') >= 7 * DAY_MS) {
      await timed(steps, 'check', async () => {
        const r = await coffer(cli, ['check', '-q']);
        return { ok: r.code === 0, code: r.code, ...(r.code ? { error: lastLine(r.stderr) || `exit ${r.code}` } : {}) };
      });
    }
    const drillEvery = (schedule?.drillEveryDays ?? 7) * DAY_MS;
    if (config.copies.length && Date.now() - lastPassed(runs, 'drill') >= drillEvery) {
      await timed(steps, 'drill', () => scheduledDrill(cli, config));
    }

    let report;
    try {
      report = await computeStatus(cli, config);
      const r = report;
      updateState(cli.env, (s) => ({ ...s, lastStatus: r }));
      record.verdict = report.verdict;
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      steps.push({ step: 'status', ok: false, ms: 0, error: (e as Error).message });
    }
    record.ok = steps.every((s) => s.ok);
    record.finishedAt = iso();
    appendRun(record, cli.env);

    const failed = steps.filter((s) => !s.ok);
    if (failed.length) {
      const res = await dispatchAlerts(cli.env, config, {
        event: 'failure',
        key: failed.map((s) => s.step).join('+'),
        message: failed.map((s) => `${s.step} failed: ${s.error ?? ''}`).join('\n'),
        ...(report ? { report } : {}),
      });
      for (const r of res) if (!r.ok) cli.warn(`coffer: alert via ${r.channel} failed: ${r.error}`);
    }
    if (report) {
      const res = await dispatchAlerts(cli.env, config, { event: report.verdict === 'safe' ? 'status' : 'unsafe', report });
      for (const r of res) if (!r.ok) cli.warn(`coffer: alert via ${r.channel} failed: ${r.error}`);
    }
    if (cli.json) cli.out(JSON.stringify(record));
    else for (const s of steps) cli.info(`${s.ok ? 'ok  ' : 'FAIL'} ${s.step}${s.skipped ? ` (skipped: ${s.skipped})` : ''}${s.error ? `: ${s.error}` : ''} (${(s.ms / 1000).toFixed(1)} s)`);
    return record.ok ? 0 : 1;
  },
};
export default command;
