/**
 * Search in Debian's Chromium over the 30-photo library of gallery-fixtures.ts (ten months,
 * three cameras, Paris and Sydney, two "beach" names) after one photo is hidden from the viewer
 * and one trashed from the selection bar: by camera, by date range (the end day included), by
 * name words, by country (the build's offline lookup) and by country and camera together, each
 * returns exactly the expected item ids, never the hidden or trashed one; a result opens the
 * viewer; the query is kept in the address. Screenshot: docs/screenshots/gallery-search.png.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { allIds, CAMERAS, galleryRepo, openGalleryPage, PARIS, SYDNEY, waitCount, writeLibrary, type LibraryPhoto } from './gallery-fixtures.js';

const PASSWORD = 'gallery-search-' + randomBytes(6).toString('hex');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');

async function searchIds(page: Page): Promise<string[]> {
  await page.waitForSelector('[data-testid=search-results][data-done]');
  await page.waitForFunction(() => {
    const r = document.querySelector('[data-testid=search-results]')!;
    return r.querySelectorAll('[data-testid=gallery-item]').length === Number(r.getAttribute('data-count'));
  });
  return (await page.$$eval('[data-testid=search-results] [data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!))).sort();
}

async function runSearch(page: Page, fill: () => Promise<unknown>): Promise<string[]> {
  await page.getByTestId('search-clear').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=search-results]')?.hasAttribute('data-done'));
  await fill();
  await page.getByTestId('search-submit').click();
  return searchIds(page);
}

test('web gallery search: camera, dates, name, country; hidden and trashed left out', { timeout: 60_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-search-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  const list = writeLibrary(src);
  await galleryRepo(repo, src, PASSWORD);
  fs.mkdirSync(SHOTS, { recursive: true });
  const gp = await openGalleryPage(repo, PASSWORD);
  const { page } = gp;
  try {
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    const id = await allIds(page);
    assert.equal(id.size, list.length);
    // Hide a Canon photo of Paris from the viewer, trash a "beach" one from the selection bar.
    const canon = CAMERAS[1]!.label;
    const hidden = id.get(list.find((p) => p.camera === canon && p.gps === PARIS)!.name)!;
    const trashed = id.get('beach-sunset.jpg')!;
    await page.getByTestId('gallery').evaluate((g) => (g.scrollTop = 0));
    const cell = (i: string) => page.locator(`[data-testid=gallery-item][data-item-id="${i}"]`);
    await page.getByTestId('scrubber').focus();
    for (const target of [hidden, trashed]) {
      // Walk the scrubber down until the cell is laid out.
      for (let k = 0; k < 12 && !(await cell(target).count()); k++) {
        await page.getByTestId('scrubber').press('ArrowDown');
        await page.waitForTimeout(150);
      }
      if (target === hidden) {
        await cell(target).locator('.g-open').click();
        await page.getByTestId('viewer-hide').click();
        await waitCount(page, list.length - 1);
        await page.keyboard.press('Escape');
      } else {
        await cell(target).getByTestId('gallery-select').click();
        await page.getByTestId('selection-trash').click();
        await waitCount(page, list.length - 2);
      }
    }
    const gone = new Set([hidden, trashed]);
    const want = (f: (p: LibraryPhoto) => boolean): string[] => list.filter(f).map((p) => id.get(p.name)!).filter((x) => !gone.has(x)).sort();

    await page.getByTestId('nav-search').click();
    await page.getByTestId('search-form').waitFor();
    const byCamera = await runSearch(page, () => page.getByTestId('search-camera').selectOption(canon));
    assert.deepEqual(byCamera, want((p) => p.camera === canon), 'by camera');
    assert.ok(!byCamera.includes(hidden));
    assert.match(decodeURIComponent(await page.evaluate(() => location.hash)), /^#\/search\?camera=Canon(\+| )EOS/);
    assert.deepEqual(await runSearch(page, async () => {
      await page.getByTestId('search-from').fill('2022-05-01');
      await page.getByTestId('search-to').fill('2023-02-05');
    }), want((p) => p.taken >= '2022-05-01' && p.taken < '2023-02-06'), 'by date range (the end day included)');
    const beach = await runSearch(page, () => page.getByTestId('search-q').fill('beach'));
    assert.deepEqual(beach, want((p) => /beach/i.test(p.name)), 'by name');
    assert.equal(beach.length, 1, 'the trashed beach photo is left out');
    const paris = want((p) => p.gps === PARIS);
    assert.ok(paris.length >= 4);
    assert.deepEqual(await runSearch(page, () => page.getByTestId('search-place').selectOption('FR')), paris, 'by country');
    assert.deepEqual(await runSearch(page, async () => {
      await page.getByTestId('search-place').selectOption('AU');
      await page.getByTestId('search-camera').selectOption(CAMERAS[0]!.label);
    }), want((p) => p.gps === SYDNEY && p.camera === CAMERAS[0]!.label), 'country and camera together');
    await page.getByTestId('search-clear').click();
    await page.getByTestId('search-q').fill('IMG_10');
    await page.getByTestId('search-submit').click();
    await searchIds(page);
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid=search-results] img')).filter((i) => i.naturalWidth > 0).length >= 6);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-search.png') });
    // A result opens the viewer; → steps through the results.
    const results = await page.$$eval('[data-testid=search-results] [data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
    await page.locator('[data-testid=search-results] [data-testid=gallery-item]').first().click();
    await page.waitForFunction((i) => document.querySelector('[data-testid=viewer]:not([hidden])')?.getAttribute('data-item-id') === i, results[0]);
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction((i) => document.querySelector('[data-testid=viewer]')?.getAttribute('data-item-id') === i, results[1]);
    await page.keyboard.press('Escape');
    assert.deepEqual(gp.logs.filter((l) => /^error|^pageerror|Content Security Policy|Refused to/.test(l)), []);
  } finally {
    await gp.close();
  }
});
