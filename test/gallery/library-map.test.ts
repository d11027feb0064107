/**
 * The map's base: world-atlas' land-110m as one SVG path in Web Mercator (the core's TopoJSON
 * reader, antimeridian rings drawn on both sides), served by our own server as a static asset,
 * and drawn in Debian's Chromium under `map-base` with every request going to the page's origin.
 * About 15 s (the browser part).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { landPathData } from '../../src/core/gallery/land.js';
import { loadWebAssets } from '../../src/server/web-assets.js';
import { project } from '../../src/web/gallery/cluster.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb } from '../web/web-helpers.js';
import { makeJpeg } from './photo-maker.js';

const LAND = createRequire(import.meta.url).resolve('world-atlas/land-110m.json');

/** The subpaths of an SVG path of M/L/Z commands, as point lists. */
function subpaths(d: string): [number, number][][] {
  return d.split('Z').filter(Boolean).map((sp) => [...sp.matchAll(/[ML]([-\d.e]+) ([-\d.e]+)/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]));
}

describe('gallery library: map base', () => {
  it('draws land-110m in Web Mercator without lines across the map', () => {
    const d = landPathData(JSON.parse(fs.readFileSync(LAND, 'utf8')), project);
    const parts = subpaths(d);
    assert.ok(parts.length > 120, `${parts.length} rings`);
    const pts = parts.flat();
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    // The world spans the unit square; copies of antimeridian rings reach beyond x = 0 or 1.
    assert.ok(Math.min(...xs) < 0.001 && Math.max(...xs) > 0.999);
    assert.ok(Math.min(...ys) > 0.02 && Math.max(...ys) <= 1.0001, `${Math.min(...ys)} ${Math.max(...ys)}`);
    // No edge jumps across the world (the antimeridian rings are continuous), except
    // Antarctica's closing edge along the map's bottom (the pole).
    let polar = 0;
    for (const sp of parts) {
      for (let k = 1; k < sp.length; k++) {
        if (Math.abs(sp[k]![0] - sp[k - 1]![0]) < 0.5) continue;
        assert.ok(sp[k]![1] > 0.999 && sp[k - 1]![1] > 0.999, `an edge runs across the map at y=${sp[k]![1]}`);
        polar++;
      }
    }
    assert.ok(polar >= 1 && polar <= 3, `${polar} edges along the pole`);
    // Paris is on land: some ring contains it (even-odd over all rings).
    const [px, py] = project(48.8566, 2.3522);
    let inside = 0;
    for (const sp of parts) {
      for (let k = 0, j = sp.length - 1; k < sp.length; j = k++) {
        const [xi, yi] = sp[k]!;
        const [xj, yj] = sp[j]!;
        if (yi > py !== yj > py && px < ((xj - xi) * (py - yi)) / (yj - yi) + xi) inside++;
      }
    }
    assert.equal(inside % 2, 1);
  });

  it('the server has the outline under /assets/, where map.js asks for it', () => {
    const assets = loadWebAssets();
    const mapJs = `${assets.prefix}dist/src/web/gallery/map.js`;
    assert.ok(assets.get(mapJs), `${mapJs} is served`);
    const url = new URL('../../../../node_modules/world-atlas/land-110m.json', `http://x${mapJs}`).pathname;
    const a = assets.get(url);
    assert.ok(a, `${url} is served`);
    assert.deepEqual(Buffer.from(a.body), fs.readFileSync(LAND));
    assert.match(a.type, /json/);
  });

  it('Chromium draws the land under map-base, with no request leaving the origin', { timeout: 90_000 }, async (t) => {
    if (!requireBrowser(t)) return;
    const dir = tempDir('coffer-gallery-map-');
    const src = path.join(dir, 'photos');
    const repo = path.join(dir, 'repo');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'paris.jpg'), makeJpeg(160, 120, 31, { dateTimeOriginal: '2024:06:01 10:00:00', gps: [48.85837, 2.29448] }));
    fs.writeFileSync(path.join(src, 'sydney.jpg'), makeJpeg(160, 120, 32, { dateTimeOriginal: '2024:06:02 10:00:00', gps: [-33.8688, 151.2093] }));
    const env = testEnv();
    await mustRun(['-r', repo, 'init'], { env }, 0);
    await mustRun(['-r', repo, 'backup', src, '--gallery'], { env }, 0);
    const server = await startWeb(repo);
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1000, height: 640 } });
    const base = `http://127.0.0.1:${server.port}`;
    const foreign: string[] = [];
    const errors: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('request', (r) => {
        if (!r.url().startsWith(base) && !r.url().startsWith('blob:') && !r.url().startsWith('data:')) foreign.push(r.url());
      });
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`${base}/?token=${server.token}`);
      await page.getByTestId('unlock-password').fill('test-password');
      await page.getByTestId('unlock-submit').click();
      await page.getByTestId('nav-map').click();
      await page.locator('[data-testid=map-base][data-land=loaded]').waitFor({ timeout: 20_000 });
      const land = await page.$eval('[data-testid=map-base] path.map-land', (p) => {
        const b = (p as SVGPathElement).getBBox();
        return { len: p.getAttribute('d')!.length, x: b.x, w: b.width, y: b.y, h: b.height };
      });
      assert.ok(land.len > 20_000, `path of ${land.len} characters`);
      assert.ok(land.x <= 0.001 && land.x + land.w >= 0.999 && land.h > 0.7, JSON.stringify(land));
      assert.equal(await page.getByTestId('map-marker').count() >= 1, true);
      await page.screenshot({ path: path.join(dir, 'map.png') });
      if (process.env.COFFER_MAP_SHOT) fs.copyFileSync(path.join(dir, 'map.png'), process.env.COFFER_MAP_SHOT);
      assert.deepEqual(foreign, [], 'requests to other origins');
      assert.deepEqual(errors, []);
    } finally {
      await context.close();
      await server.stop();
      fs.rmSync(profile, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
