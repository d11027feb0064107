import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemBackend } from '../../src/core/backend/mem.js';
import type { CallOpts, Handle } from '../../src/core/backend/backend.js';
import { toHex, utf8Encode } from '../../src/core/bytes.js';
import { CofferError, isCofferError } from '../../src/core/errors.js';
import { decodeIndex } from '../../src/core/format/index-file.js';
import { decodeUnpacked } from '../../src/core/format/unpacked.js';
import { decodePackHeader, expectedPackSize, parsePackTrailer } from '../../src/core/format/pack-header.js';
import type { PackedBlob } from '../../src/core/format/types.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex, MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { CHEAP_KDF, OWNER, PASSWORD, newMemRepo, platform, randomBytes, reopen } from '../helpers/mem-repo.js';

const KiB = 1024;

async function listNames(b: MemBackend, type: 'data' | 'index' | 'snapshots' | 'locks'): Promise<string[]> {
  const out: string[] = [];
  for await (const f of b.list(type)) out.push(f.name);
  return out.sort();
}

/** Reads a pack's header straight from its bytes (trailer → sealed header → entries). */
async function packHeader(repo: Repository, b: MemBackend, packId: string): Promise<{ blobs: PackedBlob[]; size: number; bytes: Uint8Array }> {
  const bytes = await b.get({ type: 'data', name: packId });
  const tr = parsePackTrailer(bytes, bytes.length, `data/${packId}`);
  assert.ok(tr.sealedHeader, 'whole pack given, so the header is inside');
  const blobs = decodePackHeader(repo.open(tr.sealedHeader, 'pack header'), `data/${packId}`);
  return { blobs, size: bytes.length, bytes };
}

/** Every index file's packs: packId -> [index file IDs listing it, blobs]. */
async function readIndexes(repo: Repository, b: MemBackend): Promise<Map<string, { files: string[]; blobs: readonly PackedBlob[] }>> {
  const out = new Map<string, { files: string[]; blobs: readonly PackedBlob[] }>();
  for (const id of await listNames(b, 'index')) {
    const idx = decodeIndex(await repo.loadUnpacked('index', id), `index/${id}`);
    for (const p of idx.packs) {
      const prev = out.get(p.id);
      if (prev) prev.files.push(id);
      else out.set(p.id, { files: [id], blobs: p.blobs });
    }
  }
  return out;
}

/** Checks the repository-wide invariants: packs ↔ index one to one, headers equal index entries. */
async function checkPacksAndIndex(repo: Repository, b: MemBackend): Promise<Map<string, readonly PackedBlob[]>> {
  const packs = await listNames(b, 'data');
  const idx = await readIndexes(repo, b);
  assert.deepEqual([...idx.keys()].sort(), packs, 'every pack is indexed and every indexed pack exists');
  const out = new Map<string, readonly PackedBlob[]>();
  for (const id of packs) {
    const entry = idx.get(id)!;
    assert.equal(entry.files.length, 1, `pack ${id} is in exactly one index file`);
    const { blobs, size, bytes } = await packHeader(repo, b, id);
    assert.equal(repo.sha256Hex(bytes), id, 'pack named by its hash');
    const norm = (x: readonly PackedBlob[]) => x.map((e) => ({ type: e.type, id: e.id, offset: e.offset, length: e.length, uncompressedLength: e.uncompressedLength || 0 }));
    const sortedIndex = norm(entry.blobs).sort((a, c) => a.offset - c.offset);
    assert.deepEqual(norm(blobs), sortedIndex, `pack ${id}: header matches the index`);
    assert.equal(size, expectedPackSize(blobs), 'pack size = blobs + header + trailer');
    assert.equal(new Set(blobs.map((x) => x.type)).size, 1, 'one blob type per pack');
    out.set(id, blobs);
  }
  return out;
}

