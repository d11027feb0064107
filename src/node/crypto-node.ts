/**
 * @module node/crypto-node
 * `nodeCrypto`: the CryptoSuite (core/crypto/suite.ts) backed by node:crypto (OpenSSL, AES-NI)
 * for SHA-256, AES-256-CTR, the single AES-128 block and scrypt (spec §4.2, §5.2). Node has no
 * raw Poly1305: that one comes from core/crypto/poly1305-wasm.ts (about 6x @noble's speed; it
 * bounded sealing at ~360 MB/s), falling back to @noble's if WebAssembly is unavailable.
 */
import * as crypto from 'node:crypto';
import { poly1305 as noblePoly1305 } from '../core/crypto/web.js';
import { createPoly1305Wasm } from '../core/crypto/poly1305-wasm.js';
import type { CryptoSuite } from '../core/crypto/suite.js';

/**
 * A plain Uint8Array for a Buffer node:crypto returned. Small Buffers live in Node's shared pool;
 * handing out a view of the pool would surprise a caller that transfers `.buffer` to a worker.
 */
function plain(buf: Buffer): Uint8Array {
  if (buf.byteOffset === 0 && buf.buffer.byteLength === buf.length) return new Uint8Array(buf.buffer, 0, buf.length);
  return new Uint8Array(buf);
}

function aes256Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
  if (key.length !== 32) throw new RangeError('AES-256 key must be 32 bytes');
  if (iv.length !== 16) throw new RangeError('CTR IV must be 16 bytes');
  if (out !== undefined && out.length !== data.length) throw new RangeError('output length differs from input length');
  // OpenSSL's CTR increments the whole 16-byte block big-endian with wrap-around, as §4.2 requires.
  const c = crypto.createCipheriv('aes-256-ctr', key, iv);
  const ct = c.update(data);
  // CTR is a stream mode: final() yields nothing, but it releases the OpenSSL context.
  c.final();
  if (out === undefined) return plain(ct);
  out.set(ct);
  return out;
}

/**
 * One ECB cipher per key object, reused: every sealed box needs one AES-128 block (its Poly1305
 * key), and creating an OpenSSL context per blob was a measurable share of opening many small
 * blobs. ECB without padding keeps no state between whole blocks, so each update() is one
 * independent block encryption. Keyed by the key array itself (a repository's key lives as long
 * as the repository); a copy of the key is taken, so a caller changing its array cannot desync it.
 */
const ecbByKey = new WeakMap<Uint8Array, { key: Uint8Array; cipher: crypto.Cipher }>();

function aes128Block(key: Uint8Array, block: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new RangeError('AES-128 key must be 16 bytes');
  if (block.length !== 16) throw new RangeError('AES block must be 16 bytes');
  let e = ecbByKey.get(key);
  if (!e || !crypto.timingSafeEqual(e.key, key)) {
    const cipher = crypto.createCipheriv('aes-128-ecb', key, null);
    cipher.setAutoPadding(false);
    ecbByKey.set(key, (e = { key: new Uint8Array(key), cipher }));
  }
  const out = e.cipher.update(block);
  if (out.length !== 16) throw new Error('AES-128-ECB returned a partial block');
  return plain(out);
}

function scrypt(password: Uint8Array, salt: Uint8Array, params: { N: number; r: number; p: number; dkLen: number }): Promise<Uint8Array> {
  const { N, r, p, dkLen } = params;
  // OpenSSL needs 128·r·(N+2) bytes for V plus 128·r·p for B; Node's default cap is 32 MiB,
  // which restic's N=32768 r=8 already exceeds. The cap is a limit, not an allocation.
  const maxmem = 128 * r * (N + 2) + 128 * r * p + (16 << 20);
  return new Promise((resolve, reject) => {
    crypto.scrypt(password, salt, dkLen, { N, r, p, maxmem }, (err, key) => (err ? reject(err) : resolve(plain(key))));
  });
}

const poly1305 = createPoly1305Wasm() ?? noblePoly1305;

export const nodeCrypto: CryptoSuite = {
  name: 'node',
  sha256: (data) => plain(crypto.createHash('sha256').update(data).digest()),
  aes256Ctr,
  aes128Block,
  poly1305,
  scrypt,
  randomBytes: (n) => plain(crypto.randomBytes(n)),
};
