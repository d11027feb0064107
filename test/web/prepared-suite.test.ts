/**
 * The worker's PreparedSuite (WebCrypto results prepared ahead of the core's openBlob) in Node,
 * which has the same WebCrypto: prepared blobs open to the same plaintext as with @noble,
 * compressed ones too; a damaged blob still fails the core's MAC check (nothing prepared is
 * handed out for other bytes); unprepared calls fall back to @noble; a compressed blob's frame is
 * decoded straight from the AES-CTR pieces (raw/RLE) or by the library (other frames), and
 * damage fails with the messages the core gives without preparation. And readGroups: one range
 * per run of back-to-back blobs of one pack, in file order, at most 8 MiB.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createWasmZstd } from '../../src/core/compress/zstd-wasm.js';
import { seal } from '../../src/core/crypto/sealed-box.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { isCofferError } from '../../src/core/errors.js';
import { openBlob } from '../../src/core/repository/blob-loader.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { Repository } from '../../src/core/repository/repository.js';
import { counterAt, PreparedSuite, PreparedZstd } from '../../src/web/worker/prepared-suite.js';
import { readGroups } from '../../src/web/worker/session.js';
import { randomBytes } from '../helpers/mem-repo.js';

async function setup() {
  const suite = new PreparedSuite();
  const zstd = new PreparedZstd(await createWasmZstd());
  const key = { encrypt: webCrypto.randomBytes(32), macK: webCrypto.randomBytes(16), macR: webCrypto.randomBytes(16) };
  const config = { version: 2 as const, id: 'a'.repeat(64), chunkerPolynomial: 0x3daa7705968b2dn };
  const repo = new Repository({} as never, { crypto: suite, zstd }, key, 'k'.repeat(64), config);
  return { suite, zstd, key, repo };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('PreparedSuite: prepared blobs (plain and compressed) open to the right bytes; damage still fails', async () => {
  const { suite, zstd, key, repo } = await setup();
  for (const compressed of [false, true]) {
    const plain = compressed ? new Uint8Array(300_000).fill(7) : randomBytes(5, 300_000);
    const id = hex(webCrypto.sha256(plain));
    const stored = compressed ? zstd.compress(plain, 3) : plain;
    const sealed = seal(webCrypto, key, stored);
    const loc = { packId: 'p'.repeat(64), offset: 0, length: sealed.length, uncompressedLength: compressed ? plain.length : 0 };
    await suite.prepare(key, sealed, loc.uncompressedLength, zstd);
    assert.deepEqual(openBlob(repo, 'data', id, loc, sealed), plain);
    // Unprepared: the @noble path gives the same.
    assert.deepEqual(openBlob(repo, 'data', id, loc, sealed.slice()), plain);
    // One flipped ciphertext byte: the core's MAC check refuses it, prepared or not.
    const bad = sealed.slice();
    bad[17]! ^= 1; // inside the ciphertext (a compressed blob is small)
    await suite.prepare(key, bad, 0, zstd);
    assert.throws(() => openBlob(repo, 'data', id, { ...loc, uncompressedLength: 0 }, bad), (e) => isCofferError(e, 'corrupt'));
    if (compressed) await assert.rejects(suite.prepare(key, bad, loc.uncompressedLength, zstd), (e) => isCofferError(e, 'corrupt'));
  }
  // A prepared result is only handed out for the very bytes it was made from.
  const a = seal(webCrypto, key, randomBytes(1, 1000));
  await suite.prepare(key, a, 0, zstd);
  const ct = a.subarray(16, a.length - 16);
  const other = new Uint8Array(ct.length);
  assert.deepEqual(suite.aes256Ctr(key.encrypt, a.subarray(0, 16), other), webCrypto.aes256Ctr(key.encrypt, a.subarray(0, 16), other));
});

test('readGroups: back-to-back blobs of one pack share a read, in file order, at most 8 MiB', () => {
  const index = new MasterIndex();
  const P = 'a'.repeat(64), Q = 'b'.repeat(64);
  const id = (n: number): string => n.toString(16).padStart(64, '0');
  const MiB = 1024 * 1024;
  index.addPack(P, [0, 1, 2, 3, 4].map((n) => ({ type: 'data' as const, id: id(n), offset: n * 3 * MiB, length: 3 * MiB, uncompressedLength: 0 })));
  index.addPack(Q, [{ type: 'data', id: id(9), offset: 0, length: 100, uncompressedLength: 0 }]);
  const g = readGroups(index, [id(0), id(1), id(2), id(9), id(4), id(3), id(7)]);
  assert.deepEqual(
    g.map((x) => [x.packId?.[0], x.offset, x.length, x.blobs.map((b) => b.id.slice(-1))]),
    [
      ['a', 0, 6 * MiB, ['0', '1']],
      ['a', 6 * MiB, 3 * MiB, ['2']],
      ['b', 0, 100, ['9']],
      ['a', 12 * MiB, 3 * MiB, ['4']],
      ['a', 9 * MiB, 3 * MiB, ['3']],
      [undefined, 0, 0, ['7']],
    ],
  );
});

test('PreparedSuite: a compressed blob costs one Poly1305 pass (the tag kept for openBlob), only for those bytes', async () => {
  const { suite, zstd, key, repo } = await setup();
  let passes = 0;
  const inner = (suite as unknown as { wasmPoly1305: (k: Uint8Array, m: Uint8Array) => Uint8Array }).wasmPoly1305;
  (suite as unknown as { wasmPoly1305: typeof inner }).wasmPoly1305 = (k, m) => {
    passes++;
    return inner(k, m);
  };
  for (const plain of [randomBytes(11, 700_000), new Uint8Array(200_000).fill(3)]) {
    const id = hex(webCrypto.sha256(plain));
    const sealed = seal(webCrypto, key, zstd.compress(plain, 3));
    const loc = { packId: 'p'.repeat(64), offset: 0, length: sealed.length, uncompressedLength: plain.length };
    passes = 0;
    await suite.prepare(key, sealed, loc.uncompressedLength, zstd);
    assert.deepEqual(openBlob(repo, 'data', id, loc, sealed), plain);
    assert.equal(passes, 1);
    // The kept tag was used up: the same bytes checked again are computed again.
    assert.deepEqual(openBlob(repo, 'data', id, loc, sealed), plain);
    assert.equal(passes, 2);
    // A copy of the bytes is other bytes: computed, and damage there fails the check.
    await suite.prepare(key, sealed, loc.uncompressedLength, zstd);
    const bad = sealed.slice();
    bad[40]! ^= 1;
    assert.throws(() => openBlob(repo, 'data', id, loc, bad), (e) => isCofferError(e, 'corrupt'));
  }
});

test('PreparedSuite: AES-CTR in pieces (counter carried across all 128 bits) and into a given buffer, as @noble', async () => {
  const { suite, zstd, key, repo } = await setup();
  const ivs = [
    webCrypto.randomBytes(16),
    new Uint8Array(16).fill(0xff), // the counter wraps to zero inside the first piece's successor
    Uint8Array.from([...new Array(12).fill(0), 0xff, 0xff, 0xff, 0xf0]), // carry out of the low 32 bits
    Uint8Array.from([...new Array(8).fill(0x12), ...new Array(8).fill(0xff)]), // carry into the high 64 bits
  ];
  for (const iv of ivs) {
    for (const n of [1, 16, 512 * 1024, 512 * 1024 + 1, 2 * 1024 * 1024 + 17]) {
      const plain = randomBytes(n, n);
      const id = hex(webCrypto.sha256(plain));
      const sealed = seal(webCrypto, key, plain, iv);
      const loc = { packId: 'p'.repeat(64), offset: 0, length: sealed.length, uncompressedLength: 0 };
      for (const into of [undefined, new Uint8Array(n + 40).subarray(7, 7 + n)]) {
        await suite.prepare(key, sealed, 0, zstd, into);
        const got = openBlob(repo, 'data', id, loc, sealed);
        assert.deepEqual(got, plain, `iv ${hex(iv)}, ${n} bytes, into ${!!into}`);
        if (into) assert.equal(got.buffer, into.buffer, 'decrypted into the given buffer');
      }
    }
  }
  assert.equal(hex(counterAt(new Uint8Array(16).fill(0xff), 1)), '00'.repeat(16));
  assert.equal(hex(counterAt(Uint8Array.from([...new Array(15).fill(0), 0xff]), 0x10001)), '00'.repeat(13) + '010100');
});

test('PreparedSuite: compressed blobs decoded from the AES pieces (raw, RLE) or by the library; damage fails as in the core', async () => {
  const { suite, zstd, key, repo } = await setup();
  // The same repository without preparation: the core's own messages to compare with.
  const plainRepo = new Repository({} as never, { crypto: webCrypto, zstd: zstd.inner }, key, 'k'.repeat(64), repo.config);
  let libraryCalls = 0;
  const inner = zstd.inner;
  const counted = { ...inner, name: inner.name, compress: inner.compress.bind(inner), decompress: (d: Uint8Array, l?: { expectedSize?: number; maxSize?: number }) => (libraryCalls++, inner.decompress(d, l)) };
  (zstd as unknown as { inner: typeof counted }).inner = counted;
  const a = randomBytes(21, 3000);
  // Hand-made frame (window 64 KiB): a raw block of 3000 bytes, then the last block, RLE of 9000 sevens.
  const bh = (last: number, type: number, size: number): number[] => {
    const v = last | (type << 1) | (size << 3);
    return [v & 0xff, (v >> 8) & 0xff, v >> 16];
  };
  const rleFrame = Uint8Array.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x30, ...bh(0, 0, 3000), ...a, ...bh(1, 1, 9000), 7]);
  const rlePlain = new Uint8Array(12_000);
  rlePlain.set(a);
  rlePlain.fill(7, 3000);
  assert.deepEqual(inner.decompress(rleFrame, { expectedSize: 12_000 }), rlePlain, 'the hand-made frame is what the library reads');
  const text = new TextEncoder().encode('a compressible line of text\n'.repeat(40_000));
  const cases: [string, Uint8Array, Uint8Array, boolean][] = [
    ['raw, 6 pieces', randomBytes(22, 3 * 1024 * 1024 + 11), new Uint8Array(0), false],
    ['raw, one piece', randomBytes(23, 100_000), new Uint8Array(0), false],
    ['raw + RLE', rlePlain, rleFrame, false],
    ['compressed blocks', text, new Uint8Array(0), true],
  ];
  for (const [name, plain, frame, library] of cases) {
    const stored = frame.length ? frame : inner.compress(plain, 3);
    const id = hex(webCrypto.sha256(plain));
    const iv = Uint8Array.from([...new Array(12).fill(0x5a), 0xff, 0xff, 0xff, 0x80]); // counter carries inside the frame
    const sealed = seal(webCrypto, key, stored, iv);
    const loc = { packId: 'p'.repeat(64), offset: 0, length: sealed.length, uncompressedLength: plain.length };
    for (const into of [undefined, new Uint8Array(stored.length + 9).subarray(4, 4 + stored.length)]) {
      libraryCalls = 0;
      await suite.prepare(key, sealed, loc.uncompressedLength, zstd, into);
      assert.equal(libraryCalls, library ? 1 : 0, `${name}: ${library ? 'the library decodes it' : 'decoded from the pieces'}`);
      const got = openBlob(repo, 'data', id, loc, sealed);
      assert.deepEqual(got, plain, name);
      assert.equal(libraryCalls, library ? 1 : 0, `${name}: openBlob took the prepared result`);
      if (!library) assert.equal(got.buffer.byteLength, plain.length, `${name}: a buffer of its own (sent as it is)`);
    }
    // Tampered ciphertext: prepare refuses it before decoding, and openBlob fails with the core's message.
    const bad = sealed.slice();
    bad[sealed.length - 20]! ^= 4;
    libraryCalls = 0;
    await assert.rejects(suite.prepare(key, bad, loc.uncompressedLength, zstd), (e) => isCofferError(e, 'corrupt') && /ciphertext verification failed/.test(e.message));
    assert.equal(libraryCalls, 0, 'nothing unauthenticated reaches the library');
    const want = (() => {
      try {
        openBlob(plainRepo, 'data', id, loc, bad);
      } catch (e) {
        return (e as Error).message;
      }
      return 'opened';
    })();
    assert.match(want, /ciphertext verification failed/);
    assert.throws(() => openBlob(repo, 'data', id, loc, bad), (e) => isCofferError(e, 'corrupt') && (e as Error).message === want);
    // Authentic bytes that are not the blob's (another ID): the SHA-256 check, same message.
    const other = 'e'.repeat(64);
    await suite.prepare(key, sealed, loc.uncompressedLength, zstd);
    const wantSha = (() => {
      try {
        openBlob(plainRepo, 'data', other, loc, sealed.slice());
      } catch (e) {
        return (e as Error).message;
      }
      return 'opened';
    })();
    assert.match(wantSha, /SHA-256 mismatch/);
    assert.throws(() => openBlob(repo, 'data', other, loc, sealed), (e) => isCofferError(e, 'corrupt') && (e as Error).message === wantSha);
  }
});
