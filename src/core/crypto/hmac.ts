/**
 * @module crypto/hmac
 * Hash primitives for request signing (AWS Signature V4 in backend/sigv4.ts): HMAC-SHA256 and
 * SHA-256 from @noble (small inputs), SHA-256 of large payloads through WebCrypto when the host
 * has it (browsers in secure contexts, Node 20: native speed), and MD5 for Content-MD5.
 * Only modules in crypto/ may import @noble.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { md5 } from '@noble/hashes/legacy.js';

export function hmacSha256(key: Uint8Array, msg: Uint8Array): Uint8Array {
  return hmac(sha256, key, msg);
}

export function sha256Sync(data: Uint8Array): Uint8Array {
  return sha256(data);
}

/** SHA-256 of a payload; WebCrypto when available (fast for 100 MiB packs), else @noble. */
export async function sha256Async(data: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto?.subtle;
  if (subtle && data.length > 4096) {
    try {
      return new Uint8Array(await subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
    } catch {
      // fall through to the JavaScript implementation
    }
  }
  return sha256(data);
}

export function md5Digest(data: Uint8Array): Uint8Array {
  return md5(data);
}
