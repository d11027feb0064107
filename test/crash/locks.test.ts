/**
 * Locks, as restic: while another client holds an exclusive lock, `coffer backup` exits 11 naming
 * the holder and writes nothing; `coffer unlock` removes only stale locks (a dead PID on this
 * host, or older than 30 minutes), never a live one; `unlock --remove-all` removes every lock.
 * The other client is this test process, through the core API.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { encodeLock } from '../../src/core/format/lock.js';
import { fromUnixNanos, nowGoTime } from '../../src/core/format/go-time.js';
import { RepositoryLock } from '../../src/core/repository/locks.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { lastJson, pidAlive, repoFiles } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';

const restic014 = resticBinaries().find((r) => r.name === 'restic-0.14');

describe('repository locks', () => {
  const dir = tempDir('coffer-locks-');
  const src = path.join(dir, 'src');
  const repoDir = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repoDir, RESTIC_REPOSITORY: repoDir });
  let repo: Repository;
  const held: RepositoryLock[] = [];

  before(async () => {
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(src, 'a.txt'), 'a\n');
    fs.writeFileSync(path.join(src, 'sub', 'b.txt'), 'b\n');
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
    repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
  });

  after(async () => {
    for (const l of held) await l.release();
  });

  it('a live exclusive lock: backup exits 11 naming the holder; unlock keeps it; unlock --remove-all removes it', async () => {
    const lock = await RepositoryLock.acquire(repo, true, { hostname: os.hostname(), username: 'lock-holder', pid: process.pid }, { settleMs: 0 });
    held.push(lock);
    const [id] = repoFiles(repoDir, 'locks');
    assert.ok(id, 'the exclusive lock was written');

    const b = await runCoffer(['backup', src], { env });
    assert.equal(b.code, 11, `exit ${b.code}: ${b.stdout}${b.stderr}`);
    assert.match(b.stderr, /exclusive lock/);
    assert.match(b.stderr, new RegExp(`PID ${process.pid} on ${os.hostname()} by lock-holder`));
    assert.match(b.stderr, new RegExp(id!.slice(0, 8)));
    const j = await runCoffer(['backup', '--json', src], { env });
    assert.equal(j.code, 11);
    const err = lastJson(j.stderr);
    assert.equal(err.message_type, 'exit_error');
    assert.equal(err.code, 11);
    assert.deepEqual(repoFiles(repoDir, 'locks'), [id], 'the refused backups wrote no lock of their own');
    assert.deepEqual(repoFiles(repoDir, 'snapshots'), []);

    if (restic014) {
      // restic sees Coffer's lock file as a lock too.
      const r = await runRestic(restic014, ['backup', src], { env });
      assert.notEqual(r.code, 0, 'restic backup must refuse too');
      assert.match(r.stderr, /locked exclusively/);
      assert.match(r.stderr, new RegExp(`PID ${process.pid}`));
    }

    const u = await runCoffer(['unlock', '--json'], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(lastJson(u.stdout).removed_locks, [], 'a live lock is not stale');
    assert.deepEqual(repoFiles(repoDir, 'locks'), [id]);
    assert.equal((await runCoffer(['backup', src], { env })).code, 11);

    const all = await runCoffer(['unlock', '--remove-all', '--json'], { env });
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(lastJson(all.stdout).removed_locks, [id]);
    assert.deepEqual(repoFiles(repoDir, 'locks'), []);
    const ok = await runCoffer(['backup', src], { env });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(repoFiles(repoDir, 'snapshots').length, 1);
    assert.deepEqual(repoFiles(repoDir, 'locks'), []);
    // Releasing a lock someone removed is not an error.
    await lock.release();
  });

  it('stale locks (dead PID here, or 31 min old) are listed and removed by unlock; live and foreign fresh ones stay', async () => {
    // A live reader first (it could not lock once the exclusive stale locks are there).
    const live = await RepositoryLock.acquire(repo, false, { hostname: os.hostname(), username: 'reader', pid: process.pid }, { settleMs: 0 });
    held.push(live);
    const [liveId] = repoFiles(repoDir, 'locks');
    const dead = spawnSync(process.execPath, ['-e', '0']).pid;
    assert.ok(dead && !pidAlive(dead), 'a PID that no longer exists');
    const base = { hostname: os.hostname(), username: 'crashed', exclusive: true };
    const staleDead = await repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), ...base, pid: dead }));
    const oldMs = Date.now() - 31 * 60_000;
    const staleOld = await repo.saveUnpacked('locks', encodeLock({ time: fromUnixNanos(BigInt(oldMs) * 1_000_000n, 0), ...base, hostname: 'elsewhere', pid: 1 }));
    const foreign = await repo.saveUnpacked('locks', encodeLock({ time: nowGoTime(), ...base, exclusive: false, hostname: 'elsewhere', pid: 1 }));

    // Listed: by restic, and coffer shows the lock's holder (reading without a lock of its own).
    if (restic014) {
      const l = await runRestic(restic014, ['list', 'locks', '--no-lock'], { env });
      assert.equal(l.code, 0, l.stderr);
      assert.deepEqual(l.stdout.trim().split('\n').sort(), [staleDead, staleOld, foreign, liveId].sort());
    }
    const cat = await runCoffer(['--no-lock', 'cat', 'lock', staleDead], { env });
    assert.equal(cat.code, 0, cat.stderr);
    assert.equal(JSON.parse(cat.stdout).pid, dead);

    const b = await runCoffer(['backup', src], { env });
    assert.equal(b.code, 11, `exit ${b.code}: ${b.stdout}${b.stderr}`);
    assert.match(b.stderr, /PID \d+ on \S+ by crashed/, 'names a stale exclusive lock (stale locks are not ignored, as restic)');

    const u = await runCoffer(['unlock', '--json'], { env });
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual([...lastJson(u.stdout).removed_locks].sort(), [staleDead, staleOld].sort());
    assert.deepEqual(repoFiles(repoDir, 'locks'), [foreign, liveId].sort(), 'live and fresh foreign (shared) locks stay');

    // Shared locks do not block a backup.
    const ok = await runCoffer(['backup', src], { env });
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.deepEqual(repoFiles(repoDir, 'locks'), [foreign, liveId].sort(), 'the backup removed its own lock only');
    await live.release();
    assert.deepEqual(repoFiles(repoDir, 'locks'), [foreign]);
  });
});
