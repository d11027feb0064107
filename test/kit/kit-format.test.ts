/**
 * The kit's text and html forms: machine lines, Kit-Sum (damage and edits refused, a key typed
 * by hand accepted), round trips, the QR code decoded back with jsQR.
 */
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import jsQRModule from 'jsqr';
import { isCofferError } from '../../src/core/errors.js';
import { qrMatrix, renderKitHtml } from '../../src/core/kit/kit-html.js';
import { keySha8, parseKit, renderKitText, SPLIT_2OF3, type Kit } from '../../src/core/kit/kit-text.js';
import { CHECKSUM_MESSAGE, generateRecoveryKey } from '../../src/core/kit/recovery-key.js';

const sha256 = (d: Uint8Array) => new Uint8Array(createHash('sha256').update(d).digest());

function sampleKit(): Kit {
  const { key } = generateRecoveryKey((n) => new Uint8Array(randomBytes(n)));
  return {
    id: '9c41e2d07a55',
    created: '2026-11-28T22:15:04Z',
    recoveryKey: key,
    keySha8: keySha8(key, sha256),
    split: 'none',
    shares: new Map(),
    copies: [
      { name: 'usb', url: '/media/usb/coffer', repositoryId: 'a'.repeat(64), keyId: 'b'.repeat(64), options: [], needsEnv: [], needs: ['the USB disk labelled COFFER'] },
      { name: 's3', url: 's3:https://s3.example.com/bucket/coffer', repositoryId: 'c'.repeat(64), keyId: 'd'.repeat(64), options: ['s3.bucket-lookup=path', 's3.region=eu-central-1'], needsEnv: ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'], needs: [] },
    ],
    secrets: [{ name: 'bitlocker-laptop', size: 48 }, { name: 'codes', size: 3, valueBase64: 'YWJj' }],
  };
}

function badInput(re: RegExp) {
  return (e: unknown) => isCofferError(e, 'bad-input') && re.test(e.message);
}

describe('kit text', () => {
  it('renders machine lines and parses them back', () => {
    const kit = sampleKit();
    const text = renderKitText(kit, sha256);
    for (const l of ['Kit-Format: 1', 'Kit-ID: 9c41e2d07a55', `Recovery-Key: ${kit.recoveryKey}`, 'Copies: 2', 'Copy.2.Option: s3.region=eu-central-1', 'Copy.2.Needs-Env: AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY', 'Secret.1: bitlocker-laptop (48 bytes)', 'Secret.2.Value-Base64: YWJj']) {
      assert.ok(text.split('\n').includes(l), l);
    }
    assert.match(text, /^Kit-Sum: [0-9a-f]{8}$/m);
    assert.match(text, /HOW TO RESTORE WITH PLAIN RESTIC/);
    const back = parseKit(text, sha256);
    assert.deepEqual({ ...back, shares: [...back.shares] }, { ...kit, shares: [] });
  });

  it('refuses a damaged or edited kit, accepts a key retyped by hand', () => {
    const kit = sampleKit();
    const text = renderKitText(kit, sha256);
    assert.throws(() => parseKit(text.replace('/media/usb/coffer', '/media/usb/c0ffer'), sha256), badInput(/Kit-Sum mismatch/));
    assert.throws(() => parseKit(text.replace(/^Kit-Sum: .*$/m, ''), sha256), badInput(/no Kit-Sum/));
    assert.throws(() => parseKit('hello\n', sha256), badInput(/not a Coffer recovery kit/));
    // The key typed in lower case without dashes: same key, accepted.
    const typed = text.replace(kit.recoveryKey!, kit.recoveryKey!.toLowerCase().replace(/-/g, ' '));
    assert.equal(parseKit(typed, sha256).recoveryKey, kit.recoveryKey);
    // A kit printed without the key, the key added by hand.
    const keyless = renderKitText({ ...kit, recoveryKey: undefined as unknown as string }, sha256).replace(/^(Kit-Sum: .*)$/m, `Recovery-Key: ${kit.recoveryKey}\n$1`);
    assert.equal(parseKit(keyless, sha256).recoveryKey, kit.recoveryKey);
    // A typo in the key: the key's own message, not "damaged kit".
    const k = kit.recoveryKey!;
    const typo = text.replace(k, k.slice(0, 10) + (k[10] === 'X' ? 'Y' : 'X') + k.slice(11));
    assert.throws(() => parseKit(typo, sha256), badInput(new RegExp(`^${CHECKSUM_MESSAGE.replace(/[()]/g, '\\$&')}; look at group 3 of 8`)));
    // Another valid key in place of this kit's: refused.
    const other = generateRecoveryKey((n) => new Uint8Array(randomBytes(n))).key;
    assert.throws(() => parseKit(text.replace(k, other), sha256), (e: unknown) => isCofferError(e, 'bad-input'));
  });

  it('split kits carry Share lines and no key', () => {
    const kit = { ...sampleKit(), recoveryKey: undefined as unknown as string, split: SPLIT_2OF3 as typeof SPLIT_2OF3, shares: new Map([[1, 'a b c'], [2, 'd e f'], [3, 'g h i']]) };
    const text = renderKitText(kit, sha256);
    assert.doesNotMatch(text, /^Recovery-Key:/m);
    const back = parseKit(text, sha256);
    assert.equal(back.split, SPLIT_2OF3);
    assert.deepEqual([...back.shares], [[1, 'a b c'], [2, 'd e f'], [3, 'g h i']]);
  });
});

describe('kit html', () => {
  it('carries the same machine lines (parseable) and a QR code that decodes to the key', () => {
    const kit = sampleKit();
    const html = renderKitHtml(kit, sha256);
    assert.match(html, /^<!DOCTYPE html>/);
    const back = parseKit(html, sha256);
    assert.equal(back.recoveryKey, kit.recoveryKey);
    assert.equal(back.copies.length, 2);
    assert.match(html, /<svg[^>]*>/);
    // Decode the QR matrix with jsQR.
    const m = qrMatrix(kit.recoveryKey!);
    const scale = 4;
    const quiet = 4;
    const size = (m.length + 2 * quiet) * scale;
    const rgba = new Uint8ClampedArray(size * size * 4).fill(255);
    m.forEach((row, r) => row.forEach((dark, c) => {
      if (!dark) return;
      for (let y = 0; y < scale; y++) for (let x = 0; x < scale; x++) {
        const i = (((r + quiet) * scale + y) * size + (c + quiet) * scale + x) * 4;
        rgba[i] = rgba[i + 1] = rgba[i + 2] = 0;
      }
    }));
    // jsqr is CommonJS with exports.default: under NodeNext the default import is module.exports.
    const jsQR = ((jsQRModule as unknown as { default?: typeof jsQRModule }).default ?? jsQRModule) as unknown as (d: Uint8ClampedArray, w: number, h: number) => { data: string } | null;
    const code = jsQR(rgba, size, size);
    assert.equal(code?.data, kit.recoveryKey);
  });

  it('a split html kit has one page per share and parses with all three shares', () => {
    const kit = { ...sampleKit(), recoveryKey: undefined as unknown as string, split: SPLIT_2OF3 as typeof SPLIT_2OF3, shares: new Map([[1, 'a b c'], [2, 'd e f'], [3, 'g h i']]) };
    const html = renderKitHtml(kit, sha256);
    assert.equal(html.match(/<section class="page">/g)?.length, 3);
    assert.equal(parseKit(html, sha256).shares.size, 3);
  });
});