test('dedup within a run and against the index', async () => {
  const m = await newMemRepo();
  const index = new MasterIndex();
  const saver = new BlobSaver(m.repo, index);
  const a = utf8Encode('alpha '.repeat(100));
  const r1 = await saver.save('data', a);
  const r2 = await saver.save('data', a);
  assert.equal(r1.added, true);
  assert.ok(r1.storedSize > 0);
  assert.equal(r1.id, toHex((await platform()).crypto.sha256(a)));
  assert.deepEqual({ ...r2 }, { id: r1.id, added: false, storedSize: 0 });
  // Same bytes as a tree blob are a different blob.
  const t = await saver.save('tree', a);
  assert.equal(t.added, true);
  assert.equal(saver.stats.dataBlobs, 1);
  assert.equal(saver.stats.treeBlobs, 1);
  await saver.flush();
  const packs = await checkPacksAndIndex(m.repo, m.backend);
  assert.equal(packs.size, 2, 'one data pack and one tree pack');
  assert.equal(saver.stats.packs, 2);
  assert.equal(saver.indexFilesWritten.length, 1);

  // A second run against the loaded index stores nothing.
  const repo2 = await reopen(m);
  const index2 = await loadMasterIndex(repo2);
  assert.equal(index2.blobCount, 2);
  const saver2 = new BlobSaver(repo2, index2);
  assert.equal((await saver2.save('data', a)).added, false);
  assert.equal((await saver2.save('tree', a)).added, false);
  const b = await saver2.save('data', utf8Encode('new'));
  assert.equal(b.added, true);
  await saver2.flush();
  assert.equal((await listNames(m.backend, 'data')).length, 3);
  await checkPacksAndIndex(repo2, m.backend);
  assert.deepEqual(await loadBlob(repo2, await loadMasterIndex(repo2), 'data', b.id), utf8Encode('new'));
});

test('saveSealed deduplicates too and is stored as given', async () => {
  const m = await newMemRepo({ version: 2 });
  const saver = new BlobSaver(m.repo, new MasterIndex());
  const plain = utf8Encode('sealed elsewhere');
  const id = m.repo.sha256Hex(plain);
  const sealed = m.repo.seal(plain);
  assert.equal((await saver.saveSealed('data', id, sealed, 0, plain.length)).added, true);
  assert.equal((await saver.saveSealed('data', id, sealed, 0, plain.length)).added, false);
  assert.equal((await saver.save('data', plain)).added, false, 'known through saveSealed');
  await saver.flush();
  const idx = await loadMasterIndex(m.repo);
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', id), plain);
});

test('empty blob is stored uncompressed (uncompressed_length 0) and reads back', async () => {
  const m = await newMemRepo({ version: 2, compression: 'max' });
  const saver = new BlobSaver(m.repo, new MasterIndex());
  const r = await saver.save('data', new Uint8Array());
  const rt = await saver.save('tree', new Uint8Array());
  await saver.flush();
  const packs = await checkPacksAndIndex(m.repo, m.backend);
  const all = [...packs.values()].flat();
  for (const x of [r, rt]) {
    const e = all.find((b) => b.id === x.id)!;
    assert.equal(e.uncompressedLength, 0);
    assert.equal(e.length, 32);
  }
  const idx = await loadMasterIndex(m.repo);
  assert.equal((await loadBlob(m.repo, idx, 'data', r.id)).length, 0);
  assert.equal((await loadBlob(m.repo, idx, 'tree', rt.id)).length, 0);
});

test('v1 never compresses; v2 compresses data (auto) and always trees', async () => {
  const compressible = new Uint8Array(20 * KiB).fill(0x61);
  for (const [version, compression] of [[1, 'auto'], [2, 'auto'], [2, 'off']] as const) {
    const m = await newMemRepo({ version, compression });
    const saver = new BlobSaver(m.repo, new MasterIndex());
    const d = await saver.save('data', compressible);
    const t = await saver.save('tree', compressible.slice(1));
    await saver.flush();
    const all = [...(await checkPacksAndIndex(m.repo, m.backend)).values()].flat();
    const de = all.find((b) => b.id === d.id)!;
    const te = all.find((b) => b.id === t.id)!;
    const label = `v${version} compression=${compression}`;
    if (version === 1) {
      assert.equal(de.uncompressedLength, 0, label);
      assert.equal(de.length, compressible.length + 32, label);
      assert.equal(te.uncompressedLength, 0, label);
    } else {
      if (compression === 'off') {
        assert.equal(de.uncompressedLength, 0, label);
        assert.equal(de.length, compressible.length + 32, label);
      } else {
        assert.equal(de.uncompressedLength, compressible.length, label);
        assert.ok(de.length < 1000, label);
      }
      assert.equal(te.uncompressedLength, compressible.length - 1, `${label}: trees are compressed in v2`);
    }
    const idx = await loadMasterIndex(m.repo);
    assert.deepEqual(await loadBlob(m.repo, idx, 'data', d.id), compressible, label);
    assert.deepEqual(await loadBlob(m.repo, idx, 'tree', t.id), compressible.slice(1), label);
  }
});

