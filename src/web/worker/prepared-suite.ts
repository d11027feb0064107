/**
 * @module web/worker/prepared-suite
 * The worker's CryptoSuite: the core's web suite (@noble), with the browser's native WebCrypto
 * doing the heavy work for file downloads. The core's suite is synchronous and WebCrypto is not,
 * so for a data blob the worker first *prepares* its results asynchronously (AES-256-CTR of the
 * ciphertext, SHA-256 of the plaintext) and then runs the core's own `openBlob` unchanged: it
 * verifies the MAC (Poly1305 in the core's WebAssembly, before anything is released), asks the
 * suite to decrypt and to hash, and gets the prepared results for exactly those bytes (a blob
 * stored compressed is authenticated by the core's open() before it is decompressed here). Every
 * other call (trees, snapshots, keys, anything unprepared) goes to @noble as before. No codec or
 * check is written twice: the core decides, WebCrypto only computes.
 *
 * Measured in Chromium here: @noble AES-CTR ~32 MiB/s, SHA-256 ~46 MiB/s; WebCrypto ~240 and
 * ~320 MiB/s; the core's wasm Poly1305 ~850 MiB/s against @noble's ~106 (wall, under load).
 * In renderer CPU seconds per GiB (Chromium 150, from /proc): WebCrypto AES-CTR 1.7-1.9 in
 * 1 MiB calls but 0.7-0.8 in 512 KiB calls, SHA-256 ~1.0, the wasm Poly1305 ~0.45, and any
 * fresh ArrayBuffer ~0.5 to fill: new memory, not the arithmetic, is most of what a byte costs.
 */
import { open as openSealed } from '../../core/crypto/sealed-box.js';
import { webCrypto } from '../../core/crypto/web.js';
import { createPoly1305Wasm } from '../../core/crypto/poly1305-wasm.js';
import type { Compressor } from '../../core/compress/compressor.js';
import type { CryptoSuite } from '../../core/crypto/suite.js';
import type { CryptoKey as MasterKey } from '../../core/format/types.js';
import { decodeStoredPieces } from './zstd-stored.js';

interface PreparedAes {
  readonly offset: number;
  readonly length: number;
  readonly iv: Uint8Array;
  readonly key: Uint8Array;
  readonly result: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}

interface PreparedMac {
  readonly offset: number;
  readonly length: number;
  readonly key: Uint8Array;
  readonly tag: Uint8Array;
}

/**
 * AES-CTR pieces: WebCrypto copies its input and output through buffers of the call's size, and
 * in this Chromium a buffer over ~1 MiB is fresh memory every time (mapped, faulted in, zeroed):
 * 1 MiB calls measured 1.7-1.9 CPU s per GiB against 0.8 in 512 KiB calls, whose buffers are reused.
 */
const CTR_PIECE = 512 * 1024;

/** `iv` + n as one 128-bit big-endian counter (mod 2^128): the counter block of the n-th AES block. */
export function counterAt(iv: Uint8Array, n: number): Uint8Array {
  const c = iv.slice(0, 16);
  for (let i = 15; i >= 0 && n > 0; i--) {
    const v = c[i]! + (n % 256);
    c[i] = v & 0xff;
    n = Math.floor(n / 256) + (v >> 8);
  }
  return c;
}

