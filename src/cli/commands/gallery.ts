/** `coffer gallery build [SNAPSHOT]`: build or update the encrypted photo gallery inside the repository. */
import { buildGallery, type GalleryBuildResult } from '../../core/engine/gallery/build.js';
import { CofferError } from '../../core/errors.js';
import { isRecordSnapshot } from '../../core/engine/records/records.js';
import type { Id } from '../../core/format/types.js';
import type { Repository } from '../../core/repository/repository.js';
import { findSnapshot, loadSnapshots, type SnapshotEntry } from '../../core/repository/snapshots.js';
import { hostOffsetAt } from '../../core/gallery/metadata.js';
import { sharpRenderer } from '../../node/gallery-thumbs.js';
import { loadCountryLookup } from '../../node/gallery-countries.js';
import type { Command } from '../command.js';
import type { Cli } from '../context.js';
import { formatDuration } from '../format.js';

/** The `"gallery"` field of `backup --json`'s summary and of `gallery build --json`. */
export function galleryCounts(r: GalleryBuildResult): { items: number; added: number; removed: number; processed: number; ms: number } {
  return { items: r.items, added: r.added, removed: r.removed, processed: r.processed, ms: r.ms };
}

/**
 * Builds the gallery from `snapshotIds` (default: the newest backup of each host and paths),
 * with progress (a redrawn line on a terminal, `gallery_status` JSON lines with --json) and
 * one warning per file that could not be shown.
 */
export async function runGalleryBuild(cli: Cli, repo: Repository, snapshotIds?: readonly Id[]): Promise<GalleryBuildResult> {
  let snapshots: SnapshotEntry[] | undefined;
  if (snapshotIds) {
    const all = await loadSnapshots(repo, { signal: cli.signal });
    snapshots = snapshotIds.map((id) => findSnapshot(all, id));
  }
  const tty = !!cli.io.stdout.isTTY && !cli.json && !cli.quiet;
  let last = 0;
  let drawn = false;
  const result = await buildGallery(repo, {
    owner: cli.lockOwner(),
    renderer: sharpRenderer,
    offsetAt: hostOffsetAt,
    countryOf: loadCountryLookup(),
    signal: cli.signal,
    ...(snapshots ? { snapshots } : {}),
    events: {
      onPlanned: (total, known) => {
        if (cli.json) cli.jsonLine({ message_type: 'gallery_status', phase: 'planned', total, known });
        else if (total > 0) cli.info(`gallery: ${total} new photo${total === 1 ? '' : 's'} or video${total === 1 ? '' : 's'} to process (${known} known)`);
      },
      onProcessed: (done, total, path) => {
        const now = Date.now();
        if (done < total && now - last < (cli.json ? 1000 : 250)) return;
        last = now;
        if (cli.json) cli.jsonLine({ message_type: 'gallery_status', phase: 'processing', done, total, current: path });
        else if (tty) {
          cli.io.stdout.write(`\r\x1b[K[gallery] ${done}/${total} ${path.length > 60 ? '…' + path.slice(-59) : path}`);
          drawn = true;
        }
      },
      onWarning: (path, message) => {
        if (drawn) cli.io.stdout.write('\r\x1b[K');
        if (cli.json) cli.jsonLine({ message_type: 'error', error: { message }, during: 'gallery', item: path });
        else cli.warn(`gallery: ${path}: ${message} (shown as a placeholder)`);
      },
    },
  });
  if (drawn) cli.io.stdout.write('\r\x1b[K');
  return result;
}

function describe(cli: Cli, r: GalleryBuildResult): void {
  cli.info(`gallery: ${r.items} item${r.items === 1 ? '' : 's'}, ${r.added} added, ${r.removed} removed, ${r.processed} processed in ${formatDuration(r.ms / 1000)}`);
  if (r.warnings.length) cli.info(`gallery: ${r.warnings.length} file${r.warnings.length === 1 ? '' : 's'} could not be decoded (placeholders)`);
  cli.info(r.snapshotId ? `gallery snapshot ${r.snapshotId.slice(0, 8)} saved` : 'gallery unchanged: no new snapshot');
  if (r.privateSnapshotId) cli.info(`private gallery snapshot ${r.privateSnapshotId.slice(0, 8)} saved`);
}

export function reportGallery(cli: Cli, r: GalleryBuildResult): void {
  if (!cli.json) describe(cli, r);
}

const command: Command = {
  name: 'gallery',
  summary: 'Build the encrypted photo gallery (thumbnails, previews, a month index) inside the repository.',
  usage: 'build [SNAPSHOT...]',
  help: `Subcommands:
  build [SNAPSHOT...]   add the photos and videos of these backups (default: the newest backup of
                        each host and paths) to the gallery snapshot (host "coffer", tag
                        coffer-gallery); only new photos are read; no change, no new snapshot.
                        Backups tagged "private" go to the private gallery only (path
                        /coffer/gallery-private, tagged private too); inbox approvals since the
                        last build are always read`,
  options: {},
  async run(cli, _values, positionals) {
    const [sub, ...refs] = positionals;
    if (sub !== 'build') throw new CofferError('usage', sub ? `unknown gallery subcommand "${sub}" (try: coffer gallery build)` : 'missing subcommand (try: coffer gallery build [SNAPSHOT])');
    const repo = await cli.openRepository();
    let ids: Id[] | undefined;
    if (refs.length) {
      const all = (await loadSnapshots(repo, { signal: cli.signal })).filter((e) => !isRecordSnapshot(e.snapshot));
      ids = refs.map((r) => findSnapshot(all, r).id);
    }
    const r = await runGalleryBuild(cli, repo, ids);
    if (cli.json) {
      cli.jsonLine({ message_type: 'summary', gallery: galleryCounts(r), ...(r.snapshotId ? { snapshot_id: r.snapshotId } : {}), ...(r.privateSnapshotId ? { private_snapshot_id: r.privateSnapshotId } : {}), warnings: r.warnings.length });
    } else describe(cli, r);
    return 0;
  },
};
export default command;
