/**
 * A share link made in the web app (design §7, §11): unlock, open a photo in the gallery's
 * viewer, press `share-create`; the worker reads the original from the repository, seals it and
 * uploads it with the session; `share-link` shows the link. A second, fresh browser context
 * (no session) opens it: one `share-item` with its decoded preview, downloaded byte-identical.
 * The link is in the repository's sealed share list (`coffer share list`). The key never reached
 * the server (request log, share store), nor did the photo in clear.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb, webEnv } from '../web/web-helpers.js';

const PASSWORD = 'share-' + randomBytes(6).toString('hex');

function allBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(out);
}

test('web app: share-create in the viewer, opened in a fresh context', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-share-webapp-');
  const src = path.join(dir, 'photos');
  fs.mkdirSync(src);
  const noise = Buffer.from(randomBytes(800 * 600 * 3));
  for (let i = 0; i < noise.length; i++) noise[i] = (noise[i]! & 63) + (i % 3 === 1 ? 150 : 40);
  const jpg = await sharp(noise, { raw: { width: 800, height: 600, channels: 3 } }).jpeg({ quality: 92 }).toBuffer();
  fs.writeFileSync(path.join(src, 'meadow.jpg'), jpg);
  // A second photo for the selection bar's share (another picture: another gallery item).
  fs.writeFileSync(path.join(src, 'field.jpg'), await sharp(noise, { raw: { width: 800, height: 600, channels: 3 } }).flip().jpeg({ quality: 90 }).toBuffer());
  const repo = path.join(dir, 'repo');
  const xdg = { XDG_DATA_HOME: path.join(dir, 'xdg') };
  const env = testEnv({ ...xdg, COFFER_PASSWORD: PASSWORD });
  await mustRun(['-r', repo, 'init'], { env });
  await mustRun(['-r', repo, 'backup', src, '--gallery'], { env });

  const server = await startWeb(repo, webEnv(xdg));
  const base = `http://127.0.0.1:${server.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const owner = await browser.newContext();
    const page = await owner.newPage();
    const logs: string[] = [];
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(`${base}/?token=${server.token}`);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-gallery').click();
    await page.locator('[data-testid=gallery-item][data-name="meadow.jpg"]').click();
    await page.getByTestId('viewer').waitFor();
    const viewer = page.getByTestId('viewer');
    await viewer.getByTestId('share-expires').selectOption({ label: '1 day' });
    await viewer.getByTestId('share-create').click();
    const link = viewer.getByTestId('share-link');
    await link.waitFor({ timeout: 30_000 });
    const url = await link.inputValue();
    assert.match(url, new RegExp(`^${base}/s/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}$`), logs.join('\n'));
    const [id, key] = url.slice(`${base}/s/`.length).split('#') as [string, string];
    const expires = Date.parse((await link.getAttribute('data-expires'))!);
    assert.ok(Math.abs(expires - Date.now() - 86400_000) < 120_000, 'the chosen lifetime (1 day)');

    // A second browser context: nothing but the link.
    const visitor = await browser.newContext({ acceptDownloads: true });
    const p2 = await visitor.newPage();
    await p2.goto(url);
    const item = p2.getByTestId('share-item');
    await item.first().waitFor({ timeout: 20_000 });
    assert.equal(await item.count(), 1);
    assert.equal(await item.getAttribute('data-name'), 'meadow.jpg');
    await p2.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=share-image]')?.naturalWidth ?? 0) > 0, undefined, { timeout: 20_000 });
    const [dl] = await Promise.all([p2.waitForEvent('download', { timeout: 20_000 }), p2.getByTestId('share-download').click()]);
    assert.equal(dl.suggestedFilename(), 'meadow.jpg');
    const saved = path.join(dir, 'downloaded.jpg');
    await dl.saveAs(saved);
    assert.ok(fs.readFileSync(saved).equals(jpg), 'the shared photo differs from the source');

    // The selection bar shares every selected photo in one link.
    await page.keyboard.press('Escape');
    await page.getByTestId('viewer').waitFor({ state: 'hidden' });
    const cells = page.getByTestId('gallery-item');
    assert.equal(await cells.count(), 2);
    await cells.nth(0).click({ modifiers: ['Control'] });
    await cells.nth(1).click({ modifiers: ['Control'] });
    const bar = page.getByTestId('selection-bar');
    await bar.getByTestId('share-create').click();
    const barLink = bar.getByTestId('share-link');
    await barLink.waitFor({ timeout: 30_000 });
    const p3 = await (await browser.newContext()).newPage();
    await p3.goto(await barLink.inputValue());
    await p3.getByTestId('share-item').nth(1).waitFor({ timeout: 20_000 });
    assert.deepEqual((await p3.getByTestId('share-item').evaluateAll((els) => els.map((e) => e.getAttribute('data-name')))).sort(), ['field.jpg', 'meadow.jpg']);

    const store = allBytes(path.join(dir, 'xdg', 'coffer', 'shares'));
    assert.ok(fs.existsSync(path.join(dir, 'xdg', 'coffer', 'shares', id, 'm')));
    assert.ok(store.length > jpg.length);
    assert.equal(store.indexOf(jpg.subarray(0, 32)), -1);
    assert.equal(store.indexOf(jpg.subarray(jpg.length >> 1, (jpg.length >> 1) + 32)), -1);
    assert.ok(!store.includes(Buffer.from(key)) && !store.includes(Buffer.from(key, 'base64url')));
    // The web-made share is in the repository's sealed share list too.
    const listed = JSON.parse((await mustRun(['-r', repo, 'share', 'list', '--json'], { env })).stdout) as { id: string; url?: string; names?: string[] }[];
    assert.deepEqual(listed.filter((s) => s.id === id).map((s) => [s.id, s.url, s.names]), [[id, url, ['meadow.jpg']]]);
    assert.equal(listed.length, 2, 'both shares are in the sealed list');
    const log = server.stderr();
    assert.match(log, new RegExp(`PUT /api/shares/${id}/m 201`));
    assert.ok(!log.includes(key), 'the key is in the request log');
    await owner.close();
    await visitor.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});
