/** `coffer snapshots`: list snapshots (restic snapshots). */
import { loadSnapshots, matchesFilter } from '../../core/repository/snapshots.js';
import { flag, type Command } from '../command.js';
import { formatTime } from '../format.js';
import { FILTER_OPTIONS, filterFrom, snapshotJson } from '../snapshot-arg.js';

const command: Command = {
  name: 'snapshots',
  summary: 'List the snapshots in the repository, oldest first.',
  usage: '[--host H] [--path P] [--tag T] [--latest N] [SNAPSHOT...]',
  options: { ...FILTER_OPTIONS, latest: { type: 'string' }, compact: { type: 'boolean', short: 'c' } },
  async run(cli, values, positionals) {
    const repo = await cli.openRepository();
    const filter = filterFrom(values);
    let entries = (await loadSnapshots(repo)).filter((e) => matchesFilter(e.snapshot, filter));
    if (positionals.length) entries = entries.filter((e) => positionals.some((p) => e.id.startsWith(p)));
    const latest = typeof values.latest === 'string' ? Number(values.latest) : undefined;
    if (latest !== undefined && latest > 0) entries = entries.slice(-latest);
    if (cli.json) {
      cli.out(JSON.stringify(entries.map(snapshotJson)));
      return 0;
    }
    const rows = entries.map((e) => ({
      id: e.id.slice(0, 8),
      time: formatTime(e.snapshot.time),
      host: e.snapshot.hostname ?? '',
      tags: (e.snapshot.tags ?? []).join(','),
      paths: [...e.snapshot.paths],
    }));
    const w = {
      host: Math.max(4, ...rows.map((r) => r.host.length)),
      tags: Math.max(4, ...rows.map((r) => r.tags.length)),
    };
    const header = `${'ID'.padEnd(8)}  ${'Time'.padEnd(19)}  ${'Host'.padEnd(w.host)}  ${'Tags'.padEnd(w.tags)}  Paths`;
    const rule = '-'.repeat(Math.max(header.length + 10, 40));
    cli.out(header);
    cli.out(rule);
    for (const r of rows) {
      const lines = flag(values.compact) ? [r.paths.join(', ')] : r.paths;
      lines.forEach((p, i) => {
        cli.out(i === 0 ? `${r.id}  ${r.time}  ${r.host.padEnd(w.host)}  ${r.tags.padEnd(w.tags)}  ${p}` : `${''.padEnd(8 + 2 + 19 + 2 + w.host + 2 + w.tags + 2)}${p}`);
      });
    }
    cli.out(rule);
    cli.out(`${rows.length} snapshots`);
    return 0;
  },
};
export default command;
