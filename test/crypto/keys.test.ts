/**
 * Keys (spec §4.1, §5.2, §5.3): the user key of restic's tiny repositories from the password,
 * opening their key files to the master key JSON, master key JSON codec, new keys, calibration.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromBase64, fromHex, toHex, utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import type { CryptoKey } from '../../src/core/format/types.js';
import { open } from '../../src/core/crypto/sealed-box.js';
import { calibrateScrypt, decodeMasterKeyJson, DEFAULT_KDF, deriveUserKey, encodeMasterKeyJson, isValidKey, newMasterKey } from '../../src/core/crypto/keys.js';
import type { CryptoSuite } from '../../src/core/crypto/suite.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { readVector } from '../helpers/paths.js';

const tiny = readVector('tiny-repos.json');

async function checkRepoKey(s: CryptoSuite, repo: any): Promise<void> {
  const kf = JSON.parse(repo.key_file.raw_json);
  assert.equal(kf.kdf, 'scrypt');
  const salt = fromBase64(kf.salt);
  assert.equal(salt.length, 64);
  const dk = await s.scrypt(utf8Encode(repo.password), salt, { N: kf.N, r: kf.r, p: kf.p, dkLen: 64 });
  assert.equal(toHex(dk), repo.key_file.scrypt_output_64_hex);
  const user = await deriveUserKey(s, utf8Encode(repo.password), salt, kf);
  assert.equal(toHex(user.encrypt), repo.key_file.user_encrypt_key_hex);
  assert.equal(toHex(user.macK), repo.key_file.user_mac_k_hex);
  assert.equal(toHex(user.macR), repo.key_file.user_mac_r_hex);
  const json = open(s, user, fromBase64(kf.data), `keys/${repo.key_file.name}`);
  assert.equal(utf8Decode(json), repo.key_file.decrypted_data_master_key_json);
  const master = decodeMasterKeyJson(json);
  assert.equal(toHex(master.encrypt), repo.key_file.master.encrypt_hex);
  assert.equal(toHex(master.macK), repo.key_file.master.mac_k_hex);
  assert.equal(toHex(master.macR), repo.key_file.master.mac_r_hex);
  assert.ok(isValidKey(master));
  // Our encoder writes restic's exact bytes back.
  assert.equal(utf8Decode(encodeMasterKeyJson(master)), repo.key_file.decrypted_data_master_key_json);
  // The config opens with the master key.
  const cfg = JSON.parse(utf8Decode(open(s, master, fromHex(repo.config.file_hex), 'config')));
  assert.ok(cfg.version === 1 || cfg.version === 2);
}

test('node: user keys and master keys of repos/tiny-v1 and tiny-v2', { timeout: 60_000 }, async () => {
  assert.equal(tiny.repos.length, 2);
  for (const repo of tiny.repos) await checkRepoKey(nodeCrypto, repo);
});

test('web: user key and master key of repos/tiny-v2 (pure-JS scrypt, p=9)', { timeout: 180_000 }, async () => {
  await checkRepoKey(webCrypto, tiny.repos[1]);
});

test('wrong password fails authentication as corrupt', { timeout: 60_000 }, async () => {
  const repo = tiny.repos[0];
  const kf = JSON.parse(repo.key_file.raw_json);
  const user = await deriveUserKey(nodeCrypto, utf8Encode('not the password'), fromBase64(kf.salt), kf);
  assert.throws(() => open(nodeCrypto, user, fromBase64(kf.data), 'key'), (e: unknown) => isCofferError(e, 'corrupt'));
});

test('deriveUserKey rejects invalid scrypt parameters', async () => {
  for (const params of [{ N: 1000, r: 8, p: 1 }, { N: 1, r: 8, p: 1 }, { N: 1024, r: 0, p: 1 }, { N: 1024, r: 8, p: 0 }]) {
    await assert.rejects(deriveUserKey(nodeCrypto, utf8Encode('x'), new Uint8Array(64), params), (e: unknown) => isCofferError(e, 'corrupt'));
  }
});

test('newMasterKey: random, valid, r stored clamped; isValidKey rejects zero parts and bad sizes', () => {
  const a = newMasterKey(nodeCrypto);
  const b = newMasterKey(webCrypto);
  assert.ok(isValidKey(a) && isValidKey(b));
  assert.notDeepEqual(a.encrypt, b.encrypt);
  assert.equal(a.encrypt.length + a.macK.length + a.macR.length, 64);
  for (const i of [3, 7, 11, 15]) assert.equal(a.macR[i]! & 0xf0, 0);
  for (const i of [4, 8, 12]) assert.equal(a.macR[i]! & 3, 0);
  const zero = (k: CryptoKey, part: keyof CryptoKey): CryptoKey => ({ ...k, [part]: new Uint8Array(k[part].length) });
  for (const part of ['encrypt', 'macK', 'macR'] as const) assert.equal(isValidKey(zero(a, part)), false);
  assert.equal(isValidKey({ ...a, macK: new Uint8Array(15).fill(1) }), false);
});

test('master key JSON: exact form, round trip, and corrupt on malformed input', () => {
  const k = newMasterKey(nodeCrypto);
  const text = utf8Decode(encodeMasterKeyJson(k));
  assert.match(text, /^\{"mac":\{"k":"[A-Za-z0-9+/]{22}==","r":"[A-Za-z0-9+/]{22}=="\},"encrypt":"[A-Za-z0-9+/]{43}="\}$/);
  assert.deepEqual(decodeMasterKeyJson(encodeMasterKeyJson(k)), k);
  // Go matches keys case-insensitively.
  assert.deepEqual(decodeMasterKeyJson(utf8Encode(text.replace('"mac"', '"MAC"').replace('"encrypt"', '"Encrypt"'))), k);
  const bad = ['', 'null', '[]', '{}', '{"mac":{}}', text.replace(/"k":"[^"]*"/, '"k":"AAAA"'), text.replace(/"r":"[^"]*"/, '"r":"!!!!"'), text.replace(/"encrypt":"[^"]*"/, '"encrypt":5')];
  for (const b of bad) assert.throws(() => decodeMasterKeyJson(utf8Encode(b), 'keys/x'), (e: unknown) => isCofferError(e, 'corrupt') && (e as Error).message.startsWith('keys/x: '), b);
});

test('DEFAULT_KDF is restic-compatible', () => {
  assert.deepEqual({ ...DEFAULT_KDF }, { N: 32768, r: 8, p: 1 });
});

test('calibrateScrypt: memory cap, time target, minimums (fake suite and clock)', async () => {
  // A suite whose scrypt "takes" 10 ms per N=16384 lane on a fake clock, so the arithmetic is
  // exact whatever the machine's load.
  const calls: number[] = [];
  let clock = 0;
  const fake: CryptoSuite = {
    ...nodeCrypto,
    scrypt: async (_pw, _salt, { N, p }) => {
      calls.push(N);
      clock += (10 * N * p) / 16384;
      return new Uint8Array(64);
    },
  };
  const now = (): number => clock;
  const a = await calibrateScrypt(fake, 100, undefined, now);
  // 60 MiB allows N=32768 (32 MiB) but not 65536 (64 MiB); p fills 100 ms at 20 ms per lane.
  assert.equal(a.N, 32768);
  assert.equal(a.r, 8);
  assert.equal(a.p, 5);
  assert.ok(calls.length <= 2, 'at most two probe derivations');
  const b = await calibrateScrypt(fake, 100, 16 * 1024 * 1024, now);
  assert.equal(b.N, 16384);
  const c = await calibrateScrypt(fake, 1, undefined, now);
  assert.deepEqual(c, { N: 16384, r: 8, p: 1 });
});

// Its time is printed, not asserted (a loaded machine must not fail a test).
test('calibrateScrypt with the node suite returns usable parameters', { timeout: 30_000 }, async () => {
  const t0 = performance.now();
  const k = await calibrateScrypt(nodeCrypto);
  const ms = performance.now() - t0;
  assert.ok(k.N >= 16384 && (k.N & (k.N - 1)) === 0 && 128 * k.r * k.N <= 60 * 1024 * 1024, JSON.stringify(k));
  assert.ok(k.p >= 1 && k.p <= 64);
  console.log(`calibrateScrypt(node) -> ${JSON.stringify(k)} in ${ms.toFixed(0)} ms`);
});
