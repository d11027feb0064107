/**
 * prune killed (SIGKILL) at each step: after new packs, after the new index, after deleting the
 * old index, while deleting packs. Every time restic (after `unlock`) checks the repository
 * without errors, and a second prune finishes the job with the data intact.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, prng, type EntryInfo } from '../helpers/tree.js';

const latest = resticBinaries().find((b) => b.name === 'restic-latest');

describe('prune killed at any step leaves a valid repository', { skip: latest ? false : 'restic not installed' }, () => {
  const dir = tempDir('coffer-prune-crash-');
  const src = path.join(dir, 'src');
  const base = path.join(dir, 'base');
  let state: Map<string, EntryInfo>;

  before(async () => {
    const env = testEnv({ COFFER_REPOSITORY: base });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    fs.mkdirSync(src, { recursive: true });
    for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src, `f${i}.bin`), prng(`c${i}`, 100_000));
    assert.equal((await runCoffer(['backup', src], { env })).code, 0);
    fs.rmSync(path.join(src, 'f0.bin'));
    fs.rmSync(path.join(src, 'f1.bin'));
    assert.equal((await runCoffer(['backup', src], { env })).code, 0);
    state = describeTree(src);
    assert.equal((await runCoffer(['forget', '--keep-last', '1'], { env })).code, 0);
  });

  for (const stage of ['repacking', 'rebuilding index', 'deleting', 'removing']) {
    test(`killed at "${stage}"`, async () => {
      const repo = path.join(dir, stage.replace(/\s/g, '-'));
      fs.cpSync(base, repo, { recursive: true });
      const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
      const killed = await runCoffer(['prune', '--max-unused', '0'], { env: { ...env, COFFER_TEST_PRUNE_KILL_AT: stage } });
      assert.equal(killed.code, 137, `prune should have been killed at "${stage}": ${killed.stdout}${killed.stderr}`);
      assert.equal((await runRestic(latest!, ['unlock'], { env })).code, 0);
      const c = await runRestic(latest!, ['check', '--read-data'], { env });
      assert.equal(c.code, 0, c.stdout + c.stderr);
      const again = await runCoffer(['prune', '--max-unused', '0'], { env });
      assert.equal(again.code, 0, again.stderr);
      const c2 = await runRestic(latest!, ['check', '--read-data', '--check-unused'], { env });
      assert.equal(c2.code, 0, c2.stdout + c2.stderr);
      const target = path.join(dir, `restore-${stage.replace(/\s/g, '-')}`);
      assert.equal((await runCoffer(['restore', 'latest', '--target', target], { env })).code, 0);
      assert.deepEqual(diffTrees(state, describeTree(path.join(target, src))), []);
    });
  }
});
