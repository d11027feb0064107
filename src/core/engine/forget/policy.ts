/**
 * @module engine/forget/policy
 * restic's retention policy (spec §19.1), rule for rule as restic 0.18's ApplyPolicy:
 *
 * - snapshots newest first; a snapshot is kept when any rule keeps it, with the rules' reasons;
 * - count rules (last/hourly/daily/weekly/monthly/yearly, -1 = unlimited) keep a snapshot when
 *   its bucket differs from the bucket last kept by that rule, while the count lasts; the oldest
 *   snapshot is also kept while a rule has budget left ("oldest daily snapshot", 0.16+);
 * - `within` keeps snapshots after (newest - d); `within-<bucket>` rules are bucket rules without
 *   a count restricted to that range (0.18 also applies the oldest rule to them);
 * - buckets use the wall clock of each snapshot's own stored zone offset; weeks are ISO weeks;
 * - "newest" ignores snapshots in the future (relative to `now`).
 *
 * Differences from restic 0.14: no `unlimited`, no oldest rule (0.14 keeps only by buckets).
 * Pure: no Node APIs.
 */
import { civilFromDays, daysFromCivil, GO_ZERO_TIME } from '../../format/go-time.js';
import { CofferError } from '../../errors.js';
import type { GoTime } from '../../format/types.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';

/** restic's `Duration`: calendar years, months, days and hours. */
export interface PolicyDuration {
  readonly years: number;
  readonly months: number;
  readonly days: number;
  readonly hours: number;
}

export interface ExpirePolicy {
  /** Counts: 0 = rule off, -1 = unlimited. */
  readonly last: number;
  readonly hourly: number;
  readonly daily: number;
  readonly weekly: number;
  readonly monthly: number;
  readonly yearly: number;
  readonly within?: PolicyDuration;
  readonly withinHourly?: PolicyDuration;
  readonly withinDaily?: PolicyDuration;
  readonly withinWeekly?: PolicyDuration;
  readonly withinMonthly?: PolicyDuration;
  readonly withinYearly?: PolicyDuration;
  /** Each entry a tag list that must all be present (`--keep-tag a,b`). */
  readonly tags: readonly (readonly string[])[];
}

export const EMPTY_POLICY: ExpirePolicy = { last: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0, yearly: 0, tags: [] };

/** Parses restic's duration text: one or more `<int><unit>` with unit y, m, d or h. */
export function parseDuration(text: string): PolicyDuration {
  if (text === '') throw new CofferError('usage', 'empty duration');
  const d = { years: 0, months: 0, days: 0, hours: 0 };
  let rest = text;
  while (rest !== '') {
    const m = /^(-?\d+)(.?)/.exec(rest);
    if (!m) throw new CofferError('usage', `invalid duration "${text}": expected a number at "${rest}"`);
    if (m[2] === '') throw new CofferError('usage', `invalid duration "${text}": no unit found after number ${m[1]}`);
    const n = Number(m[1]);
    switch (m[2]) {
      case 'y': d.years = n; break;
      case 'm': d.months = n; break;
      case 'd': d.days = n; break;
      case 'h': d.hours = n; break;
      default: throw new CofferError('usage', `invalid duration "${text}": invalid unit "${m[2]}" (use y, m, d, h)`);
    }
    rest = rest.slice(m[0].length);
  }
  return d;
}

/** restic's Duration.String(): "1y5m7d2h", zero parts omitted. */
export function formatPolicyDuration(d: PolicyDuration): string {
  let s = '';
  if (d.years) s += `${d.years}y`;
  if (d.months) s += `${d.months}m`;
  if (d.days) s += `${d.days}d`;
  if (d.hours) s += `${d.hours}h`;
  return s;
}

function zeroDuration(d: PolicyDuration | undefined): boolean {
  return !d || (d.years === 0 && d.months === 0 && d.days === 0 && d.hours === 0);
}

/** A count flag: a non-negative integer, or `unlimited` / -1. */
export function parseCount(text: string, flagName: string): number {
  if (text === 'unlimited') return -1;
  if (!/^-?\d+$/.test(text)) throw new CofferError('usage', `invalid value "${text}" for --${flagName}: expected a number or "unlimited"`);
  const n = Number(text);
  if (n < -1) throw new CofferError('usage', `invalid value "${text}" for --${flagName}: negative values not allowed, use "unlimited" instead`);
  return n;
}

export function policyIsEmpty(p: ExpirePolicy): boolean {
  return (
    p.tags.length === 0 && p.last === 0 && p.hourly === 0 && p.daily === 0 && p.weekly === 0 && p.monthly === 0 && p.yearly === 0 &&
    zeroDuration(p.within) && zeroDuration(p.withinHourly) && zeroDuration(p.withinDaily) && zeroDuration(p.withinWeekly) &&
    zeroDuration(p.withinMonthly) && zeroDuration(p.withinYearly)
  );
}

