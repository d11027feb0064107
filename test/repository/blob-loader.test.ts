import { test } from 'node:test';
import assert from 'node:assert/strict';
import { utf8Encode } from '../../src/core/bytes.js';
import { CofferError } from '../../src/core/errors.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex, MasterIndex, plaintextSize } from '../../src/core/repository/master-index.js';
import { PackCache } from '../../src/core/repository/pack-cache.js';
import { newMemRepo, randomBytes, type MemRepo } from '../helpers/mem-repo.js';

function corruptErr(...mustName: string[]) {
  return (e: unknown) => {
    assert.ok(e instanceof CofferError, String(e));
    assert.equal(e.code, 'corrupt', e.message);
    for (const s of mustName) assert.ok(e.message.includes(s), `message "${e.message}" names ${s}`);
    return true;
  };
}

async function store(m: MemRepo, blobs: Uint8Array[], index = new MasterIndex()): Promise<string[]> {
  const saver = new BlobSaver(m.repo, index);
  const ids: string[] = [];
  for (const b of blobs) ids.push((await saver.save('data', b)).id);
  await saver.flush();
  return ids;
}

async function flipByte(m: MemRepo, packId: string, offset: number): Promise<void> {
  const h = { type: 'data' as const, name: packId };
  const bytes = new Uint8Array(await m.backend.get(h));
  bytes[offset] ^= 0x01;
  m.backend.corrupt(h, bytes);
}

test('loadBlob: round trip, compressed and not; plaintextSize', async () => {
  const m = await newMemRepo();
  const blobs = [utf8Encode('a'.repeat(5000)), randomBytes(3, 3000), new Uint8Array()];
  const ids = await store(m, blobs);
  const idx = await loadMasterIndex(m.repo);
  for (const [i, id] of ids.entries()) {
    assert.deepEqual(await loadBlob(m.repo, idx, 'data', id), blobs[i]);
    assert.equal(plaintextSize(idx.lookup('data', id)!), blobs[i]!.length);
  }
  assert.ok(idx.lookup('data', ids[0]!)!.uncompressedLength > 0, 'compressible blob was compressed');
});

test('loadBlob: a blob that is not in the index is corrupt (repository incomplete)', async () => {
  const m = await newMemRepo();
  await assert.rejects(loadBlob(m.repo, new MasterIndex(), 'data', 'ab'.repeat(32)), corruptErr('ab'.repeat(32)));
  // A tree lookup does not find a data blob.
  const [id] = await store(m, [utf8Encode('x')]);
  await assert.rejects(loadBlob(m.repo, await loadMasterIndex(m.repo), 'tree', id!), corruptErr(id!));
});

test('loadBlob: a flipped byte in the pack → corrupt naming blob and pack; other blobs unaffected', async () => {
  const m = await newMemRepo({ compression: 'off' });
  const blobs = [randomBytes(1, 2000), randomBytes(2, 2000), randomBytes(3, 2000)];
  const ids = await store(m, blobs);
  const idx = await loadMasterIndex(m.repo);
  const loc = idx.lookup('data', ids[1]!)!;
  await flipByte(m, loc.packId, loc.offset + 100);
  await assert.rejects(loadBlob(m.repo, idx, 'data', ids[1]!), corruptErr(ids[1]!, loc.packId));
  // Through a pack cache too.
  const cache = new PackCache(m.repo, idx);
  await assert.rejects(loadBlob(m.repo, idx, 'data', ids[1]!, { cache }), corruptErr(ids[1]!, loc.packId));
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', ids[0]!), blobs[0]);
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', ids[2]!, { cache }), blobs[2]);
});

test('loadBlob: a damaged MAC or IV is caught as well as damaged ciphertext', async () => {
  const m = await newMemRepo({ compression: 'off' });
  for (const where of ['iv', 'mac'] as const) {
    const data = randomBytes(where === 'iv' ? 11 : 12, 500);
    const [id] = await store(m, [data]);
    const idx = await loadMasterIndex(m.repo);
    const loc = idx.lookup('data', id!)!;
    await flipByte(m, loc.packId, where === 'iv' ? loc.offset : loc.offset + loc.length - 1);
    await assert.rejects(loadBlob(m.repo, idx, 'data', id!), corruptErr(id!, loc.packId));
  }
});

test('loadBlob: a truncated or missing pack → corrupt naming blob and pack', async () => {
  const m = await newMemRepo({ compression: 'off' });
  const [a] = await store(m, [randomBytes(5, 4000)]);
  const idx = await loadMasterIndex(m.repo);
  const loc = idx.lookup('data', a!)!;
  const h = { type: 'data' as const, name: loc.packId };
  const bytes = await m.backend.get(h);
  m.backend.corrupt(h, bytes.subarray(0, 1000));
  await assert.rejects(loadBlob(m.repo, idx, 'data', a!), corruptErr(a!, loc.packId));
  await assert.rejects(loadBlob(m.repo, idx, 'data', a!, { cache: new PackCache(m.repo, idx) }), corruptErr(a!, loc.packId));
  await m.backend.delete(h);
  await assert.rejects(loadBlob(m.repo, idx, 'data', a!), corruptErr(a!, loc.packId));
});

