/**
 * Share links end to end (design §7): `coffer share create` seals two photos and a 2.5 MiB
 * file (three chunks) from a snapshot into the share store of a running `coffer web`; a fresh
 * Chromium context opens the printed link, shows one `share-item` per file with the photos'
 * previews decoded, and downloads each byte-identical to the source. `share list` shows it;
 * `share revoke` makes the page show `share-error` and every route answer 404; a share made with
 * `--expires 2s` is gone (404, folder deleted) two seconds later. The server's request log and
 * the share store never hold the key nor any 32-byte run of a file's plaintext.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import sharp from 'sharp';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb, webEnv } from '../web/web-helpers.js';

/** Every file under `dir`, concatenated. */
function allBytes(dir: string): Buffer {
  const out: Buffer[] = [];
  const walk = (d: string): void => {
    if (!fs.existsSync(d)) return;
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(fs.readFileSync(p));
    }
  };
  walk(dir);
  return Buffer.concat(out);
}

/** Asserts no 32-byte window of `plain` (sampled every 4 KiB, and its first and last) is in `hay`. */
function assertNoPlaintext(hay: Buffer, plain: Buffer, what: string): void {
  const starts = [0, Math.max(0, plain.length - 32)];
  for (let at = 4096; at + 32 < plain.length; at += 4096) starts.push(at);
  for (const s of starts) assert.equal(hay.indexOf(plain.subarray(s, s + 32)), -1, `${what}: plaintext at ${s} found`);
}

