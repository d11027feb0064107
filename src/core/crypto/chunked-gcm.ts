/**
 * @module crypto/chunked-gcm
 * The sealed stream of share links and inbox items (design web-gallery.md §6, §7): a file cut in
 * 1 MiB chunks, each sealed with AES-256-GCM under one key, so a big file is sealed and opened a
 * chunk at a time and any chunk can be read alone (a Range request for a video's middle).
 *
 * Layout: prefix (7 random bytes, once per stream) ‖ chunk₀ ‖ … ‖ chunkₙ₋₁, where chunkᵢ is the
 * GCM ciphertext and tag of plaintext bytes [i·C, (i+1)·C) with nonce = prefix ‖ uint32be(i) ‖
 * final (1 if i = n−1, else 0). n = max(1, ⌈size / C⌉): an empty file is one empty final chunk.
 * The index in the nonce stops reordering, the final flag stops truncation at a chunk boundary,
 * and a key derived per file (`deriveKey`) stops swapping files between streams.
 *
 * Plain AES-GCM and HKDF-SHA256 from @noble (no home-made crypto); any standard GCM (WebCrypto,
 * node:crypto) opens these chunks too, which faster edges may use for the same bytes.
 */
import { gcm } from '@noble/ciphers/aes.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import { corrupt } from '../errors.js';

/** Plaintext bytes per chunk. */
export const CHUNK_SIZE = 1 << 20;
export const TAG_SIZE = 16;
export const PREFIX_SIZE = 7;
export const KEY_SIZE = 32;

/** HKDF-SHA256 (RFC 5869) to a 32-byte key; `info` is a text label. */
export function deriveKey(ikm: Uint8Array, salt: Uint8Array, info: string): Uint8Array {
  return hkdf(sha256, ikm, salt, new TextEncoder().encode(info), KEY_SIZE);
}

