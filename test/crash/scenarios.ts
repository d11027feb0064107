/**
 * The crash harness shared by test/crash/kill9-ops.test.ts (a few points per operation) and the
 * soak (test/soak/run.ts, 50+): `coffer backup`, `forget --prune`, `prune` and `copy` are killed
 * with SIGKILL at seeded instants, each on a fresh clone of a prepared repository. After each kill:
 *  - `unlock` (Coffer's or restic's, in turn) removes the dead process's lock and only that;
 *  - the real restic (0.14 and the current one, in turn) passes `check --read-data`;
 *  - every snapshot left in the repository is one completed before the kill (or the one the killed
 *    run finished) and restores exactly (through restic or Coffer, in turn), and the snapshots the
 *    operation must keep are all there;
 *  - the same command run again completes (exit 0) with the expected outcome, and restic checks it.
 * Instants are uniform over the operation's measured duration (process start-up included), so they
 * land in opening, locking, reading, packing, index writing, deleting and lock release.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cloneDir, MiB, runAndKill, seededBytes, type KillOutcome } from '../helpers/crash.js';
import { runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees, type EntryInfo } from '../helpers/tree.js';

export type CrashOpName = 'backup' | 'forget-prune' | 'prune' | 'copy';
export const CRASH_OPS: readonly CrashOpName[] = ['backup', 'forget-prune', 'prune', 'copy'];

export interface PointReport {
  readonly op: CrashOpName;
  readonly point: number;
  readonly instantMs: number;
  readonly killed: boolean;
  /** Milliseconds from the start to the process's end (by the kill or by finishing). */
  readonly ms: number;
  /** Snapshots in the repository after the kill / after the run again. */
  readonly snapshotsAfterKill: number;
  readonly snapshotsAfterRerun: number;
  readonly restored: number;
}

interface SnapshotInfo {
  id: string;
  time: string;
  original?: string;
}

type Tree = Map<string, EntryInfo>;

/**
 * Writes version `v` of the source: half of the big files and a third of the small ones change
 * from one version to the next, and one file is replaced, so forgetting old snapshots leaves both
 * wholly and partly unused packs (deleted and repacked by prune).
 */
export function writeSourceVersion(src: string, v: number, bigMiB: readonly number[]): void {
  fs.mkdirSync(path.join(src, 'big'), { recursive: true });
  bigMiB.forEach((mib, i) => {
    const label = i % 2 === v % 2 ? `big${i}.v${v}` : `big${i}.base`;
    fs.writeFileSync(path.join(src, 'big', `${i}.bin`), seededBytes(label, Math.round(mib * MiB) + i * 13));
  });
  for (let i = 0; i < 40; i++) {
    const dir = path.join(src, 'small', String(i % 4));
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `${i}.txt`), seededBytes(`s${i}.v${i % 3 === v % 3 ? v : 0}`, 500 + ((i * 7919) % 30_000)));
  }
  for (const n of fs.readdirSync(src)) if (n.startsWith('gone-')) fs.rmSync(path.join(src, n));
  fs.writeFileSync(path.join(src, `gone-${v}.bin`), seededBytes(`gone${v}`, MiB + v));
}

export interface CrashLabOptions {
  readonly restics: readonly ResticBinary[];
  /** Sizes (MiB) of the big source files; their sum sets how long each operation runs. */
  readonly bigMiB?: readonly number[];
  /** Called with a line of diagnostics per point. */
  readonly log?: (line: string) => void;
}

/** One operation's harness: `setup()` once, then `point(i, ms)` for each kill. */
export class CrashLab {
  /** Milliseconds a complete run of the operation took (the range instants are drawn from). */
  fullMs = 0;
  private readonly src: string;
  private readonly template: string;
  private readonly fromRepo: string;
  private readonly expected = new Map<string, Tree>();
  /** Snapshots a run must never lose (kept by the policy, or existing before a backup). */
  private mustKeep: string[] = [];
  /** Backup only: what a new snapshot must contain. */
  private nextTree: Tree | undefined;
  private readonly bigMiB: readonly number[];

  constructor(
    readonly op: CrashOpName,
    private readonly dir: string,
    private readonly opts: CrashLabOptions,
  ) {
    assert.ok(opts.restics.length > 0, 'the crash harness needs the real restic');
    this.src = path.join(dir, 'src');
    this.template = path.join(dir, 'template');
    this.fromRepo = path.join(dir, 'from');
    this.bigMiB = opts.bigMiB ?? [4, 6, 3, 5, 4, 6];
  }

  private env(repo: string): NodeJS.ProcessEnv {
    return testEnv({
      COFFER_REPOSITORY: repo,
      RESTIC_REPOSITORY: repo,
      COFFER_PACK_SIZE: '4',
      ...(this.op === 'copy' ? { COFFER_FROM_REPOSITORY: this.fromRepo, COFFER_FROM_PASSWORD: 'test-password' } : {}),
    });
  }

