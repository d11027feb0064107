import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8Encode } from '../../src/core/bytes.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { scan } from '../../src/core/engine/backup/scan.js';
import { joinPath, TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { FakeSource, LOCK_OWNER, dir, file, newMemRepo, reopen, symlink } from '../helpers/mem-repo.js';

function tree() {
  return dir({
    r: dir({
      b: dir({ z: file('zz'), a: file('a') }),
      a: file('12345'),
      c: symlink('a'),
      skip: dir({ inner: file('no') }),
      B: file('upper'),
    }),
  });
}

test('walkTree visits depth first in byte order of names; false skips a folder', async () => {
  const m = await newMemRepo();
  const { snapshot } = await backup(m.repo, new FakeSource(tree()), { targets: ['/r'], hostname: 'h', owner: LOCK_OWNER });
  const repo = await reopen(m);
  const loader = new TreeLoader(repo, await loadMasterIndex(repo));
  const seen: string[] = [];
  await walkTree(loader, snapshot.tree, (e) => {
    seen.push(e.path);
    assert.equal(e.rawPath.length, e.path.split('/').length - 1);
    return e.path !== '/r/skip';
  });
  assert.deepEqual(seen, ['/r', '/r/B', '/r/a', '/r/b', '/r/b/a', '/r/b/z', '/r/c', '/r/skip']);
  // Loading the same tree twice comes from the cache (same object).
  assert.equal(await loader.load(snapshot.tree), await loader.load(snapshot.tree));
});

test('joinPath', () => {
  assert.equal(joinPath('/', utf8Encode('a')), '/a');
  assert.equal(joinPath('/a', utf8Encode('b')), '/a/b');
});

test('scan counts files, folders and bytes, honouring excludes and ignoring errors', async () => {
  const t = tree();
  (t.children.r as ReturnType<typeof dir>).children['broken'] = dir({ x: file('x') }, { listError: true });
  const src = new FakeSource(t);
  const totals = await scan(src, ['/r', '/missing']);
  assert.deepEqual(totals, { files: 5, dirs: 4, bytes: 5 + 5 + 1 + 2 + 2 });
  const ex = await scan(src, ['/r'], { exclude: (i) => i.path === '/r/skip' || i.path === '/r/b' });
  assert.deepEqual(ex, { files: 2, dirs: 2, bytes: 10 });
  assert.equal(src.totalOpens, 0, 'scan reads metadata only');
});
