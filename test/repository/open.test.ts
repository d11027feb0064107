import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemBackend } from '../../src/core/backend/mem.js';
import type { Backend, ByteRange, CallOpts, Handle } from '../../src/core/backend/backend.js';
import { bytesEqual, utf8Encode } from '../../src/core/bytes.js';
import { CofferError, isCofferError } from '../../src/core/errors.js';
import { addKey, initRepository, openRepository, unlockMasterKey } from '../../src/core/repository/open.js';
import { DEFAULT_PACK_SIZE } from '../../src/core/repository/repository.js';
import { CHEAP_KDF, OWNER, PASSWORD, newMemRepo, platform } from '../helpers/mem-repo.js';

function code(c: string) {
  return (e: unknown) => {
    assert.ok(e instanceof CofferError, `expected a CofferError, got ${String(e)}`);
    assert.equal(e.code, c, e.message);
    return true;
  };
}

/** Counts key-file reads, to observe the order in which keys are tried. */
class CountingBackend extends MemBackend {
  keyGets: string[] = [];
  override async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    if (h.type === 'keys') this.keyGets.push(h.name);
    return super.get(h, range, o);
  }
}

test('init then open with the right password gives the same master key and config', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  assert.equal(repo.version, 2);
  assert.equal(repo.compression, 'auto');
  assert.equal(repo.packSize, DEFAULT_PACK_SIZE);
  const again = await openRepository(backend, p, { password: PASSWORD });
  assert.equal(again.config.id, repo.config.id);
  assert.equal(again.config.chunkerPolynomial, repo.config.chunkerPolynomial);
  assert.equal(again.keyId, repo.keyId);
  assert.ok(bytesEqual(again.key.encrypt, repo.key.encrypt));
  assert.ok(bytesEqual(again.key.macK, repo.key.macK));
  // Exactly one key file and a config were written.
  const keys = [];
  for await (const f of backend.list('keys')) keys.push(f.name);
  assert.deepEqual(keys, [repo.keyId]);
  await backend.stat({ type: 'config', name: '' });
});

test('wrong password → wrong-password', async () => {
  const { backend, platform: p } = await newMemRepo();
  await assert.rejects(openRepository(backend, p, { password: 'nope' }), code('wrong-password'));
  await assert.rejects(openRepository(backend, p, { password: '' }), code('wrong-password'));
});

test('missing config → no-repository (and the password is not even tried)', async () => {
  const p = await platform();
  const backend = new CountingBackend();
  await assert.rejects(openRepository(backend, p, { password: PASSWORD }), code('no-repository'));
  assert.equal(backend.keyGets.length, 0);
});

test('config present but no key files → wrong-password', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  await backend.delete({ type: 'keys', name: repo.keyId });
  await assert.rejects(openRepository(backend, p, { password: PASSWORD }), code('wrong-password'));
});

test('init twice → already-exists, and the first repository is untouched', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  await assert.rejects(initRepository(backend, p, { password: 'other', kdf: CHEAP_KDF, ...OWNER }), code('already-exists'));
  const keys = [];
  for await (const f of backend.list('keys')) keys.push(f.name);
  assert.deepEqual(keys, [repo.keyId]);
  const again = await openRepository(backend, p, { password: PASSWORD });
  assert.equal(again.config.id, repo.config.id);
});

test('version 1 and version 2 repositories', async () => {
  const v1 = await newMemRepo({ version: 1, compression: 'max' });
  assert.equal(v1.repo.version, 1);
  assert.equal(v1.repo.compression, 'off', 'v1 never compresses, whatever is asked');
  assert.equal(v1.repo.dataCompressionLevel, undefined);
  assert.equal(v1.repo.metadataCompressionLevel, undefined);
  const o1 = await openRepository(v1.backend, v1.platform, { password: PASSWORD, compression: 'max' });
  assert.equal(o1.version, 1);
  assert.equal(o1.compression, 'off');

  const v2 = await newMemRepo({ version: 2, compression: 'off' });
  assert.equal(v2.repo.version, 2);
  assert.equal(v2.repo.dataCompressionLevel, undefined);
  assert.notEqual(v2.repo.metadataCompressionLevel, undefined, 'v2 trees and unpacked files are always compressed');
  const o2 = await openRepository(v2.backend, v2.platform, { password: PASSWORD });
  assert.equal(o2.version, 2);
  assert.equal(o2.compression, 'auto');
});

test('chunker polynomial can be reused from another repository', async () => {
  const a = await newMemRepo();
  const b = await newMemRepo({ chunkerPolynomial: a.repo.config.chunkerPolynomial });
  assert.equal(b.repo.config.chunkerPolynomial, a.repo.config.chunkerPolynomial);
  assert.notEqual(b.repo.config.id, a.repo.config.id);
});

test('an invalid chunker polynomial is refused at init', async () => {
  const p = await platform();
  await assert.rejects(
    initRepository(new MemBackend(), p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, chunkerPolynomial: 4n }),
    (e: unknown) => isCofferError(e),
  );
});

