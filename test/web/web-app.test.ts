/**
 * The web app end to end, in Debian's Chromium driven by playwright-core: `coffer web` (a child
 * process, started without any password) over a repository that `coffer backup` made from a
 * generated tree of random, distinctive files. Through a TCP proxy that records every byte:
 *
 *  - a wrong password shows unlock-error and no data (no snapshot, tree or pack is fetched);
 *  - the right one lists the snapshot; browsing shows the source's names; a text preview;
 *  - a file and a folder (zip, read back with Python's zipfile) download through the service
 *    worker with the source's exact bytes;
 *  - every request and response (the proxy's raw bytes, plus playwright's request/response
 *    records with bodies) contains neither the password, nor any part of the master key, nor
 *    any 32-byte window of a file's plaintext;
 *  - the CSP header is on every response and the console reports no CSP violation.
 * Screenshots go to docs/screenshots/ (unlock, snapshots, browse; browse on a phone, dark).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes as nodeRandomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { chromium, type Page } from 'playwright-core';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { openRepository } from '../../src/core/repository/open.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { mustRun, recordingProxy, startWeb } from './web-helpers.js';

const PASSWORD = 'web-pass-' + nodeRandomBytes(9).toString('base64url');
const SHOTS = path.join(ROOT, 'docs', 'screenshots');

function pngOf(w: number, h: number): Buffer {
  const png = new PNG({ width: w, height: h });
  const noise = nodeRandomBytes(w * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 4;
      png.data[i] = (x * 255) / w;
      png.data[i + 1] = (y * 255) / h;
      png.data[i + 2] = noise[y * w + x]! & 0x7f;
      png.data[i + 3] = 255;
    }
  return PNG.sync.write(png);
}

/** The source: random contents (distinctive: never compressible, never in any other file). */
function makeSource(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const put = (rel: string, data: Buffer): void => {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
    files.set(rel, data);
  };
  put('notes/readme.txt', Buffer.from(`Coffer web test ${nodeRandomBytes(24).toString('hex')}\nsecond line ${nodeRandomBytes(24).toString('hex')}\n`));
  put('photos/sunset.png', pngOf(160, 100));
  put('data/random.bin', nodeRandomBytes(3 * 1024 * 1024 + 12345)); // several chunks
  put('data/small.bin', nodeRandomBytes(4000));
  put('data/deep/er/a.bin', nodeRandomBytes(70_000));
  put('data/empty', Buffer.alloc(0));
  fs.symlinkSync('small.bin', path.join(root, 'data', 'link'));
  return files;
}

/** Windows of plaintext that must never be seen on the wire. */
function plaintextWindows(files: Map<string, Buffer>): { name: string; bytes: Buffer }[] {
  const out: { name: string; bytes: Buffer }[] = [];
  for (const [name, data] of files) {
    if (data.length < 32) continue;
    for (const at of [0, Math.floor(data.length / 2) - 16, data.length - 32]) out.push({ name: `${name}@${at}`, bytes: data.subarray(at, at + 32) });
  }
  return out;
}

async function downloadOf(page: Page, click: () => Promise<void>, dir: string): Promise<{ file: string; url: string; name: string }> {
  const [dl] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), click()]);
  const file = path.join(dir, dl.suggestedFilename());
  await dl.saveAs(file);
  assert.equal(await dl.failure(), null);
  return { file, url: dl.url(), name: dl.suggestedFilename() };
}

