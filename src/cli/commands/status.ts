/**
 * `coffer status [--json] [--offline]`: "am I safe?" (../shared/design/no-lockout.md §7).
 * Opens the primary and every copy in parallel with the normal password and reports, per copy
 * and overall, with reason codes in order of urgency. Exit 0 safe, 1 unsafe, 2 cannot run (no
 * config). `--offline` answers from the last result cached in the state folder, without
 * contacting anything. `--alert` also sends the configured alerts (once per reason per day).
 */
import { isCofferError } from '../../core/errors.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../core/repository/snapshots.js';
import { toUnixNanos } from '../../core/format/go-time.js';
import { utf8Decode } from '../../core/bytes.js';
import { isRecordSnapshot, latestRecordEntry, loadRecordFiles } from '../../core/engine/records/records.js';
import { redactUrl, type CopyEntry } from '../../core/engine/settings/settings.js';
import { missingSnapshots, recordsCurrent, wantedSnapshots } from '../../core/engine/sync/sync.js';
import { loadState, readDrills, readRuns, requireConfig, updateState, type CofferConfig, type LocalState } from '../../node/config.js';
import { dispatchAlerts } from '../../node/alerts/dispatch.js';
import { flag, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { openCopyFor, openPrimary, passwordOnce } from './copies.js';

export const DRILL_MAX_AGE_DAYS = 35;
export const CHECK_MAX_AGE_DAYS = 35;

/** Reason codes, most urgent first. */
export const REASON_ORDER = [
  'no-copies',
  'unreachable',
  'check-failed',
  'drill-failed',
  'snapshots-missing',
  'records-missing',
  'no-kit',
  'kit-key-missing',
  'kit-stale',
  'never-drilled',
  'drill-old',
  'check-old',
] as const;
export type ReasonCode = (typeof REASON_ORDER)[number];

export interface Reason {
  readonly copy?: string;
  readonly code: ReasonCode;
  readonly message: string;
}

export interface CopyStatus {
  readonly name: string;
  readonly url: string;
  readonly reachable: boolean;
  readonly error?: string;
  readonly snapshots?: number;
  readonly newestSnapshotAgeS?: number | null;
  readonly snapshotsMissing?: number;
  readonly lastSync?: string | null;
  readonly lastFullCheck: string | null;
  readonly lastCheckOk?: boolean;
  readonly lastDrill: { readonly at: string; readonly verdict: string; readonly mode: string } | null;
  readonly kitKeyPresent: boolean | null;
  readonly records?: Record<string, boolean>;
  readonly bytesUsed?: number;
  readonly safe: boolean;
  readonly reasons: Reason[];
}

export interface StatusReport {
  readonly verdict: 'safe' | 'unsafe';
  readonly reasons: Reason[];
  readonly checkedAt: string;
  readonly offline?: boolean;
  readonly primary: { readonly url: string; readonly reachable: boolean; readonly snapshots?: number; readonly newestSnapshotAgeS?: number | null; readonly error?: string };
  readonly kit: { readonly id: string; readonly createdAt: string; readonly ageDays: number; readonly stale: boolean; readonly missingFrom: string[] } | null;
  readonly lastBackup: LocalState['lastBackup'] | null;
  readonly lastRuns: unknown[];
  readonly copies: CopyStatus[];
}

function iso(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function snapMs(e: SnapshotEntry): number {
  return Number(toUnixNanos(e.snapshot.time) / 1_000_000n);
}

function userSnapshots(entries: readonly SnapshotEntry[]): SnapshotEntry[] {
  return entries.filter((e) => !isRecordSnapshot(e.snapshot));
}

function ageS(entries: readonly SnapshotEntry[], now: number): number | null {
  const u = userSnapshots(entries);
  return u.length ? Math.max(0, Math.round((now - snapMs(u[u.length - 1]!)) / 1000)) : null;
}

/** A drill JSON (whole, or one copy's part) reduced to what status shows. */
function drillSummary(v: unknown, name: string, fallbackAt: string): { at: string; verdict: string; mode: string } | undefined {
  if (!v || typeof v !== 'object') return undefined;
  const top = v as Record<string, unknown>;
  const part = Array.isArray(top.copies) ? ((top.copies as Record<string, unknown>[]).find((c) => c && c.name === name) ?? (top.copies.length === 1 ? (top.copies[0] as Record<string, unknown>) : undefined)) : top;
  if (!part) return undefined;
  const verdict = typeof part.verdict === 'string' ? part.verdict : typeof top.verdict === 'string' ? top.verdict : undefined;
  if (!verdict) return undefined;
  const at = typeof top.startedAt === 'string' ? top.startedAt : typeof top.at === 'string' ? top.at : typeof part.at === 'string' ? part.at : fallbackAt;
  const mode = typeof top.mode === 'string' ? top.mode : typeof part.mode === 'string' ? part.mode : 'sample';
  return { at, verdict, mode };
}

async function drillFromCopy(repo: Repository, name: string, entries: readonly SnapshotEntry[], o: { signal: AbortSignal }) {
  const entry = await latestRecordEntry(repo, 'drill', o, entries);
  if (!entry) return undefined;
  const rec = await loadRecordFiles(repo, entry, o);
  const file = rec.files.get('drill.json');
  if (!file) return undefined;
  try {
    return drillSummary(JSON.parse(utf8Decode(file)), name, iso(snapMs(entry)));
  } catch {
    return undefined;
  }
}

function drillFromLocal(cli: Cli, c: CopyEntry) {
  let best: { at: string; verdict: string; mode: string } | undefined;
  for (const d of readDrills(cli.env)) {
    const s = drillSummary(d, c.name, '');
    // Only drills that name this copy count (a local drill of another copy says nothing here).
    if (!s || !s.at || !(Array.isArray((d as { copies?: unknown }).copies) && (d as { copies: { name?: string }[] }).copies.some((x) => x.name === c.name))) continue;
    if (!best || s.at > best.at) best = s;
  }
  return best;
}

const DAY_MS = 86_400_000;

function judgeCopy(cli: Cli, config: CofferConfig, state: LocalState, c: CopyEntry, base: Omit<CopyStatus, 'safe' | 'reasons'>, now: number): CopyStatus {
  const reasons: Reason[] = [];
  const add = (code: ReasonCode, message: string) => reasons.push({ copy: c.name, code, message });
  if (!base.reachable) add('unreachable', `copy ${c.name} cannot be reached: ${base.error ?? 'unknown error'}`);
  else {
    if ((base.snapshotsMissing ?? 0) > 0) add('snapshots-missing', `copy ${c.name} lacks ${base.snapshotsMissing} snapshot(s) of the primary (run coffer sync)`);
    const missingRec = Object.entries(base.records ?? {}).filter(([, ok]) => !ok).map(([k]) => k);
    if (missingRec.length) add('records-missing', `copy ${c.name} lacks the primary's newest ${missingRec.join(', ')} record (run coffer sync)`);
    if (config.kit && config.kit.copies[c.name] && base.kitKeyPresent === false) add('kit-key-missing', `the kit's key is not in copy ${c.name}`);
  }
  const st = state.copies[c.name];
  if (st?.lastCheck && !st.lastCheck.ok) add('check-failed', `the last check of copy ${c.name} found problems: ${st.lastCheck.error ?? 'see coffer sync'}`);
  if (!base.lastDrill) add('never-drilled', `copy ${c.name} was never drilled (run coffer drill)`);
  else {
    if (base.lastDrill.verdict !== 'pass') add('drill-failed', `the last drill of copy ${c.name} failed (${base.lastDrill.at})`);
    else if (now - Date.parse(base.lastDrill.at) > DRILL_MAX_AGE_DAYS * DAY_MS) add('drill-old', `the last drill of copy ${c.name} is older than ${DRILL_MAX_AGE_DAYS} days`);
  }
  if (!base.lastFullCheck || now - Date.parse(base.lastFullCheck) > CHECK_MAX_AGE_DAYS * DAY_MS) {
    if (!(st?.lastCheck && !st.lastCheck.ok)) add('check-old', `copy ${c.name} had no structure check in ${CHECK_MAX_AGE_DAYS} days (run coffer sync)`);
  }
  void cli;
  return { ...base, safe: reasons.length === 0, reasons };
}

function sortReasons(r: Reason[]): Reason[] {
  return [...r].sort((a, b) => REASON_ORDER.indexOf(a.code) - REASON_ORDER.indexOf(b.code));
}

async function probeCopy(cli: Cli, config: CofferConfig, state: LocalState, c: CopyEntry, primarySnaps: readonly SnapshotEntry[] | undefined, now: number): Promise<CopyStatus> {
  const st = state.copies[c.name];
  const common = { name: c.name, url: redactUrl(c.url) };
  const checkAt = st?.lastCheck?.ok ? st.lastCheck.at : null;
  let repo: Repository | undefined;
  try {
    repo = await openCopyFor(cli, c, true);
    const o = { signal: cli.signal };
    const snaps = await loadSnapshots(repo, o);
    const keys = new Set<string>();
    for await (const f of repo.backend.list('keys', o)) keys.add(f.name);
    let bytes = 0;
    for await (const f of repo.backend.list('data', o)) bytes += f.size;
    const kitKey = config.kit?.copies[c.name]?.keyId;
    const drill = (await drillFromCopy(repo, c.name, snaps, o).catch(() => undefined)) ?? drillFromLocal(cli, c);
    // A passed drill's structure step counts as a full check.
    const drillCheck = drill && drill.verdict === 'pass' ? drill.at : null;
    const lastFullCheck = [checkAt, drillCheck].filter((x): x is string => !!x).sort().at(-1) ?? null;
    const wanted = primarySnaps ? wantedSnapshots(userSnapshots(primarySnaps), c.policy) : [];
    return judgeCopy(cli, config, state, c, {
      ...common,
      reachable: true,
      snapshots: userSnapshots(snaps).length,
      newestSnapshotAgeS: ageS(snaps, now),
      snapshotsMissing: primarySnaps ? missingSnapshots(wanted, snaps).length : 0,
      lastSync: st?.lastSync?.at ?? null,
      lastFullCheck,
      ...(st?.lastCheck ? { lastCheckOk: st.lastCheck.ok } : {}),
      lastDrill: drill ?? null,
      kitKeyPresent: kitKey ? keys.has(kitKey) : null,
      records: primarySnaps ? recordsCurrent(primarySnaps, snaps) : {},
      bytesUsed: bytes,
    }, now);
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    const drill = drillFromLocal(cli, c);
    return judgeCopy(cli, config, state, c, {
      ...common,
      reachable: false,
      error: e instanceof Error ? e.message : String(e),
      lastSync: st?.lastSync?.at ?? null,
      lastFullCheck: checkAt,
      lastDrill: drill ?? null,
      kitKeyPresent: null,
    }, now);
  } finally {
    await repo?.backend.close?.().catch(() => undefined);
  }
}

/** Builds the status report, contacting the primary and every copy in parallel. */
export async function computeStatus(cli: Cli, config: CofferConfig): Promise<StatusReport> {
  const now = Date.now();
  const state = loadState(cli.env);
  let primaryInfo: StatusReport['primary'] = { url: redactUrl(config.primary.url), reachable: false };
  let primarySnaps: SnapshotEntry[] | undefined;
  // The password is asked once, before the parallel work (a prompt cannot be shared).
  await passwordOnce(cli);
  const primaryWork = (async () => {
    try {
      const primary = await openPrimary(cli, config);
      try {
        primarySnaps = await loadSnapshots(primary, { signal: cli.signal });
        primaryInfo = { url: redactUrl(config.primary.url), reachable: true, snapshots: userSnapshots(primarySnaps).length, newestSnapshotAgeS: ageS(primarySnaps, now) };
      } finally {
        await primary.backend.close?.().catch(() => undefined);
      }
    } catch (e) {
      // A wrong password is the user's mistake, not an unreachable primary: exit 12.
      if (isCofferError(e, 'cancelled') || isCofferError(e, 'wrong-password')) throw e;
      primaryInfo = { url: redactUrl(config.primary.url), reachable: false, error: e instanceof Error ? e.message : String(e) };
    }
  })();
  await primaryWork;
  const copies = await Promise.all(config.copies.map((c) => probeCopy(cli, config, state, c, primarySnaps, now)));

  const reasons: Reason[] = [];
  if (config.copies.length === 0) reasons.push({ code: 'no-copies', message: 'there is no copy besides the primary (add one with coffer copies add NAME URL)' });
  if (!primaryInfo.reachable) reasons.push({ code: 'unreachable', copy: 'primary', message: `the primary cannot be reached: ${primaryInfo.error ?? ''}` });
  for (const c of copies) reasons.push(...c.reasons);
  let kit: StatusReport['kit'] = null;
  if (!config.kit) reasons.push({ code: 'no-kit', message: 'there is no recovery kit (run coffer kit and keep the sheet safe)' });
  else {
    const notInKit = config.copies.filter((c) => !config.kit!.copies[c.name]).map((c) => c.name);
    for (const n of notInKit) reasons.push({ copy: n, code: 'kit-stale', message: `the recovery kit does not name copy ${n} (run coffer kit again)` });
    kit = {
      id: config.kit.id,
      createdAt: config.kit.createdAt,
      ageDays: Math.floor((now - Date.parse(config.kit.createdAt)) / DAY_MS),
      stale: notInKit.length > 0,
      missingFrom: copies.filter((c) => c.kitKeyPresent === false).map((c) => c.name),
    };
  }
  const sorted = sortReasons(reasons);
  const runs = readRuns(cli.env);
  return {
    verdict: sorted.length === 0 ? 'safe' : 'unsafe',
    reasons: sorted,
    checkedAt: iso(now),
    primary: primaryInfo,
    kit,
    lastBackup: state.lastBackup ?? null,
    lastRuns: runs.slice(-5),
    copies,
  };
}

function ageText(s: number | null | undefined): string {
  if (s === null || s === undefined) return 'none';
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function printStatus(cli: Cli, r: StatusReport): void {
  cli.out(r.verdict === 'safe' ? 'SAFE: every copy is current, checked and drilled, and the kit opens them all' : `UNSAFE: ${r.reasons.map((x) => x.message).join('; ')}`);
  cli.out('');
  cli.out(`primary  ${r.primary.url}: ${r.primary.reachable ? `${r.primary.snapshots} snapshots, newest ${ageText(r.primary.newestSnapshotAgeS)}` : `unreachable (${r.primary.error})`}`);
  for (const c of r.copies) {
    const parts = c.reachable
      ? [`${c.snapshots} snapshots`, `newest ${ageText(c.newestSnapshotAgeS)}`, c.snapshotsMissing ? `${c.snapshotsMissing} missing` : 'none missing', `checked ${c.lastFullCheck ?? 'never'}`, `drill ${c.lastDrill ? `${c.lastDrill.verdict} ${c.lastDrill.at}` : 'never'}`]
      : [`unreachable (${c.error})`, `last sync ${c.lastSync ?? 'never'}`];
    cli.out(`${(c.safe ? 'ok' : '!!').padEnd(3)}${c.name.padEnd(10)} ${c.url}: ${parts.join(', ')}`);
  }
  cli.out(r.kit ? `kit      ${r.kit.id}, ${r.kit.ageDays} days old${r.kit.stale ? ', STALE' : ''}` : 'kit      none');
  if (r.lastBackup) cli.out(`backup   last ${r.lastBackup.at}${r.lastBackup.ok ? '' : `, ${r.lastBackup.errors} unreadable file(s)`}`);
  if (r.offline) cli.out(`(offline: as checked at ${r.checkedAt})`);
}

/** The cached report for --offline, or a report saying nothing was checked yet. */
function offlineStatus(cli: Cli, config: CofferConfig): StatusReport {
  const state = loadState(cli.env);
  const cached = state.lastStatus as StatusReport | undefined;
  // The cached checks, with the local history (backups, runs) as it is now.
  if (cached && typeof cached === 'object' && Array.isArray(cached.copies)) return { ...cached, offline: true, lastBackup: state.lastBackup ?? null, lastRuns: readRuns(cli.env).slice(-5) };
  const reasons: Reason[] = config.copies.map((c) => ({ copy: c.name, code: 'unreachable' as const, message: `copy ${c.name} was not checked yet (run coffer status without --offline)` }));
  if (!config.copies.length) reasons.push({ code: 'no-copies', message: 'there is no copy besides the primary' });
  if (!config.kit) reasons.push({ code: 'no-kit', message: 'there is no recovery kit' });
  return {
    verdict: 'unsafe',
    reasons: sortReasons(reasons),
    checkedAt: iso(Date.now()),
    offline: true,
    primary: { url: redactUrl(config.primary.url), reachable: false },
    kit: null,
    lastBackup: state.lastBackup ?? null,
    lastRuns: readRuns(cli.env).slice(-5),
    copies: config.copies.map((c) => ({ name: c.name, url: redactUrl(c.url), reachable: false, lastFullCheck: null, lastDrill: null, kitKeyPresent: null, safe: false, reasons: reasons.filter((r) => r.copy === c.name) })),
  };
}

const command: Command = {
  name: 'status',
  summary: 'Am I safe? Every copy (reachable, current, checked, drilled), the kit, the last backup; exit 0 safe, 1 unsafe.',
  usage: '[--json] [--offline] [--alert]',
  help: `Safe means: at least one copy; every copy reachable and holding every snapshot of the primary
its policy admits; Coffer's records current in every copy; a recovery kit naming every copy whose
key is in each; a passed drill of every copy within ${DRILL_MAX_AGE_DAYS} days; a structure check within ${CHECK_MAX_AGE_DAYS} days.
Options:
      --offline   answer from the last result cached locally (contacts nothing)
      --alert     also send the configured alerts when unsafe (or recovered)
Exit codes: 0 safe, 1 unsafe, 2 no configuration.`,
  options: { offline: { type: 'boolean' }, alert: { type: 'boolean' } },
  async run(cli, values) {
    const config = requireConfig(cli.env);
    let report: StatusReport;
    if (flag(values.offline)) report = offlineStatus(cli, config);
    else {
      report = await computeStatus(cli, config);
      updateState(cli.env, (s) => ({ ...s, lastStatus: report }));
    }
    if (flag(values.alert) && !report.offline) {
      const sent = await dispatchAlerts(cli.env, config, { event: report.verdict === 'safe' ? 'status' : 'unsafe', report });
      for (const s of sent) if (!s.ok) cli.warn(`coffer: alert via ${s.channel} failed: ${s.error}`);
    }
    if (cli.json) cli.out(JSON.stringify(report));
    else printStatus(cli, report);
    return report.verdict === 'safe' ? 0 : 1;
  },
};
export default command;
