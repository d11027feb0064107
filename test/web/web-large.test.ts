/**
 * A folder of 100,000 entries in the web app (Chromium): the listing arrives, the virtual list
 * keeps the DOM small (design §5: under 1,500 items; here under 200 rows), End/Home and
 * scrolling show the right names at both ends. The repository is written in-process by the
 * core's own backup from an in-memory source (100,000 files on disk would take the test's
 * whole budget), onto a local folder that `coffer web` serves. Timings are printed for the
 * record; the benchmark (bench/web.ts) measures them properly.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { backup } from '../../src/core/engine/backup/backup.js';
import { initRepository } from '../../src/core/repository/open.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { CHEAP_KDF, dir, file, FakeSource, LOCK_OWNER, OWNER, platform, type FakeEntry } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { startWeb } from './web-helpers.js';

export const WIDE = Number(process.env.COFFER_WEB_WIDE ?? 100_000);
const name = (i: number): string => `file-${String(i).padStart(6, '0')}.txt`;

/** A repository whose /data/wide folder holds `n` small files. */
export async function wideRepository(repoDir: string, n: number, password: string): Promise<void> {
  const children: Record<string, FakeEntry> = {};
  for (let i = 0; i < n; i++) children[name(i)] = file(i % 1000 === 0 ? `file ${i}\n` : '');
  const repo = await initRepository(new LocalBackend(repoDir), await platform(), { password, kdf: CHEAP_KDF, ...OWNER });
  await backup(repo, new FakeSource(dir({ data: dir({ wide: dir(children), 'small.txt': file('hello\n') }) })), { targets: ['/data'], hostname: 'wide-host', owner: LOCK_OWNER });
}

test(`web app: a folder of ${WIDE.toLocaleString('en-US')} entries scrolls in a virtual list`, { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const tmp = tempDir('coffer-web-wide-');
  const repo = path.join(tmp, 'repo');
  const t0 = Date.now();
  await wideRepository(repo, WIDE, 'wide-password');
  t.diagnostic(`repository written in ${Date.now() - t0} ms`);
  const server = await startWeb(repo);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 800 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill('wide-password');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('snapshot-row').first().click();
    await page.locator('[data-testid=file-row][data-name=wide]').click();
    await page.locator(`[data-testid=file-row][data-name="${name(0)}"]`).waitFor({ timeout: 60_000 });
    const ms = await page.evaluate(() => {
      const [u] = performance.getEntriesByName('coffer-listed');
      return u ? u.startTime : -1;
    });
    t.diagnostic(`listed ${WIDE} entries at ${Math.round(ms)} ms after page start`);
    const rows = (): Promise<number> => page.locator('[data-testid=file-row]').count();
    assert.ok((await rows()) < 200, `rows in the DOM: ${await rows()}`);
    assert.ok((await page.evaluate(() => document.querySelectorAll('*').length)) < 1500);
    assert.match((await page.locator('p[role=status]').first().textContent()) ?? '', new RegExp(`^${WIDE.toLocaleString('en-US')} entries`));

    // End: the last entry is shown and selected (details panel); Home: back to the first.
    await page.getByTestId('file-list').focus();
    await page.keyboard.press('End');
    await page.locator(`[data-testid=file-row][data-name="${name(WIDE - 1)}"]`).waitFor();
    await page.locator(`[data-testid=file-details][data-name="${name(WIDE - 1)}"]`).waitFor();
    assert.ok((await rows()) < 200);
    await page.keyboard.press('Home');
    await page.locator(`[data-testid=file-row][data-name="${name(0)}"]`).waitFor();

    // Scrolling to the middle renders the rows there; frames are timed for the record.
    const frames = await page.getByTestId('file-list').evaluate(async (el) => {
      const times: number[] = [];
      let last = performance.now();
      for (let i = 0; i < 60; i++) {
        el.scrollTop += el.scrollHeight / 120;
        await new Promise((r) => requestAnimationFrame(r));
        const now = performance.now();
        times.push(now - last);
        last = now;
      }
      return times;
    });
    t.diagnostic(`60 scroll steps: longest frame ${Math.round(Math.max(...frames))} ms, median ${Math.round(frames.sort((a, b) => a - b)[30]!)} ms`);
    const mid = await page.locator('[data-testid=file-row]:not([hidden])').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name!));
    const idx = mid.map((n) => Number(n.slice(5, 11)));
    assert.ok(idx.some((i) => i > WIDE * 0.45 && i < WIDE * 0.55), `rows after scrolling half way: ${mid.slice(0, 3).join(', ')}…`);
    assert.ok((await rows()) < 200);
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
