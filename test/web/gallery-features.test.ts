/**
 * The gallery's scrubber, selection, albums, hide/trash and search in Debian's Chromium, over 30
 * generated JPEGs (ten months, three cameras, Paris and Sydney GPS on some, two "beach" names)
 * in a gallery that `coffer gallery build` made:
 * - clicking the scrubber's oldest month shows that month's photos; dragging shows the label;
 *   Home on the focused scrubber goes back to the newest month;
 * - a selection (check boxes, shift-click) goes to a new album; the viewer adds one more photo
 *   and then hides it; the selection bar trashes another: the timeline's `data-count` drops
 *   each time and neither appears in the album;
 * - the album is renamed and reordered; search by camera, date range, name and country returns
 *   exactly the expected ids (hidden and trashed ones left out);
 * - hidden photos show only after the password is typed again (a wrong one is refused); the
 *   trash restores;
 * - after a reload (a new session reading the newest gallery snapshot) the album keeps its name
 *   and order, the hidden photo stays out of the timeline until unhidden, and the real restic's
 *   `dump` of `/state.json` shows the same album.
 * Screenshots: docs/screenshots/gallery-{albums,album,search,phone}.png.
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
import { exifJpeg, galleryRepo, idsOnScreen, openGalleryPage, type TestPhoto } from './gallery-fixtures.js';

const PASSWORD = 'gallery-ui-' + randomBytes(6).toString('hex');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');
const MONTHS = ['2024-06', '2024-03', '2023-11', '2023-07', '2023-02', '2022-10', '2022-05', '2021-12', '2021-08', '2021-01'];
const CAMERAS = [
  { make: 'Fujifilm', model: 'X-T30 Zephyr', label: 'Fujifilm X-T30 Zephyr' },
  { make: 'Canon', model: 'EOS R6 Quokka', label: 'Canon EOS R6 Quokka' },
  { make: 'Google', model: 'Pixel 8 Narwhal', label: 'Google Pixel 8 Narwhal' },
];
const PARIS: [number, number] = [48.85837, 2.29448];
const SYDNEY: [number, number] = [-33.85678, 151.21529];

function photos(): (TestPhoto & { camera: string })[] {
  const out: (TestPhoto & { camera: string })[] = [];
  MONTHS.forEach((m, mi) => {
    for (const [k, t] of ['05T10:00:00', '05T12:30:00', '20T08:15:00'].entries()) {
      const i = mi * 3 + k;
      const cam = CAMERAS[i % 3]!;
      const gps = i % 5 === 0 ? PARIS : i % 5 === 1 ? SYDNEY : undefined;
      const name = i === 7 ? 'beach-sunset.jpg' : i === 20 ? 'Beach_day.jpg' : `IMG_${1000 + i}.jpg`;
      out.push({ name, taken: `${m}-${t}`, make: cam.make, model: cam.model, camera: cam.label, ...(gps ? { gps } : {}) });
    }
  });
  return out;
}

async function waitCount(page: Page, n: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelector('[data-testid=gallery]')?.getAttribute('data-count') === String(n), n, { timeout: 20_000 });
}

/** Every item's id by name, scrolling the virtual grid top to bottom. */
async function allIds(page: Page): Promise<Map<string, string>> {
  const byName = new Map<string, string>();
  const g = page.getByTestId('gallery');
  for (let i = 0; i < 40; i++) {
    for (const [name, id] of await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => [e.getAttribute('data-name')!, e.getAttribute('data-item-id')!] as [string, string]))) byName.set(name, id);
    const end = await g.evaluate((el) => {
      const atEnd = el.scrollTop + el.clientHeight >= el.scrollHeight - 2;
      el.scrollTop += el.clientHeight * 0.8;
      return atEnd;
    });
    if (end) break;
    await page.waitForTimeout(120);
  }
  await g.evaluate((el) => (el.scrollTop = 0));
  return byName;
}

