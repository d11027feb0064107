/**
 * Extended attributes through the Node source: on the folder above the target, the target itself,
 * its files and deeper folders, Coffer records exactly what restic 0.14 records (every tree of
 * both snapshots compared node by node), and the read-ahead reads attributes recursively only
 * below the target (the folders above get a one-entry read).
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { xattrSupport } from '../../src/node/xattr.js';

const restic014 = resticBinaries().find((r) => r.name === 'restic-0.14');
const skip = !restic014 ? 'restic 0.14 not installed' : !xattrSupport() && !process.env.CI ? 'getfattr/setfattr not installed' : false;

interface Node {
  name: string;
  type: string;
  subtree?: string;
  extended_attributes?: { name: string; value: string }[];
}

/** path -> attributes (sorted by name) of every node of the snapshot. */
async function attrsOf(restic: ResticBinary, env: NodeJS.ProcessEnv): Promise<Map<string, string>> {
  const [snap] = JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env })).stdout) as { tree: string }[];
  assert.ok(snap, 'one snapshot');
  const out = new Map<string, string>();
  const walk = async (tree: string, prefix: string) => {
    const r = await runRestic(restic, ['cat', 'blob', tree], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const n of (JSON.parse(r.stdout) as { nodes: Node[] }).nodes) {
      const p = `${prefix}/${n.name}`;
      out.set(p, JSON.stringify([...(n.extended_attributes ?? [])].sort((a, b) => a.name.localeCompare(b.name))));
      if (n.subtree) await walk(n.subtree, p);
    }
  };
  await walk(snap.tree, '');
  return out;
}

describe('extended attributes from the file system', { skip }, () => {
  it('recorded as restic records them, on the folders above the target too', async () => {
    const dir = tempDir('coffer-awk-xattr-');
    const parent = path.join(dir, 'parent');
    const src = path.join(parent, 'src');
    fs.mkdirSync(path.join(src, 'sub', 'deeper'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(src, 'sub', 'deeper', 'b.txt'), 'b\n');
    fs.writeFileSync(path.join(parent, 'sibling.txt'), 'outside the target\n');
    const set = (p: string, n: string, v: string) => execFileSync('setfattr', ['-n', n, '-v', v, p]);
    set(parent, 'user.parent', 'above the target');
    set(src, 'user.target', 'the target itself');
    set(path.join(src, 'a.txt'), 'user.a', '0x00ff');
    set(path.join(src, 'sub', 'deeper'), 'user.deep', 'folder');
    set(path.join(src, 'sub', 'deeper', 'b.txt'), 'user.b', 'file');
    set(path.join(parent, 'sibling.txt'), 'user.sibling', 'not backed up');

    const env = (repo: string) => testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    const ours = path.join(dir, 'coffer-repo');
    const theirs = path.join(dir, 'restic-repo');
    assert.equal((await runCoffer(['init'], { env: env(ours) })).code, 0);
    assert.equal((await runRestic(restic014!, ['init'], { env: env(theirs) })).code, 0);
    // getfattr through a shim that logs its arguments: the recursive read must start at the target.
    const shim = path.join(dir, 'shim');
    const calls = path.join(dir, 'getfattr-calls');
    fs.mkdirSync(shim);
    const real = execFileSync('sh', ['-c', 'command -v getfattr'], { encoding: 'utf8' }).trim();
    fs.writeFileSync(path.join(shim, 'getfattr'), `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
    const b = await runCoffer(['backup', src], { env: { ...env(ours), PATH: `${shim}:${process.env.PATH}` } });
    assert.equal(b.code, 0, b.stderr);
    const recursive = fs.readFileSync(calls, 'utf8').split('\n').filter((l) => / -R /.test(l));
    assert.deepEqual(recursive.map((l) => l.split(' -- ')[1]), [src], 'one recursive read, of the target only');
    assert.equal((await runRestic(restic014!, ['backup', src], { env: env(theirs) })).code, 0);

    const a = await attrsOf(restic014!, env(ours));
    const r = await attrsOf(restic014!, env(theirs));
    assert.deepEqual([...a].sort(), [...r].sort());
    // An absolute target: the tree mirrors the path.
    assert.match(a.get(parent)!, /user\.parent/, 'the folder above the target has its attributes');
    assert.match(a.get(src)!, /user\.target/);
    assert.match(a.get(path.join(src, 'sub', 'deeper', 'b.txt'))!, /user\.b/);
  });
});
