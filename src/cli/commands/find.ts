/** `coffer find`: find files by name pattern, or where blobs, trees and packs are used (restic find). */
import { formatGoTime, toUnixNanos } from '../../core/format/go-time.js';
import { utf8Decode } from '../../core/bytes.js';
import { blobsInPacks, findByPattern, findObjects, parseFindPattern, WantedIds, type FoundObject } from '../../core/engine/find/find.js';
import { TreeLoader } from '../../core/engine/walk/tree-walker.js';
import { CofferError } from '../../core/errors.js';
import { encodeTree } from '../../core/format/tree.js';
import type { TreeNode } from '../../core/format/types.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import type { SnapshotEntry } from '../../core/repository/snapshots.js';
import { flag, list, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatTime, goModeString } from '../format.js';
import { FILTER_OPTIONS, filterFrom, selectSnapshots } from '../snapshot-arg.js';

/** restic's find JSON for a node: path and permissions, then the node's own fields minus a few. */
function nodeJson(path: string, node: TreeNode): Record<string, unknown> {
  const full = (JSON.parse(utf8Decode(encodeTree({ nodes: [node] }))) as { nodes: Record<string, unknown>[] }).nodes[0]!;
  for (const k of ['name', 'extended_attributes', 'generic_attributes', 'device', 'content', 'subtree']) delete full[k];
  return { path, permissions: goModeString(node.mode ?? 0), ...full };
}

function longLine(path: string, node: TreeNode): string {
  const size = node.type === 'file' ? (node.size ?? 0) : 0;
  const target = node.type === 'symlink' ? ` -> ${node.linktargetRaw ? utf8Decode(node.linktargetRaw) : (node.linktarget ?? '')}` : '';
  return `${goModeString(node.mode ?? 0)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(size).padStart(6)} ${formatTime(node.mtime)} ${path}${target}`;
}

const command: Command = {
  name: 'find',
  summary: 'Find files and folders matching PATTERN in snapshots, or where blobs, trees or packs are used.',
  usage: '[--long] [-i] [--snapshot ID] [--blob|--tree|--pack] PATTERN...',
  help: `A pattern starting with / is matched from the root; others match at any depth; * ? [..] and **
work as in restic. Snapshots are searched newest first.
Options:
  -s, --snapshot ID        search only this snapshot (repeatable)
  -l, --long               show mode, owner, size and time
  -i, --ignore-case        match names case-insensitively
      --blob               the arguments are blob IDs: list the files that use them
      --tree               the arguments are tree IDs: list the folders that are them
      --pack               the arguments are pack IDs: list the files that use their blobs`,
  options: {
    ...FILTER_OPTIONS,
    snapshot: { type: 'string', short: 's', multiple: true },
    long: { type: 'boolean', short: 'l' },
    'ignore-case': { type: 'boolean', short: 'i' },
    blob: { type: 'boolean' },
    tree: { type: 'boolean' },
    pack: { type: 'boolean' },
  },
  async run(cli, values, positionals) {
    if (positionals.length === 0) throw new CofferError('usage', 'wrong number of arguments: give at least one pattern or ID');
    const byId = flag(values.blob) || flag(values.tree) || flag(values.pack);
    for (const p of byId ? positionals : []) if (!/^[0-9a-fA-F]+$/.test(p)) throw new CofferError('usage', `invalid ID "${p}"`);
    const patterns = byId ? [] : positionals.map((p) => parseFindPattern(p, flag(values['ignore-case'])));
    const repo = await cli.openRepository();
    return withLock(cli, repo, false, async () => {
      const index = await loadMasterIndex(repo);
      const snaps: SnapshotEntry[] = await selectSnapshots(repo, list(values.snapshot), filterFrom(values));
      // restic searches the newest snapshot first.
      snaps.sort((a, b) => Number(toUnixNanos(b.snapshot.time) - toUnixNanos(a.snapshot.time)));
      const loader = new TreeLoader(repo, index);
      if (byId) {
        let blobs = flag(values.blob) ? new WantedIds(positionals) : undefined;
        let trees = flag(values.tree) ? new WantedIds(positionals) : undefined;
        if (flag(values.pack)) {
          const r = blobsInPacks(index, positionals);
          for (const u of r.unknown) cli.warn(`pack ${u} not found in the index`);
          // restic looks for the pack's data blobs only.
          blobs = new WantedIds(r.blobs);
          trees = undefined;
        }
        const found: (FoundObject & { snap: SnapshotEntry })[] = [];
        for (const snap of snaps) {
          if ((blobs?.size ?? 0) + (trees?.size ?? 0) === 0) break;
          await findObjects(loader, snap.snapshot.tree, { ...(blobs ? { blobs } : {}), ...(trees ? { trees } : {}), }, (f) => {
            found.push({ ...f, snap });
            if (cli.json) return;
            cli.out(`Found ${f.kind} ${f.id}`);
            if (f.kind === 'blob') {
              cli.out(` ... in file ${f.path}`);
              cli.out(`     (tree ${f.parentTree})`);
            } else cli.out(` ... path ${f.path}`);
            cli.out(` ... in snapshot ${snap.id.slice(0, 8)} (${formatTime(snap.snapshot.time)})`);
          });
        }
        if (cli.json) {
          cli.out(JSON.stringify(found.map((f) => ({
            object_type: f.kind, id: f.id, path: f.path, ...(f.parentTree ? { parent_tree: f.parentTree } : {}),
            snapshot: f.snap.id, time: formatGoTime(f.snap.snapshot.time),
          }))));
        }
        return 0;
      }
      const results: { snap: SnapshotEntry; matches: Record<string, unknown>[] }[] = [];
      let printed = 0;
      for (const snap of snaps) {
        let first = true;
        const matches: Record<string, unknown>[] = [];
        await findByPattern(loader, snap.snapshot.tree, patterns, (path, node) => {
          if (cli.json) {
            matches.push(nodeJson(path, node));
            return;
          }
          if (first) {
            if (printed++ > 0) cli.out('');
            cli.out(`Found matching entries in snapshot ${snap.id.slice(0, 8)} from ${formatTime(snap.snapshot.time)}`);
            first = false;
          }
          cli.out(flag(values.long) ? longLine(path, node) : path);
        });
        if (matches.length) results.push({ snap, matches });
      }
      if (cli.json) cli.out(JSON.stringify(results.map((r) => ({ matches: r.matches, hits: r.matches.length, snapshot: r.snap.id }))));
      return 0;
    });
  },
};
export default command;
