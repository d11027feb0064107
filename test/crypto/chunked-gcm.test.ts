/**
 * The sealed stream of shares and inbox items: round trips at chunk boundaries, node:crypto's
 * independent AES-GCM and HKDF agree byte for byte, and truncation, reordering, bit flips and a
 * wrong key are all refused as 'corrupt'.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import {
  CHUNK_SIZE, PREFIX_SIZE, TAG_SIZE, chunkCount, chunkRange, deriveKey, openBytes, openChunk, plainSizeOf, sealBytes, sealedSize,
} from '../../src/core/crypto/chunked-gcm.js';
import { CofferError } from '../../src/core/errors.js';

const key = new Uint8Array(randomBytes(32));
const isCorrupt = (e: unknown) => e instanceof CofferError && e.code === 'corrupt';

test('round trips at and around chunk boundaries', () => {
  for (const size of [0, 1, CHUNK_SIZE - 1, CHUNK_SIZE, CHUNK_SIZE + 1, 3 * CHUNK_SIZE + 17]) {
    const plain = new Uint8Array(randomBytes(size));
    const sealed = sealBytes(key, plain);
    assert.equal(sealed.length, sealedSize(size), `size ${size}`);
    assert.equal(plainSizeOf(sealed.length, 't'), size);
    assert.deepEqual(openBytes(key, sealed, 't'), plain);
  }
});

test('each chunk is standard AES-256-GCM with nonce prefix ‖ index ‖ final (node:crypto agrees)', () => {
  const plain = new Uint8Array(randomBytes(2 * CHUNK_SIZE + 5));
  const prefix = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
  const sealed = sealBytes(key, plain, prefix);
  assert.deepEqual(sealed.subarray(0, PREFIX_SIZE), prefix);
  for (let i = 0; i < chunkCount(plain.length); i++) {
    const r = chunkRange(plain.length, i);
    const nonce = Buffer.alloc(12);
    Buffer.from(prefix).copy(nonce);
    nonce.writeUInt32BE(i, 7);
    nonce[11] = r.final ? 1 : 0;
    const c = createCipheriv('aes-256-gcm', key, nonce);
    const ct = Buffer.concat([c.update(plain.subarray(i * CHUNK_SIZE, i * CHUNK_SIZE + r.length - TAG_SIZE)), c.final(), c.getAuthTag()]);
    assert.deepEqual(Buffer.from(sealed.subarray(r.offset, r.offset + r.length)), ct, `chunk ${i}`);
  }
});

test('deriveKey is RFC 5869 HKDF-SHA256 (node:crypto agrees)', () => {
  const salt = new Uint8Array(randomBytes(16));
  const want = Buffer.from(hkdfSync('sha256', key, salt, 'coffer-share-v1 file 3', 32));
  assert.deepEqual(Buffer.from(deriveKey(key, salt, 'coffer-share-v1 file 3')), want);
});

test('truncation, reordering, bit flips and a wrong key fail', () => {
  const plain = new Uint8Array(randomBytes(3 * CHUNK_SIZE));
  const sealed = sealBytes(key, plain);
  // Cut after two whole chunks: chunk 1 is read as final, but was sealed as a middle chunk.
  assert.throws(() => openBytes(key, sealed.subarray(0, chunkRange(plain.length, 1).offset + CHUNK_SIZE + TAG_SIZE), 't'), isCorrupt);
  // Cut inside a tag.
  assert.throws(() => openBytes(key, sealed.subarray(0, PREFIX_SIZE + 5), 't'), isCorrupt);
  // Swap chunks 0 and 1.
  const swapped = Uint8Array.from(sealed);
  const a = chunkRange(plain.length, 0), b = chunkRange(plain.length, 1);
  swapped.set(sealed.subarray(b.offset, b.offset + b.length), a.offset);
  swapped.set(sealed.subarray(a.offset, a.offset + a.length), b.offset);
  assert.throws(() => openBytes(key, swapped, 't'), isCorrupt);
  const flipped = Uint8Array.from(sealed);
  flipped[PREFIX_SIZE + 100]! ^= 1;
  assert.throws(() => openBytes(key, flipped, 't'), isCorrupt);
  assert.throws(() => openBytes(new Uint8Array(32), sealed, 't'), isCorrupt);
  // One chunk opens alone (random access), and only at its own index.
  const r = chunkRange(plain.length, 2);
  const header = sealed.subarray(0, PREFIX_SIZE);
  assert.deepEqual(openChunk(key, header, 2, true, sealed.subarray(r.offset, r.offset + r.length), 't'), plain.subarray(2 * CHUNK_SIZE));
  assert.throws(() => openChunk(key, header, 1, true, sealed.subarray(r.offset, r.offset + r.length), 't'), isCorrupt);
});
