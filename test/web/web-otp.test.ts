/**
 * The 2FA view in Chromium: a vault made by `coffer otp add` (an encrypted Aegis vault in the
 * repository) opens in the page with the repository password typed again (a wrong one shows
 * otp-error), the codes equal the core's TOTP for the same time, search narrows the list, and
 * neither the secret nor the password reaches the server.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium } from 'playwright-core';
import { base32Decode } from '../../src/core/otp/base32.js';
import { totp } from '../../src/core/otp/codes.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { mustRun, recordingProxy, startWeb } from './web-helpers.js';

const SECRET = 'JBSWY3DPEHPK3PXPKRSXG5CTMVZXE3LO';

test('web app: the 2FA vault opens with the password again and shows the right codes', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-web-otp-');
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_PASSWORD: 'otp-web-password', COFFER_REPOSITORY: repo });
  await mustRun(['init'], { env }, 0);
  for (const [issuer, account] of [['Example', 'me@example.org'], ['Other', 'someone']] as const) {
    const r = await runCoffer(['otp', 'add', '--issuer', issuer, '--account', account, '--secret', SECRET], { env });
    assert.equal(r.code, 0, r.stderr);
  }
  const server = await startWeb(repo);
  const proxy = await recordingProxy(server.port);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  let shown: string[] = [];
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(`http://127.0.0.1:${proxy.port}/?token=${server.token}`);
    await page.getByTestId('unlock-password').fill('otp-web-password');
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-otp').click();
    await page.getByTestId('otp-password').fill('wrong');
    await page.getByTestId('otp-submit').click();
    await page.getByTestId('otp-error').waitFor({ state: 'visible', timeout: 30_000 });
    await page.getByTestId('otp-password').fill('otp-web-password');
    await page.getByTestId('otp-submit').click();
    await page.locator('[data-testid=otp-item][data-issuer=Example] [data-testid=otp-code]:not([data-code=""])').waitFor({ timeout: 30_000 });
    assert.equal(await page.getByTestId('otp-item').count(), 2);
    const code = await page.locator('[data-testid=otp-item][data-issuer=Example] [data-testid=otp-code]').getAttribute('data-code');
    const now = Math.floor(Date.now() / 1000);
    const key = base32Decode(SECRET)!;
    const valid = [now - 30, now, now + 30].map((s) => totp(key, BigInt(s), 'SHA1', 6, 30));
    assert.ok(valid.includes(code!), `code ${code} not among ${valid.join(', ')}`);
    shown = valid;
    assert.match((await page.locator('[data-testid=otp-item][data-issuer=Example] [data-testid=otp-remaining]').textContent()) ?? '', /^\d+s$/);
    await page.getByTestId('otp-search').fill('other');
    assert.equal(await page.locator('[data-testid=otp-item]:visible').count(), 1);
  } finally {
    await context.close();
    await proxy.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  const wire = Buffer.concat([proxy.sent(), proxy.received()]);
  // (Codes are not checked: six digits can occur by chance in hex IDs.)
  assert.equal(shown.length, 3);
  for (const s of [SECRET, 'otp-web-password', Buffer.from(base32Decode(SECRET)!).toString('hex')]) assert.equal(wire.indexOf(Buffer.from(s)), -1, `${s} on the wire`);
  assert.equal(wire.indexOf(Buffer.from(base32Decode(SECRET)!)), -1);
});
