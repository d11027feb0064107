/** `coffer forget`: remove snapshots by a retention policy or by ID (restic forget). */
import { deleteSnapshots, planForget, selectByIds, type ForgetGroup } from '../../core/engine/forget/forget.js';
import { parseGroupBy } from '../../core/engine/forget/group.js';
import { describePolicy, parseCount, parseDuration, type ExpirePolicy, type PolicyDuration } from '../../core/engine/forget/policy.js';
import { isRecordSnapshot } from '../../core/engine/records/records.js';
import { INBOX_TAG } from '../../core/inbox/staged.js';
import { planRecordRetention } from '../../core/engine/records/retention.js';
import { loadSnapshots, type SnapshotEntry } from '../../core/repository/snapshots.js';
import { flag, list, str, type Command, type OptionSpecs, type Values } from '../command.js';
import { withLock, type Cli } from '../context.js';
import { formatBytes, formatTime } from '../format.js';
import { FILTER_OPTIONS, filterFrom, snapshotJson } from '../snapshot-arg.js';
import { PRUNE_HELP, PRUNE_OPTIONS, runPrune } from './prune.js';

const COUNTS = ['last', 'hourly', 'daily', 'weekly', 'monthly', 'yearly'] as const;
const WITHINS = [
  ['within', 'within'],
  ['within-hourly', 'withinHourly'],
  ['within-daily', 'withinDaily'],
  ['within-weekly', 'withinWeekly'],
  ['within-monthly', 'withinMonthly'],
  ['within-yearly', 'withinYearly'],
] as const;

