/** `coffer restore`: restore a snapshot into a folder (restic restore). */
import * as path from 'node:path';
import { restore } from '../../core/engine/restore/restorer.js';
import { verifyRestored } from '../../core/engine/restore/verify.js';
import { CofferError } from '../../core/errors.js';
import { parsePattern } from '../../core/filter/pattern.js';
import { masterIndexAhead } from '../../core/repository/master-index.js';
import { FsRestoreSink } from '../../node/fs-sink.js';
import { BlobOpenPool } from '../../node/blob-open-workers.js';
import { flag, list, str, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatBytes, formatDuration, formatTime } from '../format.js';
import { Progress } from '../progress.js';
import { FILTER_OPTIONS, filterFrom, resolveSnapshotArg } from '../snapshot-arg.js';

const command: Command = {
  name: 'restore',
  summary: 'Restore a snapshot (or a folder of it, SNAPSHOT:FOLDER) into a target folder.',
  usage: '--target DIR [--include P] [--exclude P] [--verify] SNAPSHOT[:FOLDER]',
  help: `Options:
  -t, --target DIR         folder to restore into (created if needed)
  -i, --include PATTERN    restore only paths matching PATTERN (repeatable)
  -e, --exclude PATTERN    leave out paths matching PATTERN (repeatable)
      --verify             read the restored files back and compare them with the snapshot`,
  options: {
    ...FILTER_OPTIONS,
    target: { type: 'string', short: 't' },
    include: { type: 'string', short: 'i', multiple: true },
    exclude: { type: 'string', short: 'e', multiple: true },
    verify: { type: 'boolean' },
  },
  async run(cli, values, positionals) {
    const spec = positionals[0];
    if (!spec || positionals.length > 1) throw new CofferError('usage', 'give exactly one snapshot (coffer restore SNAPSHOT --target DIR)');
    const targetArg = str(values.target);
    if (!targetArg) throw new CofferError('usage', 'please specify a folder to restore into (--target)');
    const include = list(values.include).map(parsePattern);
    const exclude = list(values.exclude).map(parsePattern);
    const target = path.resolve(targetArg);
    const repo = await cli.openRepository();
    // The index is read while the lock settles; kept only if the same index files are listed then.
    const indexAhead = masterIndexAhead(repo, { signal: cli.signal });
    return withLock(cli, repo, false, async () => {
      const index = await indexAhead.get();
      const snap = await resolveSnapshotArg(repo, index, spec, filterFrom(values));
      const s = snap.entry.snapshot;
      cli.info(`restoring <Snapshot ${snap.entry.id.slice(0, 8)} of [${s.paths.join(' ')}] at ${formatTime(s.time)} by ${s.username ?? ''}@${s.hostname ?? ''}> to ${target}`);
      const progress = new Progress(cli, 'restore');
      const sink = new FsRestoreSink(target);
      // Decrypting, decompressing and hash-checking run in worker threads (all cores).
      const openers = cli.env.COFFER_WORKERS === '0' ? undefined : new BlobOpenPool(repo);
      const basePath = snap.subfolder ? '/' + snap.subfolder.split('/').filter(Boolean).join('/') : '/';
      // Files left incomplete (kept as NAME.coffer-partial), listed even when the restore stops.
      const incomplete: { path: string; leftAs: string | undefined }[] = [];
      const listIncomplete = () => {
        for (const f of incomplete) {
          if (cli.json) cli.jsonLine({ message_type: 'incomplete', item: f.path, ...(f.leftAs ? { left_as: f.leftAs } : {}) });
          else cli.warn(`incomplete: ${f.path}${f.leftAs ? ` (left as ${f.leftAs})` : ' (not restored)'}`);
        }
      };
      let result;
      try {
        result = await restore(repo, index, snap.tree, sink, {
          include,
          exclude,
          basePath,
          signal: cli.signal,
          ...(openers ? { openBlobs: openers.open, readConcurrency: 3 } : {}),
          events: {
            // The restorer's own walk counts the totals (trees are loaded and decoded once);
            // progress is shown from then on, as before.
            onTotals: (files, bytes) => {
              progress.totalFiles = files;
              progress.totalBytes = bytes;
              progress.start();
            },
            onBytes: (n) => (progress.bytesDone += n),
            onFileDone: (p) => {
              progress.filesDone++;
              progress.current = p;
            },
            onError: (p, e) => {
              if (cli.json) cli.jsonLine({ message_type: 'error', error: { message: e.message }, during: 'restore', item: p });
              else cli.warn(`ignoring error for ${p}: ${e.message}`);
            },
            onIncomplete: (p, leftAs) => incomplete.push({ path: p, leftAs }),
          },
        });
      } catch (e) {
        progress.stop();
        listIncomplete();
        throw e;
      } finally {
        progress.stop();
        await openers?.close();
      }
      listIncomplete();
      const seconds = progress.elapsedSeconds;
      if (cli.json) {
        cli.jsonLine({
          message_type: 'summary',
          seconds_elapsed: Math.floor(seconds),
          total_files: result.files + result.dirs + result.others,
          files_restored: result.files + result.dirs + result.others,
          total_bytes: result.bytes,
          bytes_restored: result.bytes,
          ...(result.errors.length ? { files_failed: result.errors.length, files_incomplete: incomplete.map((f) => f.path) } : {}),
        });
      } else {
        cli.info(`Summary: Restored ${result.files + result.dirs + result.others} files/dirs (${formatBytes(result.bytes)}) in ${formatDuration(seconds)}`);
      }
      let failed = result.errors.length;
      if (flag(values.verify)) {
        cli.info(`verifying files in ${target}`);
        const v = await verifyRestored(repo, index, result.restoredFiles, sink);
        for (const p of v.mismatches) cli.warn(`verify: ${p.path}: ${p.message}`);
        cli.info(`finished verifying ${v.checked} files in ${target}`);
        failed += v.mismatches.length;
      }
      if (failed > 0) {
        cli.warn(`Fatal: There were ${failed} errors`);
        return 1;
      }
      return 0;
    }, { onWritten: indexAhead.start });
  },
};
export default command;
