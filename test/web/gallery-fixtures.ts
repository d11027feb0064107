/**
 * Shared pieces of the gallery's browser tests (gallery-*.test.ts): small generated JPEGs with
 * known EXIF, a repository whose gallery `coffer gallery build` made (with the country lookup),
 * and an unlocked page in Debian's Chromium.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import jpeg from 'jpeg-js';
import { CHROMIUM, CHROMIUM_ARGS } from '../browser/harness.js';
import { buildTiff } from '../gallery/photo-maker.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb, type WebServer } from './web-helpers.js';

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

/** init, backup of `src` (and of `privateSrc` tagged `private`), then `gallery build` (which looks countries up). */
export async function galleryRepo(repo: string, src: string, password: string, privateSrc?: string): Promise<void> {
  const env = testEnv({ COFFER_PASSWORD: password });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  await mustRun(['-r', repo, 'backup', src], { env }, 0);
  if (privateSrc) await mustRun(['-r', repo, 'backup', '--tag', 'private', privateSrc], { env }, 0);
  await mustRun(['-r', repo, 'gallery', 'build'], { env }, 0);
}

export interface GalleryPage {
  readonly page: Page;
  readonly context: BrowserContext;
  readonly server: WebServer;
  readonly logs: string[];
  unlock(): Promise<void>;
  close(): Promise<void>;
}

export async function openGalleryPage(repo: string, password: string, viewport = { width: 1100, height: 720 }, extraArgs: string[] = []): Promise<GalleryPage> {
  const server = await startWeb(repo);
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