/** AES-256-CTR of `ct` (full 128-bit counter from `iv`, as restic) by WebCrypto, in pieces, into `into` or a new buffer. */
async function decryptCtr(key: CryptoKey, iv: Uint8Array, ct: Uint8Array, into?: Uint8Array): Promise<Uint8Array> {
  if (ct.length <= CTR_PIECE && !into) return new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CTR', counter: iv as Uint8Array<ArrayBuffer>, length: 128 }, key, ct as Uint8Array<ArrayBuffer>));
  const out = into ?? new Uint8Array(ct.length);
  if (out.length !== ct.length) throw new RangeError('output length differs from input length');
  for (let o = 0; o < ct.length; o += CTR_PIECE) {
    const part = ct.subarray(o, Math.min(ct.length, o + CTR_PIECE)) as Uint8Array<ArrayBuffer>;
    out.set(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CTR', counter: counterAt(iv, o / 16) as Uint8Array<ArrayBuffer>, length: 128 }, key, part)), o);
  }
  return out;
}

/** AES-256-CTR of `ct` by WebCrypto as its CTR_PIECE results, in order (each a fresh buffer, kept as it is). */
async function decryptPieces(key: CryptoKey, iv: Uint8Array, ct: Uint8Array): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = [];
  for (let o = 0; o < ct.length; o += CTR_PIECE) {
    const part = ct.subarray(o, Math.min(ct.length, o + CTR_PIECE)) as Uint8Array<ArrayBuffer>;
    parts.push(new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CTR', counter: counterAt(iv, o / 16) as Uint8Array<ArrayBuffer>, length: 128 }, key, part)));
  }
  return parts;
}

export class PreparedSuite implements CryptoSuite {
  readonly name = 'web (WebCrypto + wasm Poly1305 + noble)';
  private readonly aes = new WeakMap<ArrayBufferLike, PreparedAes[]>();
  private readonly digests = new WeakMap<Uint8Array, Uint8Array>();
  private readonly keys = new Map<Uint8Array, Promise<CryptoKey>>();
  /** Tags computed while `prepare` opened a compressed blob, for openBlob's own check of the same bytes. */
  private readonly macs = new WeakMap<ArrayBufferLike, PreparedMac[]>();
  private keepMacs = false;
  private readonly wasmPoly1305 = createPoly1305Wasm() ?? webCrypto.poly1305;
  readonly poly1305: CryptoSuite['poly1305'] = (key, msg) => {
    const list = this.macs.get(msg.buffer);
    const i = list ? list.findIndex((p) => p.offset === msg.byteOffset && p.length === msg.length && same(p.key, key)) : -1;
    if (i >= 0) return list!.splice(i, 1)[0]!.tag;
    const tag = this.wasmPoly1305(key, msg);
    if (this.keepMacs) {
      const l = list ?? [];
      l.push({ offset: msg.byteOffset, length: msg.length, key: key.slice(), tag: tag.slice() });
      this.macs.set(msg.buffer, l);
    }
    return tag;
  };
  readonly aes128Block = webCrypto.aes128Block;
  readonly scrypt = webCrypto.scrypt;
  readonly randomBytes = webCrypto.randomBytes;

  /**
   * Decrypts a sealed box's ciphertext ahead of the core's `open`; for a blob stored compressed
   * (`uncompressedLength` > 0) also decompresses it (frames of raw/RLE blocks straight from the
   * decryption's pieces, zstd-stored.ts; any other with `zstd`, the core's own, with the limits
   * `openBlob` gives) and hashes the plaintext. `zstd` must be this suite's `wrap`ped
   * compressor, which hands the prepared result back to `openBlob`. `into` (the ciphertext's
   * length) receives the decryption instead of a new buffer (of a blob stored uncompressed, or
   * a frame left to the library); the caller then must not reuse it before openBlob ran, and
   * must copy out a plaintext that is a view of it (a blob not stored compressed).
   */
  async prepare(key: MasterKey, sealed: Uint8Array, uncompressedLength: number, zstd: PreparedZstd, into?: Uint8Array): Promise<void> {
    if (sealed.length < 32 || !globalThis.crypto?.subtle) return;
    const iv = sealed.slice(0, 16);
    const ct = sealed.subarray(16, sealed.length - 16);
    let k = this.keys.get(key.encrypt);
    if (!k) {
      k = crypto.subtle.importKey('raw', new Uint8Array(key.encrypt) as Uint8Array<ArrayBuffer>, 'AES-CTR', false, ['decrypt']);
      this.keys.set(key.encrypt, k);
    }
    const remember = (result: Uint8Array): void => {
      const list = this.aes.get(ct.buffer) ?? [];
      list.push({ offset: ct.byteOffset, length: ct.length, iv, key: key.encrypt, result });
      this.aes.set(ct.buffer, list);
    };
    if (uncompressedLength === 0) {
      const result = await decryptCtr(await k, iv, ct, into);
      remember(result);
      this.digests.set(result, new Uint8Array(await crypto.subtle.digest('SHA-256', result as Uint8Array<ArrayBuffer>)));
      return;
    }
    // A compressed blob: its frame is decoded straight from WebCrypto's results, each block
    // copied once to its place in the blob's output, so there is no contiguous plaintext of the
    // frame. The core's open() (here, and openBlob's own) gets a stand-in for it, which only the
    // wrapped decompressor takes (and answers with the decoded frame); the SHA-256 of what comes
    // out is checked against the blob ID by openBlob as always.
    const stand = new Uint8Array(0);
    const pieces = decryptPieces(await k, iv, ct);
    pieces.catch(() => undefined); // awaited below unless the MAC check throws first
    // Nothing unauthenticated is parsed or reaches the decompressor: the core's open() checks the
    // MAC first (it runs before the first piece is awaited). The tag it computes is kept for
    // openBlob's check of these same bytes: one Poly1305 pass, not two.
    remember(stand);
    this.keepMacs = true;
    try {
      openSealed(this, key, sealed, 'data blob');
    } finally {
      this.keepMacs = false;
    }
    remember(stand);
    const parts = await pieces;
    let decompressed = decodeStoredPieces(parts, CTR_PIECE, uncompressedLength);
    if (!decompressed) {
      // Not a frame of raw/RLE blocks: the library decodes (or refuses) the whole plaintext.
      const plain = into && into.length === ct.length ? into : new Uint8Array(ct.length);
      parts.forEach((p, i) => plain.set(p, i * CTR_PIECE));
      decompressed = zstd.inner.decompress(plain, { expectedSize: uncompressedLength });
    }
    zstd.prepared.set(stand, decompressed);
    this.digests.set(decompressed, new Uint8Array(await crypto.subtle.digest('SHA-256', decompressed as Uint8Array<ArrayBuffer>)));
  }

  aes256Ctr(key: Uint8Array, iv: Uint8Array, data: Uint8Array, out?: Uint8Array): Uint8Array {
    const list = this.aes.get(data.buffer);
    const i = list ? list.findIndex((p) => p.offset === data.byteOffset && p.length === data.length && p.key === key && same(p.iv, iv)) : -1;
    if (i < 0 || out) return webCrypto.aes256Ctr(key, iv, data, out);
    const [p] = list!.splice(i, 1);
    return p!.result;
  }

  sha256(data: Uint8Array): Uint8Array {
    const d = this.digests.get(data);
    if (d) {
      this.digests.delete(data);
      return d;
    }
    return webCrypto.sha256(data);
  }
}

/** The core's zstd, handing back results `PreparedSuite.prepare` computed for exactly this input. */
export class PreparedZstd implements Compressor {
  readonly prepared = new WeakMap<Uint8Array, Uint8Array>();
  readonly name: string;
  constructor(readonly inner: Compressor) {
    this.name = inner.name;
  }
  compress(data: Uint8Array, level: number): Uint8Array {
    return this.inner.compress(data, level);
  }
  decompress(data: Uint8Array, limits?: { expectedSize?: number; maxSize?: number }): Uint8Array {
    const p = this.prepared.get(data);
    if (p && (limits?.expectedSize === undefined || p.length === limits.expectedSize)) {
      this.prepared.delete(data);
      return p;
    }
    return this.inner.decompress(data, limits);
  }
}
