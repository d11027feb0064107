/**
 * @module node/schedule
 * Installing the schedule (../shared/design/no-lockout.md §9): a systemd user service + timer
 * running `coffer run-scheduled`, or, where `systemctl --user` is absent (or asked), one crontab
 * line ending `# coffer-schedule` (replaced on reinstall, never duplicated).
 *
 * The external commands are injectable so tests never touch the machine's timers:
 * COFFER_SYSTEMCTL (default `systemctl`) and COFFER_CRONTAB (default `crontab`).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../core/errors.js';
import { writeFileAtomic } from './config.js';

type Env = NodeJS.ProcessEnv;
export const CRON_MARK = '# coffer-schedule';
export const UNIT = 'coffer';

export interface When {
  readonly daily?: string;
  readonly every?: string;
}

/** Validates `--daily HH:MM` / `--every 6h|30m`; returns hour/minute or the interval in minutes. */
export function parseWhen(w: When): { daily: { h: number; m: number } } | { everyMin: number } {
  if (w.daily !== undefined && w.every !== undefined) throw new CofferError('bad-input', 'give either --daily or --every, not both');
  if (w.every !== undefined) {
    const m = /^(\d+)([hm])$/.exec(w.every);
    const n = m ? Number(m[1]) : NaN;
    if (!m || (m[2] === 'h' && (n < 1 || n > 24 || 24 % n !== 0)) || (m[2] === 'm' && (n < 5 || n > 60 || 60 % n !== 0))) {
      throw new CofferError('bad-input', `invalid --every "${w.every}" (hours dividing 24 like 6h, or minutes dividing 60 from 5m)`);
    }
    return { everyMin: m[2] === 'h' ? n * 60 : n };
  }
  const d = w.daily ?? '03:30';
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(d);
  if (!m) throw new CofferError('bad-input', `invalid --daily "${d}" (HH:MM, 24-hour)`);
  return { daily: { h: Number(m[1]), m: Number(m[2]) } };
}

const pad = (n: number) => String(n).padStart(2, '0');

/** The systemd calendar expression. */
export function onCalendar(w: When): string {
  const p = parseWhen(w);
  if ('daily' in p) return `*-*-* ${pad(p.daily.h)}:${pad(p.daily.m)}:00`;
  return p.everyMin % 60 === 0 ? `*-*-* 00/${p.everyMin / 60}:00:00` : `*-*-* *:00/${p.everyMin}:00`;
}

/** The cron time fields. */
export function cronTime(w: When): string {
  const p = parseWhen(w);
  if ('daily' in p) return `${p.daily.m} ${p.daily.h} * * *`;
  return p.everyMin % 60 === 0 ? (p.everyMin === 1440 ? '0 0 * * *' : `0 */${p.everyMin / 60} * * *`) : `*/${p.everyMin} * * * *`;
}

/** What the unit runs: this Node and this coffer script, with the environment it needs. */
export interface RunSpec {
  readonly node: string;
  readonly script: string;
  /** Variables the run needs (password source, XDG folders, repository). Never a password. */
  readonly env: Readonly<Record<string, string>>;
}

function systemdQuote(s: string): string {
  return /^[A-Za-z0-9_\-./:=@%+,]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

function shQuote(s: string): string {
  return /^[A-Za-z0-9_\-./:=@%+,]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function serviceUnit(run: RunSpec): string {
  const envLines = Object.entries(run.env).map(([k, v]) => `Environment=${systemdQuote(`${k}=${v}`)}`);
  return [
    '[Unit]',
    'Description=Coffer backup: backup, sync, check, drill, status',
    'Wants=network-online.target',
    'After=network-online.target',
    '',
    '[Service]',
    'Type=oneshot',
    ...envLines,
    `ExecStart=${systemdQuote(run.node)} ${systemdQuote(run.script)} run-scheduled`,
    'Nice=10',
    'IOSchedulingClass=idle',
    '',
  ].join('\n');
}

export function timerUnit(w: When): string {
  return ['[Unit]', 'Description=Coffer backup schedule', '', '[Timer]', `OnCalendar=${onCalendar(w)}`, 'Persistent=true', 'RandomizedDelaySec=10m', '', '[Install]', 'WantedBy=timers.target', ''].join('\n');
}

export function cronLine(w: When, run: RunSpec, logFile: string): string {
  const env = Object.entries(run.env).map(([k, v]) => `${k}=${shQuote(v)}`);
  return `${cronTime(w)} ${[...env, shQuote(run.node), shQuote(run.script), 'run-scheduled'].join(' ')} >> ${shQuote(logFile)} 2>&1 ${CRON_MARK}`;
}

export function unitDir(env: Env): string {
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(env.HOME || '/', '.config');
  return path.join(base, 'systemd', 'user');
}

function run(cmd: string, args: string[], env: Env, input?: string): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });
  if (r.error) return { code: 127, stdout: '', stderr: (r.error as NodeJS.ErrnoException).code ?? r.error.message };
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

