/**
 * Several clients on one repository at the same time:
 *  - two `coffer backup` processes and a restic 0.14 backup run together (their shared locks
 *    coexist): all complete, restic check --read-data passes, every snapshot restores exactly;
 *  - a prune attempted while a backup runs is refused (exit 11, naming the backup's lock), by
 *    Coffer and by restic; the backup completes, the prune then completes, nothing is lost.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { lastJson, MiB, repoFiles, seededBytes, startCoffer, waitFor } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees, type EntryInfo } from '../helpers/tree.js';

const restics = resticBinaries();
const restic014 = restics.find((r) => r.name === 'restic-0.14');
const latest = restics.find((r) => r.name === 'restic-latest');

function writeSource(root: string, label: string, files: number, mib: number): Map<string, EntryInfo> {
  fs.mkdirSync(root, { recursive: true });
  for (let i = 0; i < files; i++) {
    // Half of the content is common to every source: concurrent clients store the same blobs.
    const name = i % 2 ? `${label}-${i}` : `shared-${i}`;
    fs.writeFileSync(path.join(root, `${i}.bin`), seededBytes(name, mib * MiB + i));
  }
  return describeTree(root);
}

async function restoresExactly(env: NodeJS.ProcessEnv, snapshot: string, src: string, want: Map<string, EntryInfo>, target: string, via: 'coffer' | ResticBinary): Promise<void> {
  fs.rmSync(target, { recursive: true, force: true });
  const r = via === 'coffer' ? await runCoffer(['restore', snapshot, '--target', target], { env }) : await runRestic(via, ['restore', snapshot, '--target', target], { env });
  assert.equal(r.code, 0, `restore ${snapshot}: ${r.stdout}${r.stderr}`);
  assert.deepEqual(diffTrees(want, describeTree(path.join(target, src))), [], `snapshot ${snapshot.slice(0, 8)} of ${src}`);
  fs.rmSync(target, { recursive: true, force: true });
}

describe('concurrent clients on one repository', { skip: !(restic014 && latest) && 'restic not installed' }, () => {
  it('two Coffer backups and a restic backup at once: all complete, restic check passes, all restore', async (t) => {
    const dir = tempDir('coffer-conc-');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });
    const srcs = ['a', 'b', 'r'].map((l) => path.join(dir, `src-${l}`));
    const wants = srcs.map((s, i) => writeSource(s, `client${i}`, 6, 4));
    assert.equal((await runCoffer(['init'], { env })).code, 0);

    let maxLocks = 0;
    let polling = true;
    const poll = (async () => {
      while (polling) {
        maxLocks = Math.max(maxLocks, repoFiles(repo, 'locks').length);
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const [a, b, r] = await Promise.all([
      runCoffer(['backup', '--json', srcs[0]!], { env }),
      runCoffer(['backup', '--json', srcs[1]!], { env }),
      runRestic(restic014!, ['backup', '--json', srcs[2]!], { env }),
    ]);
    polling = false;
    await poll;
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(r.code, 0, r.stderr);
    t.diagnostic(`at most ${maxLocks} locks held at once`);
    assert.ok(maxLocks >= 2, 'the backups overlapped (their shared locks coexisted)');
    assert.deepEqual(repoFiles(repo, 'locks'), []);
    const c = await runRestic(latest!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const ids = [lastJson(a.stdout).snapshot_id, lastJson(b.stdout).snapshot_id, lastJson(r.stdout).snapshot_id] as string[];
    for (const [i, id] of ids.entries()) await restoresExactly(env, id, srcs[i]!, wants[i]!, path.join(dir, 'restore'), i === 1 ? latest! : 'coffer');
  });

  it('prune during a backup is refused (Coffer and restic); afterwards it completes and nothing is lost', async () => {
    const dir = tempDir('coffer-conc-prune-');
    const repo = path.join(dir, 'repo');
    const src = path.join(dir, 'src');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_PACK_SIZE: '4' });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const ids: string[] = [];
    const wants: Map<string, EntryInfo>[] = [];
    for (const v of ['v0', 'v1']) {
      fs.rmSync(src, { recursive: true, force: true });
      wants.push(writeSource(src, v, 6, 3));
      const b = await runCoffer(['backup', '--json', src], { env });
      assert.equal(b.code, 0, b.stderr);
      ids.push(lastJson(b.stdout).snapshot_id);
    }
    assert.equal((await runCoffer(['forget', ids[0]!], { env })).code, 0);
    // A long backup: 20 files of 5 MiB, all new.
    fs.rmSync(src, { recursive: true, force: true });
    const want2 = writeSource(src, 'v2', 20, 5);

    const run = startCoffer(['backup', '--json', src], env);
    assert.ok(await waitFor(() => repoFiles(repo, 'locks').length > 0 || run.child.exitCode !== null, 30_000, 2), 'the backup took its lock');
    const ours = await runCoffer(['prune'], { env });
    const theirs = await runRestic(latest!, ['prune'], { env });
    const backupStillRunning = run.child.exitCode === null;
    const res = await run.done;
    assert.equal(res.code, 0, res.stderr);
    assert.ok(backupStillRunning, 'the backup was still running during both prune attempts (make it longer)');
    assert.equal(ours.code, 11, `coffer prune during a backup: exit ${ours.code}: ${ours.stdout}${ours.stderr}`);
    assert.match(ours.stderr, new RegExp(`PID ${run.child.pid}`));
    assert.notEqual(theirs.code, 0, 'restic prune during a backup must be refused');
    assert.match(theirs.stderr, /locked/);

    const p = await runCoffer(['prune', '--max-unused', '0'], { env });
    assert.equal(p.code, 0, p.stderr);
    const c = await runRestic(latest!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const snaps = JSON.parse((await runRestic(latest!, ['snapshots', '--json'], { env })).stdout) as { id: string }[];
    const last = lastJson(res.stdout).snapshot_id as string;
    assert.deepEqual(snaps.map((s) => s.id).sort(), [ids[1]!, last].sort());
    const target = path.join(dir, 'restore');
    await restoresExactly(env, last, src, want2, target, 'coffer');
    // The forgotten v0 shared half its files with v1: pruning it must keep those.
    await restoresExactly(env, ids[1]!, src, wants[1]!, target, latest!);
  });
});
