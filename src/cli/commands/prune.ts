/** `coffer prune`: remove data no snapshot needs (restic prune). */
import { prune, type PruneResult } from '../../core/engine/prune/prune.js';
import { parseMaxUnused, parseSize, type PrunePlan } from '../../core/engine/prune/plan.js';
import type { Repository } from '../../core/repository/repository.js';
import { flag, str, type Command, type OptionSpecs, type Values } from '../command.js';
import { withLock, type Cli } from '../context.js';
import { formatBytes } from '../format.js';

export const PRUNE_OPTIONS = {
  'max-unused': { type: 'string' },
  'max-repack-size': { type: 'string' },
  'repack-cacheable-only': { type: 'boolean' },
} as const satisfies OptionSpecs;

export const PRUNE_HELP = `      --max-unused LIMIT       tolerate this much unused data: "5%" (default), a size (500M, 1G) or "unlimited"
      --max-repack-size SIZE   repack at most this much data (e.g. 1G)
      --repack-cacheable-only  only repack packs of tree blobs`;

function printPlan(cli: Cli, plan: PrunePlan, dryRun: boolean): void {
  const s = plan.stats;
  const line = (label: string, blobs: number, bytes: number) => cli.info(`${label.padEnd(14)}${String(blobs).padStart(10)} blobs / ${formatBytes(bytes)}`);
  cli.info('');
  if (dryRun) cli.info('Would have made the following changes:\n');
  line('to repack:', s.repack.blobs, s.repack.bytes);
  line('this removes:', s.repackRemove.blobs, s.repackRemove.bytes);
  line('to delete:', s.remove.blobs, s.remove.bytes + s.unreferencedBytes);
  line('total prune:', s.repackRemove.blobs + s.remove.blobs, s.repackRemove.bytes + s.remove.bytes + s.unreferencedBytes);
  const remainingBlobs = s.used.blobs + s.unused.blobs - s.remove.blobs - s.repackRemove.blobs;
  const remainingBytes = s.used.bytes + s.unused.bytes - s.remove.bytes - s.repackRemove.bytes;
  line('remaining:', remainingBlobs, remainingBytes);
  const unusedAfter = s.unused.bytes - s.remove.bytes - s.repackRemove.bytes;
  const pct = remainingBytes > 0 ? (100 * unusedAfter) / remainingBytes : 0;
  cli.info(`unused size after prune: ${formatBytes(unusedAfter)} (${pct.toFixed(2)}% of remaining size)`);
  cli.info('');
}

/** Runs prune on an open repository; the caller holds the exclusive lock. */
export async function runPrune(cli: Cli, repo: Repository, values: Values): Promise<PruneResult> {
  const maxUnused = parseMaxUnused(str(values['max-unused']) ?? '5%');
  const mrs = str(values['max-repack-size']);
  const dryRun = flag(values['dry-run']);
  const result = await prune(repo, {
    maxUnused,
    maxRepackBytes: mrs === undefined ? Infinity : parseSize(mrs, 'max-repack-size'),
    repackCacheableOnly: flag(values['repack-cacheable-only']),
    dryRun,
    signal: cli.signal,
    onStage: (m) => {
      if (m !== 'done') cli.info(m);
      // Crash tests: die hard at a chosen step (COFFER_TEST_PRUNE_KILL_AT = a stage prefix).
      const at = cli.env.COFFER_TEST_PRUNE_KILL_AT;
      if (at && m.startsWith(at)) process.kill(process.pid, 'SIGKILL');
    },
    onPlan: (plan) => printPlan(cli, plan, dryRun),
  });
  if (!dryRun) cli.info('done');
  return result;
}

const command: Command = {
  name: 'prune',
  summary: 'Remove data that no snapshot references: delete unused packs, repack partly used ones.',
  usage: '[--max-unused LIMIT] [--max-repack-size SIZE] [--dry-run]',
  help: `Options:
  -n, --dry-run                only show what would be done
${PRUNE_HELP}`,
  options: { ...PRUNE_OPTIONS, 'dry-run': { type: 'boolean', short: 'n' } },
  async run(cli, values) {
    // Parse the limits before touching the repository, so a typo fails fast.
    parseMaxUnused(str(values['max-unused']) ?? '5%');
    const mrs = str(values['max-repack-size']);
    if (mrs !== undefined) parseSize(mrs, 'max-repack-size');
    const repo = await cli.openRepository();
    await withLock(cli, repo, true, () => runPrune(cli, repo, values));
    return 0;
  },
};
export default command;
