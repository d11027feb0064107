/** `coffer stats`: sizes and counts of snapshots (restic stats, modes restore-size and raw-data). */
import { CofferError } from '../../core/errors.js';
import { computeStats, STATS_MODES, statsJson, type StatsMode } from '../../core/engine/stats/stats.js';
import { TreeLoader } from '../../core/engine/walk/tree-walker.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { str, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatBytes } from '../format.js';
import { FILTER_OPTIONS, filterFrom, selectSnapshots } from '../snapshot-arg.js';

const command: Command = {
  name: 'stats',
  summary: 'Count the size and files of snapshots (all of them unless some are named).',
  usage: '[--mode restore-size|raw-data] [--host H] [--path P] [--tag T] [SNAPSHOT...]',
  help: `Options:
      --mode MODE   restore-size (default): what a restore writes, every file counted;
                    raw-data: the distinct blobs the snapshots use, as stored`,
  options: { ...FILTER_OPTIONS, mode: { type: 'string' } },
  async run(cli, values, positionals) {
    const mode = (str(values.mode) ?? 'restore-size') as StatsMode;
    if (!STATS_MODES.includes(mode)) {
      throw new CofferError('usage', `unknown counting mode: ${mode} (use ${STATS_MODES.join(' or ')})`);
    }
    const repo = await cli.openRepository();
    return withLock(cli, repo, false, async () => {
      const index = await loadMasterIndex(repo);
      const snaps = await selectSnapshots(repo, positionals, filterFrom(values));
      cli.info('scanning...');
      const roots = snaps.map((e) => e.snapshot.tree);
      const s = await computeStats(new TreeLoader(repo, index), index, roots, mode, repo.version, cli.signal);
      if (cli.json) {
        cli.out(JSON.stringify(statsJson(s)));
        return 0;
      }
      cli.out(`Stats in ${mode} mode:`);
      cli.out(`     Snapshots processed:  ${s.snapshotsCount}`);
      if (s.totalBlobCount > 0) cli.out(`        Total Blob Count:  ${s.totalBlobCount}`);
      if (s.totalFileCount > 0) cli.out(`        Total File Count:  ${s.totalFileCount}`);
      if (s.totalUncompressedSize > 0) cli.out(` Total Uncompressed Size:  ${formatBytes(s.totalUncompressedSize).padEnd(5)}`);
      cli.out(`              Total Size:  ${formatBytes(s.totalSize).padEnd(5)}`);
      if (s.compressionProgress > 0) cli.out(`    Compression Progress:  ${s.compressionProgress.toFixed(2)}%`);
      if (s.compressionRatio > 0) cli.out(`       Compression Ratio:  ${s.compressionRatio.toFixed(2)}x`);
      if (s.compressionSpaceSaving > 0) cli.out(`Compression Space Saving:  ${s.compressionSpaceSaving.toFixed(2)}%`);
      return 0;
    });
  },
};
export default command;
