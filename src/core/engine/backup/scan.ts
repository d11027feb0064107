/**
 * @module engine/backup/scan
 * Counts the files and bytes a backup will visit (metadata only), so progress can show a
 * percentage and an ETA. Runs beside the backup, as restic's scanner does; errors are ignored
 * here (the archiver reports them).
 */
import type { FileSource, SourceItem } from './source.js';

export interface ScanTotals {
  files: number;
  dirs: number;
  bytes: number;
}

export async function scan(
  source: FileSource,
  targets: readonly string[],
  opts: { exclude?: (item: SourceItem) => boolean; signal?: AbortSignal; onUpdate?: (t: ScanTotals) => void } = {},
): Promise<ScanTotals> {
  const totals: ScanTotals = { files: 0, dirs: 0, bytes: 0 };
  let lastUpdate = 0;
  const visit = async (item: SourceItem): Promise<void> => {
    if (opts.signal?.aborted) return;
    if (item.meta.type === 'file') {
      totals.files++;
      totals.bytes += item.meta.size ?? 0;
    } else if (item.meta.type === 'dir') {
      totals.dirs++;
      let children: SourceItem[] = [];
      try {
        children = (await source.readDir(item)).items;
      } catch {
        return;
      }
      for (const c of children) if (!opts.exclude?.(c)) await visit(c);
    }
    const now = Date.now();
    if (now - lastUpdate > 200) {
      lastUpdate = now;
      opts.onUpdate?.(totals);
    }
  };
  for (const t of targets) {
    try {
      await visit(await source.stat(source.absolute(t)));
    } catch {
      // reported by the archiver
    }
  }
  opts.onUpdate?.(totals);
  return totals;
}
