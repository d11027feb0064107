/**
 * The unchanged-folder fast path of the archiver: a folder whose children all encode as in the
 * parent tree keeps the parent's tree ID instead of being encoded again (engine/backup/node-equal.ts).
 * It must never produce a tree other than the one encoding would.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { backup } from '../../src/core/engine/backup/backup.js';
import { nodesEncodeAlike, treesEncodeAlike } from '../../src/core/engine/backup/node-equal.js';
import { decodeTree, encodeTree } from '../../src/core/format/tree.js';
import type { TreeNode } from '../../src/core/format/types.js';
import { toHex } from '../../src/core/bytes.js';
import { RUNS, tree } from '../property/arbitraries.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo, symlink, time, type FakeDir } from '../helpers/mem-repo.js';

const FIELDS = [
  'name', 'type', 'mode', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'user', 'group', 'inode', 'deviceId', 'size',
  'links', 'linktarget', 'linktargetRaw', 'extendedAttributes', 'genericAttributes', 'device', 'content', 'subtree', 'error',
] as const;

const encodes = (n: TreeNode) => toHex(encodeTree({ nodes: [n] }));

test('nodesEncodeAlike: true only for nodes that encode to the same bytes, and true after decode(encode)', () => {
  let alikeSeen = 0;
  let differentSeen = 0;
  fc.assert(
    fc.property(tree, tree, fc.constantFrom(...FIELDS), fc.boolean(), (t1, t2, field, drop) => {
      for (let i = 0; i < t1.nodes.length; i++) {
        const a = t1.nodes[i]!;
        const c = t2.nodes[i % Math.max(1, t2.nodes.length)];
        // b: a with one field taken from another node, or removed (absent = zero value).
        const b = { ...a } as Record<string, unknown>;
        if (drop && field !== 'name' && field !== 'type' && !field.endsWith('time') && field !== 'content') delete b[field];
        else if (c) b[field] = (c as unknown as Record<string, unknown>)[field];
        const bn = b as unknown as TreeNode;
        const same = encodes(a) === encodes(bn);
        if (nodesEncodeAlike(a, bn)) {
          alikeSeen++;
          assert.ok(same, `alike but encoded differently (field ${field})`);
        } else differentSeen++;
        // A node read back from its tree is alike (the fast path applies to real parents) unless a
        // generic attribute was compacted by encoding.
        const back = decodeTree(encodeTree({ nodes: [a] }), 'test').nodes[0]!;
        if (!a.genericAttributes) assert.ok(nodesEncodeAlike(a, back), 'decode(encode(node)) should be alike');
      }
      assert.ok(treesEncodeAlike(t1.nodes, t1.nodes));
      if (t1.nodes.length > 0) assert.ok(!treesEncodeAlike(t1.nodes, t1.nodes.slice(1)), 'a missing node is a different tree');
    }),
    { numRuns: RUNS * 4 },
  );
  assert.ok(alikeSeen > 0 && differentSeen > 0, `both answers exercised (${alikeSeen} alike, ${differentSeen} not)`);
});

test('after a change deep down, the incremental tree equals a full re-read; unchanged folders add no tree blob', async () => {
  const m = await newMemRepo();
  const root = dir({
    data: dir({
      a: dir({ x: file('one'), y: file('two'), deep: dir({ z: file('three'), w: dir({ v: file('four') }) }) }),
      b: dir({ q: file('five'), l: symlink('q') }),
      top: file('six'),
    }),
  });
  const src = new FakeSource(root);
  const run = (force = false) => backup(m.repo, src, { targets: ['/data'], hostname: 'h', owner: LOCK_OWNER, force });
  const first = await run();
  const second = await run();
  assert.equal(second.snapshot.tree, first.snapshot.tree);
  assert.equal(second.summary.treeBlobs, 0, 'no folder changed: no tree stored (the root is the same too)');
  assert.equal(second.counts.dirsUnmodified, 5);

  const deep = ((root.children.data as FakeDir).children.a as FakeDir).children.deep as FakeDir;
  deep.children.z = { ...file('three, changed'), meta: { mtime: time(99) } };
  const third = await run();
  const full = await run(true);
  assert.notEqual(third.snapshot.tree, first.snapshot.tree);
  assert.equal(third.snapshot.tree, full.snapshot.tree, 'incremental and full backups give the same tree');
  // data, a and deep changed; deep/w, b stayed. Trees stored: those three and the snapshot root.
  assert.equal(third.counts.dirsChanged, 3);
  assert.equal(third.counts.dirsUnmodified, 2);
  assert.equal(third.summary.treeBlobs, 4);
});
