/**
 * @module node/config
 * The local config file and the local state cache (../shared/design/no-lockout.md §3).
 *
 * - `$XDG_CONFIG_HOME/coffer/config.json` (default `~/.config/coffer/config.json`), mode 0600,
 *   written atomically (temp file + fsync + rename): the primary's URL, the copies (full URLs as
 *   added), the kit's key IDs, the schedule and the alert channels. No passwords, no recovery key.
 * - `$XDG_STATE_HOME/coffer/` (default `~/.local/state/coffer/`): `status.json` (last sync/check
 *   per copy, last run, alerts sent), `drills.jsonl` and `runs.jsonl` (one JSON per line).
 *   A cache: the truth is in the repositories.
 *
 * Every function takes the environment explicitly, so commands and tests never depend on the
 * process's own HOME.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CofferError } from '../core/errors.js';
import {
  checkAlert,
  checkCopyEntry,
  checkKitInfo,
  checkSchedule,
  type AlertChannel,
  type CopyEntry,
  type KitInfo,
  type ScheduleInfo,
  type SettingsRecord,
} from '../core/engine/settings/settings.js';

export type { AlertChannel, CopyEntry, CopyKind, CopyPolicy, KitInfo, KitCopyKey, ScheduleInfo, SettingsRecord } from '../core/engine/settings/settings.js';

export interface CofferConfig {
  readonly version: 1;
  readonly primary: { readonly url: string };
  /** In order of addition, full URLs. */
  readonly copies: readonly CopyEntry[];
  readonly kit?: KitInfo;
  readonly schedule?: ScheduleInfo;
  readonly alerts: readonly AlertChannel[];
  /** Folders `coffer inbox scan` picks new files up from (absolute paths). */
  readonly inbox?: { readonly watch: readonly string[] };
}

type Env = NodeJS.ProcessEnv;

function home(env: Env): string {
  return env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
}

function xdg(env: Env, name: 'XDG_CONFIG_HOME' | 'XDG_STATE_HOME' | 'XDG_DATA_HOME', fallback: string[]): string {
  const v = env[name];
  return v && path.isAbsolute(v) ? v : path.join(home(env), ...fallback);
}

/** `$XDG_CONFIG_HOME/coffer` */
export function configDir(env: Env = process.env): string {
  return path.join(xdg(env, 'XDG_CONFIG_HOME', ['.config']), 'coffer');
}

/** `$XDG_CONFIG_HOME/coffer/config.json` */
export function configPath(env: Env = process.env): string {
  return path.join(configDir(env), 'config.json');
}

/** `$XDG_STATE_HOME/coffer` */
export function stateDir(env: Env = process.env): string {
  return path.join(xdg(env, 'XDG_STATE_HOME', ['.local', 'state']), 'coffer');
}

export function statusPath(env: Env = process.env): string {
  return path.join(stateDir(env), 'status.json');
}

export function drillsPath(env: Env = process.env): string {
  return path.join(stateDir(env), 'drills.jsonl');
}

export function runsPath(env: Env = process.env): string {
  return path.join(stateDir(env), 'runs.jsonl');
}

/** A new empty config for `primaryUrl`. */
export function emptyConfig(primaryUrl: string): CofferConfig {
  return { version: 1, primary: { url: primaryUrl }, copies: [], alerts: [] };
}

/** Checks a parsed config's shape; throws 'bad-input' naming the problem. */
export function validateConfig(v: unknown, file = 'config.json'): CofferConfig {
  const bad = (what: string) => new CofferError('bad-input', `${file}: ${what}`);
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw bad('not a JSON object');
  const o = v as Record<string, unknown>;
  if (o.version !== 1) throw bad(`unsupported version ${JSON.stringify(o.version)}`);
  const p = o.primary as Record<string, unknown> | undefined;
  if (!p || typeof p.url !== 'string' || !p.url) throw bad('primary.url missing');
  if (!Array.isArray(o.copies)) throw bad('copies missing');
  try {
    const names = new Set<string>();
    o.copies.forEach((c, i) => {
      const e = checkCopyEntry(c, `copies[${i}]`);
      if (names.has(e.name)) throw new CofferError('corrupt', `copy ${e.name} listed twice`);
      names.add(e.name);
    });
    if (o.kit !== undefined) checkKitInfo(o.kit);
    if (o.schedule !== undefined) checkSchedule(o.schedule);
    if (o.alerts !== undefined && !Array.isArray(o.alerts)) throw new CofferError('corrupt', 'alerts is not an array');
    ((o.alerts as unknown[] | undefined) ?? []).forEach(checkAlert);
    const ib = o.inbox as { watch?: unknown } | undefined;
    if (ib !== undefined && (!ib || !Array.isArray(ib.watch) || !ib.watch.every((w) => typeof w === 'string'))) throw new CofferError('corrupt', 'inbox.watch is not a list of folders');
  } catch (e) {
    throw bad((e as Error).message.replace(/^settings: /, ''));
  }
  return { ...(o as unknown as CofferConfig), alerts: (o.alerts as AlertChannel[] | undefined) ?? [] };
}

/** The config, or undefined when the file does not exist. Throws 'bad-input' when unreadable. */
export function loadConfig(env: Env = process.env): CofferConfig | undefined {
  const file = configPath(env);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CofferError('bad-input', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CofferError('bad-input', `${file} is not valid JSON`);
  }
  return validateConfig(v, file);
}