const systemctl = (env: Env) => env.COFFER_SYSTEMCTL || 'systemctl';
const crontab = (env: Env) => env.COFFER_CRONTAB || 'crontab';

/** Whether a systemd user manager answers here. */
export function hasSystemdUser(env: Env): boolean {
  return run(systemctl(env), ['--user', 'show-environment'], env).code === 0;
}

function mustRun(cmd: string, args: string[], env: Env, input?: string): string {
  const r = run(cmd, args, env, input);
  if (r.code !== 0) throw new CofferError('internal', `${cmd} ${args.join(' ')} failed: ${r.stderr.trim().slice(0, 300) || `exit ${r.code}`}`);
  return r.stdout;
}

export function installSystemd(w: When, spec: RunSpec, env: Env): { service: string; timer: string } {
  const dir = unitDir(env);
  const service = path.join(dir, `${UNIT}.service`);
  const timer = path.join(dir, `${UNIT}.timer`);
  writeFileAtomic(service, serviceUnit(spec), 0o644);
  writeFileAtomic(timer, timerUnit(w), 0o644);
  mustRun(systemctl(env), ['--user', 'daemon-reload'], env);
  mustRun(systemctl(env), ['--user', 'enable', '--now', `${UNIT}.timer`], env);
  return { service, timer };
}

function currentCrontab(env: Env): string {
  const r = run(crontab(env), ['-l'], env);
  // "no crontab for user" is exit 1 with nothing useful: an empty table.
  return r.code === 0 ? r.stdout : '';
}

/** The crontab without our line (and without a trailing blank). */
function withoutOurs(table: string): string[] {
  return table.split('\n').filter((l) => l.trim() !== '' && !l.trimEnd().endsWith(CRON_MARK));
}

export function installCron(line: string, env: Env): void {
  const lines = [...withoutOurs(currentCrontab(env)), line];
  mustRun(crontab(env), ['-'], env, lines.join('\n') + '\n');
}

/** Removes whatever is installed (both kinds, quietly when absent). Returns what was removed. */
export function uninstall(env: Env): string[] {
  const removed: string[] = [];
  const dir = unitDir(env);
  const timer = path.join(dir, `${UNIT}.timer`);
  if (fs.existsSync(timer)) {
    run(systemctl(env), ['--user', 'disable', '--now', `${UNIT}.timer`], env);
    for (const f of [timer, path.join(dir, `${UNIT}.service`)]) {
      fs.rmSync(f, { force: true });
      removed.push(f);
    }
    run(systemctl(env), ['--user', 'daemon-reload'], env);
  }
  const table = currentCrontab(env);
  if (table.split('\n').some((l) => l.trimEnd().endsWith(CRON_MARK))) {
    const rest = withoutOurs(table);
    mustRun(crontab(env), ['-'], env, rest.length ? rest.join('\n') + '\n' : '');
    removed.push('crontab line');
  }
  return removed;
}

/** What is installed now: unit files' text and our crontab line. */
export function installed(env: Env): { service?: string; timer?: string; cron?: string } {
  const dir = unitDir(env);
  const read = (f: string) => {
    try {
      return fs.readFileSync(path.join(dir, f), 'utf8');
    } catch {
      return undefined;
    }
  };
  const service = read(`${UNIT}.service`);
  const timer = read(`${UNIT}.timer`);
  const cron = currentCrontab(env).split('\n').find((l) => l.trimEnd().endsWith(CRON_MARK));
  return { ...(service ? { service } : {}), ...(timer ? { timer } : {}), ...(cron ? { cron } : {}) };
}
