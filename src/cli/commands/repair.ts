/** `coffer repair index|snapshots`: rebuild the index, or rewrite snapshots around lost data (restic repair). */
import { rebuildIndex } from '../../core/engine/repair/rebuild-index.js';
import { repairSnapshots } from '../../core/engine/repair/repair-snapshots.js';
import { CofferError } from '../../core/errors.js';
import { formatTime } from '../format.js';
import { flag, type Command, type Values } from '../command.js';
import { withLock, type Cli } from '../context.js';
import { FILTER_OPTIONS, filterFrom, selectSnapshots } from '../snapshot-arg.js';

/** `repair index` (also `rebuild-index`). */
export async function runRepairIndex(cli: Cli, values: Values): Promise<number> {
  const repo = await cli.openRepository();
  return withLock(cli, repo, true, async () => {
    cli.info(flag(values['read-all-packs']) ? 'reading every pack header' : 'loading indexes and listing packs');
    const r = await rebuildIndex(repo, { readAllPacks: flag(values['read-all-packs']), signal: cli.signal }, { onWarning: (m) => cli.warn(m) });
    if (cli.json) {
      cli.jsonLine({
        message_type: 'summary',
        packs: r.packs,
        packs_read: r.packsRead,
        damaged_packs: r.damagedPacks.map((d) => d.id),
        missing_packs: r.missingPacks,
        removed_index_files: r.oldIndexFiles,
        new_index_files: r.newIndexFiles,
      });
    } else {
      cli.info(`read the headers of ${r.packsRead} packs; the new index lists ${r.packs} packs in ${r.newIndexFiles.length} files`);
      cli.info(`removed ${r.oldIndexFiles.length} old index files`);
      if (r.missingPacks.length) cli.info(`dropped ${r.missingPacks.length} missing packs from the index`);
      if (r.damagedPacks.length) cli.info(`${r.damagedPacks.length} damaged packs were left out of the index`);
      if (r.missingPacks.length || r.damagedPacks.length) cli.info('snapshots may now reference lost data: run "coffer check", then "coffer repair snapshots --forget"');
    }
    return 0;
  });
}

async function runRepairSnapshots(cli: Cli, values: Values, args: string[]): Promise<number> {
  const repo = await cli.openRepository();
  const forget = flag(values.forget);
  const dryRun = flag(values['dry-run']);
  return withLock(cli, repo, true, async () => {
    const selected = await selectSnapshots(repo, args, filterFrom(values));
    const r = await repairSnapshots(
      repo,
      { snapshotIds: selected.map((e) => e.id), forget, dryRun, signal: cli.signal },
      {
        onSnapshot: (e) => cli.info(`\nsnapshot ${e.id.slice(0, 8)} of [${e.snapshot.paths.join(' ')}] at ${formatTime(e.snapshot.time)}`),
        onLoss: (l) => {
          if (l.kind === 'root tree is damaged') cli.warn(`snapshot ${l.snapshot.slice(0, 8)}: root tree is damaged${forget ? ', removing the snapshot' : ', remove it with --forget'}`);
          else cli.info(`  ${l.kind === 'replaced with empty directory' ? 'dir' : 'file'} "${l.path}": ${l.kind}`);
        },
        onSaved: (_orig, id) => cli.info(dryRun ? 'would save a new snapshot' : `saved new snapshot ${id.slice(0, 8)}`),
      },
    );
    if (cli.json) {
      cli.jsonLine({
        message_type: 'summary',
        snapshots_checked: r.checked,
        repaired: r.repaired.map((x) => ({ original: x.original, ...(x.repaired ? { id: x.repaired } : {}) })),
        removed: r.removed,
        unrepairable: r.unrepairable,
        lost: r.losses.map((l) => ({ snapshot: l.snapshot, path: l.path, problem: l.kind })),
        dry_run: dryRun,
      });
    } else {
      if (r.repaired.length === 0 && r.removed.length === 0 && r.unrepairable.length === 0) cli.info('no snapshots were modified');
      else {
        cli.info(`\n${dryRun ? 'would modify' : 'modified'} ${r.repaired.length} snapshots`);
        if (r.removed.length) cli.info(`${dryRun ? 'would remove' : 'removed'} ${r.removed.length} damaged snapshots`);
      }
    }
    return r.unrepairable.length > 0 ? 1 : 0;
  });
}

const command: Command = {
  name: 'repair',
  summary: 'Repair the repository: "repair index" rebuilds the index from the packs; "repair snapshots" rewrites snapshots that reference lost data.',
  usage: 'index [--read-all-packs] | snapshots [--forget] [--dry-run] [SNAPSHOT...]',
  help: `Subcommands:
  index        write a new index from the packs that exist (damaged packs are left out), then
               remove the old index files
  snapshots    rewrite snapshots whose files or folders reference missing data: files keep the
               data that remains, unreadable folders become empty; the new snapshot has
               "original" set and the tag "repaired"

Options:
      --read-all-packs   (index) read every pack's header, not only those the index gets wrong
      --forget           (snapshots) remove the damaged original snapshots
  -n, --dry-run          (snapshots) only report what would change`,
  options: {
    ...FILTER_OPTIONS,
    'read-all-packs': { type: 'boolean' },
    forget: { type: 'boolean' },
    'dry-run': { type: 'boolean', short: 'n' },
  },
  async run(cli, values, positionals) {
    const [sub, ...rest] = positionals;
    if (sub === 'index') {
      if (rest.length) throw new CofferError('usage', 'repair index takes no arguments');
      return runRepairIndex(cli, values);
    }
    if (sub === 'snapshots') return runRepairSnapshots(cli, values, rest);
    if (sub === 'packs') throw new CofferError('usage', 'repair packs is not supported; use "repair index" then "repair snapshots --forget"');
    throw new CofferError('usage', `repair needs a subcommand: index or snapshots${sub ? ` (got "${sub}")` : ''}`);
  },
};
export default command;
