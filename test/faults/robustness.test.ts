/**
 * Robustness fixes found by the fault injection (issue 6), each checked through FaultyBackend:
 * a whole file (index, snapshot, key, config) or a blob that fails its check is read once more
 * before it counts as damaged (restic PR #3521), also when the blob came from a cached tree pack;
 * a damaged copy that stays damaged is still 'corrupt'. A backup whose snapshot is written but
 * whose lock cannot be removed warns and exits 0. A refused REST upload names POST and the file.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Handle } from '../../src/core/backend/backend.js';
import { MemBackend } from '../../src/core/backend/mem.js';
import { RestBackend } from '../../src/core/backend/rest.js';
import { toHex } from '../../src/core/bytes.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import { isCofferError } from '../../src/core/errors.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import { PackCache } from '../../src/core/repository/pack-cache.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { listen, type Listening } from '../../src/server/node-listener.js';
import { FaultyBackend, type FaultOptions } from '../helpers/faulty-backend.js';
import { FakeSource, LOCK_OWNER, PASSWORD, dir, file, newMemRepo, randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

/** Accepts only the first handle `pred` accepts: a fault on the first read of it, none later. */
function firstOf(pred: (h: Handle) => boolean): (h: Handle) => boolean {
  let n = 0;
  return (h) => pred(h) && n++ === 0;
}

/** A repository with one snapshot of a few folders (several trees), written without faults. */
async function fixture() {
  const m = await newMemRepo();
  const root = dir({
    a: dir({ 'x.txt': file('hello robustness\n'), deep: dir({ 'y.bin': file(randomBytes(7, 20_000)) }) }),
    b: dir({ 'z.bin': file(randomBytes(8, 60_000)) }),
  });
  const r = await backup(m.repo, new FakeSource(root), { targets: ['/a', '/b'], hostname: 'h', owner: LOCK_OWNER });
  return { ...m, tree: r.snapshot.tree, snapshotId: r.snapshotId! };
}

async function through(mem: MemBackend, opts: Omit<FaultOptions, 'seed'>) {
  const faulty = new FaultyBackend(mem, { seed: 5, ...opts });
  faulty.enabled = false; // open cleanly; faults start when the test says
  const { nodePlatform } = await import('../../src/node/platform.js');
  const repo = await openRepository(faulty, await nodePlatform(), { password: PASSWORD });
  faulty.enabled = true;
  return { faulty, repo };
}

