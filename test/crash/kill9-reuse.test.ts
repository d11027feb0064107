/**
 * kill -9 late in a long `coffer backup`: Coffer writes an index file every 64 packs, so a backup
 * killed after the first one leaves those packs indexed; `unlock` removes the dead process's lock,
 * `restic check` (0.14) passes (the packs uploaded after the index are merely unreferenced), and
 * the next backup stores only what was not indexed, then restores exactly.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { lastJson, MiB, repoFiles, startCoffer, waitFor, writeBulkTree } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';

const restic014 = resticBinaries().find((r) => r.name === 'restic-0.14');

describe('kill -9 late in a long backup: indexed packs are reused', { skip: !restic014 && 'restic 0.14 not installed' }, () => {
  const dir = tempDir('coffer-crash-reuse-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });

  it('after a kill following the first index file (64 packs), the next backup adds less, and restic check passes', async (t) => {
    const restic = restic014!;
    // Packs of random data average ~5 MiB (a pack is closed once it passes 4 MiB; chunks average
    // 1 MiB), so 64 packs hold ~330 MiB: 14 × 30 MiB leaves ~100 MiB to go after the first index.
    const total = writeBulkTree(src, 'reuse', { bigMiB: Array(14).fill(30) });
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
    const run = startCoffer(['backup', src], env);
    const indexed = await waitFor(() => repoFiles(repo, 'index').length > 0, 60_000, 2);
    run.child.kill('SIGKILL');
    const res = await run.done;
    assert.ok(indexed, 'no index file appeared during the backup');
    assert.equal(res.signal, 'SIGKILL', `the backup ended before the kill (exit ${res.code}): ${res.stderr}`);
    assert.deepEqual(repoFiles(repo, 'snapshots'), [], 'killed before its snapshot');
    const packsAtKill = repoFiles(repo, 'data').length;

    const unlock = await runCoffer(['unlock', '--json'], { env });
    assert.equal(unlock.code, 0, unlock.stderr);
    assert.equal(lastJson(unlock.stdout).removed_locks.length, 1, 'the killed backup left its (now stale) lock');
    const c = await runRestic(restic, ['check'], { env });
    assert.equal(c.code, 0, `restic check failed:\n${c.stdout}${c.stderr}`);
    const checked = c.stdout;
    t.diagnostic(`${packsAtKill} packs at the kill, ${repoFiles(repo, 'index').length} index file(s); check: ${checked.split('\n').filter((l) => /additional|not referenced/.test(l)).length} orphan notes`);

    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    const summary = lastJson(b.stdout);
    t.diagnostic(`total ${total} bytes, next backup data_added ${summary.data_added}`);
    // 64 indexed packs of >= 4 MiB are reused: at least ~200 MiB need not be stored again.
    assert.ok(summary.data_added < total - 200 * MiB, `next backup added ${summary.data_added} of ${total} bytes: indexed packs not reused`);
    const c2 = await runRestic(restic, ['check'], { env });
    assert.equal(c2.code, 0, `restic check failed:\n${c2.stdout}${c2.stderr}`);
    const target = path.join(dir, 'restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
  });
});
