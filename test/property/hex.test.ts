/** toHex/fromHex against Node's own hex codec, for short IDs and long inputs (the scratch buffer's growth). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/core/bytes.js';

test('toHex equals Buffer hex and fromHex inverts it, for 0 B to 6 KiB', () => {
  fc.assert(
    fc.property(fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ minLength: 2000, maxLength: 6000 })), (b) => {
      const hex = toHex(b);
      assert.equal(hex, Buffer.from(b).toString('hex'));
      assert.deepEqual(fromHex(hex), b);
    }),
    { numRuns: 300 },
  );
  // A long input does not disturb the next short one (the scratch buffer is reused).
  assert.equal(toHex(new Uint8Array(3000).fill(0xab)).length, 6000);
  assert.equal(toHex(Uint8Array.of(1, 0xfe)), '01fe');
});