/** Chunks of a stream holding `size` plaintext bytes. */
export function chunkCount(size: number): number {
  if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad plaintext size ${size}`);
  return Math.max(1, Math.ceil(size / CHUNK_SIZE));
}

/** Bytes of the sealed stream of `size` plaintext bytes. */
export function sealedSize(size: number): number {
  return PREFIX_SIZE + size + chunkCount(size) * TAG_SIZE;
}

/** Where chunk `index` lies in the sealed stream of `size` plaintext bytes. */
export function chunkRange(size: number, index: number): { offset: number; length: number; final: boolean } {
  const n = chunkCount(size);
  if (!Number.isInteger(index) || index < 0 || index >= n) throw new RangeError(`chunk ${index} out of range (0..${n - 1})`);
  const plain = index < n - 1 ? CHUNK_SIZE : size - (n - 1) * CHUNK_SIZE;
  return { offset: PREFIX_SIZE + index * (CHUNK_SIZE + TAG_SIZE), length: plain + TAG_SIZE, final: index === n - 1 };
}

/** The 12-byte GCM nonce of chunk `index` (for edges that seal or open chunks with WebCrypto). */
export function chunkNonce(prefix: Uint8Array, index: number, final: boolean): Uint8Array {
  return nonceOf(prefix, index, final);
}

function nonceOf(prefix: Uint8Array, index: number, final: boolean): Uint8Array {
  if (prefix.length !== PREFIX_SIZE) throw new RangeError('nonce prefix must be 7 bytes');
  if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new RangeError(`chunk index ${index} out of range`);
  const nonce = new Uint8Array(12);
  nonce.set(prefix, 0);
  new DataView(nonce.buffer).setUint32(PREFIX_SIZE, index, false);
  nonce[11] = final ? 1 : 0;
  return nonce;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== KEY_SIZE) throw new RangeError('key must be 32 bytes');
}

/** Seals one stream chunk by chunk: write `header` first, then each `seal(chunk, final)` in order. */
export class StreamSealer {
  readonly header: Uint8Array;
  private index = 0;
  private done = false;

  /** `prefix` is for test vectors only; normally 7 fresh random bytes. */
  constructor(private readonly key: Uint8Array, prefix?: Uint8Array) {
    checkKey(key);
    this.header = prefix ? Uint8Array.from(prefix) : randomBytes(PREFIX_SIZE);
    if (this.header.length !== PREFIX_SIZE) throw new RangeError('nonce prefix must be 7 bytes');
  }

  /** Seals the next chunk: exactly CHUNK_SIZE bytes unless it is the final one (at most that). */
  seal(chunk: Uint8Array, final: boolean): Uint8Array {
    if (this.done) throw new Error('stream already finished');
    if (chunk.length > CHUNK_SIZE || (!final && chunk.length !== CHUNK_SIZE)) {
      throw new RangeError(`a ${final ? 'final' : 'middle'} chunk cannot hold ${chunk.length} bytes`);
    }
    const out = gcm(this.key, nonceOf(this.header, this.index, final)).encrypt(chunk);
    this.index++;
    this.done = final;
    return out;
  }
}

/** Opens chunk `index` of a stream (its sealed bytes as `chunkRange` gives them). */
export function openChunk(key: Uint8Array, header: Uint8Array, index: number, final: boolean, sealed: Uint8Array, what: string): Uint8Array {
  checkKey(key);
  if (header.length !== PREFIX_SIZE) throw corrupt(what, 'sealed stream header is too short');
  if (sealed.length < TAG_SIZE || sealed.length > CHUNK_SIZE + TAG_SIZE) throw corrupt(what, `sealed chunk ${index} has a bad length (${sealed.length} bytes)`);
  try {
    return gcm(key, nonceOf(header, index, final)).decrypt(sealed);
  } catch {
    throw corrupt(what, `sealed chunk ${index} failed authentication (wrong key, or damaged, truncated or reordered data)`);
  }
}

/** Seals a whole buffer into one stream. */
export function sealBytes(key: Uint8Array, plaintext: Uint8Array, prefix?: Uint8Array): Uint8Array {
  const sealer = new StreamSealer(key, prefix);
  const out = new Uint8Array(sealedSize(plaintext.length));
  out.set(sealer.header, 0);
  const n = chunkCount(plaintext.length);
  let at = PREFIX_SIZE;
  for (let i = 0; i < n; i++) {
    const c = sealer.seal(plaintext.subarray(i * CHUNK_SIZE, Math.min(plaintext.length, (i + 1) * CHUNK_SIZE)), i === n - 1);
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * The plaintext size of a sealed stream of `sealedLength` bytes, or a 'corrupt' error when no
 * plaintext size gives that length (a stream cut inside a tag, or not a stream at all).
 */
export function plainSizeOf(sealedLength: number, what: string): number {
  const body = sealedLength - PREFIX_SIZE;
  const full = CHUNK_SIZE + TAG_SIZE;
  if (body < TAG_SIZE) throw corrupt(what, `sealed stream too short (${sealedLength} bytes)`);
  const whole = Math.floor(body / full);
  const rest = body - whole * full;
  // A last partial chunk needs at least its tag; a stream of whole chunks ends exactly on one.
  if (rest === 0) return whole * CHUNK_SIZE;
  if (rest < TAG_SIZE) throw corrupt(what, `sealed stream has a cut chunk (${sealedLength} bytes)`);
  return whole * CHUNK_SIZE + rest - TAG_SIZE;
}

/** Opens a whole sealed stream. Any damage, truncation or reordering throws 'corrupt'. */
export function openBytes(key: Uint8Array, sealed: Uint8Array, what: string): Uint8Array {
  const size = plainSizeOf(sealed.length, what);
  const header = sealed.subarray(0, PREFIX_SIZE);
  const n = chunkCount(size);
  const out = new Uint8Array(size);
  for (let i = 0; i < n; i++) {
    const r = chunkRange(size, i);
    out.set(openChunk(key, header, i, r.final, sealed.subarray(r.offset, r.offset + r.length), what), i * CHUNK_SIZE);
  }
  return out;
}
