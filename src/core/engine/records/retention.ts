/**
 * @module engine/records/retention
 * Coffer's own retention for its records (no-lockout §3): the user's `forget` policy never
 * touches them, but their history must not grow without end (every OTP change, every HOTP code,
 * every drill writes one). Each kind keeps its newest 10, one a day for 30 days and one a month
 * for a year; the gallery keeps its newest two (the design's fallback for a day, simplified).
 * The newest record of every kind is always kept, since each one is complete.
 */
import type { ForgetGroup } from '../forget/forget.js';
import { groupSnapshots, parseGroupBy } from '../forget/group.js';
import { applyPolicy, EMPTY_POLICY, type ExpirePolicy } from '../forget/policy.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import { isRecordSnapshot, recordKindOf } from './records.js';

export const RECORD_POLICY: ExpirePolicy = { ...EMPTY_POLICY, last: 10, daily: 30, monthly: 12 };
const POLICY_BY_KIND: Readonly<Record<string, ExpirePolicy>> = {
  gallery: { ...EMPTY_POLICY, last: 2 },
  'gallery-private': { ...EMPTY_POLICY, last: 2 },
};

export function recordPolicy(kind: string): ExpirePolicy {
  return POLICY_BY_KIND[kind] ?? RECORD_POLICY;
}

/** Coffer's retention applied to every record kind, as forget groups (one per kind). */
export function planRecordRetention(entries: readonly SnapshotEntry[], nowMs: number): ForgetGroup[] {
  const records = entries.filter((e) => isRecordSnapshot(e.snapshot) && recordKindOf(e.snapshot) !== undefined);
  return groupSnapshots(records, parseGroupBy('host,paths')).map(({ key, entries: group }) => {
    const r = applyPolicy(group, recordPolicy(recordKindOf(group[0]!.snapshot)!), nowMs);
    // Never empty a kind, whatever the clock says.
    return r.keep.length > 0 ? { key, ...r } : { key, keep: r.remove, remove: [], reasons: [] };
  });
}
