/**
 * The web app runs a sampled drill (issue 9): the user gives the recovery kit in the status view;
 * the worker opens this repository with the kit's key, restores a sample in memory, verifies it
 * and records the result, which `coffer snapshots --tag coffer-drill` then shows. A kit made for
 * another repository fails the drill (key-rejected), and no recovery key crosses the wire.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';
import { mustRun, recordingProxy, startWeb, webEnv } from './web-helpers.js';

test('web app: a sampled drill with the recovery kit passes and is recorded; a foreign kit fails it', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-drill-');
  const repo = path.join(dir, 'repo');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  for (let i = 0; i < 6; i++) fs.writeFileSync(path.join(src, i % 2 ? 'sub' : '', `f${i}.bin`), prng(`drill-${i}`, 50_000 + i * 400_000));
  const xdg = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data'), HOME: dir };
  const env = testEnv({ ...xdg, COFFER_PASSWORD: 'drill-pw', COFFER_REPOSITORY: repo });
  await mustRun(['init'], { env }, 0);
  await mustRun(['backup', src], { env }, 0);
  const kitFile = path.join(dir, 'kit.pdf');
  await mustRun(['kit', '--output', kitFile], { env }, 0);
  // A kit of another repository.
  const otherEnv = testEnv({ ...xdg, COFFER_PASSWORD: 'drill-pw', COFFER_REPOSITORY: path.join(dir, 'other') });
  await mustRun(['init'], { env: otherEnv }, 0);
  const otherKit = path.join(dir, 'other-kit.txt');
  await mustRun(['kit', '--output', otherKit], { env: otherEnv }, 0);
  const key = /^Recovery-Key: (.+)$/m.exec(fs.readFileSync(otherKit, 'utf8'))![1]!;

  const server = await startWeb(repo, webEnv(xdg));
  const proxy = await recordingProxy(server.port);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, viewport: { width: 1280, height: 900 } });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(server.url.replace(`:${server.port}/`, `:${proxy.port}/`));
    await page.getByTestId('unlock-password').fill('drill-pw');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('snapshot-row').first().waitFor();
    await page.getByTestId('nav-status').click();
    await page.getByTestId('drill').waitFor();

    await page.getByTestId('drill-kit').setInputFiles(otherKit);
    await page.getByTestId('drill-run').click();
    await page.getByTestId('drill-verdict').waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId('drill-verdict').getAttribute('data-verdict'), 'fail');
    assert.equal(await page.getByTestId('drill-failure').first().getAttribute('data-code'), 'key-rejected');

    await page.getByTestId('drill-kit').setInputFiles(kitFile);
    await page.getByTestId('drill-sample').fill('4');
    await page.getByTestId('drill-run').click();
    await page.locator('[data-testid=drill-verdict][data-verdict=pass], [data-testid=drill-error]').first().waitFor({ timeout: 90_000 });
    assert.equal(await page.getByTestId('drill-verdict').getAttribute('data-verdict'), 'pass', (await page.getByTestId('drill-report').textContent()) ?? '');
    const verified = page.getByTestId('drill-verified');
    assert.ok(Number(await verified.getAttribute('data-files')) >= 3, 'files verified');
    assert.ok(Number(await verified.getAttribute('data-bytes')) > 400_000, 'bytes verified');
  } finally {
    await context.close();
    await proxy.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  // Recorded in the repository, where status finds it.
  const drills = JSON.parse((await mustRun(['snapshots', '--json', '--tag', 'coffer-drill'], { env }, 0)).stdout) as unknown[];
  assert.equal(drills.length, 1);
  // The kit stays in the page: neither key crosses the wire.
  const wire = Buffer.concat([proxy.sent(), proxy.received()]).toString('latin1');
  const ownKey = /^Recovery-Key: (.+)$/m.exec(Buffer.from(fs.readFileSync(kitFile)).toString('utf8'))![1]!;
  for (const k of [ownKey, key]) assert.ok(!wire.includes(k), 'a recovery key was sent');
});
