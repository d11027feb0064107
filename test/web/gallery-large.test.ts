/**
 * The timeline's virtual grid over 400 photos in three months (tiny generated JPEGs, so the build
 * takes a few seconds): the DOM holds only the cells near the viewport, every photo is laid out
 * exactly once while scrolling, fewer thumbnails are requested than photos, and a jump to the
 * end stays at the end while the months above turn from estimates into exact layouts (scroll
 * anchoring).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { makeJpeg } from '../gallery/photo-maker.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb } from './web-helpers.js';

const MONTHS: [string, number][] = [['2024-06', 60], ['2024-05', 200], ['2024-04', 140]];

test('web gallery: a virtual grid of 400 photos', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-large-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(src);
  let n = 0;
  let oldest = '';
  for (const [month, count] of MONTHS)
    for (let i = 0; i < count; i++, n++) {
      const taken = `${month}-${String(1 + (i % 28)).padStart(2, '0')}T10:${String(Math.floor(i / 28)).padStart(2, '0')}:00`;
      if (!oldest || taken < oldest) oldest = taken;
      fs.writeFileSync(path.join(src, `p${n}.jpg`), makeJpeg(64, 48, n, { dateTimeOriginal: taken.replace(/-/g, ':').replace('T', ' ') }));
    }
  const env = testEnv({ COFFER_PASSWORD: 'large-gallery-pw' });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  await mustRun(['-r', repo, 'backup', src, '--gallery'], { env }, 0);
  const server = await startWeb(repo);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1000, height: 700 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill('large-gallery-pw');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    const gallery = page.getByTestId('gallery');
    assert.equal(await gallery.getAttribute('data-count'), '400');
    const inDom = await page.getByTestId('gallery-item').count();
    assert.ok(inDom > 0 && inDom < 100, `${inDom} cells in the DOM for 400 photos`);

    // Scroll top to bottom: every photo once, never two copies of a cell in the DOM.
    const seen = new Set<string>();
    let maxInDom = 0;
    for (let step = 0; step < 400; step++) {
      const ids = await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
      assert.equal(new Set(ids).size, ids.length, 'a cell is in the DOM twice');
      maxInDom = Math.max(maxInDom, ids.length);
      for (const id of ids) seen.add(id);
      const end = await gallery.evaluate((g) => {
        const atEnd = g.scrollTop + g.clientHeight >= g.scrollHeight - 2;
        g.scrollTop += g.clientHeight;
        return atEnd;
      });
      if (end && seen.size === 400) break;
      await page.waitForTimeout(40);
    }
    assert.equal(seen.size, 400);
    assert.ok(maxInDom < 150, `at most ${maxInDom} cells in the DOM at once`);
    const requested = Number(await gallery.getAttribute('data-thumb-requests'));
    assert.ok(requested < 400, `${requested} thumbnails requested while scrolling past 400 photos`);

    // Reload the view and jump to the end: it stays at the end while the months above load.
    await page.getByTestId('nav-map').click();
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    await gallery.evaluate((g) => (g.scrollTop = g.scrollHeight));
    await page.waitForFunction((taken) => {
      const g = document.querySelector('[data-testid=gallery]')!;
      const cell = document.querySelector(`[data-testid=gallery-item][data-taken="${taken}"]`);
      if (!cell) return false;
      const r = cell.getBoundingClientRect();
      const b = g.getBoundingClientRect();
      return r.bottom > b.top && r.top < b.bottom && g.scrollTop + g.clientHeight >= g.scrollHeight - 2;
    }, oldest, { timeout: 15_000 });
    await page.waitForTimeout(500); // any late shard would move the view now
    const still = await page.evaluate((taken) => {
      const g = document.querySelector('[data-testid=gallery]')!;
      const r = document.querySelector(`[data-testid=gallery-item][data-taken="${taken}"]`)?.getBoundingClientRect();
      const b = g.getBoundingClientRect();
      return !!r && r.bottom > b.top && r.top < b.bottom;
    }, oldest);
    assert.ok(still, 'the oldest photo is still on screen after the months above loaded');
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