describe('a damaged read is read once more before it counts as damage', () => {
  it('index and snapshot files: one bit flip on the first read is ridden out; a lasting one is corrupt', async () => {
    const fx = await fixture();
    for (const type of ['index', 'snapshots'] as const) {
      const load = (r: Awaited<ReturnType<typeof through>>['repo']) => (type === 'index' ? loadMasterIndex(r) : loadSnapshots(r));
      const once = await through(fx.backend, { rates: { corrupt: 1 }, match: firstOf((h) => h.type === type) });
      const loaded = await load(once.repo);
      assert.equal(once.faulty.counts().corrupt, 1, `${type}: one read was damaged`);
      if (type === 'snapshots') assert.deepEqual((loaded as Awaited<ReturnType<typeof loadSnapshots>>).map((e) => e.id), [fx.snapshotId]);
      else assert.ok((loaded as Awaited<ReturnType<typeof loadMasterIndex>>).lookupAll('tree', fx.tree).length > 0);

      const always = await through(fx.backend, { rates: { corrupt: 1 }, types: [type] });
      await assert.rejects(load(always.repo), (e) => isCofferError(e, 'corrupt') && /SHA-256 mismatch, read twice/.test(e.message));
      assert.equal(always.faulty.counts().corrupt, 2, `${type}: read twice, then reported`);
    }
  });

  it('key and config files: a bit flip on the first read of each still opens the repository', async () => {
    const fx = await fixture();
    const { nodePlatform } = await import('../../src/node/platform.js');
    const key = new FaultyBackend(fx.backend, { seed: 6, rates: { corrupt: 1 }, match: firstOf((h) => h.type === 'keys') });
    const r1 = await openRepository(key, await nodePlatform(), { password: PASSWORD });
    assert.equal(r1.keyId, fx.repo.keyId);
    assert.equal(key.counts().corrupt, 1);
    const config = new FaultyBackend(fx.backend, { seed: 7, rates: { corrupt: 1 }, match: firstOf((h) => h.type === 'config') });
    const r2 = await openRepository(config, await nodePlatform(), { password: PASSWORD });
    assert.equal(r2.config.id, fx.repo.config.id);
    assert.equal(config.counts().corrupt, 1);
    const keyAlways = new FaultyBackend(fx.backend, { seed: 8, rates: { corrupt: 1 }, types: ['keys'] });
    await assert.rejects(openRepository(keyAlways, await nodePlatform(), { password: PASSWORD }), (e) => isCofferError(e, 'corrupt'));
  });

  it('a tree pack read through the pack cache: the damaged copy is dropped and read again once', async () => {
    const fx = await fixture();
    const index = await loadMasterIndex(fx.repo);
    const treePack = index.lookupAll('tree', fx.tree)[0]!.packId;
    const trees = index.packBlobs(treePack)!.filter((b) => b.type === 'tree');
    assert.ok(trees.length >= 3, 'several trees share the pack');

    const once = await through(fx.backend, { rates: { corrupt: 1 }, match: firstOf((h) => h.type === 'data' && h.name === treePack) });
    const cache = new PackCache(once.repo, index);
    for (const t of trees) {
      const plain = await loadBlob(once.repo, index, 'tree', t.id, { cache });
      assert.equal(toHex(once.repo.platform.crypto.sha256(plain)), t.id);
    }
    assert.equal(once.faulty.counts().corrupt, 1);

    // Damaged in storage (every read): still 'corrupt', after one more read (not one per blob, not forever).
    const loc = index.lookupAll('tree', fx.tree)[0]!;
    const damaged = new Uint8Array(await fx.backend.get({ type: 'data', name: treePack }));
    damaged[loc.offset + 20]! ^= 0x10;
    await fx.backend.delete({ type: 'data', name: treePack });
    await fx.backend.put({ type: 'data', name: treePack }, damaged);
    const stored = await through(fx.backend, { rates: {} });
    const gets: string[] = [];
    const inner = stored.faulty.get.bind(stored.faulty);
    stored.faulty.get = (h, r, o) => (gets.push(h.name), inner(h, r, o));
    await assert.rejects(loadBlob(stored.repo, index, 'tree', fx.tree, { cache: new PackCache(stored.repo, index) }), (e) => isCofferError(e, 'corrupt'));
    assert.equal(gets.length, 2);
  });

  it('a data blob read by range: one bit flip is ridden out, a lasting one is corrupt', async () => {
    const fx = await fixture();
    const index = await loadMasterIndex(fx.repo);
    const blob = [...index.packIds()].flatMap((p) => index.packBlobs(p)!.filter((b) => b.type === 'data'))[0]!;
    const once = await through(fx.backend, { rates: { corrupt: 1 }, match: firstOf((h) => h.type === 'data') });
    const plain = await loadBlob(once.repo, index, 'data', blob.id);
    assert.equal(toHex(once.repo.platform.crypto.sha256(plain)), blob.id);
    assert.equal(once.faulty.counts().corrupt, 1);
    const always = await through(fx.backend, { rates: { corrupt: 1 }, types: ['data'] });
    await assert.rejects(loadBlob(always.repo, index, 'data', blob.id), (e) => isCofferError(e, 'corrupt'));
    assert.equal(always.faulty.counts().corrupt, 2);
  });
});

