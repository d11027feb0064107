/**
 * Sealing straight into a pack (crypto/sealed-box.ts `sealInto`, repository/pack-builder.ts
 * `room`/`commit`): the bytes must be exactly what `seal` + `add` produce, for both suites,
 * nothing outside the box may be touched, and a box that does not fit is refused. And the saver
 * tells a pack's producer whether the backend stored it (only then may its bytes be freed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { toHex } from '../../src/core/bytes.js';
import { newMasterKey } from '../../src/core/crypto/keys.js';
import { open, seal, SEAL_OVERHEAD, sealInto } from '../../src/core/crypto/sealed-box.js';
import type { CryptoSuite } from '../../src/core/crypto/suite.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { decodePackHeader } from '../../src/core/format/pack-header.js';
import { PackBuilder } from '../../src/core/repository/pack-builder.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { CofferError } from '../../src/core/errors.js';
import { newMemRepo } from '../helpers/mem-repo.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';

const SUITES: CryptoSuite[] = [nodeCrypto, webCrypto];

for (const s of SUITES) {
  test(`${s.name}: sealInto writes the same box as seal, at its offset, and nothing else`, () => {
    const key = newMasterKey(s);
    for (const n of [0, 1, 15, 16, 17, 1000, 65536 + 3]) {
      const plain = new Uint8Array(nc.randomBytes(n));
      const iv = new Uint8Array(nc.randomBytes(16));
      const offset = 7 + (n % 5);
      const target = new Uint8Array(offset + n + SEAL_OVERHEAD + 9).fill(0xa5);
      const len = sealInto(s, key, plain, target, offset, iv);
      assert.equal(len, n + SEAL_OVERHEAD);
      assert.equal(toHex(target.subarray(offset, offset + len)), toHex(seal(s, key, plain, iv)), `n=${n}`);
      assert.ok(target.subarray(0, offset).every((b) => b === 0xa5), 'bytes before the box untouched');
      assert.ok(target.subarray(offset + len).every((b) => b === 0xa5), 'bytes after the box untouched');
      assert.deepEqual(open(s, key, target.subarray(offset, offset + len), 'box'), plain);
    }
  });

  test(`${s.name}: sealInto refuses a target without room and bad IVs`, () => {
    const key = newMasterKey(s);
    const plain = new Uint8Array(100);
    assert.throws(() => sealInto(s, key, plain, new Uint8Array(100 + SEAL_OVERHEAD - 1), 0), RangeError);
    assert.throws(() => sealInto(s, key, plain, new Uint8Array(100 + SEAL_OVERHEAD), 1), RangeError);
    assert.throws(() => sealInto(s, key, plain, new Uint8Array(200), 0, new Uint8Array(16)), RangeError);
    assert.throws(() => sealInto(s, key, plain, new Uint8Array(200), 0, new Uint8Array(15).fill(1)), RangeError);
    // Random IVs differ per box.
    const a = new Uint8Array(200), b = new Uint8Array(200);
    sealInto(s, key, plain, a, 0);
    sealInto(s, key, plain, b, 0);
    assert.notEqual(toHex(a.subarray(0, 16)), toHex(b.subarray(0, 16)));
  });
}

test('PackBuilder: room/commit (sealed in place) gives the same pack as add, across growth', () => {
  const s = nodeCrypto;
  const key = newMasterKey(s);
  // A small first capacity, so blobs land both before and after the buffer grows.
  const viaAdd = new PackBuilder('data', 1024);
  const inPlace = new PackBuilder('data', 1024);
  const sizes = [10, 500, 3000, 0, 70000, 1];
  const ivs: Uint8Array[] = [];
  for (const [i, n] of sizes.entries()) {
    const plain = new Uint8Array(nc.randomBytes(n));
    const iv = new Uint8Array(nc.randomBytes(16));
    ivs.push(iv);
    const id = toHex(s.sha256(plain));
    viaAdd.add(id, seal(s, key, plain, iv), i);
    const len = n + SEAL_OVERHEAD;
    const at = inPlace.size;
    assert.equal(sealInto(s, key, plain, inPlace.room(len), at, iv), len);
    inPlace.commit(id, len, i);
    assert.equal(inPlace.size, viaAdd.size);
    assert.equal(inPlace.count, i + 1);
  }
  let h = 0;
  const headerIv = () => ivs[h++ % ivs.length]!;
  const fin = (b: PackBuilder) => b.finish((x) => seal(s, key, x, headerIv()), (x) => toHex(s.sha256(x)));
  h = 0;
  const a = fin(viaAdd);
  h = 0;
  const b = fin(inPlace);
  assert.equal(toHex(b.bytes), toHex(a.bytes));
  assert.equal(b.id, a.id);
  assert.deepEqual(b.blobs, a.blobs);
  // The header names every blob at its offset, and each blob opens to its plaintext's ID.
  const hdrLen = new DataView(b.bytes.buffer, b.bytes.byteOffset).getUint32(b.bytes.length - 4, true);
  const header = decodePackHeader(open(s, key, b.bytes.subarray(b.bytes.length - 4 - hdrLen, b.bytes.length - 4), 'header'), 'header');
  assert.deepEqual(header.map((e) => [e.id, e.offset, e.length]), b.blobs.map((e) => [e.id, e.offset, e.length]));
  for (const e of b.blobs) assert.equal(toHex(s.sha256(open(s, key, b.bytes.subarray(e.offset, e.offset + e.length), e.id))), e.id);
});

test('PackBuilder: commit without room is refused', () => {
  const p = new PackBuilder('tree', 64);
  const buf = p.room(10);
  assert.ok(buf.length >= 10);
  assert.throws(() => p.commit('00'.repeat(32), buf.length + 1, 0), RangeError);
  p.commit('00'.repeat(32), 10, 0);
  assert.equal(p.size, 10);
});

test('BlobSaver.addPack: onDone says stored only when the backend holds the pack', async () => {
  for (const failing of [false, true]) {
    const m = await newMemRepo();
    if (failing) {
      const put = m.backend.put.bind(m.backend);
      m.backend.put = async (h, data, o) => {
        if (h.type === 'data') throw new CofferError('permission', 'disk full');
        return put(h, data, o);
      };
    }
    const index = new MasterIndex();
    const saver = new BlobSaver(m.repo, index, { uploads: 1 });
    const b = new PackBuilder('data');
    const plain = new Uint8Array(nc.randomBytes(5000));
    const id = m.repo.sha256Hex(plain);
    const len = plain.length + SEAL_OVERHEAD;
    sealInto(m.platform.crypto, m.repo.key, plain, b.room(len), b.size);
    b.commit(id, len, 0);
    const pack = b.finish((x) => m.repo.seal(x), (x) => m.repo.sha256Hex(x));
    const done: boolean[] = [];
    await saver.addPack(pack, plain.length, (stored) => done.push(stored));
    if (failing) {
      await assert.rejects(saver.flush(), /disk full/);
      assert.deepEqual(done, [false]);
      assert.equal(index.has('data', id), false);
    } else {
      await saver.flush();
      assert.deepEqual(done, [true]);
      assert.ok(index.has('data', id));
      const stored = await m.backend.get({ type: 'data', name: pack.id });
      assert.equal(toHex(stored), toHex(pack.bytes));
      assert.deepEqual(open(m.platform.crypto, m.repo.key, stored.subarray(0, len), 'blob'), plain);
    }
  }
});