/** The config; 'bad-input' (exit 2) when there is none ("cannot run"). */
export function requireConfig(env: Env = process.env): CofferConfig {
  const c = loadConfig(env);
  if (!c) throw new CofferError('bad-input', `no Coffer config at ${configPath(env)} (add a copy with "coffer copies add NAME URL")`);
  return c;
}

/** Writes `data` to `file` atomically with `mode` (temp file in the same folder, fsync, rename). */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o600): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.chmodSync(tmp, mode); // the umask may have narrowed or the file pre-existed
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Saves the config (validated first, mode 0600, atomic). */
export function saveConfig(config: CofferConfig, env: Env = process.env): void {
  const checked = validateConfig(JSON.parse(JSON.stringify(config)));
  writeFileAtomic(configPath(env), JSON.stringify(checked, null, 2) + '\n', 0o600);
}

/** Loads (or starts from `emptyConfig(primaryUrl)`), applies `fn`, saves; returns the result. */
export function updateConfig(env: Env, primaryUrl: string, fn: (c: CofferConfig) => CofferConfig): CofferConfig {
  const next = fn(loadConfig(env) ?? emptyConfig(primaryUrl));
  saveConfig(next, env);
  return next;
}

/** The copy called `name`; 'bad-input' (exit 2) when unknown. */
export function findCopy(config: CofferConfig, name: string): CopyEntry {
  const c = config.copies.find((x) => x.name === name);
  if (!c) throw new CofferError('bad-input', `unknown copy "${name}" (known: ${config.copies.map((x) => x.name).join(', ') || 'none'})`);
  return c;
}

/** The settings record content for this config (URLs are redacted when encoded). */
export function settingsFromConfig(config: CofferConfig, primary: { repositoryId: string; chunkerPolynomial: string }, now = new Date()): SettingsRecord {
  return {
    version: 1,
    writtenAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    primary,
    copies: config.copies,
    ...(config.kit ? { kit: config.kit } : {}),
    ...(config.schedule ? { schedule: config.schedule } : {}),
    alerts: config.alerts,
  };
}

// ---- local state (a cache) ----

export interface CopyState {
  /** Last sync attempt. */
  readonly lastSync?: { readonly at: string; readonly ok: boolean; readonly copied: number; readonly error?: string };
  /** Last time every snapshot of the primary was in the copy. */
  readonly lastInSync?: string;
  /** Last structure check (sync verification, check, or a drill's step 4). */
  readonly lastCheck?: { readonly at: string; readonly ok: boolean; readonly error?: string };
}

export interface LocalState {
  readonly copies: Readonly<Record<string, CopyState>>;
  /** The last `coffer status` result (for `--offline`). */
  readonly lastStatus?: unknown;
  /** The last backup: when and whether it had errors. */
  readonly lastBackup?: { readonly at: string; readonly ok: boolean; readonly errors: number; readonly snapshot?: string };
  /** Alerts already sent: key `event:reason` -> ISO time (one per reason per day). */
  readonly alertsSent?: Readonly<Record<string, string>>;
  /** The verdict when the last alert pass ran (to send "recovered"). */
  readonly lastVerdict?: 'safe' | 'unsafe';
}

export function loadState(env: Env = process.env): LocalState {
  try {
    const v = JSON.parse(fs.readFileSync(statusPath(env), 'utf8')) as LocalState;
    return v && typeof v === 'object' && v.copies && typeof v.copies === 'object' ? v : { copies: {} };
  } catch {
    return { copies: {} }; // a cache: missing or damaged means empty
  }
}

export function saveState(state: LocalState, env: Env = process.env): void {
  writeFileAtomic(statusPath(env), JSON.stringify(state, null, 2) + '\n', 0o600);
}

/** Read-modify-write of status.json. */
export function updateState(env: Env, fn: (s: LocalState) => LocalState): LocalState {
  const next = fn(loadState(env));
  saveState(next, env);
  return next;
}

/** Merges `patch` into the state of copy `name`. */
export function updateCopyState(env: Env, name: string, patch: Partial<CopyState>): void {
  updateState(env, (s) => ({ ...s, copies: { ...s.copies, [name]: { ...s.copies[name], ...patch } } }));
}

function appendJsonLine(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.appendFileSync(file, JSON.stringify(value) + '\n', { mode: 0o600 });
}

function readJsonLines<T>(file: string): T[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // a torn last line after a crash: skip it
    }
  }
  return out;
}

/** Appends one drill JSON (design §6 shape) to drills.jsonl. */
export function appendDrill(drill: unknown, env: Env = process.env): void {
  appendJsonLine(drillsPath(env), drill);
}

/** Every drill JSON in drills.jsonl, oldest first. */
export function readDrills<T = Record<string, unknown>>(env: Env = process.env): T[] {
  return readJsonLines<T>(drillsPath(env));
}

/** One scheduled run: `{at, ok, steps:[{step, ok, error?}], verdict?}`. */
export function appendRun(run: unknown, env: Env = process.env): void {
  appendJsonLine(runsPath(env), run);
}

export function readRuns<T = Record<string, unknown>>(env: Env = process.env): T[] {
  return readJsonLines<T>(runsPath(env));
}
