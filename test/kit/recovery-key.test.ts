/**
 * The recovery key: format, round trip, the bech32m checksum (checked against BIP-350's own
 * test vectors through the same polymod), typo detection and location, input normalisation.
 */
import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { isCofferError } from '../../src/core/errors.js';
import { CHECKSUM_MESSAGE, CROCKFORD, bech32mVerify, formatRecoveryKey, generateRecoveryKey, parseRecoveryKey } from '../../src/core/kit/recovery-key.js';

const BECH32 = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l';

function mutate(key: string, pos: number): string {
  // pos counts symbols (dashes skipped)
  const chars = [...key];
  let seen = -1;
  for (let i = 0; i < chars.length; i++) {
    if (chars[i] === '-') continue;
    if (++seen === pos) {
      const v = CROCKFORD.indexOf(chars[i]!);
      chars[i] = CROCKFORD[(v + 1 + (pos % 30)) % 32]!;
      break;
    }
  }
  return chars.join('');
}

describe('recovery key', () => {
  it('the polymod is bech32m: BIP-350 valid vectors pass, a changed one fails', () => {
    for (const s of ['A1LQFN3A', 'a1lqfn3a', 'abcdef1l7aum6echk45nj3s0wdvt2fg8x9yrzpqzd3ryx', '?1v759aa']) {
      const lower = s.toLowerCase();
      const sep = lower.lastIndexOf('1');
      const values = [...lower.slice(sep + 1)].map((c) => BECH32.indexOf(c));
      assert.ok(bech32mVerify(lower.slice(0, sep), values), s);
      values[0] = (values[0]! + 1) % 32;
      assert.ok(!bech32mVerify(lower.slice(0, sep), values), s);
    }
  });

  it('formats 16 bytes as 8 groups of 4 Crockford symbols, first symbol 0-7, and parses back', () => {
    for (let i = 0; i < 200; i++) {
      const { key, bytes } = generateRecoveryKey((n) => new Uint8Array(randomBytes(n)));
      assert.match(key, /^[0-7][0-9A-HJKMNP-TV-Z]{3}(-[0-9A-HJKMNP-TV-Z]{4}){7}$/);
      assert.equal(key.length, 39);
      const p = parseRecoveryKey(key);
      assert.equal(p.key, key);
      assert.deepEqual(p.bytes, bytes);
    }
    assert.equal(formatRecoveryKey(new Uint8Array(16)).slice(0, 30), '0000-0000-0000-0000-0000-0000-');
  });

  it('normalises typed input: case, spaces, dashes, O->0, I/L->1', () => {
    const key = formatRecoveryKey(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]));
    const typed = key.toLowerCase().replace(/-/g, ' ').replace(/0/g, 'o').replace(/1/g, 'l');
    assert.equal(parseRecoveryKey(typed).key, key);
    assert.equal(parseRecoveryKey(key.replace(/-/g, '')).key, key);
  });

  it('refuses every single-symbol change and names the right group', () => {
    const { key } = generateRecoveryKey((n) => new Uint8Array(randomBytes(n)));
    for (let pos = 0; pos < 32; pos++) {
      const bad = mutate(key, pos);
      assert.throws(() => parseRecoveryKey(bad), (e: unknown) => {
        assert.ok(isCofferError(e, 'bad-input'));
        assert.ok(e.message.startsWith(CHECKSUM_MESSAGE), e.message);
        assert.ok(e.message.includes(`group ${Math.floor(pos / 4) + 1} of 8`), `${pos}: ${e.message}`);
        return true;
      });
    }
  });

  it('refuses up to 4 changed symbols, swaps, wrong length and foreign characters', () => {
    const { key } = generateRecoveryKey((n) => new Uint8Array(randomBytes(n)));
    for (let t = 0; t < 300; t++) {
      let k = key;
      const n = 2 + (t % 3);
      const picked = new Set<number>();
      while (picked.size < n) picked.add(Math.floor(Math.random() * 32));
      for (const p of picked) k = mutate(k, p);
      assert.throws(() => parseRecoveryKey(k), (e: unknown) => isCofferError(e, 'bad-input'));
    }
    const plain = key.replace(/-/g, '');
    for (let i = 0; i < 31; i++) {
      if (plain[i] === plain[i + 1]) continue;
      const swapped = plain.slice(0, i) + plain[i + 1] + plain[i] + plain.slice(i + 2);
      assert.throws(() => parseRecoveryKey(swapped), (e: unknown) => isCofferError(e, 'bad-input'));
    }
    assert.throws(() => parseRecoveryKey(plain.slice(1)), /expected 32 characters/);
    assert.throws(() => parseRecoveryKey(plain.slice(0, 31) + 'U'), /alphabet/);
    assert.throws(() => parseRecoveryKey(plain.slice(0, 31) + '*'), /alphabet/);
  });
});
