/**
 * The MasterIndex's compact storage (typed arrays, a hash table of IDs as words) against a plain
 * model: a Map of location lists per (type, ID) and a Map of blob lists per pack, as the class
 * kept them before. Random packs (duplicate blobs across and within packs, the same ID as data
 * and tree, packs listed twice, IDs that differ only in a few words, values past 2^32), every
 * query compared after each step.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { BlobType, Id, IndexFile, PackedBlob } from '../../src/core/format/types.js';
import { MasterIndex, type BlobLocation } from '../../src/core/repository/master-index.js';
import { flatId, idToWords, wordsToId } from '../../src/core/format/id-text.js';

class Model {
  readonly blobs = new Map<string, BlobLocation[]>();
  readonly packs = new Map<Id, PackedBlob[]>();
  addPack(packId: Id, blobs: readonly PackedBlob[]): void {
    if (this.packs.has(packId)) return;
    // Plain objects (fast-check's records have a null prototype, which deepEqual would see).
    this.packs.set(packId, blobs.map((b) => ({ type: b.type, id: b.id, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength })));
    for (const b of blobs) {
      const k = b.type + b.id;
      const l = this.blobs.get(k) ?? [];
      l.push({ packId, offset: b.offset, length: b.length, uncompressedLength: b.uncompressedLength });
      this.blobs.set(k, l);
    }
  }
}

const hex64 = (n: number): Id => n.toString(16).padStart(64, '0');
// Structured IDs (mostly zero words, as tests use) and random ones; a small pool forces duplicates.
const idArb = fc.oneof(
  fc.integer({ min: 0, max: 40 }).map(hex64),
  fc.integer({ min: 0, max: 40 }).map((n) => hex64(n).split('').reverse().join('')),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join('')),
);
const sizeArb = fc.oneof(fc.integer({ min: 0, max: 1 << 20 }), fc.constantFrom(0xffffffff, 2 ** 32, 2 ** 40 + 3));
const blobArb = fc.record({
  type: fc.constantFrom<BlobType>('data', 'data', 'tree'),
  id: idArb,
  offset: sizeArb,
  length: sizeArb,
  uncompressedLength: fc.oneof(fc.constant(0), sizeArb),
});
const packArb = fc.record({ id: fc.integer({ min: 0, max: 30 }).map((n) => hex64(1000 + n)), blobs: fc.array(blobArb, { maxLength: 60 }) });
const stepArb = fc.oneof(
  packArb.map((p) => ({ kind: 'pack' as const, p })),
  fc.array(packArb, { maxLength: 4 }).map((packs) => ({ kind: 'file' as const, file: { packs } as IndexFile })),
);

function compare(index: MasterIndex, model: Model, probes: readonly Id[]): void {
  assert.deepEqual([...index.packIds()], [...model.packs.keys()]);
  for (const [id, blobs] of model.packs) assert.deepEqual(index.packBlobs(id), blobs, `packBlobs ${id}`);
  assert.equal(index.packBlobs(hex64(999)), undefined);
  assert.equal(index.blobCount, model.blobs.size);
  // Every distinct data blob once, as its 32 bytes.
  const digests: string[] = [];
  index.forEachDataDigest((d) => digests.push(Buffer.from(d).toString('hex')));
  const dataIds = [...model.blobs.keys()].filter((k) => k.startsWith('data')).map((k) => k.slice(4));
  assert.deepEqual(digests.sort(), dataIds.sort());
  assert.equal(index.dataBlobCount, dataIds.length);
  for (const id of probes) {
    for (const type of ['data', 'tree'] as const) {
      const want = model.blobs.get(type + id) ?? [];
      assert.equal(index.has(type, id), want.length > 0);
      assert.deepEqual(index.lookup(type, id), want[0]);
      assert.deepEqual(index.lookupAll(type, id), want);
    }
  }
}

test('MasterIndex agrees with a Map model on random packs and index files', () => {
  fc.assert(
    fc.property(fc.array(stepArb, { minLength: 1, maxLength: 25 }), (steps) => {
      const index = new MasterIndex();
      const model = new Model();
      const probes = new Set<Id>([hex64(0), hex64(1), 'f'.repeat(64)]);
      for (const [n, s] of steps.entries()) {
        const packs = s.kind === 'pack' ? [s.p] : s.file.packs;
        if (s.kind === 'pack') index.addPack(s.p.id, s.p.blobs);
        else index.addIndexFile(hex64(5000 + n), s.file);
        for (const p of packs) {
          model.addPack(p.id, p.blobs);
          for (const b of p.blobs) probes.add(b.id);
        }
        compare(index, model, [...probes]);
      }
    }),
    { numRuns: 60 },
  );
});

test('MasterIndex: many blobs (table and arrays grow) and duplicates stay in insertion order', () => {
  const index = new MasterIndex();
  const model = new Model();
  const ids = Array.from({ length: 5000 }, (_, i) => hex64(i * 7919));
  for (let p = 0; p < 60; p++) {
    const blobs: PackedBlob[] = [];
    for (let k = 0; k < 120; k++) {
      const id = ids[(p * 97 + k * 13) % ids.length]!;
      blobs.push({ type: k % 5 === 0 ? 'tree' : 'data', id, offset: k * 1000, length: 1000 + p, uncompressedLength: k % 3 ? 0 : 4000 });
    }
    index.addPack(hex64(10 ** 6 + p), blobs);
    model.addPack(hex64(10 ** 6 + p), blobs);
  }
  compare(index, model, ids);
  assert.ok(index.blobCount > 1024, 'enough distinct blobs to grow past the first capacity');
});

test('MasterIndex: strings that are not lowercase hex IDs are never found, and are refused as blob IDs', () => {
  const index = new MasterIndex();
  const id = 'ab'.repeat(32);
  index.addPack(hex64(1), [{ type: 'data', id, offset: 0, length: 10, uncompressedLength: 0 }]);
  assert.equal(index.has('data', id), true);
  for (const q of [id.toUpperCase(), id.slice(0, 63), id + '0', 'ab'.repeat(31) + 'ag', 'ab'.repeat(31) + 'a\u0101', '']) {
    assert.equal(index.has('data', q), false, JSON.stringify(q));
    assert.equal(index.lookup('data', q), undefined);
    assert.deepEqual(index.lookupAll('data', q), []);
  }
  assert.throws(() => index.addPack(hex64(2), [
    { type: 'data', id: hex64(3), offset: 0, length: 10, uncompressedLength: 0 },
    { type: 'data', id: 'XY'.repeat(32), offset: 0, length: 10, uncompressedLength: 0 },
  ]), /not 64 lowercase hex/);
  // The refused pack left nothing behind.
  assert.deepEqual([...index.packIds()], [hex64(1)]);
  assert.equal(index.has('data', hex64(3)), false);
  assert.equal(index.blobCount, 1);
});

test('id-text: words round trip and flat copies', () => {
  fc.assert(
    fc.property(idArb, fc.string(), (id, pad) => {
      const w = new Uint32Array(10);
      assert.equal(idToWords(id, w, 1), true);
      assert.equal(wordsToId(w, 1), id);
      assert.equal(flatId(pad + id + pad, pad.length), id);
    }),
  );
});
