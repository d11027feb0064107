import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readVector } from '../helpers/paths.js';
import { fromHex, toHex, writeUint32LE } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import {
  decodePackHeader, encodePackHeader, expectedPackSize, packHeaderEntrySize, parsePackTrailer,
  PACK_EAGER_TRAILER_BYTES, PACK_MAX_HEADER_LENGTH, PACK_MIN_FILE_SIZE,
} from '../../src/core/format/pack-header.js';

interface VecBlob { type: 'data' | 'tree'; compressed: boolean; offset: number; length: number; uncompressed_length: number; id: string }
interface VecPack { name: string; file_size: number; header_length_field: number; header_plaintext_hex: string; blobs: VecBlob[] }

test('pack headers from tiny-repos.json decode to the listed entries and re-encode', () => {
  const repos = readVector<{ repos: { packs: VecPack[] }[] }>('tiny-repos.json').repos;
  let count = 0;
  for (const r of repos) {
    for (const p of r.packs) {
      const plain = fromHex(p.header_plaintext_hex);
      const entries = decodePackHeader(plain, `pack ${p.name}`);
      assert.deepEqual(
        entries,
        p.blobs.map((b) => ({ type: b.type, id: b.id, offset: b.offset, length: b.length, uncompressedLength: b.compressed ? b.uncompressed_length : 0 })),
      );
      assert.equal(toHex(encodePackHeader(entries)), p.header_plaintext_hex);
      assert.equal(p.header_length_field, plain.length + 32);
      assert.equal(expectedPackSize(entries), p.file_size);
      count++;
    }
  }
  assert.equal(count, 4);
});

test('entry sizes and §10.2 examples', () => {
  assert.equal(packHeaderEntrySize({ uncompressedLength: 0 }), 37);
  assert.equal(packHeaderEntrySize({ uncompressedLength: 5 }), 41);
  assert.equal(PACK_EAGER_TRAILER_BYTES, 651);
  assert.equal(PACK_MIN_FILE_SIZE, 73);
  const id = 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8';
  const eight = Array.from({ length: 8 }, (_, i) => ({ type: 'data' as const, id, offset: i * 40, length: 40, uncompressedLength: 0 }));
  assert.equal(encodePackHeader(eight).length + 32, 328);
  assert.equal(expectedPackSize(eight), 8 * 40 + 328 + 4);
  assert.throws(() => encodePackHeader([{ ...eight[0]!, offset: 5 }]), (e) => isCofferError(e, 'internal'));
});

test('malformed headers are corrupt', () => {
  const id = 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8';
  const good = encodePackHeader([{ type: 'tree', id, length: 100, uncompressedLength: 200 }]);
  assert.deepEqual(decodePackHeader(good, 'p')[0], { type: 'tree', id, offset: 0, length: 100, uncompressedLength: 200 });
  const badType = good.slice();
  badType[0] = 4;
  const zeroUncompressed = good.slice();
  zeroUncompressed.fill(0, 5, 9);
  const shortLen = good.slice();
  writeUint32LE(shortLen, 1, 31);
  for (const b of [good.subarray(0, 40), badType, zeroUncompressed, shortLen]) {
    assert.throws(() => decodePackHeader(b, 'pack x'), (e) => isCofferError(e, 'corrupt') && /pack x/.test((e as Error).message));
  }
  assert.deepEqual(decodePackHeader(new Uint8Array(0), 'p'), []);
});

function trailer(size: number, hl: number, take: number): Uint8Array {
  const file = new Uint8Array(size);
  for (let i = 0; i < size; i++) file[i] = i & 0xff;
  writeUint32LE(file, size - 4, hl);
  return file.subarray(size - Math.min(take, size));
}

test('pack trailer (§10.5)', () => {
  const t = parsePackTrailer(trailer(1000, 69, 651), 1000);
  assert.equal(t.headerLength, 69);
  assert.equal(t.headerOffset, 1000 - 4 - 69);
  assert.equal(t.sealedHeader!.length, 69);
  assert.equal(t.sealedHeader![0], (1000 - 4 - 69) & 0xff);
  const big = parsePackTrailer(trailer(5000, 4000, 651), 5000);
  assert.equal(big.sealedHeader, undefined);
  assert.equal(big.headerOffset, 996);
  const bad: [number, number][] = [[72, 32], [1000, 0], [1000, 31], [1000, 997], [PACK_MAX_HEADER_LENGTH + 100, PACK_MAX_HEADER_LENGTH + 1]];
  for (const [size, hl] of bad) {
    assert.throws(() => parsePackTrailer(trailer(size, hl, 651), size, 'pack y'), (e) => isCofferError(e, 'corrupt'), `${size}/${hl}`);
  }
  assert.equal(parsePackTrailer(trailer(1000, 996, 1000), 1000).headerOffset, 0);
});
