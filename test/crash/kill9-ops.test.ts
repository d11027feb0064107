/**
 * kill -9 of `backup`, `forget --prune`, `prune` and `copy` at seeded instants (the fast slice of
 * the crash harness, test/crash/scenarios.ts; `npm run soak` runs 50+ points per operation).
 * After each kill: unlock removes only the dead process's lock, restic check --read-data passes,
 * every snapshot left restores exactly (and none that must be kept is missing), and the same
 * command run again completes.
 *
 * COFFER_CRASH_SEED=<n> replays other instants; COFFER_CRASH_POINTS=<n> sets the points per op.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { hash32, seededRandom } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries } from '../helpers/run.js';
import { CRASH_OPS, CrashLab, runCrashPoints } from './scenarios.js';

const restics = resticBinaries();
const SEED = Number(process.env.COFFER_CRASH_SEED ?? 20261129);
const POINTS = Number(process.env.COFFER_CRASH_POINTS ?? 3);

describe('kill -9 of backup, forget --prune, prune and copy at seeded instants', { skip: restics.length === 0 && 'restic not installed' }, () => {
  for (const op of CRASH_OPS) {
    it(`${op}: ${POINTS} kills, each followed by check --read-data, exact restores and a completing run`, async (t) => {
      const lab = new CrashLab(op, path.join(tempDir(`coffer-kill9-${op}-`), 'lab'), { restics, log: (l) => t.diagnostic(l) });
      await lab.setup();
      t.diagnostic(`seed ${SEED}, a full ${op} took ${lab.fullMs} ms`);
      const o = await runCrashPoints(lab, POINTS, seededRandom(SEED ^ hash32(op)));
      // Instants are drawn from the run's own length (shrunk to faster runs seen): they must hit.
      assert.equal(o.killed, POINTS, `only ${o.killed} of ${o.run} kills hit a running ${op}`);
    });
  }
});
