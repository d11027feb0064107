/**
 * `coffer copy --from-repo R [SNAPSHOT...]`: copy snapshots from another repository (restic copy).
 * Also exports how to open the "from" repository, shared with `init --from-repo`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { copySnapshots } from '../../core/engine/copy/copy.js';
import { CofferError, isCofferError } from '../../core/errors.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { openRepository } from '../../core/repository/open.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadSnapshots, matchesFilter } from '../../core/repository/snapshots.js';
import { str, type Command, type OptionSpecs, type Values } from '../command.js';
import { withLock, type Cli } from '../context.js';
import { formatTime } from '../format.js';
import { promptHidden } from '../prompt.js';
import { FILTER_OPTIONS, filterFrom, selectSnapshots } from '../snapshot-arg.js';

export const FROM_OPTIONS = {
  'from-repo': { type: 'string' },
  'from-password-file': { type: 'string' },
  'from-password-command': { type: 'string' },
  'from-key-hint': { type: 'string' },
} as const satisfies OptionSpecs;

export const FROM_HELP = `      --from-repo REPO             source repository ($COFFER_FROM_REPOSITORY, $RESTIC_FROM_REPOSITORY)
      --from-password-file FILE    its password file ($COFFER_FROM_PASSWORD_FILE; or $COFFER_FROM_PASSWORD)
      --from-password-command CMD  run CMD for its password ($COFFER_FROM_PASSWORD_COMMAND)
      --from-key-hint KEY          key ID (prefix) to try first on the source`;

async function fromPassword(cli: Cli, values: Values): Promise<string> {
  const file = str(values['from-password-file']) ?? cli.envVar('FROM_PASSWORD_FILE');
  if (file) {
    try {
      return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new CofferError('usage', `cannot read password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const cmd = str(values['from-password-command']) ?? cli.envVar('FROM_PASSWORD_COMMAND');
  if (cmd) {
    try {
      return execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'] }).replace(/\r?\n$/, '');
    } catch {
      throw new CofferError('usage', 'the source password command failed');
    }
  }
  const env = cli.envVar('FROM_PASSWORD');
  if (env !== undefined) return env;
  if (!cli.io.stdinIsTTY) throw new CofferError('usage', 'no password given for the source repository: set COFFER_FROM_PASSWORD or use --from-password-file');
  try {
    return await promptHidden('enter password for source repository: ');
  } catch (e) {
    if ((e as { interrupted?: boolean }).interrupted) throw new CofferError('cancelled', 'interrupted');
    throw e;
  }
}

/** Opens the repository named by --from-repo (or the environment); undefined when none is named. */
export async function openFromRepository(cli: Cli, values: Values): Promise<Repository | undefined> {
  const location = str(values['from-repo']) ?? cli.envVar('FROM_REPOSITORY');
  if (!location) return undefined;
  const backend = cli.openBackend(location);
  try {
    await backend.stat({ type: 'config', name: '' }, { signal: cli.signal });
  } catch (e) {
    if (isCofferError(e, 'not-found')) throw new CofferError('no-repository', `no source repository found at ${backend.location}`, { cause: e });
    throw e;
  }
  const password = await fromPassword(cli, values);
  const hint = str(values['from-key-hint']) ?? cli.envVar('FROM_KEY_HINT');
  return openRepository(backend, await cli.platform(), { password, ...(hint ? { keyHint: hint } : {}) }, { signal: cli.signal });
}

const command: Command = {
  name: 'copy',
  summary: 'Copy snapshots from another repository (all of them unless some are named).',
  usage: '--from-repo REPO [--host H] [--path P] [--tag T] [SNAPSHOT...]',
  help: `Snapshots the destination already holds (same original, time, tree, host, user, paths, tags,
excludes) are skipped; only blobs the destination lacks are stored.
Options:
${FROM_HELP}`,
  options: { ...FILTER_OPTIONS, ...FROM_OPTIONS },
  async run(cli, values, positionals) {
    const dst = await cli.openRepository();
    const src = await openFromRepository(cli, values);
    if (!src) throw new CofferError('usage', 'please specify a source repository location (--from-repo or $COFFER_FROM_REPOSITORY)');
    if (src.config.id === dst.config.id) throw new CofferError('usage', 'source and destination are the same repository');
    const filter = filterFrom(values);
    return withLock(cli, src, false, () =>
      withLock(cli, dst, false, async () => {
        const srcIndex = await loadMasterIndex(src);
        const dstIndex = await loadMasterIndex(dst);
        const snaps = await selectSnapshots(src, positionals, filter);
        const dstSnaps = (await loadSnapshots(dst)).filter((e) => matchesFilter(e.snapshot, filter));
        const describe = (id: string, s: (typeof snaps)[number]['snapshot']) =>
          `snapshot ${id.slice(0, 8)} of [${s.paths.join(' ')}] at ${formatTime(s.time)} by ${s.username ?? ''}@${s.hostname ?? ''}`;
        const res = await copySnapshots({ repo: src, index: srcIndex }, { repo: dst, index: dstIndex }, snaps, dstSnaps, {
          onSkip: (s, existing) => {
            cli.info('');
            cli.info(describe(s.id, s.snapshot));
            cli.info(`skipping source snapshot ${s.id.slice(0, 8)}, was already copied to snapshot ${existing.id.slice(0, 8)}`);
          },
          onStart: (s) => {
            cli.info('');
            cli.info(describe(s.id, s.snapshot));
            cli.info('  copy started, this may take a while...');
          },
          onSaved: (s, id) => cli.info(`snapshot ${id.slice(0, 8)} saved (copy of ${s.id.slice(0, 8)})`),
        }, cli.signal);
        if (cli.json) {
          cli.out(JSON.stringify({
            copied: res.copied.map((c) => ({ source: c.from, snapshot_id: c.to })),
            skipped: res.skipped,
            data_blobs: res.stats.dataBlobs,
            tree_blobs: res.stats.treeBlobs,
            data_added: res.stats.bytesAdded,
            data_added_packed: res.stats.bytesAddedPacked,
          }));
        }
        return 0;
      }),
    );
  },
};
export default command;
