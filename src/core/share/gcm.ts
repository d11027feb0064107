/**
 * @module share/gcm
 * Chunk sealing and opening for share files through WebCrypto's AES-GCM when the platform has it
 * (Node ≥ 19, browsers in a secure context: https or localhost), else @noble/ciphers. The bytes
 * are the same (crypto/chunked-gcm.ts's layout, standard GCM); WebCrypto is simply much faster
 * (noble's pure-JS GCM runs at about 10 MB/s, which a video would feel).
 */
import { gcm } from '@noble/ciphers/aes.js';
import { chunkNonce, KEY_SIZE } from '../crypto/chunked-gcm.js';
import { corrupt } from '../errors.js';

export interface ChunkCipher {
  seal(prefix: Uint8Array, index: number, final: boolean, plain: Uint8Array): Promise<Uint8Array>;
  /** Throws 'corrupt' when the chunk does not authenticate. */
  open(prefix: Uint8Array, index: number, final: boolean, sealed: Uint8Array, what: string): Promise<Uint8Array>;
}

type Subtle = SubtleCrypto;

function subtleCrypto(): Subtle | undefined {
  const c = (globalThis as { crypto?: { subtle?: Subtle } }).crypto;
  return c?.subtle;
}

function nobleCipher(key: Uint8Array): ChunkCipher {
  return {
    seal: async (prefix, index, final, plain) => gcm(key, chunkNonce(prefix, index, final)).encrypt(plain),
    open: async (prefix, index, final, sealed, what) => {
      try {
        return gcm(key, chunkNonce(prefix, index, final)).decrypt(sealed);
      } catch {
        throw corrupt(what, `sealed chunk ${index} failed authentication (wrong key, or damaged, truncated or reordered data)`);
      }
    },
  };
}

/** A cipher for one file's key; `noble: true` forces the pure-JS path (tests compare both). */
export async function chunkCipher(key: Uint8Array, o: { noble?: boolean } = {}): Promise<ChunkCipher> {
  if (key.length !== KEY_SIZE) throw new RangeError('key must be 32 bytes');
  const subtle = o.noble ? undefined : subtleCrypto();
  if (!subtle) return nobleCipher(key);
  let k: CryptoKey;
  try {
    k = await subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } catch {
    return nobleCipher(key);
  }
  return {
    seal: async (prefix, index, final, plain) => new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: chunkNonce(prefix, index, final) as Uint8Array<ArrayBuffer> }, k, plain as Uint8Array<ArrayBuffer>)),
    open: async (prefix, index, final, sealed, what) => {
      try {
        return new Uint8Array(await subtle.decrypt({ name: 'AES-GCM', iv: chunkNonce(prefix, index, final) as Uint8Array<ArrayBuffer> }, k, sealed as Uint8Array<ArrayBuffer>));
      } catch {
        throw corrupt(what, `sealed chunk ${index} failed authentication (wrong key, or damaged, truncated or reordered data)`);
      }
    },
  };
}
