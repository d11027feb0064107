/**
 * The share-link format (design §7): link and key round trips, the per-file and manifest keys
 * are HKDF-SHA256 as node:crypto computes it, files and manifests round trip (also when sealed
 * piece by piece), and every tampering is refused: a flipped bit, a cut stream, chunks swapped,
 * a file served under another number, a file or manifest moved from another share, a wrong key.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hkdfSync, randomBytes } from 'node:crypto';
import { CHUNK_SIZE, chunkRange, PREFIX_SIZE } from '../../src/core/crypto/chunked-gcm.js';
import { CofferError } from '../../src/core/errors.js';
import { chunkCipher } from '../../src/core/share/gcm.js';
import {
  decodeManifest, fileKey, fileNumber, formatShareLink, fromBase64Url, isShareId, keyOfFragment, manifestKey, newShareId, newShareKey, openFile, openManifest, parseExpires,
  parseShareLink, sealFile, sealFileStream, sealManifest, sealedSize, toBase64Url, type ShareManifest,
} from '../../src/core/share/format.js';

const isCorrupt = (e: unknown) => e instanceof CofferError && e.code === 'corrupt';
const bytes = (n: number) => new Uint8Array(randomBytes(n));

function manifest(): ShareManifest {
  return {
    version: 1,
    created: 1_700_000_000_000,
    expires: 1_700_604_800_000,
    items: [
      { name: 'été à Paris.jpg', mime: 'image/jpeg', size: 5, taken: '2024-06-01T10:00:00', w: 4000, h: 3000, chunks: 1, hasThumb: true, hasPreview: true },
      { name: 'notes.txt', mime: 'text/plain', size: CHUNK_SIZE + 1, chunks: 2, hasThumb: false, hasPreview: false },
    ],
  };
}

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const p of it) parts.push(p);
  return new Uint8Array(Buffer.concat(parts));
}

test('ids and keys: sizes, base64url, link round trip', () => {
  const id = newShareId();
  const key = newShareKey();
  assert.equal(id.length, 22);
  assert.ok(isShareId(id));
  assert.equal(fromBase64Url(id)!.length, 16);
  assert.equal(toBase64Url(key).length, 43);
  assert.match(toBase64Url(key), /^[A-Za-z0-9_-]+$/);
  const link = formatShareLink('https://photos.example.org/', id, key);
  assert.equal(link, `https://photos.example.org/s/${id}#${toBase64Url(key)}`);
  const p = parseShareLink(link);
  assert.equal(p.base, 'https://photos.example.org');
  assert.equal(p.id, id);
  assert.deepEqual(p.key, key);
  assert.deepEqual(keyOfFragment('#' + toBase64Url(key)), key);
  assert.equal(keyOfFragment('#' + toBase64Url(key).slice(1)), undefined);
  assert.throws(() => parseShareLink(`https://x/s/${id}`), /not a share link/);
  assert.throws(() => parseShareLink(`https://x/s/${id.slice(1)}#${toBase64Url(key)}`), /not a share link/);
  assert.equal(isShareId('A'.repeat(21) + '='), false);
  // One spelling per id: non-canonical trailing bits are refused.
  assert.equal(isShareId(id.slice(0, 21) + 'B'), false);
});

test('keys are HKDF-SHA256(key, salt = id bytes, info) as node:crypto derives them', () => {
  const id = newShareId();
  const key = newShareKey();
  const salt = fromBase64Url(id)!;
  const node = (info: string) => new Uint8Array(hkdfSync('sha256', key, salt, Buffer.from(info), 32));
  assert.deepEqual(fileKey(key, id, 0), node('coffer-share-v1 file 0'));
  assert.deepEqual(fileKey(key, id, 7), node('coffer-share-v1 file 7'));
  assert.deepEqual(manifestKey(key, id), node('coffer-share-v1 manifest'));
  assert.notDeepEqual(fileKey(key, id, 0), fileKey(key, newShareId(), 0));
  assert.deepEqual([fileNumber(0, 'original'), fileNumber(0, 'thumb'), fileNumber(0, 'preview'), fileNumber(2, 'original')], [0, 1, 2, 6]);
});

test('manifest and files round trip; streamed sealing opens the same', async () => {
  const id = newShareId();
  const key = newShareKey();
  const m = manifest();
  const sealedM = sealManifest(key, id, m);
  assert.deepEqual(openManifest(key, id, sealedM), m);
  // Nothing of the names in the sealed manifest.
  assert.equal(Buffer.from(sealedM).includes(Buffer.from('Paris')), false);
  for (const size of [0, 1, CHUNK_SIZE, CHUNK_SIZE + 3, 2 * CHUNK_SIZE]) {
    const plain = bytes(size);
    const sealed = sealFile(key, id, 3, plain);
    assert.equal(sealed.length, sealedSize(size));
    assert.deepEqual(openFile(key, id, 3, sealed), plain);
    // Pieces of odd sizes, as blobs come out of a repository.
    const pieces: Uint8Array[] = [];
    for (let at = 0; at < size; ) {
      const n = Math.min(size - at, 1 + ((at * 7919) % 400_000));
      pieces.push(plain.subarray(at, at + n));
      at += n;
    }
    const streamed = await collect(sealFileStream(key, id, 3, size, pieces));
    assert.equal(streamed.length, sealedSize(size));
    assert.deepEqual(openFile(key, id, 3, streamed), plain, `size ${size}`);
  }
  await assert.rejects(collect(sealFileStream(key, id, 0, 10, [bytes(9)])), /9 of its 10 bytes/);
  await assert.rejects(collect(sealFileStream(key, id, 0, 10, [bytes(11)])), /longer/);
});

test('tampering, truncation, reordering and swapping between shares all fail', () => {
  const id = newShareId();
  const key = newShareKey();
  const plain = bytes(2 * CHUNK_SIZE + 100);
  const sealed = sealFile(key, id, 0, plain);

  const flipped = Uint8Array.from(sealed);
  flipped[PREFIX_SIZE + 1000] ^= 1;
  assert.throws(() => openFile(key, id, 0, flipped), isCorrupt);

  // Cut at a chunk boundary: the last chunk left is not marked final.
  const r1 = chunkRange(plain.length, 1);
  assert.throws(() => openFile(key, id, 0, sealed.subarray(0, r1.offset + r1.length)), isCorrupt);
  assert.throws(() => openFile(key, id, 0, sealed.subarray(0, sealed.length - 1)), isCorrupt);

  // Chunks 0 and 1 swapped.
  const r0 = chunkRange(plain.length, 0);
  const swapped = Uint8Array.from(sealed);
  swapped.set(sealed.subarray(r1.offset, r1.offset + r1.length), r0.offset);
  swapped.set(sealed.subarray(r0.offset, r0.offset + r0.length), r1.offset);
  assert.throws(() => openFile(key, id, 0, swapped), isCorrupt);

  // Served as another file number of the same share (an original as a thumbnail).
  assert.throws(() => openFile(key, id, 1, sealed), isCorrupt);

  // Another share's file and manifest, even under the same key (different id = different salt).
  const other = newShareId();
  assert.throws(() => openFile(key, other, 0, sealed), isCorrupt);
  assert.throws(() => openManifest(key, other, sealManifest(key, id, manifest())), isCorrupt);
  assert.throws(() => openManifest(newShareKey(), id, sealManifest(key, id, manifest())), isCorrupt);
  // A file is not a manifest.
  assert.throws(() => openManifest(key, id, sealFile(key, id, 0, new TextEncoder().encode(JSON.stringify(manifest())))), isCorrupt);
});

test('manifest decoding refuses bad shapes and cleans names', () => {
  const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
  const m = manifest();
  assert.throws(() => decodeManifest(enc({ ...m, version: 2 })), isCorrupt);
  assert.throws(() => decodeManifest(enc({ ...m, items: [{ ...m.items[1], chunks: 1 }] })), /chunk count/);
  assert.throws(() => decodeManifest(enc({ ...m, items: [{ ...m.items[0], size: -1 }] })), isCorrupt);
  assert.throws(() => decodeManifest(new TextEncoder().encode('{')), isCorrupt);
  const d = decodeManifest(enc({ ...m, items: [{ ...m.items[0], name: '../../etc/pass\u0000wd' }] }));
  assert.equal(d.items[0]!.name, 'pass_wd');
});

test('--expires durations', () => {
  assert.equal(parseExpires('7d'), 7 * 86400_000);
  assert.equal(parseExpires('12h'), 12 * 3600_000);
  assert.equal(parseExpires('30m'), 30 * 60_000);
  assert.equal(parseExpires('2s'), 2000);
  for (const bad of ['', '0s', '7w', '-1d', '367d', 'soon']) assert.throws(() => parseExpires(bad), (e: unknown) => e instanceof CofferError && e.code === 'usage', bad);
});

test('WebCrypto and noble seal and open the same chunks', async () => {
  const key = newShareKey();
  const prefix = bytes(PREFIX_SIZE);
  const plain = bytes(CHUNK_SIZE);
  const fast = await chunkCipher(key);
  const slow = await chunkCipher(key, { noble: true });
  for (const [i, final] of [[0, false], [5, true]] as const) {
    const a = await fast.seal(prefix, i, final, plain);
    const b = await slow.seal(prefix, i, final, plain);
    assert.deepEqual(a, b);
    assert.deepEqual(await slow.open(prefix, i, final, a, 't'), plain);
    assert.deepEqual(await fast.open(prefix, i, final, b, 't'), plain);
    // The final flag and the index are authenticated on both paths.
    await assert.rejects(fast.open(prefix, i, !final, a, 't'), isCorrupt);
    await assert.rejects(slow.open(prefix, i + 1, final, a, 't'), isCorrupt);
  }
});
