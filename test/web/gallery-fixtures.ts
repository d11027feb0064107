/**
 * Shared pieces of the gallery's browser tests (gallery-*.test.ts): small generated JPEGs with
 * known EXIF, a 30-photo library, a repository whose gallery `backup --gallery` made (with the
 * country lookup), and an unlocked page in Debian's Chromium.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import jpeg from 'jpeg-js';
import { CHROMIUM, CHROMIUM_ARGS } from '../browser/harness.js';
import { buildTiff } from '../gallery/photo-maker.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb, webEnv, type WebServer } from './web-helpers.js';

export interface TestPhoto {
  readonly name: string;
  readonly taken: string;
  readonly make: string;
  readonly model: string;
  readonly gps?: [number, number];
}

/** A small JPEG (two colour bands that vary with `seed`) with an EXIF block. */
export function exifJpeg(seed: number, p: TestPhoto, w = 96, h = 64): Buffer {
  const px = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) px.set(y < h / 2 ? [(seed * 53) % 256, 120 + ((seed * 17) % 120), 200, 255] : [60, (seed * 91) % 256, 80 + x, 255], (y * w + x) * 4);
  const raw = Buffer.from(jpeg.encode({ width: w, height: h, data: px }, 80).data);
  const tiff = Buffer.from(buildTiff({ make: p.make, model: p.model, dateTimeOriginal: p.taken.replace(/-/g, ':').replace('T', ' '), ...(p.gps ? { gps: p.gps } : {}) }));
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), tiff]);
  const seg = Buffer.concat([Buffer.from([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]), body]);
  return Buffer.concat([raw.subarray(0, 2), seg, raw.subarray(2)]);
}

/** init, then `backup --gallery` of `src` (and of `privateSrc` tagged `private`); the build looks countries up. */
export async function galleryRepo(repo: string, src: string, password: string, privateSrc?: string): Promise<void> {
  const env = testEnv({ COFFER_PASSWORD: password });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  await mustRun(['-r', repo, 'backup', src, '--gallery'], { env }, 0);
  if (privateSrc) await mustRun(['-r', repo, 'backup', '--tag', 'private', privateSrc, '--gallery'], { env }, 0);
}

export interface GalleryPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly server: WebServer;
  readonly logs: string[];
  unlock(): Promise<void>;
  close(): Promise<void>;
}

export async function openGalleryPage(repo: string, password: string, viewport = { width: 1100, height: 720 }, extraArgs: string[] = [], env: NodeJS.ProcessEnv = webEnv()): Promise<GalleryPage> {
  const server = await startWeb(repo, env);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true, viewport });
  const page = context.pages()[0] ?? (await context.newPage());
  const logs: string[] = [];
  page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
  await page.goto(`http://127.0.0.1:${server.port}/?token=${server.token}`);
  const unlock = async (): Promise<void> => {
    await page.getByTestId('unlock-password').fill(password);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-gallery').waitFor();
  };
  await unlock();
  return {
    page,
    context,
    server,
    logs,
    unlock,
    close: async () => {
      await context.close();
      await server.stop();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Ids of the cells whose box is inside the timeline's visible area. */
export function idsOnScreen(page: Page): Promise<{ id: string; taken: string }[]> {
  return page.$$eval('[data-testid=gallery-item]', (els) => {
    const g = document.querySelector('[data-testid=gallery]')!.getBoundingClientRect();
    return els
      .filter((c) => {
        const r = c.getBoundingClientRect();
        return r.bottom > g.top + 1 && r.top < g.bottom - 1;
      })
      .map((c) => ({ id: c.getAttribute('data-item-id')!, taken: c.getAttribute('data-taken')! }));
  });
}

// ---- A 30-photo library: ten months, three cameras, Paris and Sydney, two "beach" names ----

export const MONTHS = ['2024-06', '2024-03', '2023-11', '2023-07', '2023-02', '2022-10', '2022-05', '2021-12', '2021-08', '2021-01'];
export const CAMERAS = [
  { make: 'Fujifilm', model: 'X-T30 Zephyr', label: 'Fujifilm X-T30 Zephyr' },
  { make: 'Canon', model: 'EOS R6 Quokka', label: 'Canon EOS R6 Quokka' },
  { make: 'Google', model: 'Pixel 8 Narwhal', label: 'Google Pixel 8 Narwhal' },
];
export const PARIS: [number, number] = [48.85837, 2.29448];
export const SYDNEY: [number, number] = [-33.85678, 151.21529];
export type LibraryPhoto = TestPhoto & { camera: string };

export function libraryPhotos(): LibraryPhoto[] {
  const out: LibraryPhoto[] = [];
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

/** Writes libraryPhotos() under `src/<month>/` and returns them. */
export function writeLibrary(src: string): LibraryPhoto[] {
  const list = libraryPhotos();
  list.forEach((p, i) => {
    const sub = path.join(src, p.taken.slice(0, 7));
    fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, p.name), exifJpeg(i, p));
  });
  return list;
}

export async function waitCount(page: Page, n: number): Promise<void> {
  await page.waitForFunction((n) => document.querySelector('[data-testid=gallery]')?.getAttribute('data-count') === String(n), n, { timeout: 20_000 });
}

/** Every item's id by name, scrolling the virtual grid top to bottom. */
export async function allIds(page: Page): Promise<Map<string, string>> {
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
    await page.waitForTimeout(80);
  }
  await g.evaluate((el) => (el.scrollTop = 0));
  return byName;
}