  private args(): string[] {
    switch (this.op) {
      case 'backup':
        return ['backup', this.src];
      case 'forget-prune':
        return ['forget', '--keep-last', '2', '--prune', '--max-unused', '0'];
      case 'prune':
        return ['prune', '--max-unused', '0'];
      case 'copy':
        return ['copy'];
    }
  }

  private async ok(args: string[], repo: string): Promise<string> {
    const r = await runCoffer(args, { env: this.env(repo) });
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
    return r.stdout;
  }

  private async snapshots(repo: string, restic: ResticBinary): Promise<SnapshotInfo[]> {
    const r = await runRestic(restic, ['snapshots', '--json'], { env: this.env(repo) });
    assert.equal(r.code, 0, `restic snapshots: ${r.stderr}`);
    return (JSON.parse(r.stdout) as SnapshotInfo[]).sort((a, b) => a.time.localeCompare(b.time));
  }

  /** Backs up versions 1..n of the source into `repo`, recording each snapshot's tree. */
  private async backupVersions(repo: string, n: number): Promise<string[]> {
    const ids: string[] = [];
    for (let v = 1; v <= n; v++) {
      writeSourceVersion(this.src, v, this.bigMiB);
      const out = await this.ok(['backup', '--json', this.src], repo);
      const id = JSON.parse(out.trim().split('\n').pop()!).snapshot_id as string;
      this.expected.set(id, describeTree(this.src));
      ids.push(id);
    }
    return ids;
  }

  async setup(): Promise<void> {
    fs.mkdirSync(this.dir, { recursive: true });
    const restic = this.opts.restics[0]!;
    if (this.op === 'copy') {
      await this.ok(['init'], this.fromRepo);
      const ids = await this.backupVersions(this.fromRepo, 4);
      // The destination already holds a copy of the first snapshot.
      const r = await runCoffer(['init', '--copy-chunker-params'], { env: this.env(this.template) });
      assert.equal(r.code, 0, r.stderr);
      await this.ok(['copy', ids[0]!], this.template);
      this.mustKeep = (await this.snapshots(this.template, restic)).map((s) => s.id);
      assert.equal(this.mustKeep.length, 1);
    } else {
      await this.ok(['init'], this.template);
      if (this.op === 'backup') {
        this.mustKeep = await this.backupVersions(this.template, 1);
        writeSourceVersion(this.src, 2, this.bigMiB);
        this.nextTree = describeTree(this.src);
      } else {
        const ids = await this.backupVersions(this.template, 4);
        this.mustKeep = ids.slice(-2);
        if (this.op === 'prune') await this.ok(['forget', '--keep-last', '2'], this.template);
      }
    }
    // One complete run measures the range the instants are drawn from and proves the op works.
    const probe = path.join(this.dir, 'probe');
    cloneDir(this.template, probe);
    const t0 = Date.now();
    await this.ok(this.args(), probe);
    this.fullMs = Date.now() - t0;
    fs.rmSync(probe, { recursive: true, force: true });
  }

  private expectedFor(s: SnapshotInfo): Tree | undefined {
    if (this.op === 'copy') return this.expected.get(s.original ?? '');
    if (this.op === 'backup' && !this.expected.has(s.id)) return this.nextTree;
    return this.expected.get(s.id);
  }

  private async restoreExactly(repo: string, s: SnapshotInfo, via: 'coffer' | ResticBinary, target: string): Promise<void> {
    const want = this.expectedFor(s);
    assert.ok(want, `snapshot ${s.id.slice(0, 8)} is not one the test made`);
    fs.rmSync(target, { recursive: true, force: true });
    const env = this.env(repo);
    const r = via === 'coffer' ? await runCoffer(['restore', s.id, '--target', target], { env }) : await runRestic(via, ['restore', s.id, '--target', target], { env });
    assert.equal(r.code, 0, `restore ${s.id.slice(0, 8)} via ${via === 'coffer' ? 'coffer' : via.name}: ${r.stdout}${r.stderr}`);
    assert.deepEqual(diffTrees(want, describeTree(path.join(target, this.src))), [], `snapshot ${s.id.slice(0, 8)} does not restore exactly`);
    fs.rmSync(target, { recursive: true, force: true });
  }

  private async check(repo: string, restic: ResticBinary, readData: boolean, when: string): Promise<void> {
    const r = await runRestic(restic, ['check', ...(readData ? ['--read-data'] : [])], { env: this.env(repo) });
    assert.equal(r.code, 0, `${restic.name} check${readData ? ' --read-data' : ''} ${when} failed:\n${r.stdout}${r.stderr}`);
    assert.match(r.stdout, /no errors were found/);
  }

