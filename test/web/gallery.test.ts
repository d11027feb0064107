/**
 * The gallery in the web app, end to end in Debian's Chromium: twelve generated JPEGs with known
 * EXIF (dates over three months, three cameras, GPS on some) are backed up with
 * `coffer backup --gallery`, served by `coffer web` behind a recording proxy, and opened after
 * unlocking: every photo appears exactly once while scrolling the virtual grid, month headers
 * come newest first, `data-taken` is the EXIF date, thumbnails are decoded images, the viewer's
 * info panel shows the camera, date and place, ←/→/Esc work, F saves a favourite (a new
 * gallery snapshot written by the browser, read back with the core; `restic check --read-data`
 * passes), and its download is byte-identical to the source; the map's markers count the photos
 * at each place. Nothing plain crossed the
 * wire or sits in the repository's files: no JPEG or WebP header of any photo, no EXIF camera
 * text, never the password. Screenshots: docs/screenshots/gallery-*.png.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import jpeg from 'jpeg-js';
import { buildTiff } from '../gallery/photo-maker.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { resticBinaries, runRestic, testEnv } from '../helpers/run.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { openRepository } from '../../src/core/repository/open.js';
import { openGallery } from '../../src/core/engine/gallery/read.js';
import { mustRun, recordingProxy, startWeb } from './web-helpers.js';

const PASSWORD = 'gallery-' + randomBytes(6).toString('hex');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');

interface Photo {
  name: string;
  exif: string;
  taken: string;
  make: string;
  model: string;
  gps?: [number, number];
  bytes: Buffer;
}

const CAMERAS = [
  { make: 'Fujifilm', model: 'X-T30 Zephyr' },
  { make: 'Canon', model: 'EOS R6 Quokka' },
  { make: 'Google', model: 'Pixel 8 Narwhal' },
];
const PLACES: [number, number][] = [
  [48.85837, 2.29448],
  [-33.85678, 151.21529],
];

/** A small landscape (sky, sun, hills) whose colours vary with `seed`: screenshots that look like photos. */
function scene(w: number, h: number, seed: number): Uint8Array {
  const px = new Uint8Array(w * h * 4);
  const hue = (seed * 47) % 360;
  const rgb = (hh: number, l: number): [number, number, number] => {
    const k = (n: number): number => (n + hh / 30) % 12;
    const a = 0.55 * Math.min(l, 1 - l);
    return [0, 8, 4].map((n) => Math.round(255 * (l - a * Math.max(-1, Math.min(k(n) - 3, 9 - k(n), 1))))) as [number, number, number];
  };
  const sunX = w * (0.2 + ((seed * 37) % 60) / 100);
  const sunY = h * 0.3;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const hill1 = h * (0.62 + 0.08 * Math.sin(x / (w / 5) + seed));
      const hill2 = h * (0.75 + 0.06 * Math.sin(x / (w / 9) + seed * 2));
      let c: [number, number, number];
      if (y > hill2) c = rgb((hue + 120) % 360, 0.25 + 0.1 * (y / h));
      else if (y > hill1) c = rgb((hue + 90) % 360, 0.4);
      else if (Math.hypot(x - sunX, y - sunY) < h * 0.09) c = [255, 236, 170];
      else c = rgb(hue, 0.75 - 0.35 * (y / h));
      px.set([...c, 255], (y * w + x) * 4);
    }
  return px;
}

/** A JPEG of `scene` with an EXIF APP1 segment right after SOI. */
function photoJpeg(w: number, h: number, seed: number, spec: Parameters<typeof buildTiff>[0]): Buffer {
  const raw = Buffer.from(jpeg.encode({ width: w, height: h, data: scene(w, h, seed) }, 85).data);
  const tiff = Buffer.from(buildTiff(spec));
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]), body]);
  return Buffer.concat([raw.subarray(0, 2), seg, raw.subarray(2)]);
}

