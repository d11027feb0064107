/**
 * `npx tsc -p tsconfig.json && node dist/bench/gallery-web.js [--photos 10000] [--big 100000]
 * [--reuse]`: the web gallery's speed targets (issue 11, design web-gallery.md §5), measured in
 * Debian's Chromium (driven by playwright) against `coffer web`:
 *
 *   - key open → first screen of thumbnails painted, `--photos` library (target < 1 s);
 *   - scrubber click on the oldest month → its thumbnails painted (target < 2 s);
 *   - open a photo → preview painted (target < 300 ms; median of 5);
 *   - scrolling the `--big` library: longest frame after the thumbnails are cached (target
 *     ≤ 50 ms) and the most gallery-item cells in the DOM (target < 1,500).
 *
 * "Painted" is the first requestAnimationFrame callback (in the page) after every cell on screen
 * holds its decoded `img` (the design's hook: the img appears only once the thumbnail is
 * decoded), so the next frame shows them.
 *
 * The libraries: one tiny JPEG per photo (64×48, its own colours, EXIF DateTimeOriginal spread
 * over ten years) backed up by `coffer backup`; the gallery is built through the core API
 * (`buildGallery`) with a stand-in renderer instead of sharp's ~3 photos/s on 12 MP photos:
 * every photo of the `--photos` library gets its own 400×300 WebP thumbnail (encoded by sharp
 * from a noise pattern, ~ a real thumbnail's size); previews (1920×1440) come from a pool of 64;
 * in the `--big` library the thumbnails too come from a pool of 64. Only the renderer is
 * replaced: ids, shards, blobs and snapshot are the real build's. Repositories are kept in
 * /dev/shm/coffer-bench-gallery-web-<n> (`--reuse` reuses them). Not a test; the table goes
 * to stdout and bench/results/gallery-web-<timestamp>.md.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Page } from 'playwright-core';
import sharp from 'sharp';
import { buildGallery, type GalleryRenderer, type RenderedMedia } from '../src/core/engine/gallery/build.js';
import { hostOffsetAt } from '../src/core/gallery/metadata.js';
import { openRepository } from '../src/core/repository/open.js';
import { openBackend } from '../src/node/open-backend.js';
import { nodePlatform } from '../src/node/platform.js';
import { placeholder } from '../src/node/gallery-thumbs.js';
import { startWeb, webEnv } from '../test/web/web-helpers.js';
import { buildTiff, makeJpeg } from '../test/gallery/photo-maker.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(ROOT, 'bin', 'coffer.js');
const PASSWORD = 'bench-gallery-web-pw';
const KDF = '1024,8,1';
const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return Number(i > 0 ? process.argv[i + 1] : dflt);
};
const PHOTOS = arg('photos', 10_000);
const BIG = arg('big', 100_000);
const REUSE = process.argv.includes('--reuse');
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const VIEWPORT = { width: 1280, height: 800 };
const load = (): string => os.loadavg().map((l) => l.toFixed(1)).join(' ');
const log = (s: string): void => void process.stderr.write(`[gallery-web] ${s}\n`);

function env(): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(e)) if (k.startsWith('COFFER_') || k.startsWith('RESTIC_')) delete e[k];
  return { ...e, COFFER_KDF: KDF, COFFER_PASSWORD: PASSWORD };
}

function coffer(args: string[]): void {
  const r = spawnSync(process.execPath, [BIN, ...args], { env: env(), stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`coffer ${args.join(' ')} failed (${r.status})`);
}

/** 10 years of months, newest first: 2024-12 … 2015-01. */
const MONTHS = [...Array(120).keys()].map((i) => `${2024 - Math.floor(i / 12)}-${String(12 - (i % 12)).padStart(2, '0')}`);
/** Photos per month and the oldest month of an n-photo library. */
const perMonth = (n: number): number => Math.ceil(n / MONTHS.length);
const oldestMonth = (n: number): string => MONTHS[Math.floor((n - 1) / perMonth(n))]!;

/** One of 64 pixel patterns with its own EXIF block: every photo is a different file (jpeg-js is too slow to encode 10,000). */
const BASES = [...Array(64).keys()].map((i) => makeJpeg(64, 48, i));
function photo(i: number, dateTimeOriginal: string): Uint8Array {
  const raw = BASES[i % 64]!;
  const tiff = buildTiff({ dateTimeOriginal });
  const body = new Uint8Array(6 + tiff.length);
  body.set([0x45, 0x78, 0x69, 0x66, 0, 0]);
  body.set(tiff, 6);
  const seg = new Uint8Array(4 + body.length);
  seg.set([0xff, 0xe1, (body.length + 2) >> 8, (body.length + 2) & 255]);
  seg.set(body, 4);
  const out = new Uint8Array(raw.length + seg.length);
  out.set(raw.subarray(0, 2));
  out.set(seg, 2);
  out.set(raw.subarray(2), 2 + seg.length);
  return out;
}