test('web app: unlock, snapshots, browse, download a file and a zip; nothing secret or plain on the wire', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const files = makeSource(src);
  const env = testEnv({ COFFER_PASSWORD: PASSWORD });
  await mustRun(['-r', repo, 'init'], { env }, 0);
  const b = await runCoffer(['-r', repo, 'backup', src, '--host', 'laptop', '--tag', 'daily'], { env });
  assert.equal(b.code, 0, b.stderr);
  const key = (await openRepository(new LocalBackend(repo), await nodePlatform(), { password: PASSWORD })).key;

  const server = await startWeb(repo);
  const proxy = await recordingProxy(server.port);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const downloads = path.join(dir, 'downloads');
  fs.mkdirSync(downloads);
  fs.mkdirSync(SHOTS, { recursive: true });
  const base = `http://127.0.0.1:${proxy.port}`;
  const consoleLines: string[] = [];
  const recorded: { url: string; method: string; headers: string; body: Buffer; fromSw: boolean; csp?: string; status: number }[] = [];
  const requests: { url: string; headers: string; post: Buffer }[] = [];
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true, viewport: { width: 1280, height: 800 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => consoleLines.push(`pageerror: ${e.message}`));
    context.on('request', (r) => requests.push({ url: r.url(), headers: JSON.stringify(r.headers()), post: r.postDataBuffer() ?? Buffer.alloc(0) }));
    const pending: Promise<void>[] = [];
    context.on('response', (r) => {
      pending.push(
        (async () => {
          let body: Buffer = Buffer.alloc(0);
          let headers = JSON.stringify(r.headers());
          try {
            if (!r.url().includes('/_stream/')) body = await r.body();
            headers = JSON.stringify(await r.allHeaders());
          } catch {
            // redirects and downloads have no body to read; or the browser closed meanwhile
          }
          recorded.push({ url: r.url(), method: r.request().method(), headers, body, fromSw: r.fromServiceWorker(), status: r.status(), ...(r.headers()['content-security-policy'] ? { csp: r.headers()['content-security-policy'] } : {}) });
        })(),
      );
    });

    // Sign in with the printed address (through the proxy): the token leaves the address bar.
    await page.goto(`${base}/?token=${server.token}`);
    assert.equal(new URL(page.url()).search, '');
    await page.getByTestId('unlock-password').waitFor();
    assert.equal(await page.getByTestId('lock').isVisible(), false, 'no Lock button before unlocking');
    await page.screenshot({ path: path.join(SHOTS, 'unlock.png') });

    // A wrong password: the error, and nothing beyond the key files was read.
    await page.getByTestId('unlock-password').fill('not-the-password');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('unlock-error').waitFor({ state: 'visible', timeout: 30_000 });
    assert.match((await page.getByTestId('unlock-error').textContent()) ?? '', /wrong password/i);
    assert.equal(await page.getByTestId('snapshot-row').count(), 0);
    assert.equal(await page.getByTestId('unlock-password').inputValue(), '', 'the field is cleared');
    assert.deepEqual(proxy.sent().toString('latin1').match(/GET \/repo\/(snapshots|data|index)\//g) ?? [], []);

    // The right password.
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('snapshot-row').first().waitFor({ timeout: 30_000 });
    assert.ok(await page.evaluate(() => performance.getEntriesByName('coffer-unlocked').length === 1));
    const rows = page.getByTestId('snapshot-row');
    assert.equal(await rows.count(), 1);
    const rowText = (await rows.first().textContent()) ?? '';
    assert.match(rowText, /laptop/);
    assert.match(rowText, /daily/);
    assert.ok(rowText.includes(src), rowText);
    for (const id of ['nav-snapshots', 'nav-files']) assert.equal(await page.getByTestId(id).count(), 1, id);
    await page.screenshot({ path: path.join(SHOTS, 'snapshots.png') });

    // Browse: the snapshot opens at the backed-up folder.
    await rows.first().click();
    await page.getByTestId('file-row').first().waitFor();
    const names = async (): Promise<string[]> => page.locator('[data-testid=file-row]:not([hidden])').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name!));
    assert.deepEqual((await names()).sort(), ['data', 'notes', 'photos']);
    await page.locator('[data-testid=file-row][data-name=notes]').click();
    await page.locator('[data-testid=file-row][data-name="readme.txt"]').click();
    await page.getByTestId('preview-text').waitFor();
    assert.equal(await page.getByTestId('preview-text').textContent(), files.get('notes/readme.txt')!.toString('utf8'));
    await page.keyboard.press('Backspace');
    await page.locator('[data-testid=file-row][data-name=photos]').click();
    await page.locator('[data-testid=file-row][data-name="sunset.png"]').click();
    await page.getByTestId('preview-image').waitFor();
    assert.equal(await page.getByTestId('preview-image').evaluate((img) => (img as HTMLImageElement).decode().then(() => (img as HTMLImageElement).naturalWidth)), 160);
    await page.screenshot({ path: path.join(SHOTS, 'browse.png') });
    await page.keyboard.press('Backspace');
    await page.locator('[data-testid=file-row][data-name=data]').click();
    await page.locator('[data-testid=file-row][data-name="random.bin"]').waitFor();
    assert.deepEqual((await names()).sort(), ['deep', 'empty', 'link', 'random.bin', 'small.bin']);

    // Download a file (streamed by the service worker) and compare the bytes.
    await page.locator('[data-testid=file-row][data-name="random.bin"]').click();
    const f = await downloadOf(page, () => page.getByTestId('file-download').click(), downloads);
    assert.match(f.url, /\/_stream\//, 'streamed through the service worker');
    assert.equal(f.name, 'random.bin');
    assert.ok(fs.readFileSync(f.file).equals(files.get('data/random.bin')!), 'downloaded file differs from the source');

    // The folder as a zip: every file, symlink and folder, read back by Python's zipfile.
    const z = await downloadOf(page, () => page.locator('.toolbar [data-testid=folder-download]').click(), downloads);
    assert.equal(z.name, 'data.zip');
    const py = spawnSync('python3', ['-c', 'import sys,zipfile,json,hashlib; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(json.dumps({i.filename:[i.external_attr>>16, z.read(i).hex()] for i in z.infolist()}))', z.file], { encoding: 'utf8', maxBuffer: 64 << 20 });
    assert.equal(py.status, 0, py.stderr);
    const entries = JSON.parse(py.stdout) as Record<string, [number, string]>;
    assert.deepEqual(Object.keys(entries).sort(), ['data/', 'data/deep/', 'data/deep/er/', 'data/deep/er/a.bin', 'data/empty', 'data/link', 'data/random.bin', 'data/small.bin']);
    for (const rel of ['data/random.bin', 'data/small.bin', 'data/deep/er/a.bin', 'data/empty']) assert.equal(entries[rel]![1], files.get(rel)!.toString('hex'), rel);
    assert.equal(entries['data/link']![0] & 0o170000, 0o120000);
    assert.equal(Buffer.from(entries['data/link']![1], 'hex').toString(), 'small.bin');

    // A phone, dark theme.
    await page.setViewportSize({ width: 390, height: 800 });
    await page.getByTestId('theme').click();
    await page.getByTestId('theme').click(); // auto -> light -> dark
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
    await page.screenshot({ path: path.join(SHOTS, 'browse-phone-dark.png') });

    // Lock drops the worker: back to unlock, no data on screen.
    await page.getByTestId('lock').click();
    await page.getByTestId('unlock-password').waitFor();
    assert.equal(await page.getByTestId('file-row').count(), 0);
    await Promise.all(pending);
  } finally {
    await context.close();
    await proxy.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }

  // What crossed the wire, both ways, and everything playwright saw leave or reach the page.
  const wire = Buffer.concat([proxy.sent(), proxy.received()]);
  assert.ok(/GET \/repo\/data\/[0-9a-f]{64}/.test(proxy.sent().toString('latin1')), 'the proxy saw the pack reads');
  const seen = Buffer.concat([
    wire,
    // Requests to the server (blob: URLs and the service worker's answers stay in the browser).
    ...requests.filter((r) => r.url.startsWith(base + '/') && !r.url.includes('/_stream/')).map((r) => Buffer.concat([Buffer.from(r.url + r.headers), r.post])),
    ...recorded.filter((r) => r.url.startsWith(base + '/') && !r.fromSw && !r.url.includes('/_stream/')).map((r) => Buffer.concat([Buffer.from(r.url + r.headers), r.body])),
  ]);
  const forbidden: { what: string; bytes: Buffer }[] = [
    { what: 'password', bytes: Buffer.from(PASSWORD) },
    { what: 'password (base64)', bytes: Buffer.from(Buffer.from(PASSWORD).toString('base64').slice(0, 16)) },
  ];
  for (const [part, k] of Object.entries(key)) {
    const bytes = Buffer.from(k as Uint8Array);
    forbidden.push({ what: `key.${part}`, bytes }, { what: `key.${part} (hex)`, bytes: Buffer.from(bytes.toString('hex')) }, { what: `key.${part} (base64)`, bytes: Buffer.from(bytes.toString('base64').slice(0, 20)) });
  }
  for (const w of plaintextWindows(files)) forbidden.push({ what: `plaintext ${w.name}`, bytes: w.bytes }, { what: `plaintext ${w.name} (hex)`, bytes: Buffer.from(w.bytes.toString('hex')) });
  forbidden.push({ what: 'readme text', bytes: Buffer.from(files.get('notes/readme.txt')!.toString('utf8').split('\n')[0]!) });
  for (const f of forbidden) assert.equal(seen.indexOf(f.bytes), -1, `${f.what} was seen on the wire`);
  assert.ok(wire.length > 3_000_000, `the proxy recorded the session (${wire.length} bytes)`);

  // Headers and the browser's console.
  const fromServer = recorded.filter((r) => !r.fromSw && r.url.startsWith(base));
  assert.ok(fromServer.length > 20);
  for (const r of fromServer) assert.ok(r.csp?.includes("default-src 'self'") && r.csp.includes("frame-ancestors 'none'"), `CSP missing on ${r.url}`);
  const violations = consoleLines.filter((l) => /Content Security Policy|Refused to/i.test(l));
  assert.deepEqual(violations, []);
  assert.deepEqual(consoleLines.filter((l) => l.startsWith('error') || l.startsWith('pageerror')), []);
  // The request log: no token, no query string.
  const log = server.stderr();
  assert.ok(log.includes('GET /repo/config 200'), log.slice(0, 2000));
  assert.ok(!log.includes(server.token) && !log.includes('?'), 'the log holds no query string');
  assert.ok(!log.includes(PASSWORD));
});