describe('lock removal refused after the snapshot', () => {
  it('engine: the snapshot is kept and the refusal comes back as a warning', async () => {
    const fx = await fixture();
    const { faulty, repo } = await through(fx.backend, { rates: { permanent: 1 }, ops: ['delete'], types: ['locks'] });
    const r = await backup(repo, new FakeSource(dir({ c: dir({ 'n.txt': file('new') }) })), { targets: ['/c'], hostname: 'h', owner: LOCK_OWNER });
    assert.ok(r.snapshotId);
    assert.equal(faulty.counts().permanent, 1);
    assert.equal(r.warnings?.length, 1);
    assert.match(r.warnings![0]!, /could not remove the lock locks\/[0-9a-f]{8} \(.*permission denied/);
    faulty.enabled = false;
    assert.ok((await loadSnapshots(repo)).some((e) => e.id === r.snapshotId));
  });

  describe('CLI and REST', () => {
    let server: Listening;
    let faulty: FaultyBackend;
    let env: NodeJS.ProcessEnv;
    let src: string;

    before(async () => {
      const d = tempDir('coffer-robustness-');
      const repoDir = path.join(d, 'repo');
      fs.mkdirSync(repoDir);
      src = path.join(d, 'src');
      fs.mkdirSync(src);
      fs.writeFileSync(path.join(src, 'f.txt'), 'lock warning\n');
      faulty = new FaultyBackend(new LocalBackend(repoDir), { seed: 9, rates: { permanent: 1 }, ops: ['delete'], types: ['locks'] });
      faulty.enabled = false;
      server = await listen(createRestApp({ backend: faulty }));
      env = testEnv({ COFFER_REPOSITORY: `rest:${server.url}/` });
      const init = await runCoffer(['init'], { env });
      assert.equal(init.code, 0, init.stderr);
    });

    after(async () => {
      await server?.close();
    });

    it('coffer backup exits 0, prints the snapshot and one warning line', async () => {
      faulty.enabled = true;
      const b = await runCoffer(['backup', src], { env });
      faulty.enabled = false;
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /snapshot [0-9a-f]{8} saved/);
      assert.match(b.stderr, /^Warning: could not remove the lock locks\/[0-9a-f]{8} \(.*403.*\); it stays until "unlock" removes it/m);
      assert.doesNotMatch(b.stderr, /^coffer: /m);
      assert.ok(faulty.counts().permanent >= 1);
    });

    it('commands done under a lock (forget, check) exit 0 with the same warning when the lock stays', async () => {
      // Each run leaves its lock behind (that is the point): remove it before the next one.
      const unlock = async () => {
        faulty.enabled = false;
        const u = await runCoffer(['unlock', '--remove-all'], { env });
        assert.equal(u.code, 0, u.stderr);
      };
      for (const args of [['forget', '--keep-last', '1'], ['check']]) {
        await unlock();
        faulty.enabled = true;
        const r = await runCoffer(args, { env });
        faulty.enabled = false;
        assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
        assert.match(r.stderr, /^Warning: could not remove the lock locks\/[0-9a-f]{8} \(.*403.*\); it stays until "unlock" removes it/m);
        assert.doesNotMatch(r.stderr, /^coffer: /m);
      }
      await unlock();
    });

    it('a refused upload names POST and the file, not the GET behind it', async () => {
      const data = randomBytes(21, 1000);
      const name = toHex((await import('node:crypto')).createHash('sha256').update(data).digest());
      const up = new FaultyBackend(faulty.inner, { seed: 10, rates: { permanent: 1 }, ops: ['put'], types: ['data'] });
      const app = createRestApp({ backend: up });
      const s2 = await listen(app);
      try {
        const r2 = new RestBackend(`${s2.url}/`);
        await assert.rejects(r2.put({ type: 'data', name }, data), (e) => {
          assert.ok(isCofferError(e, 'permission'), String(e));
          assert.match(e.message, new RegExp(`: POST data/${name}: HTTP 403 Forbidden \\(upload refused`));
          assert.doesNotMatch(e.message, /GET/);
          return true;
        });
      } finally {
        await s2.close();
      }
    });
  });
});
