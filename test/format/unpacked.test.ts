import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { corrupt, isCofferError } from '../../src/core/errors.js';
import type { Compressor } from '../../src/core/compress/compressor.js';
import { decodeUnpacked, encodeUnpacked } from '../../src/core/format/unpacked.js';

// A stand-in "frame": a marker byte then the data reversed. Tests the framing, not zstd.
const fake: Compressor = {
  name: 'fake',
  compress: (d) => Uint8Array.from([0xfa, ...[...d].reverse()]),
  decompress: (d) => {
    if (d[0] !== 0xfa) throw corrupt('frame', 'bad magic');
    return Uint8Array.from([...d.subarray(1)].reverse());
  },
};
const throwing: Compressor = { ...fake, decompress: () => { throw new Error('boom'); } };

test('v1 is raw JSON; v2 is 0x02 + frame', () => {
  const json = utf8Encode('{"a":1}');
  assert.equal(encodeUnpacked(json, 1, fake), json);
  const v2 = encodeUnpacked(json, 2, fake);
  assert.equal(v2[0], 2);
  assert.equal(v2[1], 0xfa);
  assert.equal(utf8Decode(decodeUnpacked(v2, 2, fake, 'snapshot')), '{"a":1}');
});

test('v2 accepts raw JSON and empty plaintext, rejects other format bytes', () => {
  assert.equal(utf8Decode(decodeUnpacked(utf8Encode('{"x":[]}'), 2, fake, 'i')), '{"x":[]}');
  assert.equal(utf8Decode(decodeUnpacked(utf8Encode('[1]'), 2, fake, 'i')), '[1]');
  assert.equal(decodeUnpacked(new Uint8Array(0), 2, fake, 'i').length, 0);
  for (const first of [0x00, 0x01, 0x03, 0x20, 0x22]) {
    assert.throws(() => decodeUnpacked(Uint8Array.of(first, 0x7b), 2, fake, 'index/abc'), (e) => isCofferError(e, 'corrupt') && /index\/abc/.test((e as Error).message));
  }
  assert.throws(() => decodeUnpacked(Uint8Array.of(2, 0), 2, fake, 'x'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => decodeUnpacked(Uint8Array.of(2, 0), 2, throwing, 'x'), (e) => isCofferError(e, 'corrupt'));
  // v1 does not interpret the first byte
  assert.deepEqual([...decodeUnpacked(Uint8Array.of(2, 9), 1, fake, 'x')], [2, 9]);
});
