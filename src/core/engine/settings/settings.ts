/**
 * @module engine/settings
 * Coffer's settings (the copy list, policies, kit key IDs, schedule, alerts) as kept in two
 * places (../shared/design/no-lockout.md §3):
 *
 * - the local config file (src/node/config.ts), which holds URLs exactly as the user added them;
 * - the `settings` record inside EVERY repository (primary and copies), written on `copies add`
 *   and `copies remove`, so one surviving copy plus the recovery kit rebuild the copy list. The
 *   record is complete (never a delta) and its URLs have any password replaced by `***`.
 *
 * This module holds the shared types, the pure codec of `settings.json`, URL helpers, and the
 * record read/write on top of engine/records. Browser-safe (no node: imports).
 */
import { utf8Decode, utf8Encode } from '../../bytes.js';
import { CofferError } from '../../errors.js';
import { formatPolynomial } from '../../chunker/polynomial.js';
import type { CallOpts } from '../../backend/backend.js';
import type { Repository } from '../../repository/repository.js';
import type { MasterIndex } from '../../repository/master-index.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import { readLatestRecord, writeRecord, type WriteRecordOptions } from '../records/records.js';

export const SETTINGS_KIND = 'settings';
export const SETTINGS_FILE = 'settings.json';

export type CopyKind = 'local' | 'sftp' | 'rest' | 's3' | 'rclone';

export interface CopyPolicy {
  readonly excludeTags: readonly string[];
  readonly onlyTags: readonly string[];
}

export interface CopyCredentials {
  /** Names (never values) of environment variables needed to reach the copy. */
  readonly env: readonly string[];
  /** Whether the URL itself carries a password (REST `user:pass@`). */
  readonly inUrl: boolean;
}

/** One copy, as stored in config.json (full URL) and in the settings record (redacted URL). */
export interface CopyEntry {
  readonly name: string;
  readonly url: string;
  readonly kind: CopyKind;
  readonly repositoryId: string;
  /** RFC 3339 UTC. */
  readonly addedAt: string;
  /** `0x…` hex, as `copies list --json` shows it. */
  readonly chunkerPolynomial: string;
  readonly credentials: CopyCredentials;
  /** Backend options (`--option K=V`), e.g. `s3.region`, `s3.bucket-lookup`. */
  readonly options: Readonly<Record<string, string>>;
  readonly policy: CopyPolicy;
}

export interface KitCopyKey {
  readonly repositoryId: string;
  /** ID of the recovery key's key file in that copy. */
  readonly keyId: string;
}

export interface KitInfo {
  readonly id: string;
  readonly createdAt: string;
  readonly copies: Readonly<Record<string, KitCopyKey>>;
}

export interface ScheduleInfo {
  /** How it was installed. */
  readonly mode: 'systemd' | 'cron';
  /** `HH:MM` for a daily run, or undefined when `every` is set. */
  readonly daily?: string;
  /** Interval like `6h` or `30m` (instead of `daily`). */
  readonly every?: string;
  readonly drillEveryDays: number;
  /** What `run-scheduled` backs up. */
  readonly paths: readonly string[];
  readonly installedAt: string;
}

export type AlertChannel =
  | { readonly type: 'command'; readonly command: string }
  | { readonly type: 'email'; readonly to: string }
  | { readonly type: 'webhook'; readonly url: string };

/** The content of `settings.json` in the settings record. */
export interface SettingsRecord {
  readonly version: 1;
  readonly writtenAt: string;
  readonly primary: { readonly repositoryId: string; readonly chunkerPolynomial: string };
  /** Copies in order of addition; URLs redacted. */
  readonly copies: readonly CopyEntry[];
  readonly kit?: KitInfo;
  readonly schedule?: ScheduleInfo;
  readonly alerts: readonly AlertChannel[];
}

export const COPY_NAME_RE = /^[a-z0-9][a-z0-9-]{0,31}$/;

/** Validates a copy name (`[a-z0-9][a-z0-9-]{0,31}`, not `primary`); throws 'bad-input'. */
export function checkCopyName(name: string): void {
  if (!COPY_NAME_RE.test(name)) throw new CofferError('bad-input', `invalid copy name ${JSON.stringify(name)} (use a-z, 0-9 and -, at most 32 characters)`);
  if (name === 'primary') throw new CofferError('bad-input', 'the copy name "primary" is reserved');
}

/** The kind of a repository URL (restic syntax). */
export function copyKindOf(url: string): CopyKind {
  const m = /^([a-z0-9]+):/.exec(url);
  const s = m?.[1];
  if (s === 'sftp' || s === 'rest' || s === 's3' || s === 'rclone') return s;
  if (!s || s === 'local' || s.length === 1) return 'local';
  throw new CofferError('bad-input', `repository type "${s}:" is not supported (use a local path, rest:, s3:, sftp: or rclone:)`);
}

const USERINFO_PW = /^([a-z0-9]+:[a-z]+:\/\/[^/@:]*):([^/@]*)@/i;

/** Whether the URL carries a password (`rest:https://user:pass@host/…`). */
export function urlHasPassword(url: string): boolean {
  return USERINFO_PW.test(url);
}

/** The URL with any password replaced by `***` (for display, logs and the settings record). */
export function redactUrl(url: string): string {
  return url.replace(USERINFO_PW, '$1:***@');
}

/** Polynomial as shown to users and stored in settings: `0x` + hex. */
export function polynomialHex(p: bigint): string {
  return '0x' + formatPolynomial(p);
}

function isStrArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function need(cond: unknown, what: string): asserts cond {
  if (!cond) throw new CofferError('corrupt', `settings: ${what}`);
}