async function photo(file: string, r: number, g: number, b: number): Promise<Buffer> {
  const noise = Buffer.from(randomBytes(640 * 480 * 3));
  for (let i = 0; i < noise.length; i += 3) (noise[i] = (noise[i]! & 31) + r), (noise[i + 1] = (noise[i + 1]! & 31) + g), (noise[i + 2] = (noise[i + 2]! & 31) + b);
  const buf = await sharp(noise, { raw: { width: 640, height: 480, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
  fs.writeFileSync(file, buf);
  return buf;
}

test('share links: CLI create, a fresh browser opens and downloads, revoke and expiry, no key or plaintext on the server', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-share-e2e-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const files = new Map<string, Buffer>();
  files.set('red.jpg', await photo(path.join(src, 'red.jpg'), 200, 20, 20));
  files.set('blue.jpg', await photo(path.join(src, 'blue.jpg'), 20, 20, 200));
  const big = Buffer.from(randomBytes(2.5 * 1024 * 1024));
  fs.writeFileSync(path.join(src, 'data.bin'), big);
  files.set('data.bin', big);
  const repo = path.join(dir, 'repo');
  const xdg = { XDG_DATA_HOME: path.join(dir, 'xdg') };
  const env = testEnv(xdg);
  await mustRun(['-r', repo, 'init'], { env });
  await mustRun(['-r', repo, 'backup', src], { env });

  const server = await startWeb(repo, webEnv(xdg));
  const base = `http://127.0.0.1:${server.port}`;
  const store = path.join(dir, 'xdg', 'coffer', 'shares');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const made = await mustRun(['-r', repo, 'share', 'create', ...[...files.keys()].map((n) => `latest:${src}/${n}`), '--base-url', base, '--expires', '1h', '--json'], { env });
    const j = JSON.parse(made.stdout) as { id: string; url: string; expires: string };
    assert.match(j.url, new RegExp(`^${base}/s/${j.id}#[A-Za-z0-9_-]{43}$`));
    assert.ok(Math.abs(Date.parse(j.expires) - Date.now() - 3600_000) < 60_000);
    const key = j.url.split('#')[1]!;
    // What the store holds while the share is live: ciphertext only.
    const held = allBytes(store);
    assert.ok(held.length > big.length, 'the share is in the store');
    for (const [name, bytes] of files) {
      assertNoPlaintext(held, bytes, `store vs ${name}`);
      assert.ok(!held.includes(Buffer.from(name)), `${name} in the store`);
    }
    assert.ok(!held.includes(Buffer.from(key)) && !held.includes(Buffer.from(key, 'base64url')), 'the key is in the share store');
    // Plain output: the link alone on a line.
    const plain = await mustRun(['-r', repo, 'share', 'create', `latest:${src}/red.jpg`, '--base-url', base], { env });
    assert.match(plain.stdout, new RegExp(`^${base}/s/[A-Za-z0-9_-]{22}#[A-Za-z0-9_-]{43}\\n$`));

    // Over HTTP with the address coffer web printed (its ?token= signs in): same store, same server.
    const viaHttp = JSON.parse((await mustRun(['-r', repo, 'share', 'create', `latest:${src}/red.jpg`, '--server', server.url, '--json'], { env })).stdout) as { id: string; url: string };
    assert.ok(viaHttp.url.startsWith(`${base}/s/${viaHttp.id}#`));
    assert.equal((await fetch(`${base}/s/${viaHttp.id}/m`)).status, 200);
    assert.ok(fs.existsSync(path.join(store, viaHttp.id, 'm')));
    assert.match(server.stderr(), new RegExp(`PUT /api/shares/${viaHttp.id}/f/0 201`));
    assert.ok(!server.stderr().includes(viaHttp.url.split('#')[1]!));

    // A fresh context: no session, no cookie, only the link.
    const context = await browser.newContext({ acceptDownloads: true });
    const page = await context.newPage();
    const logs: string[] = [];
    page.on('pageerror', (e) => logs.push(e.message));
    await page.goto(j.url);
    await page.getByTestId('share-item').nth(2).waitFor({ timeout: 20_000 });
    const items = await page.$$eval('[data-testid=share-item]', (els) => els.map((e) => ({ name: e.getAttribute('data-name'), size: Number(e.getAttribute('data-size')) })));
    assert.deepEqual(items, [...files].map(([name, b]) => ({ name, size: b.length })), logs.join('\n'));
    // The two photos show their decoded previews.
    await page.waitForFunction(() => document.querySelectorAll<HTMLImageElement>('[data-testid=share-image]').length === 2 && Array.from(document.querySelectorAll<HTMLImageElement>('[data-testid=share-image]')).every((i) => i.naturalWidth > 0), undefined, { timeout: 20_000 });
    // The grid shows thumbnails (short side 300); a click shows the preview (the 640×480 photo's own size).
    assert.deepEqual(await page.$$eval('[data-testid=share-image]', (els) => els.map((i) => (i as HTMLImageElement).naturalWidth)), [400, 400]);
    await page.getByTestId('share-image').first().click();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=share-preview]')?.naturalWidth ?? 0) === 640, undefined, { timeout: 10_000 });
    await page.keyboard.press('Escape');
    await page.getByTestId('share-preview').waitFor({ state: 'detached' });
    for (const [k, [name, bytes]] of [...files].entries()) {
      const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 20_000 }), page.getByTestId('share-download').nth(k).click()]);
      assert.equal(dl.suggestedFilename(), name);
      const saved = path.join(dir, `dl-${name}`);
      await dl.saveAs(saved);
      assert.ok(fs.readFileSync(saved).equals(bytes), `${name} differs from the source`);
    }
    // Streamed to disk through the service worker, not gathered whole in the page.
    assert.deepEqual(await page.$$eval('[data-testid=share-item]', (els) => els.map((e) => e.getAttribute('data-downloaded'))), ['stream', 'stream', 'stream']);

    // A wrong key or no key: share-error, nothing shown.
    const other = await context.newPage();
    for (const bad of [`${base}/s/${j.id}#${Buffer.alloc(32, 7).toString('base64url')}`, `${base}/s/${j.id}`]) {
      await other.goto(bad);
      await other.getByTestId('share-error').waitFor({ timeout: 10_000 });
      assert.equal(await other.getByTestId('share-item').count(), 0);
    }
    await other.close();

    // Listed (with its names and link from the sealed record); then revoked.
    const listed = JSON.parse((await mustRun(['-r', repo, 'share', 'list', '--json'], { env })).stdout) as { id: string; url?: string; names?: string[] }[];
    const mine = listed.find((s) => s.id === j.id);
    assert.equal(mine?.url, j.url);
    assert.deepEqual(mine?.names, [...files.keys()]);
    await mustRun(['-r', repo, 'share', 'revoke', j.id], { env });
    for (const p of [`/s/${j.id}`, `/s/${j.id}/m`, `/s/${j.id}/f/0`]) assert.equal((await fetch(base + p)).status, 404, p);
    assert.equal(fs.existsSync(path.join(store, j.id)), false);
    await page.reload();
    await page.getByTestId('share-error').waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId('share-item').count(), 0);
    await mustRun(['-r', repo, 'share', 'revoke', j.id], { env }, 1);

    // --expires 2s: gone two seconds later, alike.
    const began = Date.now();
    const short = JSON.parse((await mustRun(['-r', repo, 'share', 'create', `latest:${src}/blue.jpg`, '--base-url', base, '--expires', '2s', '--json'], { env })).stdout) as { id: string; url: string };
    // Served while young (unless this slow machine already took its two seconds).
    if (Date.now() - began < 1500) assert.equal((await fetch(`${base}/s/${short.id}/m`)).status, 200);
    await new Promise((r) => setTimeout(r, 2200));
    const fresh = await browser.newContext();
    const p2 = await fresh.newPage();
    await p2.goto(short.url);
    await p2.getByTestId('share-error').waitFor({ timeout: 10_000 });
    for (const p of [`/s/${short.id}`, `/s/${short.id}/m`, `/s/${short.id}/f/0`]) assert.equal((await fetch(base + p)).status, 404, p);
    assert.equal(fs.existsSync(path.join(store, short.id)), false);

    // What the server holds and logs: no key, no plaintext.
    const log = server.stderr();
    assert.match(log, new RegExp(`GET /s/${j.id}/f/0 200`));
    for (const k of [key, short.url.split('#')[1]!]) {
      assert.ok(!log.includes(k), 'the key is in the request log');
      assert.ok(!allBytes(store).includes(Buffer.from(k)) && !allBytes(store).includes(Buffer.from(k, 'base64url')), 'the key is in the share store');
    }
    for (const [name, bytes] of files) {
      assertNoPlaintext(Buffer.from(log), bytes, `log vs ${name}`);
      assert.ok(!log.includes(name), `${name} reached the server`);
    }
    assert.ok(!log.includes('/_stream/'), 'a streamed download reached the server');
    await context.close();
    await fresh.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});