async function searchIds(page: Page): Promise<string[]> {
  await page.waitForSelector('[data-testid=search-results][data-done]');
  await page.waitForFunction(() => {
    const r = document.querySelector('[data-testid=search-results]')!;
    return r.querySelectorAll('[data-testid=gallery-item]').length === Number(r.getAttribute('data-count'));
  });
  return (await page.$$eval('[data-testid=search-results] [data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!))).sort();
}

async function runSearch(page: Page, fill: () => Promise<void>): Promise<string[]> {
  await page.getByTestId('search-clear').click();
  await page.waitForFunction(() => !document.querySelector('[data-testid=search-results]')?.hasAttribute('data-done'));
  await fill();
  await page.getByTestId('search-submit').click();
  return searchIds(page);
}

test('web gallery: scrubber, selection, albums, hide, trash and search', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-ui-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  const list = photos();
  list.forEach((p, i) => {
    const sub = path.join(src, p.taken.slice(0, 7));
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, p.name), exifJpeg(i, p));
  });
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

    // Selection: two check boxes and a shift-click, into a new album.
    const june = list.filter((p) => p.taken.startsWith('2024-06')).map((p) => id.get(p.name)!);
    const cell = (i: string) => page.locator(`[data-testid=gallery-item][data-item-id="${i}"]`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-06"]').length === 3 && document.querySelectorAll('[data-testid=gallery-item][data-taken^="2024-03"]').length > 0);
    const order = await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => e.getAttribute('data-item-id')!));
    const [a, b, c] = order.filter((x) => june.includes(x));
    await cell(a!).hover();
    await cell(a!).getByTestId('gallery-select').click();
    // The keyboard: → from a focused cell to the next, Space selects it.
    await cell(a!).locator('.g-open').focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await page.evaluate(() => document.activeElement?.closest('[data-testid=gallery-item]')?.getAttribute('data-item-id')), b);
    await page.keyboard.press('Space');
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
    // A phone-width screenshot of the timeline with a selection.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByTestId('gallery').evaluate((g) => (g.scrollTop = 0));
    await cell(a!).getByTestId('gallery-select').click();
    await page.screenshot({ path: path.join(SHOTS, 'gallery-phone.png') });
    await page.keyboard.press('Escape');
    await page.setViewportSize({ width: 1100, height: 720 });

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
    album = [b!, a!, c!, march];
    await page.getByTestId('album-edit').click();
    await page.waitForFunction(() => Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid=album-items] img')).filter((i) => i.naturalWidth > 0).length === 3);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-album.png') });
    await page.emulateMedia({ colorScheme: 'dark' }); // the theme follows the system ('auto')
    await page.getByTestId('nav-albums').click();
    await page.waitForFunction(() => (document.querySelector('[data-testid=album-card]:not([data-album-id=favorites]) img') as HTMLImageElement | null)?.naturalWidth! > 0);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-albums-dark.png') });
    await page.emulateMedia({ colorScheme: 'light' });

    // Search: exactly the expected ids, hidden and trashed left out.
    const gone = new Set([hiddenId, trashedId]);
    const want = (f: (p: TestPhoto & { camera: string }) => boolean) => list.filter(f).map((p) => id.get(p.name)!).filter((x) => !gone.has(x)).sort();
    await page.getByTestId('nav-search').click();
    await page.getByTestId('search-form').waitFor();
    const canon = CAMERAS[1]!.label;
    assert.deepEqual(await runSearch(page, () => page.getByTestId('search-camera').selectOption(canon).then(() => undefined)), want((p) => p.camera === canon), 'by camera');
    assert.deepEqual(await runSearch(page, async () => {
      await page.getByTestId('search-from').fill('2022-05-01');
      await page.getByTestId('search-to').fill('2023-02-05');
    }), want((p) => p.taken >= '2022-05-01' && p.taken < '2023-02-06'), 'by date range (the end day included)');
    assert.deepEqual(await runSearch(page, () => page.getByTestId('search-q').fill('beach')), want((p) => /beach/i.test(p.name)), 'by name');
    const paris = want((p) => p.gps === PARIS);
    assert.ok(paris.length >= 4);
    assert.deepEqual(await runSearch(page, () => page.getByTestId('search-place').selectOption('FR').then(() => undefined)), paris, 'by country');
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
    // A result opens the viewer.
    await page.locator('[data-testid=search-results] [data-testid=gallery-item]').first().click();
    await page.getByTestId('viewer').waitFor();
    await page.keyboard.press('Escape');

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
    assert.deepEqual(await inAlbum(), [b, a, c]);
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
