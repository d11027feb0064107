/**
 * The web app's other views in Chromium, against `coffer web` over a repository with two
 * snapshots: "remember on this device" (the master key wrapped by a non-extractable WebCrypto
 * key in IndexedDB: a reload unlocks without the password, the stored record holds no key
 * bytes, "forget" removes it), the difference between two snapshots, search by name, the
 * snapshot filter and the keyboard, and a video preview served by the service worker with
 * Range requests (middle, tail, suffix, whole, unsatisfiable).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { openRepository } from '../../src/core/repository/open.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb } from './web-helpers.js';

const PASSWORD = 'features-' + randomBytes(6).toString('hex');

test('web app: remember on this device, diff, search, filter, keyboard', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-features-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(path.join(src, 'a'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a', 'kept.txt'), 'same\n');
  fs.writeFileSync(path.join(src, 'a', 'changed.txt'), 'before\n');
  fs.writeFileSync(path.join(src, 'gone.txt'), 'bye\n');
  const clip = randomBytes(3 * 1024 * 1024 + 777); // several chunks
  fs.writeFileSync(path.join(src, 'a', 'clip.webm'), clip);
  const env = testEnv({ COFFER_PASSWORD: PASSWORD });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  await mustRun(['-r', repo, 'backup', src, '--host', 'first-host'], { env }, 0);
  fs.writeFileSync(path.join(src, 'a', 'changed.txt'), 'after, longer\n');
  fs.rmSync(path.join(src, 'gone.txt'));
  fs.mkdirSync(path.join(src, 'b', 'deeper'), { recursive: true });
  fs.writeFileSync(path.join(src, 'b', 'deeper', 'needle-added.txt'), 'new\n');
  await mustRun(['-r', repo, 'backup', src, '--host', 'second-host'], { env }, 0);
  const key = (await openRepository(new LocalBackend(repo), await nodePlatform(), { password: PASSWORD })).key;

  const server = await startWeb(repo);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const logs: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-remember').check();
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('snapshot-row').first().waitFor();
    assert.equal(await page.getByTestId('snapshot-row').count(), 2);

    // What IndexedDB holds: a non-extractable AES-GCM key and ciphertext without the key's bytes.
    const stored = await page.evaluate(
      () =>
        new Promise<{ extractable: boolean; algorithm: string; usages: string[]; data: number[]; exportError: string }>((resolve, reject) => {
          const r = indexedDB.open('coffer', 1);
          r.onerror = () => reject(r.error);
          r.onsuccess = () => {
            const g = r.result.transaction('remembered').objectStore('remembered').get('/repo/');
            g.onsuccess = async () => {
              const rec = g.result as { wrap: CryptoKey; data: ArrayBuffer };
              let exportError = '';
              try {
                await crypto.subtle.exportKey('raw', rec.wrap);
              } catch (e) {
                exportError = (e as Error).name;
              }
              resolve({ extractable: rec.wrap.extractable, algorithm: rec.wrap.algorithm.name, usages: [...rec.wrap.usages], data: [...new Uint8Array(rec.data)], exportError });
            };
          };
        }),
    );
    assert.equal(stored.extractable, false);
    assert.equal(stored.algorithm, 'AES-GCM');
    assert.equal(stored.exportError, 'InvalidAccessError');
    const blob = Buffer.from(stored.data);
    assert.equal(blob.length, 64 + 16);
    for (const part of [key.encrypt, key.macK, key.macR]) assert.equal(blob.indexOf(Buffer.from(part).subarray(0, 8)), -1);

    // A reload: unlock with this device, no password.
    await page.reload();
    await page.getByTestId('unlock-remembered').click();
    await page.getByTestId('snapshot-row').first().waitFor();

    // Filter and keyboard on the list (newest first).
    await page.getByTestId('snapshot-filter').fill('first-host');
    assert.equal(await page.getByTestId('snapshot-row').count(), 1);
    await page.getByTestId('snapshot-filter').fill('');
    const ids = await page.getByTestId('snapshot-row').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.id!));
    assert.equal(ids.length, 2);

    // The difference between the two.
    for (const box of await page.getByTestId('snapshot-select').all()) await box.check();
    await page.getByTestId('snapshot-compare').click();
    await page.getByTestId('diff-row').first().waitFor();
    const changes = await page.getByTestId('diff-row').evaluateAll((els) => els.map((e) => `${(e as HTMLElement).dataset.modifier} ${e.querySelector('a')!.textContent}`));
    const rel = (p: string) => p.replace(src, '');
    assert.deepEqual(changes.map(rel).sort(), ['+ /b/', '+ /b/deeper/', '+ /b/deeper/needle-added.txt', '- /gone.txt', 'M /a/changed.txt'].sort());

    // Search by name within the newest snapshot, then open the result's folder by keyboard.
    await page.goto(`${new URL(server.url).origin}/#/snapshots/${ids[0]}`);
    await page.getByTestId('file-row').first().waitFor();
    await page.getByTestId('file-search').fill('needle');
    await page.locator('[data-testid=file-row][data-name="needle-added.txt"]').waitFor();
    assert.equal(await page.locator('[data-testid=file-row]:not([hidden])').count(), 1);
    await page.getByTestId('file-search').fill('');
    await page.locator('[data-testid=file-row][data-name=tmp]').waitFor();
    await page.getByTestId('file-list').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => location.hash.split('/').length === 4);
    // Backspace goes to whichever list has the keyboard: wait for the new folder's (no 'tmp' row).
    await page.waitForFunction(() => {
      const list = document.activeElement;
      return list?.getAttribute('data-testid') === 'file-list' && !list.querySelector('[data-name=tmp]');
    });
    assert.match(decodeURIComponent(await page.evaluate(() => location.hash)), /#\/snapshots\/[0-9a-f]{64}\/tmp$/);
    await page.keyboard.press('Backspace');
    await page.waitForFunction(() => location.hash.split('/').length === 3);

    // A video preview is streamed by the service worker with Range requests (seeking works).
    await page.goto(`${new URL(server.url).origin}/#/snapshots/${ids[0]}${src.split('/').map(encodeURIComponent).join('/')}/a`);
    await page.locator('[data-testid=file-row][data-name="clip.webm"]').click();
    const video = page.getByTestId('preview-video');
    await video.waitFor({ state: 'attached' });
    const srcUrl = (await video.getAttribute('src'))!;
    assert.match(srcUrl, /^\/_stream\//);
    const got = await page.evaluate(async ({ url, size }) => {
      const get = async (range?: string) => {
        const r = await fetch(url, range ? { headers: { Range: range } } : {});
        return { status: r.status, range: r.headers.get('content-range'), bytes: Array.from(new Uint8Array(await r.arrayBuffer()).subarray(0, 4096)), length: Number(r.headers.get('content-length')) };
      };
      return { mid: await get('bytes=1048000-1050999'), tail: await get(`bytes=${size - 5000}-`), last: await get('bytes=-10'), whole: await get(), bad: await get(`bytes=${size + 10}-`) };
    }, { url: srcUrl, size: clip.length });
    assert.equal(got.mid.status, 206);
    assert.equal(got.mid.range, `bytes 1048000-1050999/${clip.length}`);
    assert.deepEqual(Buffer.from(got.mid.bytes), clip.subarray(1048000, 1051000));
    assert.equal(got.tail.status, 206);
    assert.deepEqual(Buffer.from(got.tail.bytes), clip.subarray(clip.length - 5000, clip.length - 5000 + 4096));
    assert.deepEqual(Buffer.from(got.last.bytes), clip.subarray(clip.length - 10));
    assert.equal(got.whole.status, 200);
    assert.equal(got.whole.length, clip.length);
    assert.deepEqual(Buffer.from(got.whole.bytes), clip.subarray(0, 4096));
    assert.equal(got.bad.status, 416);

    // Forget this device: after locking, only the password opens it again.
    await page.getByTestId('lock').click();
    await page.getByTestId('unlock-forget').click();
    await page.getByTestId('unlock-forget').waitFor({ state: 'detached' });
    await page.reload();
    await page.getByTestId('unlock-password').waitFor();
    await page.waitForTimeout(500);
    assert.equal(await page.getByTestId('unlock-remembered').count(), 0);
    // (the deliberate unsatisfiable range above is reported by the console as a failed load)
    assert.deepEqual(logs.filter((l) => /^error|pageerror|Content Security Policy/.test(l) && !/status of 416/.test(l)), []);
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