test('packs are split at packSize; data and tree blobs never share a pack', async () => {
  const packSize = 64 * KiB;
  const m = await newMemRepo({ version: 2, compression: 'off', packSize });
  const saver = new BlobSaver(m.repo, new MasterIndex(), { indexEveryPacks: 3 });
  const ids: string[] = [];
  const blobSize = 10 * KiB;
  const n = 60;
  for (let i = 0; i < n; i++) ids.push((await saver.save('data', randomBytes(i + 1, blobSize))).id);
  const treeIds: string[] = [];
  for (let i = 0; i < 5; i++) treeIds.push((await saver.save('tree', utf8Encode(`{"nodes":[${i}]}`))).id);
  await saver.flush();
  const packs = await checkPacksAndIndex(m.repo, m.backend);
  assert.ok(saver.indexFilesWritten.length > 1, 'index files written along the way');
  const dataPacks = [...packs.values()].filter((p) => p[0]!.type === 'data');
  const treePacks = [...packs.values()].filter((p) => p[0]!.type === 'tree');
  assert.equal(treePacks.length, 1);
  const sealed = blobSize + 32;
  let small = 0;
  for (const p of dataPacks) {
    const bytes = p.reduce((s, b) => s + b.length, 0);
    assert.ok(bytes < packSize + sealed, `a pack holds at most one blob past packSize (${bytes})`);
    if (bytes < packSize) small++;
  }
  assert.ok(small <= 2, `only the last one or two packs are under packSize (got ${small})`);
  assert.ok(dataPacks.length >= Math.floor((n * sealed) / (packSize + sealed)), `${dataPacks.length} packs`);
  const stored = dataPacks.flat().map((b) => b.id).sort();
  assert.deepEqual(stored, [...ids].sort(), 'every data blob stored exactly once');
  assert.deepEqual(treePacks.flat().map((b) => b.id).sort(), [...treeIds].sort());
  assert.equal(saver.stats.packs, packs.size);
  // Everything reads back through the index.
  const idx = await loadMasterIndex(m.repo);
  for (let i = 0; i < n; i += 7) assert.deepEqual(await loadBlob(m.repo, idx, 'data', ids[i]!), randomBytes(i + 1, blobSize));
});

/** Records the order of puts and checks, at each index put, that the packs it names exist. */
class OrderCheckingBackend extends MemBackend {
  puts: string[] = [];
  violations: string[] = [];
  repo?: Repository;
  override async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    this.puts.push(h.type);
    if (h.type === 'index' && this.repo) {
      const plain = this.repo.open(data, 'index');
      const idx = decodeIndex(decodeUnpacked(plain, this.repo.version, this.repo.platform.zstd, 'index'), 'index');
      for (const p of idx.packs) {
        try {
          await this.stat({ type: 'data', name: p.id });
        } catch {
          this.violations.push(p.id);
        }
      }
    }
    if (h.type === 'data') await new Promise((r) => setTimeout(r, 2)); // slow uploads overlap
    return super.put(h, data, o);
  }
}

test('index files are written only after the packs they name exist', async () => {
  const p = await platform();
  const backend = new OrderCheckingBackend();
  const repo = await initRepository(backend, p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, packSize: 16 * KiB, compression: 'off' });
  backend.repo = repo;
  const saver = new BlobSaver(repo, new MasterIndex(), { indexEveryPacks: 1, uploads: 3 });
  for (let i = 0; i < 40; i++) await saver.save('data', randomBytes(1000 + i, 5 * KiB));
  await saver.flush();
  assert.deepEqual(backend.violations, []);
  assert.ok(backend.puts.filter((t) => t === 'index').length >= 2);
  await checkPacksAndIndex(repo, backend);
});

