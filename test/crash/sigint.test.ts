/**
 * Ctrl-C (SIGINT) during `coffer backup`: exit 130 with a message on stderr, no lock left behind,
 * a repository restic 0.14 checks without errors, and the packs uploaded before the interrupt are
 * indexed, so the next backup stores only the rest. Then SIGINT at seeded random instants.
 *
 * COFFER_CRASH_SEED=<n> replays other instants.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { lastJson, MiB, reachInstant, repoFiles, seededRandom, startCoffer, waitFor, writeBulkTree, type Instant } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';

const restic014 = resticBinaries().find((r) => r.name === 'restic-0.14');
const SEED = Number(process.env.COFFER_CRASH_SEED ?? 20240917) + 1;
const BIG_MIB = [5, 30, 12, 22, 8, 17, 25, 10] as const;

/** restic check must pass; returns how many packs it found that no index names. */
async function check(restic: ResticBinary, env: NodeJS.ProcessEnv): Promise<number> {
  const r = await runRestic(restic, ['check'], { env });
  assert.equal(r.code, 0, `restic check failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /no errors were found/);
  return r.stdout.split('\n').filter((l) => /not referenced in any index/.test(l)).length;
}

describe('SIGINT during coffer backup', { skip: !restic014 && 'restic 0.14 not installed' }, () => {
  const dir = tempDir('coffer-sigint-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });
  let total = 0;

  before(async () => {
    total = writeBulkTree(src, 'int0', { bigMiB: BIG_MIB, small: 300 });
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
  });

  it('exits 130 with a message, leaves no lock, indexes the uploaded packs; the next backup adds only the rest', async (t) => {
    const restic = restic014!;
    const run = startCoffer(['backup', src], env);
    const some = await waitFor(() => repoFiles(repo, 'data').length >= 6, 60_000, 2);
    const t0 = Date.now();
    run.child.kill('SIGINT');
    const res = await run.done;
    const exitMs = Date.now() - t0;
    assert.ok(some, 'no packs appeared');
    assert.equal(res.code, 130, `exit ${res.code} (${res.signal}): ${res.stderr}`);
    assert.match(res.stderr, /interrupt/i);
    assert.ok(exitMs < 10_000, `took ${exitMs} ms to stop after SIGINT`);
    assert.deepEqual(repoFiles(repo, 'locks'), [], 'the interrupted backup removed its lock');
    assert.deepEqual(repoFiles(repo, 'snapshots'), []);
    const packs = repoFiles(repo, 'data').length;
    assert.ok(repoFiles(repo, 'index').length >= 1, 'the uploaded packs were indexed on the way out');
    const orphans = await check(restic, env);
    t.diagnostic(`stopped ${exitMs} ms after SIGINT with ${packs} packs; ${orphans} not indexed`);
    assert.equal(orphans, 0, 'every pack uploaded before the interrupt is in an index');

    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    const summary = lastJson(b.stdout);
    t.diagnostic(`total ${total} bytes; next backup data_added ${summary.data_added}`);
    // Every indexed pack holds at least ~4 MiB of this source's data, none of which is stored again.
    assert.ok(summary.data_added <= total - packs * 3.9 * MiB, `next backup added ${summary.data_added} of ${total} bytes after ${packs} packs were indexed`);
    await check(restic, env);
    const target = path.join(dir, 'restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    fs.rmSync(target, { recursive: true, force: true });
  });

  it('SIGINT at seeded random instants: 130 (or 0 if it had finished), no lock left, restic check passes', async (t) => {
    const restic = restic014!;
    const rnd = seededRandom(SEED);
    let interrupted = 0;
    let orphansBefore = await check(restic, env);
    for (let round = 1; round <= 4; round++) {
      writeBulkTree(src, `int${round}`, { bigMiB: BIG_MIB });
      // Soon after the lock (before it Node may still be loading, and SIGINT's default action
      // applies: a time after the spawn is too early on a loaded machine), then early to late
      // packs (~25 per round), then just after the index file.
      const instant: Instant =
        round === 1 ? { afterLock: true, jitterMs: Math.round(rnd() * 200) }
        : round === 4 ? { afterIndex: true, jitterMs: Math.round(rnd() * 10) }
        : { afterPacks: 1 + Math.floor(((round - 2 + rnd()) / 2) * 22), jitterMs: Math.round(rnd() * 30) };
      const run = startCoffer(['backup', src], env);
      const when = await reachInstant(run, repo, instant);
      run.child.kill('SIGINT');
      const res = await run.done;
      if (res.code === 130) interrupted++;
      const orphans = await check(restic, env);
      t.diagnostic(`round ${round}: SIGINT ${when}: exit ${res.code ?? res.signal}; ${repoFiles(repo, 'data').length} packs, ${orphans - orphansBefore} new ones not indexed`);
      orphansBefore = orphans;
      assert.ok(res.code === 130 || res.code === 0, `exit ${res.code} (${res.signal}): ${res.stderr}`);
      if (res.code === 130) assert.match(res.stderr, /interrupt/i);
      assert.deepEqual(repoFiles(repo, 'locks'), [], `round ${round}: a lock was left behind`);
    }
    assert.ok(interrupted >= 2, `only ${interrupted} of 4 SIGINTs interrupted a backup`);
  });
});
