/** `coffer diff SNAP1 SNAP2`: what changed between two snapshots (restic diff). */
import { diffTrees, type DiffStat } from '../../core/engine/diff/diff.js';
import { TreeLoader } from '../../core/engine/walk/tree-walker.js';
import { CofferError } from '../../core/errors.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { flag, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatBytes } from '../format.js';
import { resolveSnapshotArg } from '../snapshot-arg.js';

function statJson(s: DiffStat): Record<string, number> {
  return { files: s.files, dirs: s.dirs, others: s.others, data_blobs: s.dataBlobs, tree_blobs: s.treeBlobs, bytes: s.bytes };
}

const n5 = (n: number) => String(n).padStart(5);

const command: Command = {
  name: 'diff',
  summary: 'Show what changed from the first snapshot to the second (SNAPSHOT[:FOLDER] each).',
  usage: '[--metadata] SNAPSHOT1 SNAPSHOT2',
  help: `Each line starts with what happened: + added, - removed, M content modified, T type changed,
U metadata changed (with --metadata), ? content changed but all metadata equal (bitrot).
Options:
      --metadata   also print changes in metadata only`,
  options: { metadata: { type: 'boolean' } },
  async run(cli, values, positionals) {
    if (positionals.length !== 2) throw new CofferError('usage', 'specify two snapshot IDs');
    const repo = await cli.openRepository();
    return withLock(cli, repo, false, async () => {
      const index = await loadMasterIndex(repo);
      const s1 = await resolveSnapshotArg(repo, index, positionals[0]!);
      const s2 = await resolveSnapshotArg(repo, index, positionals[1]!);
      if (!cli.json) cli.info(`comparing snapshot ${s1.entry.id.slice(0, 8)} to ${s2.entry.id.slice(0, 8)}:\n`);
      const res = await diffTrees(new TreeLoader(repo, index), index, s1.tree, s2.tree, {
        metadata: flag(values.metadata),
        signal: cli.signal,
        onError: (m) => cli.warn(m),
        onChange: (c) => {
          if (cli.quiet) return;
          if (cli.json) cli.jsonLine({ message_type: 'change', path: c.path, modifier: c.modifier });
          else cli.out(`${c.modifier.padEnd(5)}${c.path}`);
        },
      });
      if (cli.json) {
        cli.jsonLine({
          message_type: 'statistics',
          source_snapshot: positionals[0],
          target_snapshot: positionals[1],
          changed_files: res.changedFiles,
          added: statJson(res.added),
          removed: statJson(res.removed),
        });
        return 0;
      }
      cli.out('');
      cli.out(`Files:       ${n5(res.added.files)} new, ${n5(res.removed.files)} removed, ${n5(res.changedFiles)} changed`);
      cli.out(`Dirs:        ${n5(res.added.dirs)} new, ${n5(res.removed.dirs)} removed`);
      cli.out(`Others:      ${n5(res.added.others)} new, ${n5(res.removed.others)} removed`);
      cli.out(`Data Blobs:  ${n5(res.added.dataBlobs)} new, ${n5(res.removed.dataBlobs)} removed`);
      cli.out(`Tree Blobs:  ${n5(res.added.treeBlobs)} new, ${n5(res.removed.treeBlobs)} removed`);
      cli.out(`  Added:   ${formatBytes(res.added.bytes).padEnd(5)}`);
      cli.out(`  Removed: ${formatBytes(res.removed.bytes).padEnd(5)}`);
      return 0;
    });
  },
};
export default command;