test('flushUploaded indexes the uploaded packs only and writes nothing new', async () => {
  const m = await newMemRepo({ compression: 'off', packSize: 16 * KiB });
  const saver = new BlobSaver(m.repo, new MasterIndex(), { indexEveryPacks: 1000, indexEveryMs: 1e9 });
  const ids: string[] = [];
  for (let i = 0; i < 30; i++) ids.push((await saver.save('data', randomBytes(50 + i, 4 * KiB))).id);
  // A small last blob never completes a pack (3 × 4 KiB + 100 < 16 KiB): something stays open.
  ids.push((await saver.save('data', randomBytes(49, 100))).id);
  await saver.flushUploaded();
  const packs = await listNames(m.backend, 'data');
  assert.ok(packs.length >= 1, 'some packs were full and uploaded');
  assert.equal(saver.indexFilesWritten.length, 1);
  await checkPacksAndIndex(m.repo, m.backend);
  // Blobs still in open packs were not stored; the rest are readable by a new client.
  const repo2 = await reopen(m);
  const idx = await loadMasterIndex(repo2);
  const stored = ids.filter((id) => idx.has('data', id));
  assert.ok(stored.length > 0 && stored.length < ids.length, `${stored.length} of ${ids.length} stored`);
  for (const id of stored) await loadBlob(repo2, idx, 'data', id);
  // Calling it again with nothing pending writes no further index.
  await saver.flushUploaded();
  assert.equal((await listNames(m.backend, 'index')).length, 1);
});

test('dryRun writes nothing but counts', async () => {
  const m = await newMemRepo({ packSize: 16 * KiB, compression: 'off' });
  const index = new MasterIndex();
  const saver = new BlobSaver(m.repo, index, { dryRun: true, indexEveryPacks: 1 });
  for (let i = 0; i < 20; i++) await saver.save('data', randomBytes(i + 7, 4 * KiB));
  await saver.save('tree', utf8Encode('{}'));
  await saver.flush();
  assert.deepEqual(await listNames(m.backend, 'data'), []);
  assert.deepEqual(await listNames(m.backend, 'index'), []);
  assert.equal(saver.stats.dataBlobs, 20);
  assert.ok(saver.stats.packs >= 2);
  assert.equal(saver.indexFilesWritten.length, 0);
});

test('an upload failure surfaces from flush and no index names the missing pack', async () => {
  const p = await platform();
  class Full extends MemBackend {
    override async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
      if (h.type === 'data') throw new CofferError('no-space', 'disk full');
      return super.put(h, data, o);
    }
  }
  const backend = new Full();
  const repo = await initRepository(backend, p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER });
  const saver = new BlobSaver(repo, new MasterIndex());
  await saver.save('data', utf8Encode('x'));
  await assert.rejects(saver.flush(), (e: unknown) => isCofferError(e, 'no-space'));
  assert.deepEqual(await listNames(backend, 'index'), []);
});

test('a cancelled signal stops uploads; flushUploaded still indexes finished ones', async () => {
  const m = await newMemRepo({ packSize: 16 * KiB, compression: 'off' });
  const ac = new AbortController();
  const saver = new BlobSaver(m.repo, new MasterIndex(), { signal: ac.signal, indexEveryPacks: 1000, indexEveryMs: 1e9 });
  for (let i = 0; i < 12; i++) await saver.save('data', randomBytes(300 + i, 4 * KiB));
  await saver.flushUploaded();
  const before = await listNames(m.backend, 'data');
  ac.abort();
  await saver.save('data', randomBytes(999, 40 * KiB)); // completes a pack, whose upload fails
  await assert.rejects(saver.flush(), (e: unknown) => isCofferError(e, 'cancelled'));
  assert.deepEqual(await listNames(m.backend, 'data'), before);
  await checkPacksAndIndex(m.repo, m.backend);
  const repo2 = await openRepository(m.backend, m.platform, { password: PASSWORD });
  assert.ok((await loadMasterIndex(repo2)).blobCount > 0);
});