const OPTIONS: OptionSpecs = {
  ...FILTER_OPTIONS,
  ...PRUNE_OPTIONS,
  'keep-last': { type: 'string', short: 'l' },
  'keep-hourly': { type: 'string', short: 'H' },
  'keep-daily': { type: 'string', short: 'd' },
  'keep-weekly': { type: 'string', short: 'w' },
  'keep-monthly': { type: 'string', short: 'm' },
  'keep-yearly': { type: 'string', short: 'y' },
  'keep-within': { type: 'string' },
  'keep-within-hourly': { type: 'string' },
  'keep-within-daily': { type: 'string' },
  'keep-within-weekly': { type: 'string' },
  'keep-within-monthly': { type: 'string' },
  'keep-within-yearly': { type: 'string' },
  'keep-tag': { type: 'string', multiple: true },
  'group-by': { type: 'string', short: 'g' },
  'unsafe-allow-remove-all': { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
  prune: { type: 'boolean' },
};
// restic's -H is --keep-hourly here; the snapshot filter keeps --host only.
delete (OPTIONS as Record<string, unknown>).host;
OPTIONS.host = { type: 'string', multiple: true };

function policyFrom(values: Values): ExpirePolicy {
  const p: Record<string, unknown> = { tags: list(values['keep-tag']).map((t) => t.split(',')) };
  for (const c of COUNTS) {
    const v = str(values[`keep-${c}`]);
    p[c] = v === undefined ? 0 : parseCount(v, `keep-${c}`);
  }
  for (const [flagName, key] of WITHINS) {
    const v = str(values[`keep-${flagName}`]);
    if (v !== undefined) p[key] = parseDuration(v) satisfies PolicyDuration;
  }
  return p as unknown as ExpirePolicy;
}

function table(cli: Cli, entries: readonly SnapshotEntry[], reasons?: Map<string, readonly string[]>): void {
  const rows = [...entries].reverse().map((e) => ({
    id: e.id.slice(0, 8),
    time: formatTime(e.snapshot.time),
    host: e.snapshot.hostname ?? '',
    tags: (e.snapshot.tags ?? []).join(','),
    reasons: [...(reasons?.get(e.id) ?? [])],
    paths: [...e.snapshot.paths],
    size: e.snapshot.summary ? formatBytes(e.snapshot.summary.totalBytesProcessed) : '',
  }));
  const w = {
    host: Math.max(10, ...rows.map((r) => r.host.length)),
    tags: Math.max(10, ...rows.map((r) => r.tags.length)),
    reasons: Math.max(7, ...rows.map((r) => Math.max(0, ...r.reasons.map((x) => x.length)))),
    paths: Math.max(5, ...rows.map((r) => Math.max(0, ...r.paths.map((x) => x.length)))),
  };
  const cols = (id: string, time: string, host: string, tags: string, reason: string, p: string, size: string) =>
    `${id.padEnd(8)}  ${time.padEnd(19)}  ${host.padEnd(w.host)}  ${tags.padEnd(w.tags)}  ${reasons ? reason.padEnd(w.reasons) + '  ' : ''}${p.padEnd(w.paths)}  ${size}`.trimEnd();
  const header = cols('ID', 'Time', 'Host', 'Tags', 'Reasons', 'Paths', 'Size');
  const rule = '-'.repeat(header.length + 4);
  cli.out(header);
  cli.out(rule);
  for (const r of rows) {
    const n = Math.max(1, r.reasons.length, r.paths.length);
    for (let i = 0; i < n; i++) {
      cli.out(i === 0 ? cols(r.id, r.time, r.host, r.tags, r.reasons[0] ?? '', r.paths[0] ?? '', r.size) : cols('', '', '', '', r.reasons[i] ?? '', r.paths[i] ?? '', ''));
    }
  }
  cli.out(rule);
  cli.out(`${rows.length} snapshots\n`);
}

function groupJson(g: ForgetGroup): Record<string, unknown> {
  return {
    tags: g.key.tags,
    host: g.key.hostname,
    paths: g.key.paths,
    keep: g.keep.length ? g.keep.map(snapshotJson) : null,
    remove: g.remove.length ? g.remove.map(snapshotJson) : null,
    reasons: g.reasons.length ? g.reasons.map((r) => ({ snapshot: snapshotJson(r.entry), matches: r.matches })) : null,
  };
}

const command: Command = {
  name: 'forget',
  summary: 'Remove snapshots by a retention policy (or the given snapshot IDs); with --prune also the data only they used.',
  usage: '[policy options] [--group-by host,paths,tags] [--dry-run] [--prune] [SNAPSHOT-ID...]',
  help: `Policy (a snapshot is kept when any rule keeps it; N may be "unlimited"):
  -l, --keep-last N              keep the N newest snapshots
  -H, --keep-hourly N            keep the newest snapshot of each of the last N hours (likewise:)
  -d, --keep-daily N / -w, --keep-weekly N / -m, --keep-monthly N / -y, --keep-yearly N
      --keep-within DURATION     keep snapshots within DURATION (e.g. 1y5m7d2h) of the newest
      --keep-within-hourly|daily|weekly|monthly|yearly DURATION
                                 keep one snapshot per hour/day/... within DURATION of the newest
      --keep-tag TAGS            keep snapshots having all of TAGS (a,b; repeatable)
Coffer's own records (tag coffer-internal: settings, secrets, OTP vault, drills, gallery) are
never removed by the policy given; a run without --host/--path/--tag keeps, per kind, the newest
10, one a day for 30 days and one a month for a year (gallery: the newest 2).
Inbox approvals (tag coffer-inbox) are kept too unless --tag coffer-inbox names them.
With plain restic, add --keep-tag coffer-internal --keep-tag coffer-inbox.
  -g, --group-by FIELDS          group by host, paths and/or tags (default host,paths; "" for none)
      --host H / --path P / --tag T   consider only matching snapshots
      --unsafe-allow-remove-all  allow removing every snapshot of a group
  -n, --dry-run                  only show what would be removed
      --prune                    run prune afterwards
${PRUNE_HELP}`,
  options: OPTIONS,
  async run(cli, values, positionals) {
    const policy = policyFrom(values);
    const groupBy = parseGroupBy(str(values['group-by']) ?? 'host,paths');
    const dryRun = flag(values['dry-run']);
    const repo = await cli.openRepository();
    return withLock(cli, repo, true, async () => {
      const all = await loadSnapshots(repo, { signal: cli.signal });
      let remove: SnapshotEntry[];
      if (positionals.length > 0) {
        remove = selectByIds(all, positionals);
        if (!cli.json) for (const e of remove) cli.info(`${dryRun ? 'would remove' : 'remove'} snapshot ${e.id.slice(0, 8)}`);
      } else {
        // Coffer's records (host coffer, tag coffer-internal) are never subject to the user's
        // policy (design no-lockout §3); a run over the whole repository applies Coffer's own
        // retention to them instead, which always keeps the newest of each kind.
        const filter = filterFrom(values);
        // Photos approved from the inbox belong to the library, not to backup history (their
        // staged copy is gone): the policy leaves them alone unless it names them (--tag coffer-inbox).
        const namesInbox = filter.tags?.some((t) => t.split(',').includes(INBOX_TAG)) ?? false;
        const subject = all.filter((e) => !isRecordSnapshot(e.snapshot) && (namesInbox || !(e.snapshot.tags ?? []).includes(INBOX_TAG)));
        const groups = planForget(subject, {
          policy,
          groupBy,
          filter,
          unsafeAllowRemoveAll: flag(values['unsafe-allow-remove-all']),
          nowMs: Date.now(),
        });
        if (!filter.hosts?.length && !filter.paths?.length && !filter.tags?.length) groups.push(...planRecordRetention(all, Date.now()));
        if (cli.json) cli.out(JSON.stringify(groups.map(groupJson)));
        else {
          cli.info(`Applying Policy: ${describePolicy(policy)}`);
          for (const g of groups) {
            if (g.keep.length) {
              cli.info(`keep ${g.keep.length} snapshots:`);
              if (!cli.quiet) table(cli, g.keep, new Map(g.reasons.map((r) => [r.entry.id, r.matches])));
            }
            if (g.remove.length) {
              cli.info(`remove ${g.remove.length} snapshots:`);
              if (!cli.quiet) table(cli, g.remove);
            }
          }
        }
        remove = groups.flatMap((g) => g.remove);
      }
      if (dryRun) {
        if (remove.length && !cli.json) cli.info(`Would have removed the following snapshots:\n{${remove.map((e) => e.id.slice(0, 8)).join(' ')}}\n`);
      } else if (remove.length) {
        await deleteSnapshots(repo, remove.map((e) => e.id), { signal: cli.signal });
        cli.info(`removed ${remove.length} snapshots`);
      }
      // Like restic: prune only when snapshots were (or would be) removed.
      if (flag(values.prune) && remove.length > 0) {
        cli.info('');
        await runPrune(cli, repo, values);
      }
      return 0;
    });
  },
};

export default command;
