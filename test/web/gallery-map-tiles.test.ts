/**
 * The gallery map's optional tile server (`coffer web --map-tiles`), in Debian's Chromium: with
 * a tile server of our own on another port, the map draws its tiles (`map-tile`) over the
 * outline, the server is asked for exactly the slippy-map tiles around the photos' places, then
 * deeper ones after a zoom, with no cookie (though cookies ignore ports: it runs on this host)
 * and no referrer, and the tiles load (CORS mode); the CSP allows that origin for images
 * only and the console reports no violation; the note names the server. A template that would
 * send tiles over plain http to another machine is refused with one line and no stack.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer } from '../helpers/run.js';
import { project } from '../../src/web/gallery/cluster.js';
import { galleryRepo, openGalleryPage, PARIS, SYDNEY, writeLibrary } from './gallery-fixtures.js';
import { webEnv } from './web-helpers.js';

const PASSWORD = 'gallery-tiles-' + randomBytes(6).toString('hex');

function tilePng(): Buffer {
  const png = new PNG({ width: 256, height: 256 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([170, 200, 230, 255], i);
  return PNG.sync.write(png);
}

interface TileRequest {
  readonly url: string;
  readonly cookie?: string | undefined;
  readonly referer?: string | undefined;
}

test('coffer web --map-tiles refuses plain http to another machine, without a stack', async () => {
  const dir = tempDir('coffer-map-tiles-cli-');
  const r = await runCoffer(['-r', path.join(dir, 'none'), 'web', '--listen', '127.0.0.1:0', '--map-tiles', 'http://tiles.example.org/{z}/{x}/{y}.png'], { env: webEnv() });
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /^coffer: --map-tiles: the tile URL must use https/m);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});

test('web gallery map over a tile server the user set', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-map-tiles-');
  const src = path.join(dir, 'photos');
  const repo = path.join(dir, 'repo');
  writeLibrary(src);
  await galleryRepo(repo, src, PASSWORD);

  const png = tilePng();
  const asked: TileRequest[] = [];
  const tileServer = http.createServer((req, res) => {
    asked.push({ url: req.url ?? '', cookie: req.headers.cookie, referer: req.headers.referer });
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': png.length, 'access-control-allow-origin': '*' });
    res.end(png);
  });
  await new Promise<void>((r) => tileServer.listen(0, '127.0.0.1', r));
  const tileOrigin = `http://127.0.0.1:${(tileServer.address() as AddressInfo).port}`;

  const gp = await openGalleryPage(repo, PASSWORD, { width: 1100, height: 720 }, [], webEnv({ COFFER_MAP_TILES: `${tileOrigin}/{z}/{x}/{y}.png` }));
  const { page } = gp;
  try {
    const csp = (await fetch(`http://127.0.0.1:${gp.server.port}/`)).headers.get('content-security-policy') ?? '';
    assert.match(csp, new RegExp(`img-src 'self' blob: data: ${tileOrigin.replace(/[.]/g, '\\.')};`), csp);
    for (const d of ['connect-src', 'script-src', 'default-src']) assert.ok(!new RegExp(`${d}[^;]*127\\.0\\.0\\.1`).test(csp), `${d} stays same-origin`);

    await page.getByTestId('nav-map').click();
    await page.getByTestId('map-marker').first().waitFor();
    await page.getByTestId('map-tile').first().waitFor({ state: 'attached' });
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid=map-tile]').length >= n, 2);
    assert.match(await page.getByTestId('map-note').innerText(), new RegExp(`map tiles from 127\\.0\\.0\\.1:\\d+, which sees the areas you view`));

    // Every tile drawn was asked for once, by its slippy-map address, at one zoom.
    const drawn = await page.$$eval('[data-testid=map-tile]', (els) => els.map((e) => e.getAttribute('data-tile')!));
    await waitFor(() => drawn.every((k) => asked.some((a) => a.url === `/${k}.png`)));
    const first = asked.map((a) => /^\/(\d+)\/(\d+)\/(\d+)\.png$/.exec(a.url));
    assert.ok(first.every(Boolean), `only tile paths: ${asked.map((a) => a.url).join(' ')}`);
    const z = Number(first[0]![1]);
    assert.ok(first.every((m) => Number(m![1]) === z), 'one zoom at a time');
    for (const [lat, lon] of [PARIS, SYDNEY]) {
      const [x, y] = project(lat, lon);
      const key = `${z}/${Math.floor(x * 2 ** z)}/${Math.floor(y * 2 ** z)}`;
      assert.ok(drawn.includes(key), `the tile under ${lat},${lon} (${key}) is drawn: ${drawn.join(' ')}`);
    }
    await page.waitForFunction(() => Array.from(document.querySelectorAll('[data-testid=map-tile]')).every((e) => e.getAttribute('data-state') === 'loaded'), undefined, { timeout: 10_000 });
    for (const a of asked) {
      assert.equal(a.cookie, undefined, 'no cookie goes to the tile server');
      assert.equal(a.referer, undefined, 'no referrer goes to the tile server');
    }

    // Zooming in asks for deeper tiles.
    const before = asked.length;
    for (let i = 0; i < 3; i++) await page.getByTestId('map-zoom-in').click();
    await waitFor(() => asked.slice(before).some((a) => Number(/^\/(\d+)\//.exec(a.url)?.[1]) > z));
    const csp2 = gp.logs.filter((l) => /Content Security Policy|Refused to/i.test(l));
    assert.deepEqual(csp2, [], 'no CSP violation in the console');
  } finally {
    await gp.close();
    tileServer.close();
  }
});

async function waitFor(ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}
