/** `coffer check`: check the repository for errors (restic check). */
import { checkIndexAhead, checkRepository, type CheckPhase } from '../../core/engine/check/check.js';
import { PackVerifyPool } from '../../node/pack-verify-workers.js';
import { parseSubset } from '../../core/engine/check/subset.js';
import { CofferError } from '../../core/errors.js';
import { flag, str, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatDuration } from '../format.js';

const PHASE_TEXT: Record<CheckPhase, string> = {
  keys: 'check key files',
  index: 'load indexes',
  packs: 'check all packs',
  snapshots: 'check snapshots, trees and blobs',
  'read-data': 'read all data',
};

const command: Command = {
  name: 'check',
  summary: 'Check the repository for errors: structure always, pack contents with --read-data.',
  usage: '[--read-data] [--read-data-subset n/t|x%|SIZE] [--check-unused]',
  help: `Options:
      --read-data                 read every pack completely and verify every blob
      --read-data-subset SUBSET   read a subset of the packs: n/t (bucket n of t, by the pack ID's
                                  first byte), x% (random percentage) or SIZE (e.g. 500M, random)
      --check-unused              report blobs no snapshot uses (each counts as an error)
      --with-cache                accepted for restic compatibility (Coffer keeps no cache)

Takes an exclusive lock (as restic); --no-lock checks without one.`,
  options: {
    'read-data': { type: 'boolean' },
    'read-data-subset': { type: 'string' },
    'check-unused': { type: 'boolean' },
    'with-cache': { type: 'boolean' },
  },
  async run(cli, values, positionals) {
    if (positionals.length) throw new CofferError('usage', `check takes no arguments (got "${positionals[0]}")`);
    const subsetArg = str(values['read-data-subset']);
    const subset = subsetArg !== undefined ? parseSubset(subsetArg) : undefined;
    const repo = await cli.openRepository();
    const started = Date.now();
    const tty = !!cli.io.stdout.isTTY && !cli.quiet && !cli.json;
    const elapsed = () => formatDuration((Date.now() - started) / 1000);
    const progressLine = (done: number, total: number, unit: string) =>
      `[${elapsed()}] ${(total ? (done / total) * 100 : 100).toFixed(2)}%  ${done} / ${total} ${unit}`;
    let readTotal = 0;
    let lastDraw = 0;
    // Verification runs in worker threads (all cores) when packs are read.
    const readsData = flag(values['read-data']) || subset !== undefined;
    const verifiers = readsData && cli.env.COFFER_WORKERS !== '0' ? new PackVerifyPool(repo) : undefined;
    // The index files are read while the lock settles; kept only if the same ones are listed then.
    const indexAhead = checkIndexAhead(repo, { signal: cli.signal });
    const body = async () => {
      const result = await checkRepository(
        repo,
        {
          readData: flag(values['read-data']),
          ...(subset ? { subset } : {}),
          checkUnused: flag(values['check-unused']),
          signal: cli.signal,
          random: () => repo.platform.crypto.randomBytes(4).reduce((a, b) => a * 256 + b, 0) / 2 ** 32,
          ...(verifiers ? { verifyPack: verifiers.verify, readConcurrency: verifiers.readConcurrency } : {}),
          // A local repository's packs are read by the workers themselves (no pack crosses threads).
          ...(verifiers?.verifyStored ? { verifyStoredPack: verifiers.verifyStored } : {}),
          indexAhead,
        },
        {
          onPhase: (p) => cli.info(p === 'read-data' && subset ? `read group of packs (${subsetArg})` : PHASE_TEXT[p]),
          onError: (m) => (cli.json ? cli.io.stderr.write(JSON.stringify({ message_type: 'error', message: m }) + '\n') : cli.warn(m)),
          onHint: (m) => cli.info(m),
          onProgress: (phase, done, total) => {
            if (phase !== 'read-data') return;
            readTotal = total;
            if (tty && (done === total || Date.now() - lastDraw > 250)) {
              lastDraw = Date.now();
              cli.io.stdout.write(`\r\x1b[K${progressLine(done, total, 'packs')}`);
            }
          },
        },
      );
      if (tty && (flag(values['read-data']) || subset)) cli.io.stdout.write('\n');
      else if (flag(values['read-data']) || subset) cli.info(progressLine(result.packsRead, readTotal, 'packs'));
      return result;
    };
    // restic's check takes an exclusive lock; --no-lock skips it.
    let result;
    try {
      result = cli.globals['no-lock'] === true ? await body() : await withLock(cli, repo, true, body, { onWritten: indexAhead.start });
    } finally {
      await verifiers?.close();
    }
    const unreferenced = result.hints.filter((h) => h.endsWith('not referenced in any index')).length;
    if (cli.json) {
      cli.jsonLine({
        message_type: 'summary',
        num_errors: result.errors.length,
        broken_packs: result.brokenPacks.length ? result.brokenPacks : null,
        suggest_repair_index: result.suggestRepairIndex,
        suggest_prune: result.suggestPrune,
      });
    } else {
      if (unreferenced) cli.info(`${unreferenced} additional files were found in the repo, which likely contain duplicate data.\nThis is non-critical, you can run \`coffer prune\` to correct this.`);
      if (result.brokenPacks.length) {
        cli.warn(`\nThe repository contains damaged pack files:\n${result.brokenPacks.map((p) => `  ${p}`).join('\n')}\nRun "coffer repair index" to leave them out of the index, then "coffer repair snapshots --forget".`);
      } else if (result.suggestRepairIndex) {
        cli.warn('\nThe index does not match the stored files: run "coffer repair index".');
      }
      if (result.errors.length === 0) cli.info('no errors were found');
    }
    if (result.errors.length > 0) {
      if (!cli.json) cli.warn(`Fatal: repository contains errors (${result.errors.length})`);
      else cli.io.stderr.write(JSON.stringify({ message_type: 'exit_error', code: 1, message: 'Fatal: repository contains errors' }) + '\n');
      return 1;
    }
    return 0;
  },
};
export default command;
