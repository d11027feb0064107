/**
 * check --read-data's verify workers (node/pack-verify-workers.ts) against the in-thread
 * `verifyPack`: on a local repository the workers read each pack themselves (`verifyStored`,
 * reused pack and plaintext buffers, one-shot SHA-256); on any other backend the main thread
 * reads and transfers (`verify`). Both must find exactly what the in-thread check finds, for
 * sound packs (compressed and stored blobs, several per pack, reused buffers across packs of
 * different sizes) and damaged ones; a pack the worker cannot read fails as the backend would.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MemBackend } from '../../src/core/backend/mem.js';
import { checkRepository } from '../../src/core/engine/check/check.js';
import { verifyPack } from '../../src/core/engine/check/pack-file.js';
import { CofferError, isCofferError } from '../../src/core/errors.js';
import type { Id, PackedBlob } from '../../src/core/format/types.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import { Repository } from '../../src/core/repository/repository.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { PackVerifyPool } from '../../src/node/pack-verify-workers.js';
import { nodePlatform } from '../../src/node/platform.js';
import { randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';

const PW = 'pw';
const KDF = { N: 1024, r: 8, p: 1 };

function compressible(seed: number, n: number): Uint8Array {
  const line = new TextEncoder().encode(`line ${seed} of a text that compresses well\n`);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = line[i % line.length]!;
  return out;
}

describe('pack verify workers', () => {
  const dir = tempDir('coffer-verify-workers-');
  const root = path.join(dir, 'repo');
  let repo: Repository;
  let index: MasterIndex;
  let wrongId: Id;
  let wrongPack: Id;
  let pool: PackVerifyPool;

  before(async () => {
    repo = await initRepository(new LocalBackend(root), await nodePlatform(), { password: PW, kdf: KDF, username: 'u', hostname: 'h', packSize: 256 * 1024 });
    index = new MasterIndex();
    // Small packs of different sizes: the workers' buffers are reused and grown across them.
    const saver = new BlobSaver(repo, index);
    for (let i = 0; i < 12; i++) {
      await saver.save('data', i % 2 === 0 ? randomBytes(i, 150_000 + i * 40_000) : compressible(i, 100_000 + i * 50_000));
    }
    // A blob stored under an ID that is not its plaintext's hash.
    wrongId = (await saver.save('data', compressible(99, 70_000), 'ab'.repeat(32))).id;
    await saver.flush();
    wrongPack = index.lookup('data', wrongId)!.packId;
    pool = new PackVerifyPool(repo, 2);
  });
  after(async () => {
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const packs = () => [...index.packIds()].sort();
  const indexed = (p: Id) => index.packBlobs(p)!;
  const inThread = async (p: Id, entries: readonly PackedBlob[] = indexed(p)) =>
    verifyPack(repo, p, await repo.backend.get({ type: 'data', name: p }), entries);

  it('a local repository is read by the workers, a non-local one is not', async () => {
    assert.ok(pool.verifyStored, 'the local backend gets the worker-read path');
    const mem = new MemBackend();
    const memRepo = await initRepository(mem, await nodePlatform(), { password: PW, kdf: KDF, username: 'u', hostname: 'h' });
    const memPool = new PackVerifyPool(memRepo, 1);
    try {
      assert.equal(memPool.verifyStored, undefined, 'a non-local backend keeps the main-thread read');
    } finally {
      await memPool.close();
    }
  });

  it('sound packs: both paths find nothing, the wrong ID is found exactly as in-thread', async () => {
    assert.ok(packs().length >= 3, `several packs (${packs().length})`);
    for (const p of packs()) {
      const want = await inThread(p);
      const stored = await pool.verifyStored!(p, indexed(p));
      const transferred = await pool.verify(p, await repo.backend.get({ type: 'data', name: p }), indexed(p));
      assert.deepEqual(stored, want, p);
      assert.deepEqual(transferred, want, p);
      if (p === wrongPack) {
        assert.deepEqual(want, [`data blob ${wrongId} in pack ${p}: plaintext does not match the blob ID (SHA-256 mismatch)`]);
      } else assert.deepEqual(want, [], p);
    }
  });

  it('an index that disagrees with the header: same findings on every path', async () => {
    const p = packs().find((x) => x !== wrongPack && indexed(x).length >= 2)!;
    const entries = indexed(p).map((b, i) => (i === 1 ? { ...b, id: 'cd'.repeat(32) } : b));
    const want = await inThread(p, entries);
    assert.equal(want.filter((m) => m.includes('but the pack header does not')).length, 1, want.join('\n'));
    assert.equal(want.filter((m) => m.includes('but the index does not')).length, 1, want.join('\n'));
    assert.ok(want.some((m) => m.includes(`data blob ${'cd'.repeat(32)} in pack ${p}: plaintext does not match`)), want.join('\n'));
    assert.deepEqual(await pool.verifyStored!(p, entries), want);
    // An ID that is not 64 characters cannot go flat: the entries cross as objects, same findings.
    const odd = indexed(p).map((b, i) => (i === 0 ? { ...b, id: 'xyz' } : b));
    const oddWant = await inThread(p, odd);
    assert.ok(oddWant.some((m) => m.includes('data blob xyz in pack')), oddWant.join('\n'));
    assert.deepEqual(await pool.verifyStored!(p, odd), oddWant);
  });

  it('damaged bytes: the same findings from the worker read as from the in-thread check', async () => {
    const p = packs().find((x) => x !== wrongPack)!;
    const file = (repo.backend as LocalBackend).pathOf({ type: 'data', name: p });
    const original = fs.readFileSync(file);
    try {
      for (const at of [40, original.length - 20]) {
        const damaged = Buffer.from(original);
        damaged[at] = damaged[at]! ^ 0x55;
        fs.chmodSync(file, 0o600);
        fs.writeFileSync(file, damaged);
        const want = await inThread(p);
        assert.ok(want.some((m) => m.startsWith(`pack ${p}: content does not match its name`)), want.join('\n'));
        assert.ok(want.length >= 2, want.join('\n'));
        assert.deepEqual(await pool.verifyStored!(p, indexed(p)), want, `byte ${at}`);
      }
    } finally {
      fs.writeFileSync(file, original);
    }
    assert.deepEqual(await pool.verifyStored!(p, indexed(p)), []);
  });

  it("a failed worker read falls back to the backend's read (its retries, its errors)", async () => {
    // A backend at an absolute location where no pack is (the worker's read fails) that serves
    // the packs from elsewhere (as a wrapper with retries would after a transient error).
    const decoy = tempDir('coffer-verify-decoy-');
    const real = repo.backend;
    let gets = 0;
    const odd = { location: decoy, connections: 2, get: (h: Parameters<typeof real.get>[0]) => (gets++, real.get(h)) } as unknown as typeof real;
    const oddPool = new PackVerifyPool(new Repository(odd, repo.platform, repo.key, repo.keyId, repo.config), 1);
    try {
      assert.ok(oddPool.verifyStored);
      for (const p of packs()) assert.deepEqual(await oddPool.verifyStored(p, indexed(p)), await inThread(p), p);
      assert.equal(gets, packs().length, 'every pack came through the backend');
    } finally {
      await oddPool.close();
      fs.rmSync(decoy, { recursive: true, force: true });
    }
  });

  it('a pack that vanished: the backend error, and check reports it as unreadable', async () => {
    const p = packs().find((x) => x !== wrongPack)!;
    const file = (repo.backend as LocalBackend).pathOf({ type: 'data', name: p });
    const saved = fs.readFileSync(file);
    // check lists the pack, then it goes before the worker reads it (a concurrent prune).
    const reopened = await openRepository(new LocalBackend(root), await nodePlatform(), { password: PW });
    const r = await checkRepository(reopened, {
      readData: true,
      verifyStoredPack: async (id, entries) => {
        if (id === p) fs.rmSync(file);
        return pool.verifyStored!(id, entries);
      },
    });
    fs.writeFileSync(file, saved);
    const backendError = await repo.backend.get({ type: 'data', name: 'ef'.repeat(32) }).catch((e: unknown) => e);
    assert.ok(isCofferError(backendError, 'not-found'));
    const missing = await pool.verifyStored!('ef'.repeat(32), []).catch((e: unknown) => e);
    assert.ok(missing instanceof CofferError && missing.code === 'not-found', String(missing));
    assert.equal(missing.message, backendError.message.replace('ef'.repeat(32), 'ef'.repeat(32)));
    assert.ok(r.errors.includes(`pack ${p}: cannot be read: ${file} does not exist`), r.errors.join('\n'));
    assert.ok(r.brokenPacks.includes(p));
    assert.ok(r.errors.some((m) => m.startsWith(`data blob ${wrongId} in pack ${wrongPack}`)), r.errors.join('\n'));
    assert.equal(r.packsRead, packs().length);
  });
});