test('loadBlob: a blob stored in two packs falls back to the good copy', async () => {
  const m = await newMemRepo({ compression: 'off' });
  const data = randomBytes(77, 3000);
  // Two runs that do not know each other (empty indexes) store the blob twice.
  const [id] = await store(m, [data, randomBytes(78, 100)]);
  await store(m, [data, randomBytes(79, 100)]);
  const idx = await loadMasterIndex(m.repo);
  const locs = idx.lookupAll('data', id!);
  assert.equal(locs.length, 2);
  assert.notEqual(locs[0]!.packId, locs[1]!.packId);
  // Damage the first copy: the second is used.
  await flipByte(m, locs[0]!.packId, locs[0]!.offset + 40);
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', id!), data);
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', id!, { cache: new PackCache(m.repo, idx) }), data);
  // Remove the second copy's pack: now nothing works, and the error names the blob.
  await m.backend.delete({ type: 'data', name: locs[1]!.packId });
  await assert.rejects(loadBlob(m.repo, idx, 'data', id!), corruptErr(id!));
});

test('loadBlob: the first copy missing falls back to the second', async () => {
  const m = await newMemRepo({ compression: 'off' });
  const data = randomBytes(80, 3000);
  const [id] = await store(m, [data]);
  await store(m, [data]);
  const idx = await loadMasterIndex(m.repo);
  const locs = idx.lookupAll('data', id!);
  assert.equal(locs.length, 2);
  await m.backend.delete({ type: 'data', name: locs[0]!.packId });
  assert.deepEqual(await loadBlob(m.repo, idx, 'data', id!), data);
});

test('loadBlob: a blob whose content was swapped for another valid blob fails the hash check', async () => {
  const m = await newMemRepo({ compression: 'off' });
  const a = randomBytes(90, 1000);
  const b = randomBytes(91, 1000);
  const [ia, ib] = await store(m, [a, b]);
  const idx = await loadMasterIndex(m.repo);
  const la = idx.lookup('data', ia!)!;
  const lb = idx.lookup('data', ib!)!;
  assert.equal(la.packId, lb.packId);
  // Copy blob b's sealed bytes over blob a's slot: MAC is valid, hash is not.
  const h = { type: 'data' as const, name: la.packId };
  const bytes = new Uint8Array(await m.backend.get(h));
  bytes.set(bytes.slice(lb.offset, lb.offset + lb.length), la.offset);
  m.backend.corrupt(h, bytes);
  await assert.rejects(loadBlob(m.repo, idx, 'data', ia!), corruptErr(ia!, la.packId));
});

test('MasterIndex: a pack listed twice is merged once; lookups per type', () => {
  const idx = new MasterIndex();
  const blob = { type: 'data' as const, id: 'cd'.repeat(32), offset: 0, length: 40, uncompressedLength: 0 };
  idx.addIndexFile('01'.repeat(32), { packs: [{ id: 'aa'.repeat(32), blobs: [blob] }] });
  idx.addIndexFile('02'.repeat(32), { packs: [{ id: 'aa'.repeat(32), blobs: [blob] }] });
  assert.equal(idx.lookupAll('data', blob.id).length, 1);
  idx.addPack('bb'.repeat(32), [blob]);
  assert.equal(idx.lookupAll('data', blob.id).length, 2);
  assert.equal(idx.has('tree', blob.id), false);
  assert.equal(idx.blobCount, 1);
  assert.equal(idx.indexFiles.size, 2);
  assert.deepEqual([...idx.packIds()].sort(), ['aa'.repeat(32), 'bb'.repeat(32)]);
  assert.equal(plaintextSize({ packId: '', offset: 0, length: 40, uncompressedLength: 0 }), 8);
  assert.equal(plaintextSize({ packId: '', offset: 0, length: 40, uncompressedLength: 100 }), 100);
});

test('loadMasterIndex: a damaged index file is corrupt', async () => {
  const m = await newMemRepo();
  await store(m, [utf8Encode('x')]);
  const [id] = await m.repo.listIds('index');
  const h = { type: 'index' as const, name: id! };
  const bytes = new Uint8Array(await m.backend.get(h));
  bytes[bytes.length - 1] ^= 1;
  m.backend.corrupt(h, bytes);
  await assert.rejects(loadMasterIndex(m.repo), corruptErr(id!));
});
