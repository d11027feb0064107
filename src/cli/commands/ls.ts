/** `coffer ls`: list files in a snapshot (restic ls). */
import { utf8Decode } from '../../core/bytes.js';
import { timeToJson } from '../../core/format/go-time.js';
import type { TreeNode } from '../../core/format/types.js';
import { walkTree, TreeLoader } from '../../core/engine/walk/tree-walker.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { flag, type Command } from '../command.js';
import { withLock } from '../context.js';
import { formatTime, goModeString } from '../format.js';
import { FILTER_OPTIONS, filterFrom, resolveSnapshotArg } from '../snapshot-arg.js';
import { CofferError } from '../../core/errors.js';

function nodeJson(node: TreeNode, path: string): Record<string, unknown> {
  return {
    name: utf8Decode(node.name),
    type: node.type,
    path,
    uid: node.uid,
    gid: node.gid,
    ...(node.type === 'file' ? { size: node.size ?? 0 } : {}),
    ...(node.mode ? { mode: node.mode, permissions: goModeString(node.mode) } : {}),
    mtime: timeToJson(node.mtime),
    atime: timeToJson(node.atime),
    ctime: timeToJson(node.ctime),
    ...(node.inode !== undefined ? { inode: Number(node.inode) } : {}),
    struct_type: 'node',
  };
}

function longLine(node: TreeNode, path: string): string {
  const size = node.type === 'file' ? (node.size ?? 0) : 0;
  const target = node.type === 'symlink' ? ` -> ${node.linktargetRaw ? utf8Decode(node.linktargetRaw) : (node.linktarget ?? '')}` : '';
  return `${goModeString(node.mode ?? 0)} ${String(node.uid).padStart(5)} ${String(node.gid).padStart(5)} ${String(size).padStart(6)} ${formatTime(node.mtime)} ${path}${target}`;
}

const command: Command = {
  name: 'ls',
  summary: 'List files and folders in a snapshot.',
  usage: '[--long] [--recursive] SNAPSHOT [FOLDER...]',
  help: `Options:
  -l, --long       show mode, owner, size and modification time
      --recursive  with FOLDER arguments, list everything below them (default: their direct contents)`,
  options: { ...FILTER_OPTIONS, long: { type: 'boolean', short: 'l' }, recursive: { type: 'boolean' } },
  async run(cli, values, positionals) {
    const [spec, ...dirs] = positionals;
    if (!spec) throw new CofferError('usage', 'no snapshot given (coffer ls SNAPSHOT [FOLDER...])');
    const repo = await cli.openRepository();
    return withLock(cli, repo, false, async () => {
      const index = await loadMasterIndex(repo);
      const snap = await resolveSnapshotArg(repo, index, spec, filterFrom(values));
      const wanted = dirs.map((d) => '/' + d.split('/').filter(Boolean).join('/'));
      const recursive = flag(values.recursive);
      const shown = (path: string): 'show' | 'descend' | 'skip' => {
        if (wanted.length === 0) return 'show';
        for (const d of wanted) {
          if (path === d) return 'show';
          const parent = path.slice(0, path.lastIndexOf('/')) || '/';
          if (path.startsWith(d === '/' ? '/' : d + '/') && (recursive || parent === d)) return 'show';
          if (d.startsWith(path + '/')) return 'descend';
        }
        return 'skip';
      };
      const s = snap.entry.snapshot;
      if (cli.json) {
        cli.jsonLine({
          time: timeToJson(s.time),
          ...(s.parent ? { parent: s.parent } : {}),
          tree: s.tree,
          paths: s.paths,
          hostname: s.hostname,
          username: s.username,
          id: snap.entry.id,
          short_id: snap.entry.id.slice(0, 8),
          struct_type: 'snapshot',
        });
      } else {
        cli.info(`snapshot ${snap.entry.id.slice(0, 8)} of [${s.paths.join(' ')}] at ${formatTime(s.time)}:`);
      }
      await walkTree(new TreeLoader(repo, index), snap.tree, (e) => {
        const verdict = shown(e.path);
        if (verdict === 'skip') return false;
        if (verdict === 'descend') return true;
        if (cli.json) cli.jsonLine(nodeJson(e.node, e.path));
        else cli.out(flag(values.long) ? longLine(e.node, e.path) : e.path);
        return wanted.length === 0 || recursive || wanted.includes(e.path);
      });
      return 0;
    });
  },
};
export default command;
