/**
 * The check and repair engines on an in-memory repository (no CLI, no restic): a lost subtree is
 * found by check, and repair index + repair snapshots turn it into an empty folder while the
 * rest of the snapshot is kept, after which check finds nothing.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MemBackend } from '../../src/core/backend/mem.js';
import { utf8Encode } from '../../src/core/bytes.js';
import { checkRepository } from '../../src/core/engine/check/check.js';
import { rebuildIndex } from '../../src/core/engine/repair/rebuild-index.js';
import { repairSnapshots } from '../../src/core/engine/repair/repair-snapshots.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { decodeTree, EMPTY_TREE_ID, encodeTree } from '../../src/core/format/tree.js';
import type { Id, TreeNode } from '../../src/core/format/types.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex, MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository } from '../../src/core/repository/open.js';
import { nodePlatform } from '../../src/node/platform.js';

const T = fromUnixNanos(1_700_000_000_000_000_000n, 0);
const MODE_DIR = 0x80000000 | 0o755;

function node(name: string, extra: Partial<TreeNode> & Pick<TreeNode, 'type'>): TreeNode {
  return { name: utf8Encode(name), mode: 0o644, mtime: T, atime: T, ctime: T, uid: 0, gid: 0, content: null, ...extra };
}

describe('check and repair engines (in memory)', () => {
  it('a lost subtree is reported, then replaced by an empty folder; the rest survives', async () => {
    const backend = new MemBackend();
    const repo = await initRepository(backend, await nodePlatform(), { password: 'pw', kdf: { N: 1024, r: 8, p: 1 }, username: 'u', hostname: 'h' });
    // The subtree goes into a pack of its own (first saver), the rest into others.
    const index = new MasterIndex();
    const s1 = new BlobSaver(repo, index);
    const inner = (await s1.save('data', utf8Encode('inside a'))).id;
    const subtree = (await s1.save('tree', encodeTree({ nodes: [node('in.txt', { type: 'file', content: [inner], size: 8 })] }))).id;
    await s1.flush();
    const lostPacks = [...index.packIds()].filter((p) => index.packBlobs(p)!.some((b) => b.type === 'tree'));
    const s2 = new BlobSaver(repo, index);
    const kept = (await s2.save('data', utf8Encode('kept file'))).id;
    const root = (
      await s2.save(
        'tree',
        encodeTree({ nodes: [node('a', { type: 'dir', mode: MODE_DIR, subtree }), node('b.txt', { type: 'file', content: [kept], size: 9 })] }),
      )
    ).id;
    await s2.flush();
    const snapId = await repo.saveUnpacked('snapshots', encodeSnapshot({ time: T, tree: root, paths: ['/x'], hostname: 'h' }));

    assert.deepEqual((await checkRepository(repo, { readData: true })).errors, []);
    assert.equal(lostPacks.length, 1);
    await backend.delete({ type: 'data', name: lostPacks[0]! });

    const damaged = await checkRepository(repo);
    assert.ok(damaged.errors.some((e) => e.includes(`pack ${lostPacks[0]}: does not exist`)), damaged.errors.join('\n'));
    assert.ok(damaged.errors.some((e) => e.includes(subtree) && e.includes('at /a')), damaged.errors.join('\n'));

    const ri = await rebuildIndex(repo);
    assert.deepEqual(ri.missingPacks, lostPacks);
    const rs = await repairSnapshots(repo, { forget: true });
    assert.deepEqual(
      rs.losses.map((l) => [l.path, l.kind]),
      [['/a', 'replaced with empty directory']],
    );
    assert.equal(rs.repaired.length, 1);
    assert.deepEqual(rs.removed, [snapId]);
    const newId = rs.repaired[0]!.repaired;
    const snap = decodeSnapshot(await repo.loadUnpacked('snapshots', newId), newId);
    assert.equal(snap.original, snapId);
    assert.deepEqual(snap.tags, ['repaired']);
    const idx = await loadMasterIndex(repo);
    const tree = decodeTree(await loadBlob(repo, idx, 'tree', snap.tree), 'root');
    assert.equal(tree.nodes[0]!.subtree, EMPTY_TREE_ID);
    assert.deepEqual(tree.nodes[1]!.content, [kept]);
    assert.ok(idx.has('tree', EMPTY_TREE_ID), 'the empty tree is stored');

    const after = await checkRepository(repo, { readData: true });
    assert.deepEqual(after.errors, []);
    assert.equal(after.packsRead, [...idx.packIds()].length);
    // The snapshot files: only the repaired one remains.
    const ids: Id[] = await repo.listIds('snapshots');
    assert.deepEqual(ids, [newId]);
  });
});
