/**
 * Sealed boxes (spec §4.2) with both suites: restic vectors, round trips, cross-suite, and that
 * every tampering (any bit, truncation, zero IV, wrong key) is reported as corrupt.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import type { CryptoKey } from '../../src/core/format/types.js';
import { open, seal, SEAL_OVERHEAD } from '../../src/core/crypto/sealed-box.js';
import { newMasterKey } from '../../src/core/crypto/keys.js';
import type { CryptoSuite } from '../../src/core/crypto/suite.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { readVector } from '../helpers/paths.js';

const SUITES: CryptoSuite[] = [nodeCrypto, webCrypto];
const v = readVector('crypto.json').restic_seal;

function vectorKey(clamped: boolean): CryptoKey {
  return { encrypt: fromHex(v.encrypt_key_hex), macK: fromHex(v.mac_k_hex), macR: fromHex(clamped ? v.mac_r_hex_clamped : v.mac_r_hex_unclamped) };
}

function assertCorrupt(fn: () => unknown, msg?: string): void {
  assert.throws(fn, (e: unknown) => isCofferError(e, 'corrupt'), msg);
}

for (const s of SUITES) {
  test(`${s.name}: seal/open reproduce every restic_seal vector`, () => {
    for (const clamped of [false, true]) {
      const key = vectorKey(clamped);
      for (const c of v.cases) {
        assert.equal(toHex(seal(s, key, fromHex(c.plaintext_hex), fromHex(c.nonce_hex))), c.sealed_hex);
        assert.equal(toHex(open(s, key, fromHex(c.sealed_hex), 'vector')), c.plaintext_hex);
      }
    }
  });

  test(`${s.name}: round trips with random IVs`, () => {
    const key = newMasterKey(s);
    for (const n of [0, 1, 16, 17, 1000, 65536 + 3]) {
      const p = new Uint8Array(nc.randomBytes(n));
      const box = seal(s, key, p);
      assert.equal(box.length, n + SEAL_OVERHEAD);
      assert.deepEqual(open(s, key, box, 'x'), p);
      // Fresh IV each time.
      assert.notDeepEqual(seal(s, key, p).subarray(0, 16), box.subarray(0, 16));
    }
  });

  test(`${s.name}: any flipped bit is detected`, () => {
    const key = newMasterKey(s);
    const box = seal(s, key, new Uint8Array(nc.randomBytes(21)));
    for (let bit = 0; bit < box.length * 8; bit++) {
      const bad = box.slice();
      bad[bit >> 3]! ^= 1 << (bit & 7);
      assertCorrupt(() => open(s, key, bad, 'box'), `bit ${bit}`);
    }
  });

  test(`${s.name}: short boxes, zero IV and wrong keys are corrupt with the object named`, () => {
    const key = newMasterKey(s);
    for (const n of [0, 1, 16, 31]) assertCorrupt(() => open(s, key, new Uint8Array(n), 'short'));
    const box = seal(s, key, new Uint8Array([1, 2, 3]));
    const zeroIv = box.slice();
    zeroIv.fill(0, 0, 16);
    assertCorrupt(() => open(s, key, zeroIv, 'zero'));
    assert.throws(() => open(s, newMasterKey(s), box, 'snapshots/abc'), (e: unknown) => isCofferError(e, 'corrupt') && /^snapshots\/abc: ciphertext verification failed \(wrong key or damaged data\)$/.test((e as Error).message));
    assert.throws(() => seal(s, key, new Uint8Array(1), new Uint8Array(16)), RangeError);
  });

  test(`${s.name}: open takes a view into a larger buffer`, () => {
    const key = newMasterKey(s);
    const p = new Uint8Array(nc.randomBytes(77));
    const box = seal(s, key, p);
    const big = new Uint8Array(box.length + 10);
    big.set(box, 3);
    assert.deepEqual(open(s, key, big.subarray(3, 3 + box.length), 'view'), p);
  });
}

test('node seals, web opens, and vice versa', () => {
  const key = newMasterKey(nodeCrypto);
  for (const n of [0, 5, 4096, 100_001]) {
    const p = new Uint8Array(nc.randomBytes(n));
    assert.deepEqual(open(webCrypto, key, seal(nodeCrypto, key, p), 'x'), p);
    assert.deepEqual(open(nodeCrypto, key, seal(webCrypto, key, p), 'x'), p);
  }
});

test('mac.r is clamped whether stored clamped or not', () => {
  const key = newMasterKey(nodeCrypto);
  const unclamped: CryptoKey = { ...key, macR: key.macR.map((b, i) => ([3, 7, 11, 15].includes(i) ? b | 0xf0 : [4, 8, 12].includes(i) ? b | 3 : b)) };
  const iv = new Uint8Array(nc.randomBytes(16));
  const p = new Uint8Array(nc.randomBytes(50));
  assert.deepEqual(seal(nodeCrypto, key, p, iv), seal(nodeCrypto, unclamped, p, iv));
  assert.deepEqual(seal(webCrypto, key, p, iv), seal(webCrypto, unclamped, p, iv));
});
