/** `coffer dump`: write one file of a snapshot to stdout (restic dump). */
import { utf8Encode } from '../../core/bytes.js';
import { CofferError } from '../../core/errors.js';
import { loadBlob } from '../../core/repository/blob-loader.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { TreeLoader } from '../../core/engine/walk/tree-walker.js';
import type { Command } from '../command.js';
import { withLock } from '../context.js';
import { FILTER_OPTIONS, filterFrom, resolveSnapshotArg } from '../snapshot-arg.js';

const command: Command = {
  name: 'dump',
  summary: 'Write the content of one file of a snapshot to standard output.',
  usage: 'SNAPSHOT[:FOLDER] FILE',
  options: { ...FILTER_OPTIONS },
  async run(cli, values, positionals) {
    const [spec, file] = positionals;
    if (!spec || !file) throw new CofferError('usage', 'give a snapshot and a file (coffer dump SNAPSHOT /path/to/file)');
    const repo = await cli.openRepository();
    return withLock(cli, repo, false, async () => {
      const index = await loadMasterIndex(repo);
      const snap = await resolveSnapshotArg(repo, index, spec, filterFrom(values));
      const loader = new TreeLoader(repo, index);
      const parts = file.split('/').filter((p) => p !== '' && p !== '.');
      if (parts.length === 0) throw new CofferError('usage', 'give the path of a file inside the snapshot');
      let tree = snap.tree;
      for (let i = 0; i < parts.length; i++) {
        const want = utf8Encode(parts[i]!);
        const t = await loader.load(tree);
        const node = t.nodes.find((n) => n.name.length === want.length && n.name.every((b, k) => b === want[k]));
        const shown = '/' + parts.slice(0, i + 1).join('/');
        if (!node) throw new CofferError('usage', `path "${shown}" not found in snapshot`);
        if (i < parts.length - 1) {
          if (node.type !== 'dir' || !node.subtree) throw new CofferError('usage', `path "${shown}" is not a folder`);
          tree = node.subtree;
          continue;
        }
        if (node.type !== 'file') throw new CofferError('usage', `"${shown}" is a ${node.type}, not a file (dumping folders as tar is not supported yet)`);
        for (const id of node.content ?? []) {
          const blob = await loadBlob(repo, index, 'data', id);
          if (!process.stdout.write(blob)) await new Promise((r) => process.stdout.once('drain', r));
        }
      }
      return 0;
    });
  },
};
export default command;