function makePhotos(dir: string): Photo[] {
  const days = ['2024-06-01T09:15:00', '2024-06-01T18:40:10', '2024-06-14T12:00:00', '2024-06-30T23:59:59', '2024-04-02T08:00:00', '2024-04-02T08:00:05', '2024-04-20T16:30:00', '2024-04-21T07:07:07', '2023-12-24T19:00:00', '2023-12-25T10:11:12', '2023-12-25T10:11:13', '2023-12-31T23:30:00'];
  return days.map((taken, i) => {
    const cam = CAMERAS[i % 3]!;
    const gps = i % 4 === 0 ? PLACES[(i / 4) % 2]! : undefined;
    const exif = taken.replace(/-/g, ':').replace('T', ' ');
    const name = `IMG_${String(1000 + i)}.jpg`;
    const bytes = photoJpeg(i % 3 === 1 ? 300 : 480, i % 3 === 1 ? 400 : 320, i, { make: cam.make, model: cam.model, dateTimeOriginal: exif, ...(gps ? { gps } : {}) });
    const sub = path.join(dir, taken.slice(0, 7));
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, name), bytes);
    return { name, exif, taken, ...cam, ...(gps ? { gps } : {}), bytes };
  });
}

/** Scrolls the timeline top to bottom, collecting each laid-out item; fails on a duplicate in the DOM. */
async function collect(page: Page): Promise<{ seen: Map<string, { taken: string; name: string }>; months: Map<string, number> }> {
  const seen = new Map<string, { taken: string; name: string }>();
  const months = new Map<string, number>();
  for (let step = 0; step < 50; step++) {
    const now = await page.$$eval('[data-testid=gallery-item]', (els) => els.map((e) => ({ id: e.getAttribute('data-item-id')!, taken: e.getAttribute('data-taken')!, name: e.getAttribute('data-name')! })));
    const ids = now.map((x) => x.id);
    assert.equal(new Set(ids).size, ids.length, 'an item is laid out twice');
    for (const x of now) seen.set(x.id, { taken: x.taken, name: x.name });
    for (const [m, top] of await page.$$eval('[data-testid=month-header]', (els) => els.map((e) => [e.getAttribute('data-month')!, e.getBoundingClientRect().top + document.querySelector('[data-testid=gallery]')!.scrollTop] as [string, number]))) months.set(m, top);
    const end = await page.getByTestId('gallery').evaluate((g) => {
      const atEnd = g.scrollTop + g.clientHeight >= g.scrollHeight - 2;
      g.scrollTop += g.clientHeight * 0.8;
      return atEnd;
    });
    if (end) break;
    await page.waitForTimeout(150);
  }
  return { seen, months };
}

