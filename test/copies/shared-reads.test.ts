/**
 * Syncing several copies at once reads the primary once: the copies share its reads through
 * SharedReadBackend (in memory, no servers). A copy whose storage fails does not stop the others.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Handle } from '../../src/core/backend/backend.js';
import { MemBackend } from '../../src/core/backend/mem.js';
import { CofferError } from '../../src/core/errors.js';
import { writeRecord } from '../../src/core/engine/records/records.js';
import { SharedReadBackend } from '../../src/core/engine/sync/shared-reads.js';
import { syncCopy } from '../../src/core/engine/sync/sync.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository } from '../../src/core/repository/open.js';
import { Repository } from '../../src/core/repository/repository.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { CHEAP_KDF, LOCK_OWNER, OWNER, PASSWORD, newMemRepo, platform, randomBytes } from '../helpers/mem-repo.js';

const POLICY = { excludeTags: [], onlyTags: [] };

class FullBackend extends MemBackend {
  override async put(h: Handle, data: Uint8Array): Promise<void> {
    if (h.type === 'data') throw new CofferError('no-space', 'storage is full');
    return super.put(h, data);
  }
}

test('three copies synced together read each blob of the primary once', async () => {
  const { repo: primary } = await newMemRepo();
  const owner = LOCK_OWNER;
  await writeRecord(primary, 'alpha', [{ name: 'a.bin', data: randomBytes(1, 3 * 1024 * 1024) }], { owner });
  await writeRecord(primary, 'beta', [{ name: 'b.bin', data: randomBytes(2, 2 * 1024 * 1024) }], { owner });
  const index = await loadMasterIndex(primary);
  const snaps = await loadSnapshots(primary);
  const p = await platform();
  const newCopy = async (backend = new MemBackend()) => initRepository(backend, p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, chunkerPolynomial: primary.config.chunkerPolynomial });
  const view = (b: SharedReadBackend) => new Repository(b, primary.platform, primary.key, primary.keyId, primary.config);

  const one = new SharedReadBackend(primary.backend);
  const r1 = await syncCopy({ repo: view(one), index }, snaps, await newCopy(), { policy: POLICY, owner });
  assert.equal(r1.copied.length, 2);
  assert.equal(one.stats.shared, 0);

  const three = new SharedReadBackend(primary.backend);
  const copies = [await newCopy(), await newCopy(), await newCopy(new FullBackend())];
  const results = await Promise.allSettled(copies.map((c) => syncCopy({ repo: view(three), index }, snaps, c, { policy: POLICY, owner })));
  assert.equal(three.stats.fetchedBytes, one.stats.fetchedBytes, 'the primary read no more for three copies than for one');
  assert.ok(three.stats.shared > 0);
  for (const r of results.slice(0, 2)) {
    assert.equal(r.status, 'fulfilled');
    assert.equal(r.status === 'fulfilled' && r.value.missingAfter, 0);
    assert.deepEqual(r.status === 'fulfilled' && r.value.structure?.errors, []);
  }
  assert.equal(results[2]!.status, 'rejected', 'the full copy failed');
  assert.match(String((results[2] as PromiseRejectedResult).reason), /full/);
  // The good copies hold both records, as complete snapshots.
  for (const c of copies.slice(0, 2)) assert.equal((await loadSnapshots(c)).length, 2);
});
