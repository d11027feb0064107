/**
 * The status view: `coffer web` answers /api/status with the last `coffer status` (offline,
 * from the state folder; the server has no password to check live), and the page shows the
 * verdict, the reasons and each copy, plus charts drawn from the snapshots' summaries. Without
 * a config, /api/status says so and the page explains how to add a copy.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startWeb, webEnv } from './web-helpers.js';

test('web app: the status view shows the last coffer status and charts from snapshot summaries', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-status-');
  const repo = path.join(dir, 'repo');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src);
  const xdg = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') };
  const env = testEnv({ ...xdg, COFFER_PASSWORD: 'status-pw', COFFER_REPOSITORY: repo });
  await mustRun(['init'], { env }, 0);
  for (let i = 0; i < 3; i++) {
    fs.writeFileSync(path.join(src, `f${i}.bin`), Buffer.alloc(100_000 * (i + 1), i + 1));
    await mustRun(['backup', src], { env }, 0);
  }

  // No config yet: the API says so.
  let server = await startWeb(repo, webEnv(xdg));
  try {
    const login = await fetch(server.url, { redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const s = (await (await fetch(`http://127.0.0.1:${server.port}/api/status`, { headers: { cookie } })).json()) as { configured: boolean; message: string };
    assert.equal(s.configured, false);
    assert.match(s.message, /no Coffer config/);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/api/status`)).status, 401);
  } finally {
    await server.stop();
  }

  // A copy that lacks the snapshots, and a status run with the password (cached in the state).
  await mustRun(['copies', 'add', 'usb', path.join(dir, 'usb')], { env }, 0);
  await mustRun(['status', '--json'], { env }, 1);

  server = await startWeb(repo, webEnv(xdg));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill('status-pw');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('snapshot-row').first().waitFor();
    await page.getByTestId('nav-status').click();
    await page.getByTestId('status-verdict').waitFor();
    assert.equal(await page.getByTestId('status-verdict').getAttribute('data-verdict'), 'unsafe');
    const codes = await page.getByTestId('status-reason').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.code));
    assert.ok(codes.includes('snapshots-missing'), codes.join(','));
    assert.equal(await page.locator('[data-testid=status-copy][data-name=usb]').getAttribute('data-safe'), 'false');
    assert.equal(await page.getByTestId('chart-size').getAttribute('data-points'), '3');
    assert.equal(await page.getByTestId('chart-duration').getAttribute('data-points'), '3');
    assert.equal(await page.locator('[data-testid=chart-size] circle').count(), 6);
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'status.png'), fullPage: true });
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
