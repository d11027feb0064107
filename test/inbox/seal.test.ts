/**
 * Inbox sealing: round trips whole and chunk by chunk, node:crypto's own X25519 derives the same
 * shared secret (an independent implementation), and the wrong key or a damaged file is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, diffieHellman, hkdfSync, randomBytes, createDecipheriv } from 'node:crypto';
import { CHUNK_SIZE } from '../../src/core/crypto/chunked-gcm.js';
import { CofferError } from '../../src/core/errors.js';
import { InboxOpener, SEALED_HEADER_SIZE, generateInboxKeyPair, inboxPublicKey, sealForInbox } from '../../src/core/inbox/seal.js';

const isCorrupt = (e: unknown) => e instanceof CofferError && e.code === 'corrupt';

test('sealed for the public key, opened with the private key, whole and chunk by chunk', () => {
  const pair = generateInboxKeyPair();
  assert.deepEqual(inboxPublicKey(pair.privateKey), pair.publicKey);
  const plain = new Uint8Array(randomBytes(2 * CHUNK_SIZE + 333));
  const sealed = sealForInbox(pair.publicKey, plain);
  const opener = new InboxOpener(pair);
  assert.deepEqual(opener.open(sealed, 'item'), plain);
  const r = opener.reader(sealed.subarray(0, SEALED_HEADER_SIZE), sealed.length, 'item');
  assert.equal(r.size, plain.length);
  assert.equal(r.chunks, 3);
  const back: Uint8Array[] = [];
  for (let i = r.chunks - 1; i >= 0; i--) {
    const { offset, length } = r.range(i);
    back[i] = r.open(i, sealed.subarray(offset, offset + length));
  }
  assert.deepEqual(Buffer.concat(back), Buffer.from(plain));
  // Two seals of the same bytes share nothing (fresh ephemeral key and prefix).
  const again = sealForInbox(pair.publicKey, plain);
  assert.notDeepEqual(again.subarray(0, SEALED_HEADER_SIZE), sealed.subarray(0, SEALED_HEADER_SIZE));
});

test("node:crypto's X25519 and HKDF open what we sealed (independent implementation)", () => {
  const pair = generateInboxKeyPair();
  const plain = new Uint8Array(randomBytes(1000));
  const sealed = sealForInbox(pair.publicKey, plain);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const priv = createPrivateKey({ key: { kty: 'OKP', crv: 'X25519', d: b64(pair.privateKey), x: b64(pair.publicKey) }, format: 'jwk' });
  const ephPublic = sealed.subarray(0, 32);
  const pub = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: b64(ephPublic) }, format: 'jwk' });
  const shared = diffieHellman({ privateKey: priv, publicKey: pub });
  const key = Buffer.from(hkdfSync('sha256', shared, Buffer.concat([ephPublic, pair.publicKey]), 'coffer-inbox-v1', 32));
  const nonce = Buffer.concat([sealed.subarray(32, 39), Buffer.from([0, 0, 0, 0, 1])]);
  const body = sealed.subarray(39);
  const d = createDecipheriv('aes-256-gcm', key, nonce);
  d.setAuthTag(body.subarray(body.length - 16));
  assert.deepEqual(Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]), Buffer.from(plain));
});

test('the wrong private key, a flipped bit, a cut file are refused as corrupt', () => {
  const pair = generateInboxKeyPair();
  const sealed = sealForInbox(pair.publicKey, new Uint8Array(randomBytes(5000)));
  assert.throws(() => new InboxOpener(generateInboxKeyPair()).open(sealed, 'item'), isCorrupt);
  const flipped = Uint8Array.from(sealed);
  flipped[100]! ^= 4;
  assert.throws(() => new InboxOpener(pair).open(flipped, 'item'), isCorrupt);
  assert.throws(() => new InboxOpener(pair).open(sealed.subarray(0, sealed.length - 1), 'item'), isCorrupt);
  assert.throws(() => new InboxOpener(pair).open(sealed.subarray(0, 20), 'item'), isCorrupt);
});
