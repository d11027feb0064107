/**
 * @module inbox/seal
 * Sealing for the inbox (design web-gallery.md §6): anyone who knows the inbox's public key (the
 * watched-folder scanner of `coffer web`, which has no password; a phone's browser) can seal a
 * file that only the holder of the private key (kept in the repository) can open.
 *
 * One sealed file: ephemeral X25519 public key (32 bytes) ‖ the chunked AES-256-GCM stream of
 * crypto/chunked-gcm.ts, keyed by HKDF-SHA256(ikm = X25519(ephemeral, recipient), salt =
 * ephemeral public ‖ recipient public, info = "coffer-inbox-v1"). A fresh ephemeral key per file,
 * so no two files share a stream key. X25519 from @noble/curves (no home-made crypto).
 */
import { x25519 } from '@noble/curves/ed25519.js';
import { concatBytes } from '../bytes.js';
import { corrupt } from '../errors.js';
import {
  CHUNK_SIZE, PREFIX_SIZE, StreamSealer, chunkCount, chunkRange, deriveKey, openBytes, openChunk, plainSizeOf,
} from '../crypto/chunked-gcm.js';

export const INBOX_INFO = 'coffer-inbox-v1';
export const PUBLIC_KEY_SIZE = 32;
/** Bytes before the first chunk: the ephemeral public key and the stream's nonce prefix. */
export const SEALED_HEADER_SIZE = PUBLIC_KEY_SIZE + PREFIX_SIZE;

export interface InboxKeyPair {
  readonly publicKey: Uint8Array;
  readonly privateKey: Uint8Array;
}

export function generateInboxKeyPair(): InboxKeyPair {
  const privateKey = x25519.utils.randomSecretKey();
  return { privateKey, publicKey: x25519.getPublicKey(privateKey) };
}

/** The public key of a private key (to check a stored pair, or to recover the public half). */
export function inboxPublicKey(privateKey: Uint8Array): Uint8Array {
  return x25519.getPublicKey(privateKey);
}

function streamKey(shared: Uint8Array, ephemeralPublic: Uint8Array, recipientPublic: Uint8Array): Uint8Array {
  return deriveKey(shared, concatBytes(ephemeralPublic, recipientPublic), INBOX_INFO);
}

/** Seals a file chunk by chunk for `recipientPublic`: write `header`, then each `seal()` in order. */
export class InboxSealer {
  readonly header: Uint8Array;
  private readonly stream: StreamSealer;

  constructor(recipientPublic: Uint8Array) {
    if (recipientPublic.length !== PUBLIC_KEY_SIZE) throw new RangeError('inbox public key must be 32 bytes');
    const eph = x25519.utils.randomSecretKey();
    const ephPublic = x25519.getPublicKey(eph);
    this.stream = new StreamSealer(streamKey(x25519.getSharedSecret(eph, recipientPublic), ephPublic, recipientPublic));
    this.header = concatBytes(ephPublic, this.stream.header);
  }

  /** The next chunk: exactly CHUNK_SIZE bytes unless final. */
  seal(chunk: Uint8Array, final: boolean): Uint8Array {
    return this.stream.seal(chunk, final);
  }
}

/** Seals a whole buffer. */
export function sealForInbox(recipientPublic: Uint8Array, plaintext: Uint8Array): Uint8Array {
  const sealer = new InboxSealer(recipientPublic);
  const parts: Uint8Array[] = [sealer.header];
  const n = chunkCount(plaintext.length);
  for (let i = 0; i < n; i++) parts.push(sealer.seal(plaintext.subarray(i * CHUNK_SIZE, Math.min(plaintext.length, (i + 1) * CHUNK_SIZE)), i === n - 1));
  return concatBytes(...parts);
}

/** Opens sealed files for one key pair; chunk-wise for big files (`chunk`), whole for small ones. */
export class InboxOpener {
  constructor(private readonly pair: InboxKeyPair) {}

  private keyOf(header: Uint8Array, what: string): Uint8Array {
    if (header.length < SEALED_HEADER_SIZE) throw corrupt(what, 'sealed inbox file is too short');
    const ephPublic = header.subarray(0, PUBLIC_KEY_SIZE);
    let shared: Uint8Array;
    try {
      shared = x25519.getSharedSecret(this.pair.privateKey, ephPublic);
    } catch {
      throw corrupt(what, 'sealed inbox file has an invalid key');
    }
    return streamKey(shared, ephPublic, this.pair.publicKey);
  }

  /** Opens a whole sealed file. */
  open(sealed: Uint8Array, what: string): Uint8Array {
    const key = this.keyOf(sealed, what);
    return openBytes(key, sealed.subarray(PUBLIC_KEY_SIZE), what);
  }

  /** Plaintext size of a sealed file of `sealedLength` bytes. */
  plainSize(sealedLength: number, what: string): number {
    return plainSizeOf(sealedLength - PUBLIC_KEY_SIZE, what);
  }

  /**
   * A reader for one sealed file, given its header (the first SEALED_HEADER_SIZE bytes) and its
   * total length: `range(i)` says which sealed bytes hold chunk i, `open(i, bytes)` opens them.
   */
  reader(header: Uint8Array, sealedLength: number, what: string): {
    readonly size: number;
    readonly chunks: number;
    range(index: number): { offset: number; length: number };
    open(index: number, sealedChunk: Uint8Array): Uint8Array;
  } {
    const key = this.keyOf(header, what);
    const prefix = header.slice(PUBLIC_KEY_SIZE, SEALED_HEADER_SIZE);
    const size = this.plainSize(sealedLength, what);
    return {
      size,
      chunks: chunkCount(size),
      range: (i) => {
        const r = chunkRange(size, i);
        return { offset: PUBLIC_KEY_SIZE + r.offset, length: r.length };
      },
      open: (i, bytes) => openChunk(key, prefix, i, chunkRange(size, i).final, bytes, what),
    };
  }
}