  /** Kills the operation `instantMs` after its start on a fresh clone, then verifies everything. */
  async point(i: number, instantMs: number): Promise<PointReport> {
    const repo = path.join(this.dir, 'repo');
    const target = path.join(this.dir, 'restore');
    cloneDir(this.template, repo);
    const env = this.env(repo);
    const restic = this.opts.restics[i % this.opts.restics.length]!;
    const where = `${this.op} point ${i} (kill at ${instantMs} ms)`;

    const out: KillOutcome = await runAndKill(this.args(), env, instantMs);
    if (!out.killed) assert.equal(out.result.code, 0, `${where}: finished before the kill with exit ${out.result.code}: ${out.result.stderr}`);

    // The dead process's locks are stale: unlock removes them (and nothing refuses to).
    const locks = lockFiles(repo);
    if (out.killed || locks.length) {
      const u = i % 2 === 0 ? await runCoffer(['unlock', '--json'], { env }) : await runRestic(restic, ['unlock'], { env });
      assert.equal(u.code, 0, `${where}: unlock: ${u.stdout}${u.stderr}`);
      if (i % 2 === 0) assert.deepEqual([...JSON.parse(u.stdout.trim().split('\n').pop()!).removed_locks].sort(), locks, `${where}: unlock removed other locks than the dead process's`);
      assert.deepEqual(lockFiles(repo), [], `${where}: locks left after unlock`);
    }

    await this.check(repo, restic, true, `after the kill (${where})`);
    const after = await this.snapshots(repo, restic);
    const ids = new Set(after.map((s) => s.id));
    for (const id of this.mustKeep) assert.ok(ids.has(id), `${where}: snapshot ${id.slice(0, 8)} was lost`);
    let restored = 0;
    for (const [k, s] of after.entries()) {
      await this.restoreExactly(repo, s, (i + k) % 2 === 0 ? 'coffer' : restic, target);
      restored++;
    }

    // The same command again completes.
    const again = await runCoffer(this.args(), { env });
    assert.equal(again.code, 0, `${where}: run again: exit ${again.code}\n${again.stdout}${again.stderr}`);
    assert.deepEqual(lockFiles(repo), [], `${where}: the completed run left a lock`);
    await this.check(repo, restic, this.op !== 'backup', `after the run again (${where})`);
    const final = await this.snapshots(repo, restic);
    const finalIds = final.map((s) => s.id);
    switch (this.op) {
      case 'backup': {
        assert.ok(final.length === after.length + 1, `${where}: the run again added ${final.length - after.length} snapshots`);
        await this.restoreExactly(repo, final[final.length - 1]!, restic, target);
        restored++;
        break;
      }
      case 'forget-prune':
      case 'prune':
        assert.deepEqual([...finalIds].sort(), [...this.mustKeep].sort(), `${where}: snapshots after the run again`);
        for (const s of final) {
          await this.restoreExactly(repo, s, restic, target);
          restored++;
        }
        break;
      case 'copy': {
        assert.deepEqual(new Set(final.map((s) => s.original)), new Set(this.expected.keys()), `${where}: not every snapshot was copied`);
        assert.equal(final.length, this.expected.size, `${where}: a snapshot was copied twice`);
        for (const s of final.filter((x) => !ids.has(x.id))) {
          await this.restoreExactly(repo, s, restic, target);
          restored++;
        }
        break;
      }
    }
    fs.rmSync(repo, { recursive: true, force: true });
    const report: PointReport = { op: this.op, point: i, instantMs, killed: out.killed, ms: out.ms, snapshotsAfterKill: after.length, snapshotsAfterRerun: final.length, restored };
    this.opts.log?.(`${where}: ${out.killed ? 'killed' : `finished first (${out.ms} ms)`}, ${after.length} snapshots after the kill, ${final.length} after the run again, ${restored} restores exact`);
    return report;
  }
}

function lockFiles(repo: string): string[] {
  try {
    return fs.readdirSync(path.join(repo, 'locks')).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort();
  } catch {
    return [];
  }
}

/** Seeded fractions of a run, one per stratum of [0, 1), so a few points still cover the run. */
export function crashFractions(n: number, rnd: () => number): number[] {
  const out: number[] = [];
  for (let k = 0; k < n; k++) out.push((k + rnd()) / n);
  return out;
}

export interface PointsOutcome {
  killed: number;
  run: number;
  /** Failed points (only when `onFailure` is given; otherwise the first failure is thrown). */
  failed: number;
}

/**
 * Runs points until `target` of them killed a running process (at most 3 × target points): the
 * stratified fractions first, then random ones. Instants are fractions of the expected run time,
 * which starts as the measured one and shrinks to any shorter complete run seen meanwhile (a
 * loaded machine makes the first measurement long, and kills after the end kill nothing).
 */
export async function runCrashPoints(lab: CrashLab, target: number, rnd: () => number, onFailure?: (point: number, instantMs: number, e: Error) => void): Promise<PointsOutcome> {
  const fractions = crashFractions(target, rnd);
  let expected = lab.fullMs;
  const o: PointsOutcome = { killed: 0, run: 0, failed: 0 };
  while (o.killed < target && o.run < target * 3) {
    const f = fractions[o.run] ?? rnd() * 0.9;
    const ms = Math.round(f * expected);
    try {
      const r = await lab.point(o.run, ms);
      if (r.killed) o.killed++;
      else expected = Math.min(expected, r.ms);
    } catch (e) {
      if (!onFailure) throw e;
      o.failed++;
      onFailure(o.run, ms, e as Error);
    }
    o.run++;
  }
  return o;
}
