/**
 * kill -9 at any instant of `coffer backup` leaves a repository the real restic (0.14) accepts:
 * after each kill at a seeded random instant, the dead process's lock is stale and `unlock`
 * removes it, `restic check` (once with --read-data) passes, the snapshot completed before still
 * restores exactly, and a final backup completes and restores exactly. (kill9-reuse.test.ts: a
 * kill late in a long backup leaves indexed packs for the next run.)
 *
 * COFFER_CRASH_SEED=<n> replays other instants (the seed in use is printed as a diagnostic).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { lastJson, pidAlive, reachInstant, repoFiles, seededRandom, startCoffer, writeBulkTree, type Instant } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees, type EntryInfo } from '../helpers/tree.js';

const restics = resticBinaries();
const restic014: ResticBinary | undefined = restics.find((r) => r.name === 'restic-0.14');
const SEED = Number(process.env.COFFER_CRASH_SEED ?? 20240917);
/** ~120 MiB in 8 files of 5-30 MiB (every round rewrites these) plus ~12 MiB of small files. */
const BIG_MIB = [5, 30, 12, 22, 8, 17, 25, 10] as const;
const SMALL = 400;
const ROUNDS = 5;

async function check(restic: ResticBinary, env: NodeJS.ProcessEnv, readData: boolean): Promise<string> {
  const r = await runRestic(restic, ['check', ...(readData ? ['--read-data'] : [])], { env });
  assert.equal(r.code, 0, `restic check${readData ? ' --read-data' : ''} failed:\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /no errors were found/);
  return r.stdout;
}

async function restoreAndCompare(env: NodeJS.ProcessEnv, snapshot: string, src: string, expected: Map<string, EntryInfo>, target: string, via: 'coffer' | ResticBinary): Promise<void> {
  fs.rmSync(target, { recursive: true, force: true });
  const r = via === 'coffer'
    ? await runCoffer(['restore', snapshot, '--target', target], { env })
    : await runRestic(via, ['restore', snapshot, '--target', target], { env });
  assert.equal(r.code, 0, `restore ${snapshot} failed: ${r.stdout}${r.stderr}`);
  assert.deepEqual(diffTrees(expected, describeTree(path.join(target, src))), [], `snapshot ${snapshot.slice(0, 8)} does not restore exactly`);
  fs.rmSync(target, { recursive: true, force: true });
}

describe('kill -9 during coffer backup', { skip: !restic014 && 'restic 0.14 not installed' }, () => {
  const dir = tempDir('coffer-crash-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const target = path.join(dir, 'restore');
  const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });
  let first = '';
  let firstTree: Map<string, EntryInfo>;
  let fullMs = 0;

  before(async () => {
    writeBulkTree(src, 'v0', { bigMiB: BIG_MIB, small: SMALL });
    firstTree = describeTree(src);
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
    const t0 = Date.now();
    const b = await runCoffer(['backup', '--json', src], { env });
    fullMs = Date.now() - t0;
    assert.equal(b.code, 0, b.stderr);
    first = lastJson(b.stdout).snapshot_id;
    assert.match(first, /^[0-9a-f]{64}$/);
  });

  it(`after a kill at each of ${ROUNDS} seeded instants: stale lock removed, restic check passes, the earlier snapshot restores`, async (t) => {
    const restic = restic014!;
    const rnd = seededRandom(SEED);
    t.diagnostic(`seed ${SEED} (COFFER_CRASH_SEED), a full backup took ${fullMs} ms`);
    let midway = 0;
    for (let round = 1; round <= ROUNDS; round++) {
      // New content for every big file: the backup on top of `first` must store ~120 MiB again.
      writeBulkTree(src, `v${round}`, { bigMiB: BIG_MIB });
      const snapshotsBefore = repoFiles(repo, 'snapshots').length;
      // Spread over the backup: start-up/open/lock/scan, packs early to late (~25 per round), and
      // just after the index file (snapshot and lock release to come).
      const instant: Instant =
        round === 1 ? { afterMs: 50 + Math.round(rnd() * 400) }
        : round === ROUNDS ? { afterIndex: true, jitterMs: Math.round(rnd() * 10) }
        : { afterPacks: 1 + Math.floor(((round - 2 + rnd()) / (ROUNDS - 2)) * 22), jitterMs: Math.round(rnd() * 30) };
      const run = startCoffer(['backup', src], env);
      const when = await reachInstant(run, repo, instant);
      run.child.kill('SIGKILL');
      const res = await run.done;
      const pid = run.child.pid!;
      const packs = repoFiles(repo, 'data').length;
      const finished = repoFiles(repo, 'snapshots').length > snapshotsBefore;
      if (!finished) midway++;
      t.diagnostic(`round ${round}: killed ${when} (${res.signal ?? `exit ${res.code}`}), ${packs} packs in the repository, snapshot ${finished ? 'written' : 'not written'}`);
      // A backup that finished before the kill must have succeeded.
      assert.ok(res.signal === 'SIGKILL' || res.code === 0, `round ${round}: exit ${res.code} (${res.signal}): ${res.stderr}`);
      assert.ok(!pidAlive(pid), 'the killed process is gone');

      // Any lock left behind is the dead process's: stale, so `unlock` removes it (not --remove-all).
      const locks = repoFiles(repo, 'locks');
      for (const id of locks) {
        const c = await runCoffer(['cat', 'lock', id], { env });
        assert.equal(c.code, 0, c.stderr);
        assert.equal(JSON.parse(c.stdout).pid, pid, `lock ${id} is the killed backup's`);
      }
      const unlock = round % 2 ? await runCoffer(['unlock', '--json'], { env }) : await runRestic(restic, ['unlock'], { env });
      assert.equal(unlock.code, 0, unlock.stdout + unlock.stderr);
      if (round % 2) assert.deepEqual([...lastJson(unlock.stdout).removed_locks].sort(), locks);
      assert.deepEqual(repoFiles(repo, 'locks'), [], `round ${round}: unlock left locks behind`);

      await check(restic, env, round === 3);
      // Restoring 130 MiB each round costs ~2 s: the first snapshot every other round, and at the end.
      if (round % 2) await restoreAndCompare(env, first, src, firstTree, target, round === 1 ? restic : 'coffer');
    }
    assert.ok(midway >= 3, `only ${midway} of ${ROUNDS} kills hit a backup before its snapshot was written`);
  });

  it('a final backup completes, restores exactly, and the first snapshot still does', async () => {
    const restic = restic014!;
    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    const summary = lastJson(b.stdout);
    assert.equal(summary.message_type, 'summary');
    assert.deepEqual(repoFiles(repo, 'locks'), [], 'a completed backup leaves no lock');
    await check(restic, env, false);
    await restoreAndCompare(env, summary.snapshot_id, src, describeTree(src), target, restic);
    await restoreAndCompare(env, first, src, firstTree, target, 'coffer');
  });
});
