/** `coffer backup`: back up files and folders (restic backup). */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { backup } from '../../core/engine/backup/backup.js';
import type { SourceItem } from '../../core/engine/backup/source.js';
import { CofferError, isCofferError } from '../../core/errors.js';
import { anyMatch, parsePattern, type Pattern } from '../../core/filter/pattern.js';
import type { Repository } from '../../core/repository/repository.js';
import { ChunkWorkerPool } from '../../node/chunk-workers.js';
import { NodeFileSource } from '../../node/fs-source.js';
import { scanInWorker } from '../../node/scan-worker.js';
import { flag, list, str, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { EXIT_PARTIAL } from '../exit-codes.js';
import { formatBytes, formatDuration } from '../format.js';
import { Progress } from '../progress.js';
import { createRepository } from './init.js';
import { RECORD_HOST } from '../../core/engine/records/records.js';
import { loadConfig, updateState } from '../../node/config.js';
import { reportSync, runSync } from './sync.js';

function readLines(file: string, what: string): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CofferError('usage', `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

async function openOrCreate(cli: Cli): Promise<Repository> {
  try {
    return await cli.openRepository();
  } catch (e) {
    // First use: create the default repository; an explicit location must exist (exit 10).
    if (isCofferError(e, 'no-repository') && cli.repositoryLocation().isDefault) {
      cli.info(`no repository yet: creating the default one at ${cli.repositoryLocation().location}`);
      return createRepository(cli, 2);
    }
    throw e;
  }
}

/** COFFER_WORKERS=N sets the number of worker threads (0: none, all work on the main thread). */
function workerCount(v: string | undefined): number | undefined {
  const n = v === undefined ? NaN : Number(v);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

const command: Command = {
  name: 'backup',
  summary: 'Back up files and folders into the repository (the default one is created on first use).',
  usage: '[options] PATH...',
  help: `Options:
      --tag TAG            add a tag to the snapshot (repeatable, or comma-separated)
      --host HOST          host name recorded in the snapshot (default: this machine's)
  -e, --exclude PATTERN    leave out paths matching PATTERN (repeatable)
      --exclude-file FILE  read exclude patterns from FILE
      --files-from FILE    read the paths to back up from FILE (one a line)
      --parent SNAPSHOT    compare with this snapshot instead of choosing one
  -f, --force              read every file again, ignoring the parent snapshot
  -x, --one-file-system    do not cross into other file systems
  -n, --dry-run            do everything except write to the repository
      --sync               then bring every copy up to date (coffer sync); exit 1 if one fails
      --gallery            then add this snapshot's new photos and videos to the gallery (coffer gallery build)`,
  options: {
    tag: { type: 'string', multiple: true },
    host: { type: 'string', short: 'H' },
    exclude: { type: 'string', short: 'e', multiple: true },
    'exclude-file': { type: 'string', multiple: true },
    'files-from': { type: 'string', multiple: true },
    parent: { type: 'string' },
    force: { type: 'boolean', short: 'f' },
    'one-file-system': { type: 'boolean', short: 'x' },
    'dry-run': { type: 'boolean', short: 'n' },
    sync: { type: 'boolean' },
    gallery: { type: 'boolean' },
  },
  async run(cli, values, positionals) {
    const targets = [...positionals];
    for (const f of list(values['files-from'])) targets.push(...readLines(f, 'file list'));
    if (targets.length === 0) throw new CofferError('usage', 'nothing to back up: give at least one path (coffer backup PATH...)');
    const excludeTexts = [...list(values.exclude)];
    for (const f of list(values['exclude-file'])) excludeTexts.push(...readLines(f, 'exclude file'));
    const patterns: Pattern[] = excludeTexts.map(parsePattern);
    const exclude = patterns.length ? (item: SourceItem) => anyMatch(patterns, item.path) : undefined;
    const tags = list(values.tag).flatMap((t) => t.split(',')).filter(Boolean);
    const dryRun = flag(values['dry-run']);

    // Host `coffer` is reserved for Coffer's own records (settings, secrets, drills).
    const hostname = str(values.host) ?? os.hostname();
    if (hostname === RECORD_HOST) {
      throw new CofferError('bad-input', `the host name "${RECORD_HOST}" is reserved for Coffer's own records: give another with --host`);
    }
    const source = new NodeFileSource();
    for (const t of targets) {
      if (!fs.existsSync(source.absolute(t))) throw new CofferError('usage', `${t} does not exist`);
    }
    const repo = await openOrCreate(cli);
    const progress = new Progress(cli, 'backup');
    const errors: { path: string; message: string }[] = [];
    const scanning = scanInWorker({ targets: targets.map((t) => source.absolute(t)), excludes: excludeTexts }, (t) => {
      progress.totalFiles = t.files;
      progress.totalBytes = t.bytes;
    });
    progress.start();
    // Reading, chunking, hashing, compressing and encrypting run in worker threads (all cores).
    const processor = cli.env.COFFER_WORKERS === '0' ? undefined : new ChunkWorkerPool(repo, workerCount(cli.env.COFFER_WORKERS));
    let result;
    try {
      result = await backup(repo, source, {
        targets,
        hostname,
        owner: cli.lockOwner(),
        tags,
        excludes: excludeTexts,
        ...(str(values.parent) ? { parent: str(values.parent)! } : {}),
        force: flag(values.force),
        oneFileSystem: flag(values['one-file-system']),
        dryRun,
        ...(exclude ? { exclude } : {}),
        ...(processor ? { processor, fileConcurrency: processor.fileConcurrency } : {}),
        signal: cli.signal,
        events: {
          onStart: (item) => {
            if (item.meta.type === 'file') progress.current = item.path;
          },
          onBytes: (n) => (progress.bytesDone += n),
          onFileDone: (item, status) => {
            progress.filesDone++;
            if (cli.verbosity >= 2 && !cli.json) cli.out(`${status === 'new' ? 'new' : status === 'changed' ? 'modified' : 'unchanged'}       ${item.path}`);
          },
          onError: (path, error) => {
            progress.errors++;
            errors.push({ path, message: error.message });
            if (cli.json) cli.jsonLine({ message_type: 'error', error: { message: error.message }, during: 'archival', item: path });
            else cli.warn(`error: ${error.message}`);
          },
        },
      });
    } finally {
      progress.stop();
      await processor?.close();
      scanning.stop();
    }
    // After the snapshot (e.g. its lock could not be removed): warned about, exit code unchanged.
    for (const w of result.warnings ?? []) cli.warn(`Warning: ${w}`);
    const s = result.summary;
    const seconds = progress.elapsedSeconds;
    // The gallery is built before the summary, whose JSON carries its counts (loaded on use: sharp is heavy).
    const galleryCli = flag(values.gallery) && !dryRun && result.snapshotId ? await import('./gallery.js') : undefined;
    const gallery = galleryCli ? await galleryCli.runGalleryBuild(cli, repo, [result.snapshotId!]) : undefined;
    if (cli.json) {
      cli.jsonLine({
        message_type: 'summary',
        ...(dryRun ? { dry_run: true } : {}),
        files_new: s.filesNew,
        files_changed: s.filesChanged,
        files_unmodified: s.filesUnmodified,
        dirs_new: s.dirsNew,
        dirs_changed: s.dirsChanged,
        dirs_unmodified: s.dirsUnmodified,
        data_blobs: s.dataBlobs,
        tree_blobs: s.treeBlobs,
        data_added: s.dataAdded,
        data_added_packed: s.dataAddedPacked,
        total_files_processed: s.totalFilesProcessed,
        total_bytes_processed: s.totalBytesProcessed,
        total_duration: seconds,
        ...(result.snapshotId ? { snapshot_id: result.snapshotId } : {}),
        ...(gallery ? { gallery: galleryCli!.galleryCounts(gallery) } : {}),
      });
    } else {
      if (result.parent) cli.info(`using parent snapshot ${result.parent.slice(0, 8)}`);
      cli.info('');
      cli.info(`Files:       ${String(s.filesNew).padStart(5)} new, ${String(s.filesChanged).padStart(5)} changed, ${String(s.filesUnmodified).padStart(5)} unmodified`);
      cli.info(`Dirs:        ${String(s.dirsNew).padStart(5)} new, ${String(s.dirsChanged).padStart(5)} changed, ${String(s.dirsUnmodified).padStart(5)} unmodified`);
      cli.info(`${dryRun ? 'Would add' : 'Added'} to the repository: ${formatBytes(s.dataAdded)} (${formatBytes(s.dataAddedPacked)} stored)`);
      cli.info('');
      cli.info(`processed ${s.totalFilesProcessed} files, ${formatBytes(s.totalBytesProcessed)} in ${formatDuration(seconds)}`);
      if (result.snapshotId) cli.info(`snapshot ${result.snapshotId.slice(0, 8)} saved`);
      if (gallery) galleryCli!.reportGallery(cli, gallery);
    }
    if (!dryRun && loadConfig(cli.env)) {
      const at = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
      updateState(cli.env, (st) => ({ ...st, lastBackup: { at, ok: errors.length === 0, errors: errors.length, ...(result.snapshotId ? { snapshot: result.snapshotId } : {}) } }));
    }
    let syncCode = 0;
    if (flag(values.sync) && !dryRun) {
      if (!loadConfig(cli.env)?.copies.length) cli.warn('coffer: --sync: there are no copies yet (add one with "coffer copies add NAME URL")');
      else {
        cli.info('');
        syncCode = reportSync(cli, await runSync(cli, []));
      }
    }
    if (errors.length > 0) {
      cli.warn(`Warning: ${errors.length} source file${errors.length === 1 ? '' : 's'} could not be read and ${errors.length === 1 ? 'is' : 'are'} not in the snapshot:`);
      for (const e of errors) cli.warn(`  ${e.path}`);
      return EXIT_PARTIAL;
    }
    return syncCode;
  },
};
export default command;