/** A w×h WebP of seeded noise over a seeded gradient (compresses like a photo, not a flat fill). */
async function noiseWebp(w: number, h: number, seed: number, quality: number): Promise<Uint8Array> {
  const px = Buffer.alloc(w * h * 3);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      const n = (s >>> 0) & 63;
      const o = (y * w + x) * 3;
      px[o] = ((seed * 37 + x) & 191) + n;
      px[o + 1] = ((seed * 91 + y) & 191) + (n >> 1);
      px[o + 2] = ((seed * 13 + x + y) & 191) + (63 - n);
    }
  return new Uint8Array(await sharp(px, { raw: { width: w, height: h, channels: 3 } }).webp({ quality, effort: 0 }).toBuffer());
}

/** Stand-in renderer (see the header): thumbnails distinct (`distinct`) or from a pool of 64. */
async function standInRenderer(distinct: boolean): Promise<GalleryRenderer> {
  const previews = await Promise.all([...Array(64).keys()].map((i) => noiseWebp(1920, 1440, 1000 + i, 80)));
  const pool = distinct ? [] : await Promise.all([...Array(64).keys()].map((i) => noiseWebp(400, 300, i, 70)));
  let n = 0;
  return {
    concurrency: 2,
    placeholder: (kind) => placeholder(kind === 'video' ? 'video' : 'image'),
    renderImage: async (bytes: Uint8Array): Promise<RenderedMedia> => {
      const i = n++;
      const seed = bytes.length * 31 + bytes[bytes.length - 3]! + i;
      const thumb = distinct ? await noiseWebp(400, 300, seed, 70) : pool[i % 64]!;
      return { thumb, thumbSize: { w: 400, h: 300 }, preview: previews[i % 64]!, previewSize: { w: 1920, h: 1440 }, hash: null, w: 4000, h: 3000, orientation: 1 };
    },
  };
}

