/**
 * Cancellation at each phase boundary of `backup()` (in process, deterministic: the signal is
 * aborted from the onPhase event). Whatever the phase, the backup throws 'cancelled' and writes no
 * snapshot (or, cancelled on entering the snapshot phase, may complete), releases its lock, and
 * every pack it uploaded is named by an index file (so the next run reuses it and restic check
 * reports no unreferenced packs).
 */
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { backup } from '../../src/core/engine/backup/backup.js';
import { isCofferError } from '../../src/core/errors.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { NodeFileSource } from '../../src/node/fs-source.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { repoFiles, writeBulkTree } from '../helpers/crash.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

type Phase = 'index' | 'archive' | 'flush' | 'snapshot';

describe('backup cancelled at a phase boundary', () => {
  const dir = tempDir('coffer-phases-');
  const src = path.join(dir, 'src');
  const repoDir = path.join(dir, 'repo');
  let repo: Repository;

  before(async () => {
    const init = await runCoffer(['init'], { env: testEnv({ COFFER_REPOSITORY: repoDir }) });
    assert.equal(init.code, 0, init.stderr);
    repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password', packSize: 4 * 1024 * 1024 });
  });

  const cases: { phase: Phase; todo?: string }[] = [
    { phase: 'index' },
    { phase: 'archive' },
    { phase: 'flush' },
    { phase: 'snapshot' },
  ];
  let round = 0;
  for (const { phase, todo } of cases) {
    it(`cancelled on entering "${phase}": cancelled (no snapshot) or complete, no lock, every pack indexed`, { ...(todo ? { todo } : {}) }, async () => {
      // New content each time, several packs' worth (pack size 4 MiB).
      writeBulkTree(src, `phase-${round++}`, { bigMiB: [9, 7], small: 20 });
      const snapshotsBefore = repoFiles(repoDir, 'snapshots');
      const packsBefore = new Set(repoFiles(repoDir, 'data'));
      const controller = new AbortController();
      const u = os.userInfo();
      const outcome = await backup(repo, new NodeFileSource(), {
        targets: [src],
        hostname: os.hostname(),
        owner: { hostname: os.hostname(), username: u.username, pid: process.pid },
        signal: controller.signal,
        events: { onPhase: (p) => p === phase && controller.abort() },
      }).then(
        (r) => ({ snapshotId: r.snapshotId, error: undefined as unknown }),
        (e: unknown) => ({ snapshotId: undefined, error: e }),
      );
      if (outcome.error !== undefined || phase !== 'snapshot') {
        assert.ok(isCofferError(outcome.error, 'cancelled'), `expected a cancellation, got ${outcome.error ?? 'a snapshot'}`);
        assert.deepEqual(repoFiles(repoDir, 'snapshots'), snapshotsBefore, 'no snapshot written');
      } else {
        // Cancelled once everything is stored, the snapshot may still be written: then completely.
        assert.deepEqual(repoFiles(repoDir, 'snapshots'), [...snapshotsBefore, outcome.snapshotId!].sort());
      }
      assert.deepEqual(repoFiles(repoDir, 'locks'), [], 'lock released');
      const indexed = new Set((await loadMasterIndex(repo)).packIds());
      const added = repoFiles(repoDir, 'data').filter((p) => !packsBefore.has(p));
      const unindexed = added.filter((p) => !indexed.has(p));
      assert.deepEqual(unindexed, [], `${unindexed.length} of the ${added.length} packs this run uploaded are in no index`);
    });
  }
});
