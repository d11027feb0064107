/**
 * The progress scan's Node fast path (node/scan-worker.ts countTree) gives the totals the core
 * scan (engine/backup/scan.ts) gives over a NodeFileSource: files, folders and bytes, symlinks
 * not followed, other types not counted, excludes honoured, missing targets ignored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scan } from '../../src/core/engine/backup/scan.js';
import { anyMatch, parsePattern } from '../../src/core/filter/pattern.js';
import { NodeFileSource } from '../../src/node/fs-source.js';
import { countTree, scanInWorker } from '../../src/node/scan-worker.js';
import { tempDir } from '../helpers/paths.js';

test('countTree agrees with the core scan on a real tree', async () => {
  const root = tempDir();
  const w = (p: string, n: number) => {
    fs.mkdirSync(path.dirname(path.join(root, p)), { recursive: true });
    fs.writeFileSync(path.join(root, p), Buffer.alloc(n, 7));
  };
  w('a/one.txt', 10);
  w('a/b/two.bin', 70_000);
  w('a/b/c/three', 1);
  w('skip/big', 1_000_000);
  w('keep/empty', 0);
  w('ünï/€.txt', 33);
  fs.mkdirSync(path.join(root, 'emptydir'));
  fs.symlinkSync('a', path.join(root, 'link-to-dir'));
  fs.symlinkSync('a/one.txt', path.join(root, 'link-to-file'));
  execFileSync('mkfifo', [path.join(root, 'fifo')]);
  const raw = Buffer.concat([Buffer.from(root + '/'), Buffer.from([0x66, 0xff, 0x6e])]); // not UTF-8
  fs.writeFileSync(raw, 'x');

  const patterns = ['skip'].map(parsePattern);
  const source = new NodeFileSource({ xattrs: false });
  for (const [targets, ex] of [
    [[root], undefined],
    [[root], patterns],
    [[path.join(root, 'a'), path.join(root, 'a/one.txt'), path.join(root, 'missing')], undefined],
  ] as const) {
    const core = await scan(source, targets, ex ? { exclude: (i) => anyMatch(ex, i.path) } : {});
    const fast = countTree(targets, ex ? (p) => anyMatch(ex, p) : undefined);
    assert.deepEqual(fast, core, `targets ${targets.join(', ')}`);
  }
  const all = countTree([root], undefined);
  assert.deepEqual(all, { files: 7, dirs: 8, bytes: 10 + 70_000 + 1 + 1_000_000 + 0 + 33 + 1 });

  // And through the worker.
  const viaWorker = scanInWorker({ targets: [root], excludes: ['skip'] }, () => undefined);
  assert.deepEqual(await viaWorker.done, countTree([root], (p) => anyMatch(patterns, p)));
  viaWorker.stop();
});