/** Makes (or reuses) a repository with an n-photo gallery; returns its path. */
async function library(n: number, distinct: boolean): Promise<string> {
  const dir = path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), `coffer-bench-gallery-web-${n}`);
  const repo = path.join(dir, 'repo');
  const done = path.join(dir, 'done');
  if (REUSE && fs.existsSync(done)) return repo;
  fs.rmSync(dir, { recursive: true, force: true });
  const src = path.join(dir, 'photos');
  let t = performance.now();
  const per = perMonth(n);
  for (let i = 0; i < n; i++) {
    const month = MONTHS[Math.floor(i / per)]!;
    const k = i % per;
    const taken = `${month.replace('-', ':')}:${String(1 + (k % 28)).padStart(2, '0')} ${String(8 + Math.floor(k / 28) % 12).padStart(2, '0')}:${String(k % 60).padStart(2, '0')}:00`;
    const sub = path.join(src, month);
    if (k === 0) fs.mkdirSync(sub, { recursive: true });
    fs.writeFileSync(path.join(sub, `IMG_${i}.jpg`), photo(i, taken));
  }
  log(`${n} photos written in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  t = performance.now();
  coffer(['-r', repo, 'init']);
  coffer(['-r', repo, 'backup', src, '--host', 'bench']);
  log(`backed up in ${((performance.now() - t) / 1000).toFixed(0)} s`);
  t = performance.now();
  const platform = await nodePlatform();
  const backend = openBackend(repo);
  const r = await openRepository(backend, platform, { password: PASSWORD });
  const u = os.userInfo();
  const result = await buildGallery(r, {
    owner: { hostname: os.hostname(), username: u.username, pid: process.pid, uid: u.uid, gid: u.gid },
    renderer: await standInRenderer(distinct),
    offsetAt: hostOffsetAt,
  });
  await (backend as { close?: () => Promise<void> }).close?.();
  log(`gallery built in ${((performance.now() - t) / 1000).toFixed(0)} s: ${JSON.stringify(result).slice(0, 200)}`);
  fs.rmSync(src, { recursive: true, force: true });
  fs.writeFileSync(done, new Date().toISOString());
  return repo;
}

/** In the page: resolves with performance.now() of the first frame after `ready()` holds. */
const PAINTED = `(ready) => new Promise((resolve, reject) => {
  const t0 = performance.now();
  const tick = () => {
    if (ready()) requestAnimationFrame(() => resolve(performance.now()));
    else if (performance.now() - t0 > 60000) reject(new Error('not painted in 60 s'));
    else requestAnimationFrame(tick);
  };
  tick();
})`;

/** Every cell on screen (optionally only those of a month) has its decoded img, and there is one. */
const SCREEN_READY = `(month) => () => {
  const g = document.querySelector('[data-testid=gallery]');
  if (!g) return false;
  const b = g.getBoundingClientRect();
  const cells = Array.from(document.querySelectorAll('[data-testid=gallery-item]')).filter((c) => {
    const r = c.getBoundingClientRect();
    return r.bottom > b.top + 1 && r.top < b.bottom - 1 && (!month || c.getAttribute('data-taken').startsWith(month));
  });
  return cells.length > 0 && cells.every((c) => { const i = c.querySelector('img'); return i && i.complete && i.naturalWidth > 0; });
}`;

async function paintedAt(page: Page, month = ''): Promise<number> {
  return (await page.evaluate(`(${PAINTED})((${SCREEN_READY})(${JSON.stringify(month)}))`)) as number;
}

interface Row {
  what: string;
  measured: string;
  target: string;
  verdict: string;
}

async function withPage<T>(repo: string, fn: (page: Page) => Promise<T>): Promise<T> {
  const server = await startWeb(repo, webEnv({ COFFER_KDF: KDF }));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-bench-gw-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: ARGS, headless: true, viewport: VIEWPORT });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    // The hash is kept through the unlock: the app opens on the gallery.
    await page.goto(`${server.url}#/gallery`);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    return await fn(page);
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

const verdict = (ok: boolean): string => (ok ? 'met' : 'MISSED');

async function measureLibrary(repo: string, n: number, rows: Row[]): Promise<void> {
  await withPage(repo, async (page) => {
    const painted = await paintedAt(page);
    const t = await page.evaluate(() => ({ unlocked: performance.getEntriesByName('coffer-unlocked')[0]!.startTime, count: document.querySelector('[data-testid=gallery]')?.getAttribute('data-count') }));
    if (t.count !== String(n)) throw new Error(`the gallery shows ${t.count} items, expected ${n}`);
    const first = painted - t.unlocked;
    rows.push({ what: `key open → first screen of thumbnails painted (${n.toLocaleString('en')} photos)`, measured: `${Math.round(first)} ms`, target: '< 1000 ms', verdict: verdict(first < 1000) });

    // The scrubber's oldest month.
    const OLDEST = oldestMonth(n);
    await page.locator(`[data-testid=scrubber-month][data-month="${OLDEST}"]`).waitFor({ state: 'attached' });
    const t0 = await page.evaluate(() => performance.now());
    await page.locator(`[data-testid=scrubber-month][data-month="${OLDEST}"]`).click();
    const jumped = (await paintedAt(page, OLDEST)) - t0;
    rows.push({ what: `scrubber click → oldest month (${OLDEST}) thumbnails painted`, measured: `${Math.round(jumped)} ms`, target: '< 2000 ms', verdict: verdict(jumped < 2000) });

    // Open a photo: click → preview decoded and painted; Esc closes. Median of 5 different photos.
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const cell = page.locator('[data-testid=gallery-item]').nth(i * 2);
      const id = await cell.getAttribute('data-item-id');
      const s = await page.evaluate(() => performance.now());
      await cell.click();
      const end = (await page.evaluate(
        `(${PAINTED})(() => { const v = document.querySelector('[data-testid=viewer]'); const im = document.querySelector('[data-testid=viewer-image]'); return !!v && v.getAttribute('data-item-id') === ${JSON.stringify(id)} && !!im && im.complete && im.naturalWidth > 0; })`,
      )) as number;
      times.push(end - s);
      await page.keyboard.press('Escape');
      await page.getByTestId('viewer').waitFor({ state: 'hidden' });
    }
    const sorted = [...times].sort((a, b) => a - b);
    const med = sorted[2]!;
    rows.push({ what: 'open a photo → preview painted (median of 5)', measured: `${Math.round(med)} ms (${times.map((x) => Math.round(x)).join(', ')})`, target: '< 300 ms', verdict: verdict(med < 300) });
  });
}

/** In the page: scrolls the grid `px` per frame for `frames` frames from `from`; frame deltas and max cells. */
const SCROLL = `async ([from, px, frames]) => {
  const g = document.querySelector('[data-testid=gallery]');
  g.scrollTop = from;
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const deltas = [];
  const longTasks = [];
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) longTasks.push(e.duration); });
  obs.observe({ type: 'longtask' });
  let maxCells = 0;
  let last = performance.now();
  await new Promise((resolve) => {
    let i = 0;
    const step = (now) => {
      deltas.push(now - last);
      last = now;
      maxCells = Math.max(maxCells, document.querySelectorAll('[data-testid=gallery-item]').length);
      if (++i >= frames) return resolve();
      g.scrollTop += px;
      requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  await new Promise((r) => setTimeout(r, 50));
  obs.disconnect();
  return { deltas, maxCells, height: g.scrollHeight, longTasks };
}`;

