/**
 * SLIP-39 against the official test vectors (test/kit/fixtures/slip39-vectors.json, from the
 * SLIP-0039 repository, passphrase "TREZOR"), plus our 2-of-3 use: every pair rebuilds the
 * secret, one share or mixed kits are refused, a typo in a share is caught.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { toHex, utf8Encode } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import { combineMnemonics, decodeShare, splitMnemonic } from '../../src/core/kit/slip39.js';
import { SLIP39_WORDS } from '../../src/core/kit/slip39-words.js';

type Vector = [string, string[], string, string];
const VECTORS = JSON.parse(readFileSync('test/kit/fixtures/slip39-vectors.json', 'utf8')) as Vector[];
const rnd = (n: number) => new Uint8Array(randomBytes(n));

describe('SLIP-39', () => {
  it('word list: 1024 words, unique by 4 letters, the published list', () => {
    assert.equal(SLIP39_WORDS.length, 1024);
    assert.equal(new Set(SLIP39_WORDS.map((w) => w.slice(0, 4))).size, 1024);
    assert.equal(createHash('sha256').update(SLIP39_WORDS.join('\n') + '\n').digest('hex'), 'bcc4555340332d169718aed8bf31dd9d5248cb7da6e5d355140ef4f1e601eec3');
  });

  it(`passes all ${VECTORS.length} official vectors`, () => {
    assert.ok(VECTORS.length >= 40);
    for (const [name, mnemonics, secret] of VECTORS) {
      if (secret) {
        assert.equal(toHex(combineMnemonics(mnemonics, utf8Encode('TREZOR'))), secret, name);
      } else {
        assert.throws(() => combineMnemonics(mnemonics, utf8Encode('TREZOR')), (e: unknown) => isCofferError(e, 'bad-input'), name);
      }
    }
  });

  it('2-of-3: every pair rebuilds the secret, in any order; one share is refused', () => {
    const secret = rnd(16);
    const shares = splitMnemonic(secret, { threshold: 2, count: 3, random: rnd });
    assert.equal(shares.length, 3);
    for (const s of shares) assert.equal(s.split(' ').length, 20);
    for (const [a, b] of [[0, 1], [1, 0], [0, 2], [1, 2], [2, 1]] as const) {
      assert.deepEqual(combineMnemonics([shares[a]!, shares[b]!]), secret);
    }
    for (const s of shares) assert.throws(() => combineMnemonics([s]), /need 2 shares, got 1/);
    assert.throws(() => combineMnemonics([shares[0]!, shares[0]!]), /repeat a member index/);
    const d = decodeShare(shares[2]!);
    assert.equal(d.memberThreshold, 2);
    assert.equal(d.iterationExponent, 1);
  });

  it('refuses shares of two different splits and a share with a changed word', () => {
    const a = splitMnemonic(rnd(16), { threshold: 2, count: 3, random: rnd });
    const b = splitMnemonic(rnd(16), { threshold: 2, count: 3, random: rnd });
    assert.throws(() => combineMnemonics([a[0]!, b[1]!]), (e: unknown) => isCofferError(e, 'bad-input'));
    const words = a[1]!.split(' ');
    words[9] = SLIP39_WORDS[(SLIP39_WORDS.indexOf(words[9]!) + 1) % 1024]!;
    assert.throws(() => decodeShare(words.join(' ')), /checksum mismatch/);
    // Words typed by their first four letters still decode.
    assert.deepEqual(decodeShare(a[0]!.split(' ').map((w) => w.slice(0, 4)).join(' ')), decodeShare(a[0]!));
  });
});