/** restic's TagList.String(): "[a, b]". */
function tagList(l: readonly string[]): string {
  return `[${l.join(', ')}]`;
}

/** restic's ExpirePolicy.String(), e.g. "keep 10 daily snapshots, weekly snapshots within 1m". */
export function describePolicy(p: ExpirePolicy): string {
  const keeps: string[] = [];
  for (const [count, descr] of [[p.last, 'latest'], [p.hourly, 'hourly'], [p.daily, 'daily'], [p.weekly, 'weekly'], [p.monthly, 'monthly'], [p.yearly, 'yearly']] as const) {
    if (count > 0) keeps.push(`${count} ${descr}`);
    else if (count === -1) keeps.push(`all ${descr}`);
  }
  const keepw: string[] = [];
  for (const [d, descr] of [[p.withinHourly, 'hourly'], [p.withinDaily, 'daily'], [p.withinWeekly, 'weekly'], [p.withinMonthly, 'monthly'], [p.withinYearly, 'yearly']] as const) {
    if (!zeroDuration(d)) keepw.push(`${descr} snapshots within ${formatPolicyDuration(d!)}`);
  }
  let s = keeps.length ? `${keeps.join(', ')} snapshots` : '';
  if (keepw.length) s += (s ? ', ' : '') + keepw.join(', ');
  if (p.tags.length) s += (s ? ' and ' : '') + `all snapshots with tags [${p.tags.map(tagList).join(' ')}]`;
  if (!zeroDuration(p.within)) s += (s ? ' and ' : '') + `all snapshots within ${formatPolicyDuration(p.within!)} of the newest`;
  return 'keep ' + s;
}

// ---- calendar arithmetic on the wall clock of a fixed zone offset ------------------------

const DAY = 86400;


interface Wall {
  readonly days: number;
  readonly y: number;
  readonly m: number;
  readonly d: number;
  readonly hour: number;
  readonly secOfDay: number;
}

function wallOf(t: GoTime): Wall {
  const wall = t.sec + t.offsetSec;
  const days = Math.floor(wall / DAY);
  const secOfDay = wall - days * DAY;
  const [y, m, d] = civilFromDays(days);
  return { days, y, m, d, hour: Math.floor(secOfDay / 3600), secOfDay };
}

/** Go's Time.ISOWeek: the year and week of the week's Thursday (weeks start on Monday). */
function isoWeek(w: Wall): [number, number] {
  const weekday = (((w.days + 3) % 7) + 7) % 7; // 0 = Monday (1970-01-01 was a Thursday)
  const thursday = w.days - weekday + 3;
  const [year] = civilFromDays(thursday);
  return [year, Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1];
}

type Bucker = (w: Wall, nr: number) => number;
const ymdh: Bucker = (w) => w.y * 1000000 + w.m * 10000 + w.d * 100 + w.hour;
const ymd: Bucker = (w) => w.y * 10000 + w.m * 100 + w.d;
const yw: Bucker = (w) => {
  const [y, wk] = isoWeek(w);
  return y * 100 + wk;
};
const ym: Bucker = (w) => w.y * 100 + w.m;
const yOnly: Bucker = (w) => w.y;
const always: Bucker = (_w, nr) => nr;

/** Go's t.AddDate(-years, -months, -days).Add(-hours) in t's zone, as an instant. */
function subtractDuration(t: GoTime, d: PolicyDuration): { sec: number; nsec: number } {
  const w = wallOf(t);
  const months = w.y * 12 + (w.m - 1) - d.years * 12 - d.months;
  const y = Math.floor(months / 12);
  const m = months - y * 12 + 1;
  const days = daysFromCivil(y, m, w.d - d.days); // day overflow normalizes like Go's Date
  return { sec: days * DAY + w.secOfDay - t.offsetSec - d.hours * 3600, nsec: t.nsec };
}

function after(a: { sec: number; nsec: number }, b: { sec: number; nsec: number }): boolean {
  return a.sec > b.sec || (a.sec === b.sec && a.nsec > b.nsec);
}

/** Go's zero time: what "newest" is when every snapshot lies in the future. */


/** The newest snapshot time that is not in the future. */
function findLatest(list: readonly SnapshotEntry[], now: { sec: number; nsec: number }): GoTime {
  let latest: GoTime = GO_ZERO_TIME;
  for (const e of list) if (after(e.snapshot.time, latest) && after(now, e.snapshot.time)) latest = e.snapshot.time;
  return latest;
}