async function measureScroll(repo: string, n: number, rows: Row[]): Promise<void> {
  await withPage(repo, async (page) => {
    await paintedAt(page);
    const count = await page.getByTestId('gallery').getAttribute('data-count');
    if (count !== String(n)) throw new Error(`the gallery shows ${count} items, expected ${n}`);
    const height = await page.getByTestId('gallery').evaluate((g) => g.scrollHeight);
    // Three stretches (top, middle, bottom), 300 frames of 60 px each (≈ 3,600 px/s at 60 Hz):
    // a first pass loads their thumbnails, the second is measured.
    const stretches = [0, Math.floor(height / 2), Math.max(0, height - 300 * 60 - VIEWPORT.height)];
    const measured: number[] = [];
    const longTasks: number[] = [];
    let maxCells = 0;
    for (const pass of [0, 1])
      for (const from of stretches) {
        const r = (await page.evaluate(`(${SCROLL})(${JSON.stringify([from, 60, 300])})`)) as { deltas: number[]; maxCells: number; longTasks: number[] };
        maxCells = Math.max(maxCells, r.maxCells);
        if (pass === 1) {
          measured.push(...r.deltas.slice(1));
          longTasks.push(...r.longTasks);
        }
        else await page.waitForTimeout(1500); // thumbnails of the stretch arrive and decode
      }
    // The browser's own frame cadence on this machine: the same loop without scrolling.
    const idle = ((await page.evaluate(`(${SCROLL})(${JSON.stringify([0, 0, 300])})`)) as { deltas: number[] }).deltas.slice(1).sort((a, b) => a - b);
    const worstPerStretch = stretches.map((_, k) => Math.round(Math.max(...measured.slice(k * 299, (k + 1) * 299))));
    measured.sort((a, b) => a - b);
    const worst = measured[measured.length - 1]!;
    const p99 = measured[Math.floor(measured.length * 0.99)]!;
    const over = measured.filter((d) => d > 50).length;
    rows.push({
      what: `scrolling ${n.toLocaleString('en')} photos, thumbnails cached: longest frame (${measured.length} frames at 60 px/frame; top, middle, bottom stretch)`,
      measured: `${Math.round(worst)} ms (${worstPerStretch.join(', ')}; p99 ${Math.round(p99)}, median ${Math.round(measured[measured.length >> 1]!)}; ${over} over 50 ms)`,
      target: '≤ 50 ms',
      verdict: verdict(worst <= 50),
    });
    // Main-thread tasks over 50 ms (script, style, layout) during the measured pass: frames
    // longer than 50 ms without them are the compositor's raster/decoding or the machine.
    rows.push({ what: '  main-thread long tasks (> 50 ms) during the measured scrolling: count, longest, total', measured: `${longTasks.length}, ${Math.round(Math.max(0, ...longTasks))} ms, ${Math.round(longTasks.reduce((a, b) => a + b, 0))} ms`, target: '', verdict: '' });
    rows.push({ what: `  the same page not scrolling (the browser's frame cadence here): longest frame`, measured: `${Math.round(idle[idle.length - 1]!)} ms (p99 ${Math.round(idle[Math.floor(idle.length * 0.99)]!)}, median ${Math.round(idle[idle.length >> 1]!)}; ${idle.filter((d) => d > 50).length} over 50 ms)`, target: '', verdict: '' });
    rows.push({ what: `most gallery-item cells in the DOM while scrolling ${n.toLocaleString('en')}`, measured: String(maxCells), target: '< 1500', verdict: verdict(maxCells < 1500) });
  });
}

async function main(): Promise<void> {
  const loads = [load()];
  const rows: Row[] = [];
  if (PHOTOS > 0) {
    const repo = await library(PHOTOS, true);
    loads.push(load());
    await measureLibrary(repo, PHOTOS, rows);
    if (process.argv.includes('--scroll-small')) await measureScroll(repo, PHOTOS, rows);
    loads.push(load());
  }
  if (BIG > 0) {
    const repo = await library(BIG, false);
    loads.push(load());
    await measureScroll(repo, BIG, rows);
    loads.push(load());
  }
  const table = ['| measure | measured | target | verdict |', '|---|---|---|---|', ...rows.map((r) => `| ${r.what} | ${r.measured} | ${r.target} | ${r.verdict} |`)].join('\n');
  const head = `# Web gallery benchmark, ${new Date().toISOString()}\n\n${os.cpus().length} CPUs, load average (1, 5, 15 min) ${loads.join(' → ')}; libraries ${PHOTOS} and ${BIG} photos; viewport ${VIEWPORT.width}×${VIEWPORT.height}; ${spawnSync(CHROMIUM, ['--version'], { encoding: 'utf8' }).stdout.trim()}\n\n`;
  process.stdout.write(head + table + '\n');
  const out = path.join(ROOT, 'bench', 'results');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, `gallery-web-${new Date().toISOString().replace(/[:.]/g, '-')}.md`), head + table + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/gallery-web: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
