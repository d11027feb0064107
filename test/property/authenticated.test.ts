/**
 * Authenticated containers: sealed boxes, packs (header and blobs), unpacked files (index,
 * snapshot, lock) and key files. A round trip restores the content, and ANY flipped bit is
 * rejected with CofferError 'corrupt': never accepted, never another exception type.
 * Small containers are swept exhaustively (every bit); larger ones at generated positions.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { toHex, utf8Encode } from '../../src/core/bytes.js';
import { open, seal, SEAL_OVERHEAD } from '../../src/core/crypto/sealed-box.js';
import { newMasterKey, decodeMasterKeyJson, deriveUserKey } from '../../src/core/crypto/keys.js';
import type { CryptoSuite } from '../../src/core/crypto/suite.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { isCofferError } from '../../src/core/errors.js';
import { decodeKeyFile, encodeKeyFile } from '../../src/core/format/key-file.js';
import { decodePackHeader, expectedPackSize, parsePackTrailer } from '../../src/core/format/pack-header.js';
import type { BlobType, PackedBlob } from '../../src/core/format/types.js';
import { openBlob } from '../../src/core/repository/blob-loader.js';
import { PackBuilder } from '../../src/core/repository/pack-builder.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { unlockMasterKey } from '../../src/core/repository/open.js';
import { readPackHeader, verifyPack } from '../../src/core/engine/check/pack-file.js';
import { corrupt } from '../../src/core/errors.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { newMemRepo, PASSWORD } from '../helpers/mem-repo.js';
import { RUNS } from './arbitraries.js';

const SUITES: CryptoSuite[] = [nodeCrypto, webCrypto];

function flipped(b: Uint8Array, bit: number): Uint8Array {
  const c = b.slice();
  c[bit >> 3]! ^= 1 << (bit & 7);
  return c;
}

/** Runs `fn` and requires a CofferError 'corrupt' (any other outcome is reported with `label`). */
function mustBeCorrupt(fn: () => unknown, label: string): void {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    if (isCofferError(e, 'corrupt')) return;
    assert.fail(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of CofferError 'corrupt'`);
  }
  assert.fail(`${label}: accepted (returned ${r instanceof Uint8Array ? `${r.length} bytes` : typeof r})`);
}

async function mustBeCorruptAsync(fn: () => Promise<unknown>, label: string, also: string[] = []): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (isCofferError(e, 'corrupt') || also.some((c) => isCofferError(e, c as 'corrupt'))) return;
    assert.fail(`${label}: threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)} instead of CofferError 'corrupt'`);
  }
  assert.fail(`${label}: accepted`);
}

for (const suite of SUITES) {
  test(`${suite.name}: sealed box round trip; every flipped bit, truncation or extension is corrupt`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.uint8Array({ minLength: 64, maxLength: 64 }), (plain, k) => {
        const key = { encrypt: k.slice(0, 32), macK: k.slice(32, 48), macR: k.slice(48) };
        const box = seal(suite, key, plain);
        assert.equal(box.length, plain.length + SEAL_OVERHEAD);
        assert.deepEqual(open(suite, key, box, 'box'), plain);
        for (let bit = 0; bit < box.length * 8; bit++) mustBeCorrupt(() => open(suite, key, flipped(box, bit), 'box'), `bit ${bit}`);
        for (let n = 0; n < box.length; n++) mustBeCorrupt(() => open(suite, key, box.subarray(0, n), 'box'), `truncated to ${n}`);
        mustBeCorrupt(() => open(suite, key, Uint8Array.of(...box, 0), 'box'), 'extended');
      }),
      { numRuns: Math.max(10, RUNS / 5) },
    );
  });
}

test('sealed box: another key never opens it', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (plain) => {
      const a = newMasterKey(nodeCrypto);
      const b = newMasterKey(nodeCrypto);
      mustBeCorrupt(() => open(nodeCrypto, b, seal(nodeCrypto, a, plain), 'box'), 'other key');
    }),
    { numRuns: RUNS },
  );
});

// ---- packs ----------------------------------------------------------------------------------

interface BuiltPack {
  bytes: Uint8Array;
  blobs: readonly PackedBlob[];
  plaintexts: Map<string, Uint8Array>;
}

/** A real pack as the blob saver writes it (compressed blobs when `compress`). */
function buildPack(repo: Repository, type: BlobType, contents: Uint8Array[], compress: boolean): BuiltPack {
  const b = new PackBuilder(type);
  const plaintexts = new Map<string, Uint8Array>();
  for (const c of contents) {
    const id = repo.sha256Hex(c);
    if (plaintexts.has(id)) continue;
    plaintexts.set(id, c);
    if (compress) b.add(id, repo.seal(repo.platform.zstd.compress(c, 3)), c.length);
    else b.add(id, repo.seal(c), 0);
  }
  const p = b.finish((x) => repo.seal(x), (x) => repo.sha256Hex(x));
  return { bytes: p.bytes, blobs: p.blobs, plaintexts };
}

/** Reads a whole pack from its bytes alone: trailer, authenticated header, then every blob. */
function readWholePack(repo: Repository, bytes: Uint8Array): Map<string, Uint8Array> {
  const what = 'pack under test';
  const t = parsePackTrailer(bytes, bytes.length, what);
  const entries = decodePackHeader(repo.open(t.sealedHeader!, `header of ${what}`), what);
  if (expectedPackSize(entries) !== bytes.length) throw corrupt(what, 'size does not match its header');
  const out = new Map<string, Uint8Array>();
  for (const e of entries) {
    const loc = { packId: 'p', offset: e.offset, length: e.length, uncompressedLength: e.uncompressedLength };
    out.set(e.id, openBlob(repo, e.type, e.id, loc, bytes.subarray(e.offset, e.offset + e.length)));
  }
  return out;
}

const blobContents = fc.array(fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.string({ minLength: 1, maxLength: 300 }).map(utf8Encode)), {
  minLength: 1,
  maxLength: 4,
});

test('pack: written blobs read back; any flipped bit anywhere in the pack is corrupt (header, blobs, length field)', async () => {
  const { repo } = await newMemRepo();
  const bitsOf = (n: number) => fc.nat({ max: n * 8 - 1 });
  fc.assert(
    fc.property(blobContents, fc.boolean(), fc.constantFrom('data' as const, 'tree' as const), fc.nat(), (contents, compress, type, pick) => {
      const p = buildPack(repo, type, contents, compress);
      assert.deepEqual(readWholePack(repo, p.bytes), p.plaintexts);
      const bit = pick % (p.bytes.length * 8);
      const bad = flipped(p.bytes, bit);
      mustBeCorrupt(() => readWholePack(repo, bad), `bit ${bit} of ${p.bytes.length * 8}`);
      // check --read-data on the same damage, even when the file was renamed to its new hash.
      const errors = verifyPack(repo, repo.sha256Hex(bad), bad, p.blobs);
      assert.ok(errors.length > 0, `verifyPack found nothing wrong after flipping bit ${bit}`);
    }),
    { numRuns: RUNS },
  );
  void bitsOf;
  // Exhaustive over the sealed header and trailer of one small pack.
  const p = buildPack(repo, 'data', [utf8Encode('one'), utf8Encode('two')], true);
  const headerStart = p.blobs.reduce((n, b) => n + b.length, 0);
  for (let bit = headerStart * 8; bit < p.bytes.length * 8; bit++) {
    mustBeCorrupt(() => readWholePack(repo, flipped(p.bytes, bit)), `header bit ${bit}`);
  }
});

test('pack: readPackHeader (ranged reads) rejects every flipped bit of the header and trailer', async () => {
  const m = await newMemRepo();
  const p = buildPack(m.repo, 'tree', [utf8Encode('{"nodes":[]}\n'), utf8Encode('x'.repeat(100))], true);
  const headerStart = p.blobs.reduce((n, b) => n + b.length, 0);
  assert.deepEqual(await (async () => {
    const id = m.repo.sha256Hex(p.bytes);
    await m.backend.put({ type: 'data', name: id }, p.bytes);
    return readPackHeader(m.repo, id, p.bytes.length);
  })(), p.blobs);
  for (let bit = headerStart * 8; bit < p.bytes.length * 8; bit += 3) {
    const bad = flipped(p.bytes, bit);
    const id = m.repo.sha256Hex(bad);
    await m.backend.put({ type: 'data', name: id }, bad);
    await mustBeCorruptAsync(() => readPackHeader(m.repo, id, bad.length), `bit ${bit}`);
    await m.backend.delete({ type: 'data', name: id });
  }
});

// ---- unpacked files -------------------------------------------------------------------------

test('unpacked files (v1 and v2): round trip; a flipped bit is corrupt under its old name and under its new hash', async () => {
  for (const version of [1, 2] as const) {
    const m = await newMemRepo({ version });
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 2 }), fc.nat(), fc.constantFrom('index' as const, 'snapshots' as const, 'locks' as const), async (v, pick, type) => {
        const json = utf8Encode(JSON.stringify({ v }));
        const idOf = await m.repo.saveUnpacked(type, json);
        assert.deepEqual(await m.repo.loadUnpacked(type, idOf), json);
        const stored = await m.backend.get({ type, name: idOf });
        const bit = pick % (stored.length * 8);
        const bad = flipped(stored, bit);
        await m.backend.delete({ type, name: idOf });
        await m.backend.put({ type, name: idOf }, bad);
        await mustBeCorruptAsync(() => m.repo.loadUnpacked(type, idOf), `v${version} bit ${bit} (old name)`);
        const renamed = m.repo.sha256Hex(bad);
        await m.backend.put({ type, name: renamed }, bad);
        await mustBeCorruptAsync(() => m.repo.loadUnpacked(type, renamed), `v${version} bit ${bit} (renamed)`);
        await m.backend.delete({ type, name: renamed });
        await m.backend.delete({ type, name: idOf });
      }),
      { numRuns: Math.max(10, RUNS / 3) },
    );
  }
});

// ---- key files ------------------------------------------------------------------------------

test('key file: every flipped bit of the stored file is refused; a flipped bit of its sealed data never opens', async () => {
  const m = await newMemRepo();
  let keyId = '';
  for await (const f of m.backend.list('keys')) keyId = f.name;
  const stored = await m.backend.get({ type: 'keys', name: keyId });
  const kf = decodeKeyFile(stored, 'key');
  // Under its own name: the SHA-256 check catches every bit (sweep all of them; cheap).
  for (let bit = 0; bit < stored.length * 8; bit += 1) {
    const bad = flipped(stored, bit);
    await m.backend.delete({ type: 'keys', name: keyId });
    await m.backend.put({ type: 'keys', name: keyId }, bad);
    await mustBeCorruptAsync(() => unlockMasterKey(m.backend, m.platform, PASSWORD), `stored bit ${bit}`);
  }
  await m.backend.delete({ type: 'keys', name: keyId });
  await m.backend.put({ type: 'keys', name: keyId }, stored);
  // The sealed master key inside: every bit, re-encoded and stored under its new hash (an attacker
  // who rewrites the file). Opening fails authentication: the key is never returned.
  const userKey = await deriveUserKey(m.platform.crypto, utf8Encode(PASSWORD), kf.salt, kf);
  assert.ok(decodeMasterKeyJson(open(m.platform.crypto, userKey, kf.data, 'key data')).encrypt.length === 32);
  for (let bit = 0; bit < kf.data.length * 8; bit++) {
    mustBeCorrupt(() => open(m.platform.crypto, userKey, flipped(kf.data, bit), 'key data'), `data bit ${bit}`);
  }
  for (let bit = 0; bit < kf.data.length * 8; bit += 7) {
    const forged = encodeKeyFile({ ...kf, data: flipped(kf.data, bit) });
    const fb = new (await import('../../src/core/backend/mem.js')).MemBackend();
    const fid = toHex(m.platform.crypto.sha256(forged));
    await fb.put({ type: 'keys', name: fid }, forged);
    // unlockMasterKey reads a MAC failure as "not this password" (it cannot tell them apart).
    await mustBeCorruptAsync(() => unlockMasterKey(fb, m.platform, PASSWORD), `forged data bit ${bit}`, ['wrong-password']);
  }
});
