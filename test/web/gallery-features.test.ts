/**
 * The timeline's scrubber, keys, selection and deep links in Debian's Chromium, over the
 * 30-photo library of gallery-fixtures.ts (ten months) in a gallery `backup --gallery` made:
 * - clicking the scrubber's oldest month shows that month's photos (and it stays on screen
 *   while the months above it arrive); dragging shows the month label; Home on the focused
 *   scrubber goes back to the newest month;
 * - → moves focus to the next cell and Space selects it; shift-click selects a range; a day's
 *   check box selects the day (phone-width screenshot);
 * - H in the viewer hides a photo and the selection bar trashes another: the timeline's
 *   `data-count` drops each time and the cells leave the grid;
 * - `#/photos/<id>` opens the oldest photo, the address follows the viewer and Esc restores it.
 * (Albums, the hidden view and persistence: gallery-albums.test.ts; search: gallery-search.test.ts.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { allIds, galleryRepo, idsOnScreen, MONTHS, openGalleryPage, waitCount, writeLibrary } from './gallery-fixtures.js';

const PASSWORD = 'gallery-timeline-' + randomBytes(6).toString('hex');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');

test('web gallery timeline: scrubber, keys, selection, hide and trash counts, deep links', { timeout: 60_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-timeline-');
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
    await waitCount(page, list.length);
    const id = await allIds(page);
    assert.equal(id.size, list.length, 'every photo laid out once');

    // Scrubber: the oldest month, by a click; its cells are on screen.
    const oldest = MONTHS[MONTHS.length - 1]!;
    assert.ok(!(await idsOnScreen(page)).some((c) => c.taken.startsWith(oldest)));
    await page.locator(`[data-testid=scrubber-month][data-month="${oldest}"]`).click();
    await page.waitForFunction(async (m) => {
      const g = document.querySelector('[data-testid=gallery]')!.getBoundingClientRect();
      return Array.from(document.querySelectorAll(`[data-testid=gallery-item][data-taken^="${m}"]`)).some((c) => {
        const r = c.getBoundingClientRect();
        return r.bottom > g.top && r.top < g.bottom;
      });
    }, oldest, { timeout: 10_000 });
    await page.waitForTimeout(500); // months above it arrive meanwhile: the view must stay
    assert.ok((await idsOnScreen(page)).some((c) => c.taken.startsWith(oldest)), 'the oldest month is on screen after the scrubber click');
    // Dragging shows the month under the pointer.
    const box = (await page.getByTestId('scrubber').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.1);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.45, { steps: 5 });
    const label = page.getByTestId('scrubber-label');
    await label.waitFor();
    const dragMonth = (await label.getAttribute('data-month'))!;
    assert.ok(MONTHS.includes(dragMonth), `label month ${dragMonth}`);
    assert.ok((await label.textContent())!.includes(dragMonth.slice(0, 4)), 'the label names the year');
    await page.mouse.up();
    await page.waitForFunction((m) => Array.from(document.querySelectorAll(`[data-testid=gallery-item][data-taken^="${m}"]`)).length > 0, dragMonth);
    // Keyboard: Home on the scrubber goes back to the newest month.
    await page.getByTestId('scrubber').focus();
    await page.keyboard.press('Home');
    await page.waitForFunction(() => document.querySelector('[data-testid=gallery]')!.scrollTop < 5);
    assert.equal(await page.getByTestId('scrubber').getAttribute('data-month'), MONTHS[0]);

    // Keys between cells: → then Space selects; shift-click a range.
    const june = list.filter((p) => p.taken.startsWith('2024-06')).map((p) => id.get(p.name)!);
    const cell = (i: string) => page.locator(`[data-testid=gallery-item][data-item-id="${i}"]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-06"]').length === 3 && document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-03"]').length > 0);
    const order = await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
    const [a, b, c] = order.filter((x) => june.includes(x));
    await cell(a!).locator('.g-open').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('[data-testid=gallery-item]')?.getAttribute('data-item-id')), b);
    await page.keyboard.press('Space');
    assert.equal(await page.getByTestId('selection-count').getAttribute('data-count'), '1');
    await cell(a!).hover();
    await cell(a!).getByTestId('gallery-select').click();
    await cell(c!).getByTestId('gallery-select').click({ modifiers: ['Shift'] });
    assert.equal(await page.getByTestId('selection-count').getAttribute('data-count'), '3');
    assert.equal(await page.locator('[data-testid=gallery-item][aria-selected=true]').count(), 3);
    await page.getByTestId('selection-clear').click();
    await page.getByTestId('selection-bar').waitFor({ state: 'hidden' });

    // H in the viewer hides: the count drops, the viewer moves on, the cell leaves the grid.
    const march = order.find((x) => !june.includes(x))!;
    await cell(march).click();
    const viewer = page.getByTestId('viewer');
    await viewer.waitFor();
    await page.keyboard.press('h');
    await waitCount(page, list.length - 1);
    await page.waitForFunction((i) => document.querySelector('[data-testid=viewer]')?.getAttribute('data-item-id') !== i, march);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    assert.equal(await cell(march).count(), 0, 'the hidden photo left the grid');
    // The selection bar's trash.
    const onScreen = await idsOnScreen(page);
    const trashed = onScreen.map((x) => x.id).find((x) => ![a, b, c, march].includes(x))!;
    await cell(trashed).getByTestId('gallery-select').click();
    await page.getByTestId('selection-trash').click();
    await waitCount(page, list.length - 2);
    assert.equal(await cell(trashed).count(), 0);

    // Phone width: a day's check box selects the day (two photos on 5 June 2024).
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByTestId('gallery').evaluate((g) => (g.scrollTop = 0));
    await page.locator('[data-testid=day-header][data-day="2024-06-05"] [data-testid=day-select]').click();
    assert.equal(await page.getByTestId('selection-count').getAttribute('data-count'), '2');
    assert.equal(await page.locator('[data-testid=gallery-item][aria-selected=true]').count(), 2);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-phone.png') });
    await page.keyboard.press('Escape');
    await page.getByTestId('selection-bar').waitFor({ state: 'hidden' });
    await page.setViewportSize({ width: 1100, height: 720 });

    // A photo's address opens it (the oldest month: its shard loads first).
    const oldestPhoto = id.get(list[list.length - 1]!.name)!;
    await page.goto(page.url().replace(/#.*/, `#/photos/${oldestPhoto}`));
    await page.waitForFunction((i) => document.querySelector('[data-testid=viewer]:not([hidden])')?.getAttribute('data-item-id') === i, oldestPhoto, { timeout: 20_000 });
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((i) => location.hash.startsWith('#/photos/') && !location.hash.endsWith(i), oldestPhoto);
    await page.keyboard.press('Escape');
    await page.waitForFunction(() => location.hash === '#/photos');
    assert.deepEqual(gp.logs.filter((l) => /^error|^pageerror|Content Security Policy|Refused to/.test(l)), []);
  } finally {
    await gp.close();
  }
});
