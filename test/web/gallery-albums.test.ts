/**
 * Albums, hide and trash in Debian's Chromium, over the 30-photo library of gallery-fixtures.ts
 * in a gallery that `backup --gallery` made:
 * - a selection (check boxes, shift-click) goes to a new album; the viewer adds one more photo
 *   and then hides it; the selection bar trashes another: the timeline's `data-count` drops
 *   each time and neither appears in the album;
 * - the album is renamed and reordered (buttons, drag and drop);
 * - hidden photos show only after the password is typed again (a wrong one is refused); the
 *   trash restores;
 * - after a reload (a new session reading the newest gallery snapshot) the album keeps its name
 *   and order, the hidden photo stays out of the timeline until unhidden, and the real restic's
 *   `dump` of `/state.json` shows the same album.
 * Screenshots: docs/screenshots/gallery-{albums,album,albums-dark}.png. (The scrubber, keys and
 * deep links: gallery-features.test.ts; search: gallery-search.test.ts.)
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { resticBinaries, runRestic } from '../helpers/run.js';
import { allIds, galleryRepo, idsOnScreen, openGalleryPage, waitCount, writeLibrary } from './gallery-fixtures.js';

const PASSWORD = 'gallery-albums-' + randomBytes(6).toString('hex');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');
test('web gallery: albums, hide and trash, persisted', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-albums-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  const list = writeLibrary(src);
  await galleryRepo(repo, src, PASSWORD);
  fs.mkdirSync(SHOTS, { recursive: true });

  const gp = await openGalleryPage(repo, PASSWORD);
  const { page } = gp;
  let album: string[] = [];
  let hiddenId = '';
  let trashedId = '';
  try {
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    await waitCount(page, list.length);
    const id = await allIds(page);
    assert.equal(id.size, list.length, 'every photo laid out once');

    // Selection: two check boxes and a shift-click, into a new album.
    const june = list.filter((p) => p.taken.startsWith('2024-06')).map((p) => id.get(p.name)!);
    const cell = (i: string) => page.locator(`[data-testid=gallery-item][data-item-id="${i}"]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-06"]').length === 3 && document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-03"]').length > 0);
    const order = await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
    const [a, b, c] = order.filter((x) => june.includes(x));
    await cell(a!).hover();
    await cell(a!).getByTestId('gallery-select').click();
    await cell(b!).getByTestId('gallery-select').click();
    assert.equal(await page.getByTestId('selection-count').getAttribute('data-count'), '2');
    await cell(c!).getByTestId('gallery-select').click({ modifiers: ['Shift'] });
    assert.equal(await page.getByTestId('selection-count').getAttribute('data-count'), '3');
    await page.getByTestId('selection-album').click();
    await page.getByTestId('album-picker-name').fill('Trip');
    await page.getByTestId('album-picker-create').click();
    await page.getByTestId('selection-bar').waitFor({ state: 'hidden', timeout: 20_000 });

    // The viewer: add a photo of March to the album, then hide it: it leaves the timeline.
    const march = order.find((x) => !june.includes(x))!;
    hiddenId = march;
    await cell(march).click();
    const viewer = page.getByTestId('viewer');
    await viewer.waitFor();
    await page.keyboard.press('a');
    await page.locator('[data-testid=album-picker-item]', { hasText: 'Trip' }).click();
    await page.getByTestId('album-picker').waitFor({ state: 'detached', timeout: 20_000 });
    await page.getByTestId('viewer-hide').click();
    await waitCount(page, list.length - 1);
    await page.waitForFunction((i) => document.querySelector('[data-testid=viewer]')?.getAttribute('data-item-id') !== i, march);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    assert.equal(await cell(march).count(), 0, 'the hidden photo left the grid');

    // The selection bar's trash.
    const onScreen = await idsOnScreen(page);
    trashedId = onScreen.map((x) => x.id).find((x) => ![a, b, c, march].includes(x))!;
    await cell(trashedId).getByTestId('gallery-select').click();
    await page.getByTestId('selection-trash').click();
    await waitCount(page, list.length - 2);
    assert.equal(await cell(trashedId).count(), 0);
    // Albums: the card counts what is visible (the hidden photo is not).
    await page.getByTestId('nav-albums').click();
    const card = page.locator('[data-testid=album-card]', { hasText: 'Trip' });
    await card.waitFor();
    assert.equal(await card.getAttribute('data-count'), '3');
    await page.waitForFunction(() => (document.querySelector('[data-testid=album-card]:not([data-album-id=favorites]) img') as HTMLImageElement | null)?.naturalWidth! > 0);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-albums.png') });
    await card.click();
    await page.waitForFunction(() => document.querySelector('[data-testid=album-items]')?.getAttribute('data-count') === '3');
    const inAlbum = async () => page.$$eval('[data-testid=album-items] [data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
    assert.deepEqual(await inAlbum(), [a, b, c]);
    await page.getByTestId('album-rename').click();
    await page.getByTestId('album-name').fill('Paris 2024');
    await page.getByTestId('album-save').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=album-title]')?.textContent === 'Paris 2024');
    await page.getByTestId('album-edit').click();
    await page.locator(`[data-testid=gallery-item][data-item-id="${a}"] [data-testid=album-item-down]`).click();
    await page.waitForFunction((want) => Array.from(document.querySelectorAll('[data-testid=album-items] [data-testid=gallery-item]')).map((e) => e.getAttribute('data-item-id')).join() === want, [b, a, c].join());
    // Drag and drop: the last onto the first.
    await page.locator(`[data-testid=album-items] [data-item-id="${c}"]`).dragTo(page.locator(`[data-testid=album-items] [data-item-id="${b}"]`));
    await page.waitForFunction((want) => Array.from(document.querySelectorAll('[data-testid=album-items] [data-testid=gallery-item]')).map((e) => e.getAttribute('data-item-id')).join() === want, [c, b, a].join(), { timeout: 20_000 });
    album = [c!, b!, a!, march];
    await page.getByTestId('album-edit').click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid=album-items] img')).filter((i) => i.naturalWidth > 0).length === 3);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-album.png') });
    await page.emulateMedia({ colorScheme: 'dark' }); // the theme follows the system ('auto')
    await page.getByTestId('nav-albums').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid=album-card]:not([data-album-id=favorites]) img') as HTMLImageElement | null)?.naturalWidth! > 0);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-albums-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    // Hidden items show after the password is typed again; the trash restores.
    await page.getByTestId('nav-albums').click();
    await page.getByTestId('nav-hidden').click();
    await page.getByTestId('hidden-password').fill('not-the-password');
    await page.getByTestId('hidden-submit').click();
    await page.getByTestId('hidden-error').waitFor({ timeout: 20_000 });
    await page.getByTestId('hidden-password').fill(PASSWORD);
    await page.getByTestId('hidden-submit').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=hidden-items]')?.getAttribute('data-count') === '1', undefined, { timeout: 20_000 });
    assert.deepEqual(await page.$$eval('[data-testid=hidden-items] [data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id'))), [hiddenId]);
    assert.equal(await page.getByTestId('hidden-password').count(), 0, 'the password form is gone');
    await page.goto(page.url().replace(/#.*/, '#/trash'));
    await page.waitForFunction(() => document.querySelector('[data-testid=trash-items]')?.getAttribute('data-count') === '1');
    await page.locator(`[data-testid=trash-items] [data-item-id="${trashedId}"] [data-testid=trash-restore]`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=trash-items]')?.getAttribute('data-count') === '0', undefined, { timeout: 20_000 });
    await page.getByTestId('nav-gallery').click();
    await waitCount(page, list.length - 1);

    // A new session (reload, unlock again): the album is read back from the newest gallery snapshot.
    await page.reload();
    await gp.unlock();
    await page.getByTestId('nav-albums').click();
    const again = page.locator('[data-testid=album-card]', { hasText: 'Paris 2024' });
    await again.waitFor();
    assert.equal(await again.getAttribute('data-count'), '3');
    await again.click();
    await page.waitForFunction(() => document.querySelector('[data-testid=album-items]')?.getAttribute('data-count') === '3');
    assert.deepEqual(await inAlbum(), [c, b, a]);
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    // The hidden photo stays out (the gallery snapshot's index left it out), the restored one is back.
    await waitCount(page, list.length - 1);
    assert.equal(await page.locator(`[data-testid=gallery-item][data-item-id="${hiddenId}"]`).count(), 0);
    // Unhide it in this new session (it was hidden when the gallery was opened).
    await page.goto(page.url().replace(/#.*/, '#/hidden'));
    await page.getByTestId('hidden-password').fill(PASSWORD);
    await page.getByTestId('hidden-submit').click();
    await page.locator(`[data-testid=hidden-items] [data-item-id="${hiddenId}"] [data-testid=hidden-unhide]`).click();
    await page.waitForFunction(() => document.querySelector('[data-testid=hidden-items]')?.getAttribute('data-count') === '0', undefined, { timeout: 20_000 });
    await page.getByTestId('nav-albums').click();
    await page.locator('[data-testid=album-card][data-count="4"]', { hasText: 'Paris 2024' }).waitFor();
    await page.getByTestId('nav-gallery').click();
    await waitCount(page, list.length);
    await page.getByTestId('scrubber').focus();
    await page.keyboard.press('ArrowDown');
    await page.locator(`[data-testid=gallery-item][data-item-id="${hiddenId}"]`).waitFor();
    assert.deepEqual(gp.logs.filter((l) => /^error|^pageerror|Content Security Policy|Refused to/.test(l)), []);
  } finally {
    await gp.close();
  }

  // The real restic reads the state the browser wrote.
  const [bin] = resticBinaries();
  const r = await runRestic(bin!, ['-r', repo, 'dump', '--host', 'coffer', '--path', '/coffer/gallery', 'latest', '/state.json'], { env: { ...process.env, RESTIC_PASSWORD: PASSWORD } });
  assert.equal(r.code, 0, r.stderr);
  const state = JSON.parse(r.stdout) as { albums: { name: string; items: string[] }[]; trash: { id: string }[]; hidden?: string[] };
  assert.equal(state.albums.length, 1);
  assert.equal(state.albums[0]!.name, 'Paris 2024');
  assert.deepEqual(state.albums[0]!.items, album);
  assert.deepEqual(state.trash, []);
  assert.deepEqual(state.hidden, []);
});
