/**
 * Both CryptoSuites (node:crypto and @noble) on the RFC and restic vectors (crypto.json), and
 * against each other on random inputs: CTR at odd lengths/offsets and across the 2^128 counter
 * wrap, SHA-256, scrypt (RFC 7914 vector), random bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { fromHex, toHex, utf8Encode } from '../../src/core/bytes.js';
import type { CryptoSuite } from '../../src/core/crypto/suite.js';
import { webCrypto } from '../../src/core/crypto/web.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { createPoly1305Wasm } from '../../src/core/crypto/poly1305-wasm.js';
import { readVector } from '../helpers/paths.js';

const SUITES: CryptoSuite[] = [nodeCrypto, webCrypto];
const vec = readVector('crypto.json');

for (const s of SUITES) {
  test(`${s.name}: Poly1305 RFC 8439 §2.5.2`, () => {
    const v = vec.poly1305_rfc8439_2_5_2;
    assert.equal(toHex(s.poly1305(fromHex(v.key_r_then_s_hex), utf8Encode(v.message_ascii))), v.tag_hex);
  });

  test(`${s.name}: restic seal vectors, primitive by primitive`, () => {
    const v = vec.restic_seal;
    assert.ok(v.cases.length >= 3);
    for (const c of v.cases) {
      const iv = fromHex(c.nonce_hex);
      const sv = s.aes128Block(fromHex(v.mac_k_hex), iv);
      assert.equal(toHex(sv), c.poly1305_s_hex);
      const ct = s.aes256Ctr(fromHex(v.encrypt_key_hex), iv, fromHex(c.plaintext_hex));
      for (const r of [v.mac_r_hex_unclamped, v.mac_r_hex_clamped]) {
        const mac = s.poly1305(fromHex(r + c.poly1305_s_hex), ct);
        assert.equal(c.nonce_hex + toHex(ct) + toHex(mac), c.sealed_hex);
      }
    }
  });

  test(`${s.name}: SHA-256 known answers`, () => {
    assert.equal(toHex(s.sha256(utf8Encode('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(toHex(s.sha256(new Uint8Array(0))), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });

  test(`${s.name}: scrypt RFC 7914 vector (N=1024 r=8 p=16)`, async () => {
    const dk = await s.scrypt(utf8Encode('password'), utf8Encode('NaCl'), { N: 1024, r: 8, p: 16, dkLen: 64 });
    assert.equal(
      toHex(dk),
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    );
  });

  test(`${s.name}: CTR counter wraps around 2^128 (IV ff..ff)`, () => {
    const key = nc.randomBytes(32);
    const iv = new Uint8Array(16).fill(0xff);
    const data = new Uint8Array(nc.randomBytes(40));
    // Independent keystream: AES-256-ECB of the counter blocks ff..ff, 00..00, 00..01.
    const blocks = Buffer.concat([Buffer.alloc(16, 0xff), Buffer.alloc(16), Buffer.from('00000000000000000000000000000001', 'hex')]);
    const ecb = nc.createCipheriv('aes-256-ecb', key, null).setAutoPadding(false);
    const ks = Buffer.concat([ecb.update(blocks), ecb.final()]);
    const expected = data.map((b, i) => b ^ ks[i]!);
    assert.deepEqual(s.aes256Ctr(key, iv, data), expected);
    assert.deepEqual([...iv], new Array(16).fill(0xff), 'IV untouched');
  });

  test(`${s.name}: randomBytes`, () => {
    const big = s.randomBytes(200_000);
    assert.equal(big.length, 200_000);
    // Every 64 KiB piece was filled (a missed piece would be all zero).
    for (let o = 0; o < big.length; o += 65536) assert.ok(big.subarray(o, o + 4096).some((b) => b !== 0));
    assert.notDeepEqual(s.randomBytes(16), s.randomBytes(16));
    assert.equal(s.randomBytes(0).length, 0);
  });

  test(`${s.name}: aes256Ctr writes into \`out\` (aligned and unaligned)`, () => {
    const key = nc.randomBytes(32);
    const iv = nc.randomBytes(16);
    const data = new Uint8Array(nc.randomBytes(1001));
    const want = s.aes256Ctr(key, iv, data);
    for (const off of [0, 1, 16, 17]) {
      const buf = new Uint8Array(off + data.length + 3);
      const out = buf.subarray(off, off + data.length);
      assert.equal(s.aes256Ctr(key, iv, data, out), out);
      assert.deepEqual(out, want);
      assert.equal(buf[off + data.length], 0, 'nothing written past out');
    }
  });

  test(`${s.name}: outputs are plain Uint8Arrays`, () => {
    for (const b of [s.sha256(new Uint8Array(3)), s.randomBytes(8), s.aes128Block(new Uint8Array(16), new Uint8Array(16)), s.aes256Ctr(new Uint8Array(32), new Uint8Array(16), new Uint8Array(5))]) {
      assert.equal(Object.getPrototypeOf(b), Uint8Array.prototype);
    }
  });
}

test('node and web suites agree on random inputs (odd lengths and offsets)', () => {
  const lengths = [0, 1, 15, 16, 17, 31, 33, 63, 64, 65, 100, 255, 1000, 4097, 65537];
  for (const len of lengths) {
    for (const off of [0, 1, 3]) {
      const backing = new Uint8Array(nc.randomBytes(len + off + 5));
      const data = backing.subarray(off, off + len);
      const key32 = new Uint8Array(nc.randomBytes(32));
      const iv = new Uint8Array(nc.randomBytes(16));
      // Counter near a carry across several bytes.
      if (len % 2) iv.fill(0xff, 8);
      assert.deepEqual(webCrypto.aes256Ctr(key32, iv, data), nodeCrypto.aes256Ctr(key32, iv, data), `ctr len ${len} off ${off}`);
      assert.deepEqual(webCrypto.sha256(data), nodeCrypto.sha256(data), `sha256 len ${len}`);
      assert.deepEqual(webCrypto.poly1305(key32, data), nodeCrypto.poly1305(key32, data));
      assert.deepEqual(webCrypto.aes128Block(key32.subarray(0, 16), iv), nodeCrypto.aes128Block(key32.subarray(0, 16), iv));
    }
  }
});

test('node and web scrypt agree on small parameters', async () => {
  for (const [N, r, p] of [[2, 1, 1], [16, 1, 1], [1024, 8, 1], [256, 4, 3]] as const) {
    const pw = new Uint8Array(nc.randomBytes(N % 7));
    const salt = new Uint8Array(nc.randomBytes(64));
    const a = await nodeCrypto.scrypt(pw, salt, { N, r, p, dkLen: 64 });
    const b = await webCrypto.scrypt(pw, salt, { N, r, p, dkLen: 64 });
    assert.equal(a.length, 64);
    assert.deepEqual(a, b, `N=${N} r=${r} p=${p}`);
  }
});

test('node scrypt allows restic-sized parameters (N=32768 r=8 p=9)', async () => {
  const dk = await nodeCrypto.scrypt(utf8Encode('x'), new Uint8Array(64), { N: 32768, r: 8, p: 9, dkLen: 64 });
  assert.equal(dk.length, 64);
});

test('WebAssembly Poly1305: RFC 8439 A.3 edge cases and agreement with @noble', () => {
  const wasmPoly = createPoly1305Wasm();
  assert.ok(wasmPoly, 'WebAssembly available in Node');
  const z = '00'.repeat(16);
  // [key r‖s, message, tag]: the carry and final-reduction corner cases of RFC 8439 Appendix A.3.
  const a3: [string, string, string][] = [
    ['02' + '00'.repeat(15) + z, 'ff'.repeat(16), '03' + '00'.repeat(15)],
    ['02' + '00'.repeat(15) + 'ff'.repeat(16), '02' + '00'.repeat(15), '03' + '00'.repeat(15)],
    ['01' + '00'.repeat(15) + z, 'ff'.repeat(16) + 'f0' + 'ff'.repeat(15) + '11' + '00'.repeat(15), '05' + '00'.repeat(15)],
    ['01' + '00'.repeat(15) + z, 'ff'.repeat(16) + 'fbfe' + 'fe'.repeat(14) + '01'.repeat(16), '00'.repeat(16)],
    ['02' + '00'.repeat(15) + z, 'fd' + 'ff'.repeat(15), 'fa' + 'ff'.repeat(15)],
    ['0100000000000000040000000000000000000000000000000000000000000000', 'e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000000000000000000001000000000000000000000000000000', '14000000000000005500000000000000'],
    ['0100000000000000040000000000000000000000000000000000000000000000', 'e33594d7505e43b900000000000000003394d7505e4379cd010000000000000000000000000000000000000000000000', '13000000000000000000000000000000'],
  ];
  for (const [k, m, tag] of a3) {
    assert.equal(toHex(wasmPoly(fromHex(k), fromHex(m))), tag, `wasm ${m}`);
    assert.equal(toHex(webCrypto.poly1305(fromHex(k), fromHex(m))), tag, `noble ${m}`);
  }
  for (let i = 0; i < 2000; i++) {
    const key = new Uint8Array(nc.randomBytes(32));
    const msg = new Uint8Array(nc.randomBytes((i * 37) % 400 + (i % 50 === 0 ? 140_000 : 0)));
    if (i % 5 === 0) msg.fill(0xff);
    if (i % 7 === 0) key.fill(0xff);
    assert.deepEqual(wasmPoly(key, msg), webCrypto.poly1305(key, msg), `case ${i}`);
  }
});