/** Validates one copy entry's shape (throws 'corrupt' naming the field). */
export function checkCopyEntry(c: unknown, where = 'copy'): CopyEntry {
  need(c && typeof c === 'object', `${where} is not an object`);
  const o = c as Record<string, unknown>;
  need(typeof o.name === 'string', `${where}.name missing`);
  need(typeof o.url === 'string', `${where}.url missing`);
  need(typeof o.kind === 'string' && ['local', 'sftp', 'rest', 's3', 'rclone'].includes(o.kind), `${where}.kind invalid`);
  need(typeof o.repositoryId === 'string', `${where}.repositoryId missing`);
  need(typeof o.addedAt === 'string', `${where}.addedAt missing`);
  need(typeof o.chunkerPolynomial === 'string', `${where}.chunkerPolynomial missing`);
  const cr = o.credentials as Record<string, unknown> | undefined;
  need(cr && isStrArray(cr.env) && typeof cr.inUrl === 'boolean', `${where}.credentials invalid`);
  need(o.options && typeof o.options === 'object' && Object.values(o.options).every((v) => typeof v === 'string'), `${where}.options invalid`);
  const p = o.policy as Record<string, unknown> | undefined;
  need(p && isStrArray(p.excludeTags) && isStrArray(p.onlyTags), `${where}.policy invalid`);
  return c as CopyEntry;
}

export function checkKitInfo(k: unknown): KitInfo {
  need(k && typeof k === 'object', 'kit is not an object');
  const o = k as Record<string, unknown>;
  need(typeof o.id === 'string' && typeof o.createdAt === 'string', 'kit.id/createdAt missing');
  need(o.copies && typeof o.copies === 'object', 'kit.copies missing');
  for (const [n, v] of Object.entries(o.copies as object)) {
    need(v && typeof (v as KitCopyKey).repositoryId === 'string' && typeof (v as KitCopyKey).keyId === 'string', `kit.copies.${n} invalid`);
  }
  return k as KitInfo;
}

export function checkAlert(a: unknown): AlertChannel {
  need(a && typeof a === 'object', 'alert is not an object');
  const o = a as Record<string, unknown>;
  need(
    (o.type === 'command' && typeof o.command === 'string') || (o.type === 'email' && typeof o.to === 'string') || (o.type === 'webhook' && typeof o.url === 'string'),
    `alert ${JSON.stringify(o.type)} invalid`,
  );
  return a as AlertChannel;
}

export function checkSchedule(s: unknown): ScheduleInfo {
  need(s && typeof s === 'object', 'schedule is not an object');
  const o = s as Record<string, unknown>;
  need(o.mode === 'systemd' || o.mode === 'cron', 'schedule.mode invalid');
  need(typeof o.drillEveryDays === 'number' && isStrArray(o.paths) && typeof o.installedAt === 'string', 'schedule fields invalid');
  return s as ScheduleInfo;
}

/** The copy entry with its URL redacted (what leaves the machine in records). */
export function redactCopy(c: CopyEntry): CopyEntry {
  return { ...c, url: redactUrl(c.url) };
}

export function encodeSettings(s: SettingsRecord): Uint8Array {
  const clean: SettingsRecord = { ...s, copies: s.copies.map(redactCopy) };
  return utf8Encode(JSON.stringify(clean, null, 2) + '\n');
}

export function decodeSettings(bytes: Uint8Array): SettingsRecord {
  let v: unknown;
  try {
    v = JSON.parse(utf8Decode(bytes));
  } catch {
    throw new CofferError('corrupt', `settings: ${SETTINGS_FILE} is not valid JSON`);
  }
  need(v && typeof v === 'object', 'not an object');
  const o = v as Record<string, unknown>;
  need(o.version === 1, `unsupported version ${JSON.stringify(o.version)}`);
  need(typeof o.writtenAt === 'string', 'writtenAt missing');
  const p = o.primary as Record<string, unknown> | undefined;
  need(p && typeof p.repositoryId === 'string' && typeof p.chunkerPolynomial === 'string', 'primary invalid');
  need(Array.isArray(o.copies), 'copies missing');
  o.copies.forEach((c, i) => checkCopyEntry(c, `copies[${i}]`));
  if (o.kit !== undefined) checkKitInfo(o.kit);
  if (o.schedule !== undefined) checkSchedule(o.schedule);
  need(o.alerts === undefined || Array.isArray(o.alerts), 'alerts invalid');
  const alerts = ((o.alerts as unknown[] | undefined) ?? []).map(checkAlert);
  return { ...(o as unknown as SettingsRecord), alerts };
}

/** Writes a complete settings record into `repo`. */
export async function writeSettingsRecord(repo: Repository, s: SettingsRecord, opts: WriteRecordOptions): Promise<string> {
  const { id } = await writeRecord(repo, SETTINGS_KIND, [{ name: SETTINGS_FILE, data: encodeSettings(s) }], opts);
  return id;
}

/** The newest settings record of `repo`, decoded, or undefined when there is none. */
export async function readSettingsRecord(
  repo: Repository,
  o?: CallOpts & { index?: MasterIndex; entries?: readonly SnapshotEntry[] },
): Promise<{ id: string; settings: SettingsRecord } | undefined> {
  const rec = await readLatestRecord(repo, SETTINGS_KIND, o);
  if (!rec) return undefined;
  const file = rec.files.get(SETTINGS_FILE);
  if (!file) throw new CofferError('corrupt', `settings record ${rec.id.slice(0, 8)} has no ${SETTINGS_FILE}`);
  return { id: rec.id, settings: decodeSettings(file) };
}
