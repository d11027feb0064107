/**
 * The PDF kit: a valid PDF (cross-reference offsets, pages) that poppler reads, whose printed text
 * holds the key and the machine lines, and whose attached text kit `drill --kit` parses back.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { renderKitPdf } from '../../src/core/kit/kit-pdf.js';
import { keySha8, parseKit, SPLIT_2OF3, type Kit } from '../../src/core/kit/kit-text.js';
import { generateRecoveryKey } from '../../src/core/kit/recovery-key.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

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
      { name: 'usb', url: '/media/usb/coffer (ünïcode)', repositoryId: 'a'.repeat(64), keyId: 'b'.repeat(64), options: [], needsEnv: [], needs: ['the USB disk labelled COFFER'] },
      { name: 'rest', url: 'rest:https://backup:p(a)ss\\word@nas.example:8000/coffer/with/a/very/long/path/that/needs/a/smaller/font/to/fit/on/one/line', repositoryId: 'c'.repeat(64), keyId: 'd'.repeat(64), options: ['rest.connections=4'], needsEnv: [], needs: [] },
    ],
    secrets: [{ name: 'bitlocker-laptop', size: 48 }],
  };
}

/** poppler's pdftotext/pdfinfo: independent readers (package poppler-utils, installed by .ci/run). */
function poppler(t: { skip: (m: string) => void }, tool: string, args: string[]): string | undefined {
  const r = spawnSync(tool, args, { encoding: 'utf8' });
  if (r.error) {
    if (process.env.CI) throw new Error(`${tool} is missing (install poppler-utils)`);
    t.skip(`${tool} not installed`);
    return undefined;
  }
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

function checkXref(pdf: Uint8Array): number {
  const text = Buffer.from(pdf).toString('latin1');
  assert.ok(text.startsWith('%PDF-1.4\n'));
  const start = Number(/startxref\n(\d+)\n%%EOF\n$/.exec(text)![1]);
  assert.ok(text.startsWith('xref\n', start), 'startxref points at the table');
  const m = /^xref\n0 (\d+)\n/.exec(text.slice(start))!;
  const count = Number(m[1]);
  const rows = text.slice(start + m[0].length).split('\n').slice(1, count);
  rows.forEach((row, i) => {
    const off = Number(row.slice(0, 10));
    assert.ok(text.startsWith(`${i + 1} 0 obj\n`, off), `object ${i + 1} at ${off}`);
  });
  return count - 1;
}

describe('kit pdf', () => {
  it('is a valid PDF whose pages show the key and machine lines, and whose attachment parses back', (t) => {
    const kit = sampleKit();
    const pdf = renderKitPdf(kit, sha256);
    checkXref(pdf);
    assert.deepEqual(parseKit(Buffer.from(pdf).toString('utf8'), sha256), parseKit(Buffer.from(pdf).toString('utf8'), sha256));
    const back = parseKit(Buffer.from(pdf).toString('utf8'), sha256);
    assert.equal(back.recoveryKey, kit.recoveryKey);
    assert.deepEqual(back.copies.map((c) => c.url), kit.copies.map((c) => c.url));

    const dir = tempDir();
    const file = path.join(dir, 'kit.pdf');
    fs.writeFileSync(file, pdf);
    const info = poppler(t, 'pdfinfo', [file]);
    if (info === undefined) return;
    assert.match(info, /Pages:\s+1\n/);
    const shown = poppler(t, 'pdftotext', ['-layout', file, '-'])!;
    assert.ok(shown.includes(kit.recoveryKey!), 'the key is printed');
    assert.match(shown, /Kit-Sum: [0-9a-f]{8}/);
    assert.ok(shown.includes('Copy.2.URL: rest:https://backup:p(a)ss\\word@nas.example:8000/coffer/with/a/very/long/path'), 'a long URL stays on one line, escapes intact');
    assert.ok(shown.includes('HOW TO RESTORE WITH PLAIN RESTIC'));
    const attached = poppler(t, 'pdfdetach', ['-list', file])!;
    assert.match(attached, /coffer-kit\.txt/);
  });

  it('puts each share of a split kit on its own page, with its QR code drawn', (t) => {
    const kit: Kit = { ...sampleKit(), recoveryKey: undefined, split: SPLIT_2OF3, shares: new Map([[1, 'academic acid acne'], [2, 'acquire acrobat activity'], [3, 'actress adapt adequate']]) };
    const pdf = renderKitPdf(kit, sha256);
    assert.equal(checkXref(pdf) >= 7 + 6, true);
    const text = Buffer.from(pdf).toString('latin1');
    assert.equal((text.match(/\/Type \/Page /g) ?? []).length, 3);
    assert.ok((text.match(/ re /g) ?? []).length > 3 * 100, 'QR modules are drawn');
    const back = parseKit(Buffer.from(pdf).toString('utf8'), sha256);
    assert.equal(back.shares.size, 3);
    const file = path.join(tempDir(), 'split.pdf');
    fs.writeFileSync(file, pdf);
    const info = poppler(t, 'pdfinfo', [file]);
    if (info === undefined) return;
    assert.match(info, /Pages:\s+3\n/);
    const pages = poppler(t, 'pdftotext', [file, '-'])!.split('\f');
    for (const [n, words] of kit.shares) assert.ok(pages[n - 1]!.includes(words), `share ${n} on page ${n}`);
  });

  it('coffer kit --output kit.pdf writes a PDF that kit --verify accepts', async () => {
    const dir = tempDir();
    const env = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo'), HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state') });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const kitFile = path.join(dir, 'kit.pdf');
    const k = await runCoffer(['kit', '--output', kitFile], { env });
    assert.equal(k.code, 0, k.stderr);
    assert.equal(fs.readFileSync(kitFile).subarray(0, 5).toString(), '%PDF-');
    const v = await runCoffer(['kit', '--verify', kitFile], { env });
    assert.equal(v.code, 0, v.stdout + v.stderr);
  });
});