test('a second key (addKey) opens the same master key; both passwords work', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  const id2 = await addKey(backend, p, repo.key, 'second password', CHEAP_KDF, OWNER);
  assert.notEqual(id2, repo.keyId);
  const r1 = await openRepository(backend, p, { password: PASSWORD });
  const r2 = await openRepository(backend, p, { password: 'second password' });
  assert.equal(r1.keyId, repo.keyId);
  assert.equal(r2.keyId, id2);
  assert.ok(bytesEqual(r2.key.encrypt, repo.key.encrypt));
  assert.ok(bytesEqual(r2.key.macR, repo.key.macR));
  assert.equal(r2.config.id, repo.config.id);
  // Data sealed with one opens with the other.
  const sealed = r1.seal(utf8Encode('hello'));
  assert.deepEqual(r2.open(sealed, 'test'), utf8Encode('hello'));
  await assert.rejects(openRepository(backend, p, { password: 'third' }), code('wrong-password'));
});

test('keyHint: the hinted key is tried first', async () => {
  const p = await platform();
  const backend = new CountingBackend();
  const repo = await initRepository(backend, p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER });
  const ids = [repo.keyId];
  for (let i = 0; i < 4; i++) ids.push(await addKey(backend, p, repo.key, `pw${i}`, CHEAP_KDF, OWNER));
  for (const [i, id] of ids.entries()) {
    backend.keyGets = [];
    const r = await openRepository(backend, p, { password: i === 0 ? PASSWORD : `pw${i - 1}`, keyHint: id.slice(0, 8) });
    assert.equal(r.keyId, id);
    assert.deepEqual(backend.keyGets, [id], 'with a matching hint only the hinted key file is read');
  }
  // Without a hint every key may be tried, but the right one still wins.
  backend.keyGets = [];
  const r = await unlockMasterKey(backend, p, 'pw3');
  assert.equal(r.keyId, ids[4]);
  // A hint for the wrong key still falls back to the others.
  const r2 = await openRepository(backend, p, { password: 'pw3', keyHint: ids[0]! });
  assert.equal(r2.keyId, ids[4]);
});

test('a key file whose content does not match its name is corrupt', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  const bytes = await backend.get({ type: 'keys', name: repo.keyId });
  const copy = new Uint8Array(bytes);
  copy[copy.length - 2] ^= 1;
  backend.corrupt({ type: 'keys', name: repo.keyId }, copy);
  await assert.rejects(openRepository(backend, p, { password: PASSWORD }), code('corrupt'));
});

test('a tampered config is corrupt (not wrong-password)', async () => {
  const { backend, platform: p } = await newMemRepo();
  const h = { type: 'config' as const, name: '' };
  const bytes = new Uint8Array(await backend.get(h));
  bytes[20] ^= 0x40;
  backend.corrupt(h, bytes);
  await assert.rejects(openRepository(backend, p, { password: PASSWORD }), code('corrupt'));
});

test('a config with version 3 is unsupported', async () => {
  const { backend, repo, platform: p } = await newMemRepo();
  const json = `{"version":3,"id":"${repo.config.id}","chunker_polynomial":"${repo.config.chunkerPolynomial.toString(16)}"}`;
  backend.corrupt({ type: 'config', name: '' }, repo.seal(utf8Encode(json)));
  await assert.rejects(openRepository(backend, p, { password: PASSWORD }), code('unsupported'));
});

test('unpacked files: round trip, SHA-256 name check, v1 and v2 framing', async () => {
  for (const version of [1, 2] as const) {
    const { backend, repo } = await newMemRepo({ version });
    const json = utf8Encode('{"hello":"world","n":' + '1'.repeat(200) + '}');
    const id = await repo.saveUnpacked('snapshots', json);
    assert.deepEqual(await repo.loadUnpacked('snapshots', id), json);
    const stored = await backend.get({ type: 'snapshots', name: id });
    const plain = repo.open(stored, 'x');
    if (version === 1) assert.deepEqual(plain, json);
    else assert.equal(plain[0], 2, 'v2 unpacked files are zstd-framed');
    // Swap in another valid sealed file under the same name: caught by the hash check.
    backend.corrupt({ type: 'snapshots', name: id }, repo.seal(json));
    await assert.rejects(repo.loadUnpacked('snapshots', id), code('corrupt'));
    await assert.rejects(repo.loadUnpacked('snapshots', 'ab'.repeat(32)), code('not-found'));
  }
});

test('backend errors other than not-found pass through open unchanged', async () => {
  const p = await platform();
  const failing: Backend = Object.assign(new MemBackend(), {
    async get(): Promise<Uint8Array> {
      throw new CofferError('permission', 'denied');
    },
  });
  await assert.rejects(openRepository(failing, p, { password: PASSWORD }), code('permission'));
});