// ---- applying the policy ------------------------------------------------------------------

export interface KeepReason {
  readonly entry: SnapshotEntry;
  readonly matches: readonly string[];
}

export interface PolicyResult {
  /** Newest first. */
  readonly keep: SnapshotEntry[];
  /** Newest first. */
  readonly remove: SnapshotEntry[];
  /** One per kept snapshot, in `keep` order. */
  readonly reasons: KeepReason[];
}

/** Whether a snapshot has every tag of `list` (an empty tag in the list matches an untagged snapshot). */
export function hasTags(tags: readonly string[] | undefined, list: readonly string[]): boolean {
  const have = tags ?? [];
  for (const t of list) {
    if (t === '' && have.length === 0) return true;
    if (!have.includes(t)) return false;
  }
  return true;
}

/** Newest first; equal times keep ID order (restic: stable sort of the listing). */
export function newestFirst(list: readonly SnapshotEntry[]): SnapshotEntry[] {
  return [...list].sort((a, b) => {
    const ta = a.snapshot.time;
    const tb = b.snapshot.time;
    if (ta.sec !== tb.sec) return tb.sec - ta.sec;
    if (ta.nsec !== tb.nsec) return tb.nsec - ta.nsec;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  });
}

/**
 * Applies `p` to one group of snapshots. `nowMs` is the current time (milliseconds since the
 * epoch), used only to ignore future snapshots when finding the newest.
 */
export function applyPolicy(group: readonly SnapshotEntry[], p: ExpirePolicy, nowMs: number): PolicyResult {
  const list = newestFirst(group);
  if (policyIsEmpty(p)) {
    return { keep: list, remove: [], reasons: list.map((entry) => ({ entry, matches: ['policy is empty'] })) };
  }
  const keep: SnapshotEntry[] = [];
  const remove: SnapshotEntry[] = [];
  const reasons: KeepReason[] = [];
  if (list.length === 0) return { keep, remove, reasons };

  const buckets = [
    { count: p.last, bucker: always, last: -1, reason: 'last snapshot' },
    { count: p.hourly, bucker: ymdh, last: -1, reason: 'hourly snapshot' },
    { count: p.daily, bucker: ymd, last: -1, reason: 'daily snapshot' },
    { count: p.weekly, bucker: yw, last: -1, reason: 'weekly snapshot' },
    { count: p.monthly, bucker: ym, last: -1, reason: 'monthly snapshot' },
    { count: p.yearly, bucker: yOnly, last: -1, reason: 'yearly snapshot' },
  ];
  const within = [
    { d: p.withinHourly, bucker: ymdh, last: -1, reason: 'hourly within' },
    { d: p.withinDaily, bucker: ymd, last: -1, reason: 'daily within' },
    { d: p.withinWeekly, bucker: yw, last: -1, reason: 'weekly within' },
    { d: p.withinMonthly, bucker: ym, last: -1, reason: 'monthly within' },
    { d: p.withinYearly, bucker: yOnly, last: -1, reason: 'yearly within' },
  ];
  const now = { sec: Math.floor(nowMs / 1000), nsec: (nowMs % 1000) * 1_000_000 };
  const latest = findLatest(list, now);
  const oldestNr = list.length - 1;

  list.forEach((cur, nr) => {
    const t = cur.snapshot.time;
    const w = wallOf(t);
    const matches: string[] = [];
    for (const l of p.tags) if (hasTags(cur.snapshot.tags, l)) matches.push(`has tags ${tagList(l)}`);
    if (!zeroDuration(p.within) && after(t, subtractDuration(latest, p.within!))) {
      matches.push(`within ${formatPolicyDuration(p.within!)}`);
    }
    for (const b of buckets) {
      if (b.count === 0 || b.count < -1) continue;
      const val = b.bucker(w, nr);
      if (val !== b.last) matches.push(b.reason);
      else if (nr === oldestNr) matches.push(`oldest ${b.reason}`); // budget left at the oldest: keep it too
      else continue;
      b.last = val;
      if (b.count > 0) b.count--;
    }
    for (const b of within) {
      if (zeroDuration(b.d) || !after(t, subtractDuration(latest, b.d!))) continue;
      const val = b.bucker(w, nr);
      const label = `${b.reason} ${formatPolicyDuration(b.d!)}`;
      if (val !== b.last) matches.push(label);
      else if (nr === oldestNr) matches.push(`oldest ${label}`);
      else continue;
      b.last = val;
    }
    if (matches.length > 0) {
      keep.push(cur);
      reasons.push({ entry: cur, matches });
    } else remove.push(cur);
  });
  return { keep, remove, reasons };
}