test('web gallery: timeline, viewer, original download; nothing plain on the wire', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-gallery-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  const photos = makePhotos(src);
  const env = testEnv({ COFFER_PASSWORD: PASSWORD });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  await mustRun(['-r', repo, 'backup', src, '--gallery'], { env }, 0);

  const server = await startWeb(repo);
  const proxy = await recordingProxy(server.port);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const downloads = path.join(dir, 'downloads');
  fs.mkdirSync(downloads);
  fs.mkdirSync(SHOTS, { recursive: true });
  const base = `http://127.0.0.1:${proxy.port}`;
  const logs: string[] = [];
  let favoriteId = '';
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true, viewport: { width: 1100, height: 700 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await page.goto(`${base}/?token=${server.token}`);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-gallery').click();
    await page.getByTestId('gallery-item').first().waitFor();
    assert.equal(await page.getByTestId('gallery').getAttribute('data-count'), '12');

    // Virtualized: the last month is more than two screens down, so not in the DOM yet.
    assert.deepEqual(await page.$$eval('[data-testid=month-header]', (els) => els.map((e) => e.getAttribute('data-month'))), ['2024-06', '2024-04']);
    // Days of June: three, newest first.
    const days = await page.$$eval('[data-testid=day-header]', (els) => els.map((e) => e.getAttribute('data-day')));
    assert.deepEqual(days.filter((d) => d!.startsWith('2024-06')), ['2024-06-30', '2024-06-14', '2024-06-01']);

    // Real thumbnails (decoded images) in the first cells.
    await page.waitForFunction(() => {
      const g = document.querySelector('[data-testid=gallery]')!.getBoundingClientRect();
      const onScreen = Array.from(document.querySelectorAll('[data-testid=gallery-item]')).filter((c) => {
        const r = c.getBoundingClientRect();
        return r.bottom > g.top && r.top < g.bottom;
      });
      return onScreen.length >= 3 && onScreen.every((c) => (c.querySelector('img')?.naturalWidth ?? 0) > 0);
    }, undefined, { timeout: 15_000 });
    await page.screenshot({ path: path.join(SHOTS, 'gallery-timeline.png') });
    // Thumbnails only for what is on screen: fewer requests than photos, as many as cells shown.
    const onScreen = await page.$$eval('[data-testid=gallery-item]', (els) => {
      const g = document.querySelector('[data-testid=gallery]')!.getBoundingClientRect();
      return els.filter((c) => c.getBoundingClientRect().bottom > g.top && c.getBoundingClientRect().top < g.bottom).length;
    });
    const requested = Number(await page.getByTestId('gallery').getAttribute('data-thumb-requests'));
    assert.ok(requested >= onScreen, `${requested} thumbnail requests for ${onScreen} cells on screen`);
    assert.ok(requested < photos.length, `${requested} thumbnails requested for ${photos.length} photos`);

    // Every photo exactly once, with its EXIF date.
    const { seen, months } = await collect(page);
    assert.deepEqual([...months].sort((a, b) => a[1] - b[1]).map((m) => m[0]), ['2024-06', '2024-04', '2023-12'], 'month headers newest first');
    assert.equal(seen.size, photos.length);
    const byName = new Map([...seen].map(([id, v]) => [v.name, { id, taken: v.taken }]));
    for (const p of photos) assert.equal(byName.get(p.name)?.taken, p.taken, `${p.name} taken`);
    await page.getByTestId('gallery').evaluate((g) => (g.scrollTop = 0));

    // The viewer: the newest photo, its info, the keys.
    const newest = photos.reduce((a, b) => (a.taken > b.taken ? a : b));
    favoriteId = byName.get(newest.name)!.id;
    await page.locator(`[data-testid=gallery-item][data-item-id="${byName.get(newest.name)!.id}"]`).click();
    const viewer = page.getByTestId('viewer');
    await viewer.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=viewer-image]')?.naturalWidth ?? 0) > 0);
    assert.equal(await viewer.getAttribute('data-item-id'), byName.get(newest.name)!.id);
    assert.equal(await page.getByTestId('info-date').getAttribute('data-taken'), newest.taken);
    assert.ok((await page.getByTestId('info-date').textContent())!.includes('2024'));
    assert.ok((await page.getByTestId('info-camera').textContent())!.includes(newest.model));
    // F marks a favourite: saved in the repository by the worker (checked below with the core and restic).
    await page.keyboard.press('f');
    await page.waitForFunction(() => document.querySelector('[data-testid=viewer-favorite]')?.getAttribute('aria-pressed') === 'true', undefined, { timeout: 20_000 });
    await page.keyboard.press('ArrowRight');
    const second = [...photos].sort((a, b) => (a.taken < b.taken ? 1 : -1))[1]!;
    await page.waitForFunction((id) => document.querySelector('[data-testid=viewer]')?.getAttribute('data-item-id') === id, byName.get(second.name)!.id);
    assert.ok((await page.getByTestId('info-camera').textContent())!.includes(second.model));
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction((id) => document.querySelector('[data-testid=viewer]')?.getAttribute('data-item-id') === id, byName.get(newest.name)!.id);

    // A photo with GPS, in another month (→ crosses months): its place and a byte-identical original.
    const withGps = photos.find((p) => p.gps && p.taken.startsWith('2023'))!;
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    await page.getByTestId('gallery').evaluate((g) => (g.scrollTop = g.scrollHeight));
    const cell = page.locator(`[data-testid=gallery-item][data-item-id="${byName.get(withGps.name)!.id}"]`);
    await cell.waitFor();
    await cell.click();
    await viewer.waitFor();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=viewer-image]')?.naturalWidth ?? 0) > 0);
    assert.equal(await page.getByTestId('info-date').getAttribute('data-taken'), withGps.taken);
    assert.ok((await page.getByTestId('info-camera').textContent())!.includes(`${withGps.make} ${withGps.model}`));
    const place = page.getByTestId('info-place');
    assert.equal(Number(await place.getAttribute('data-lat')), withGps.gps![0]);
    assert.equal(Number(await place.getAttribute('data-lon')), withGps.gps![1]);
    await page.screenshot({ path: path.join(SHOTS, 'gallery-viewer.png') });
    const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.getByTestId('viewer-download').click()]);
    const file = path.join(downloads, dl.suggestedFilename());
    await dl.saveAs(file);
    assert.equal(dl.suggestedFilename(), withGps.name);
    assert.ok(fs.readFileSync(file).equals(withGps.bytes), 'the downloaded original differs from the source');
    assert.ok(dl.url().includes('/_stream/'), `streamed through the service worker: ${dl.url()}`);
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });

    // The map: geotagged photos clustered by place, drawn in the page.
    await page.getByTestId('nav-map').click();
    await page.getByTestId('map-base').waitFor();
    await page.getByTestId('map-marker').first().waitFor();
    const markers = await page.$$eval('[data-testid=map-marker]', (els) => els.map((e) => ({ count: Number(e.getAttribute('data-count')), lat: Number(e.getAttribute('data-lat')), lon: Number(e.getAttribute('data-lon')) })));
    const expected = new Map<string, number>();
    for (const p of photos) if (p.gps) expected.set(p.gps.join(','), (expected.get(p.gps.join(',')) ?? 0) + 1);
    assert.deepEqual(markers.map((m) => [`${m.lat},${m.lon}`, m.count]).sort(), [...expected].sort());
    await page.screenshot({ path: path.join(SHOTS, 'gallery-map.png') });
  } finally {
    await context.close();
    await proxy.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }

  // The favourite is in the newest gallery snapshot's state, and the real restic checks it all.
  const opened = await openRepository(new LocalBackend(repo), await nodePlatform(), { password: PASSWORD });
  const g = (await openGallery(opened))!;
  assert.deepEqual(g.state.favorites, [favoriteId]);
  assert.equal(g.months.count, photos.length);
  for (const bin of resticBinaries()) {
    const c = await runRestic(bin, ['-r', repo, 'check', '--read-data'], { env: { ...process.env, RESTIC_PASSWORD: PASSWORD } });
    assert.equal(c.code, 0, `${bin.name} check: ${c.stdout}${c.stderr}`);
  }

  const wire = Buffer.concat([proxy.sent(), proxy.received()]);
  assert.ok(/GET \/repo\/data\/[0-9a-f]{64}/.test(proxy.sent().toString('latin1')), 'the proxy saw the pack reads');
  const forbidden: { what: string; bytes: Buffer }[] = [
    { what: 'password', bytes: Buffer.from(PASSWORD) },
    { what: 'WebP header', bytes: Buffer.from('WEBPVP8') },
    { what: 'EXIF header', bytes: Buffer.from('Exif\0\0') },
  ];
  for (const p of photos) {
    forbidden.push({ what: `${p.name} JPEG header`, bytes: p.bytes.subarray(0, 12) }, { what: `${p.name} middle`, bytes: p.bytes.subarray(p.bytes.length >> 1, (p.bytes.length >> 1) + 24) });
    assert.ok(p.bytes[0] === 0xff && p.bytes[1] === 0xd8 && p.bytes[2] === 0xff && (p.bytes[3] === 0xe0 || p.bytes[3] === 0xe1));
  }
  for (const c of CAMERAS) forbidden.push({ what: `camera ${c.model}`, bytes: Buffer.from(c.model) });
  for (const f of forbidden) assert.equal(wire.indexOf(f.bytes), -1, `${f.what} was seen on the wire`);
  // Nor in the server's storage (the favourite's snapshot included).
  const stored = Buffer.concat((fs.readdirSync(repo, { recursive: true }) as string[]).map((f) => path.join(repo, f)).filter((f) => fs.statSync(f).isFile()).map((f) => fs.readFileSync(f)));
  assert.ok(stored.length > 50_000, `the repository holds the photos (${stored.length} bytes)`);
  for (const f of forbidden) assert.equal(stored.indexOf(f.bytes), -1, `${f.what} is in the repository's files`);
  assert.deepEqual(logs.filter((l) => /^error|^pageerror|Content Security Policy|Refused to/.test(l)), []);
});
