/**
 * `coffer serve --web`: the same app in front of the multi-user REST server. A user signs in at
 * /login with the server's account (HTTP Basic, bcrypt htpasswd), gets a session cookie, sees
 * only the repositories under /<user>/ (--private-repos), unlocks one in Chromium and downloads
 * a file; another user's repository stays out of reach with the same session. restic-style
 * Basic clients keep working beside the app.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import bcrypt from 'bcryptjs';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { mustRun, startCoffer, webEnv } from './web-helpers.js';

test('coffer serve --web: account login, private repositories, unlock and download in Chromium', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const dir = tempDir('coffer-serve-web-');
  const data = path.join(dir, 'data');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  const content = randomBytes(200_000);
  fs.writeFileSync(path.join(src, 'photo.raw'), content);
  const env = testEnv({ COFFER_PASSWORD: 'alice-repo-password' });
  for (const repo of ['alice/laptop', 'bob/desktop']) {
    await mustRun(['-r', path.join(data, repo), 'init'], { env }, 0);
    await mustRun(['-r', path.join(data, repo), 'backup', src], { env }, 0);
  }
  fs.writeFileSync(path.join(data, '.htpasswd'), `alice:${bcrypt.hashSync('alice-login', 5)}\nbob:${bcrypt.hashSync('bob-login', 5)}\n`);

  const server = await startCoffer(['serve', '--path', data, '--listen', '127.0.0.1:0', '--private-repos', '--web'], webEnv(), /listening on http:\/\/127\.0\.0\.1:\d+\//);
  const base = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(server.line)![1]!;
  try {
    // Sessions from Node first: /login needs the account; the session sees only /alice/.
    const anon = await fetch(base + '/login', { redirect: 'manual' });
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrong = await fetch(base + '/login', { redirect: 'manual', headers: { authorization: 'Basic ' + Buffer.from('alice:nope').toString('base64') } });
    assert.equal(wrong.status, 401);
    const ok = await fetch(base + '/login', { redirect: 'manual', headers: { authorization: 'Basic ' + Buffer.from('alice:alice-login').toString('base64') } });
    assert.equal(ok.status, 303);
    const cookie = (ok.headers.get('set-cookie') ?? '').split(';')[0]!;
    const info = (await (await fetch(base + '/api/info', { headers: { cookie } })).json()) as { repos: string[]; user: string };
    assert.deepEqual(info.repos, ['/alice/laptop/']);
    assert.equal(info.user, 'alice');
    assert.equal((await fetch(base + '/alice/laptop/config', { headers: { cookie } })).status, 200);
    assert.equal((await fetch(base + '/bob/desktop/config', { headers: { cookie } })).status, 403);
    assert.equal((await fetch(base + '/alice/laptop/config')).status, 401);
    // A restic-style client with Basic credentials, beside the app.
    assert.equal((await fetch(base + '/alice/laptop/config', { headers: { authorization: 'Basic ' + Buffer.from('alice:alice-login').toString('base64') } })).status, 200);

    // The browser: sign in with the account, unlock with the repository password, download.
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true, acceptDownloads: true, httpCredentials: { username: 'alice', password: 'alice-login' } });
    const logs: string[] = [];
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.on('console', (m) => logs.push(`${m.type()}: ${m.text()}`));
      await page.goto(base + '/');
      await page.getByTestId('login').click();
      await page.getByTestId('unlock-password').waitFor();
      await page.getByTestId('unlock-password').fill('alice-repo-password');
      await page.getByTestId('unlock-submit').click();
      await page.getByTestId('snapshot-row').first().click();
      await page.locator('[data-testid=file-row][data-name="photo.raw"]').click();
      const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('file-download').click()]);
      const file = path.join(dir, 'photo.raw');
      await dl.saveAs(file);
      assert.ok(fs.readFileSync(file).equals(content));
      // (the signed-out page's first /api/info answers 401, which the console reports)
      assert.deepEqual(logs.filter((l) => /Content Security Policy|^error/.test(l) && !/status of 401/.test(l)), []);
    } finally {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    }
  } finally {
    assert.equal(await server.stop(), 0);
  }
  const log = server.stderr() + server.stdout();
  assert.match(log, /alice "GET \/alice\/laptop\/config" 200/, 'REST requests logged by the serve log with the session user');
  assert.ok(!log.includes('alice-login') && !log.includes('alice-repo-password'));
});

test('coffer serve --web --map-tiles: the CSP allows the tile origin for images and /api/info names it; refused without --web', async () => {
  const data = tempDir('coffer-serve-tiles-');
  const tpl = 'https://tiles.example.org/osm/{z}/{x}/{y}.png';
  const server = await startCoffer(['serve', '--path', data, '--listen', '127.0.0.1:0', '--no-auth', '--web', '--map-tiles', tpl], webEnv(), /listening on http:\/\/127\.0\.0\.1:\d+\//);
  const base = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(server.line)![1]!;
  try {
    const page = await fetch(base + '/');
    assert.match(page.headers.get('content-security-policy') ?? '', /img-src 'self' blob: data: https:\/\/tiles\.example\.org;/);
    assert.match(page.headers.get('content-security-policy') ?? '', /connect-src 'self';/);
    const info = (await (await fetch(base + '/api/info')).json()) as { mapTiles?: string };
    assert.equal(info.mapTiles, tpl);
  } finally {
    await server.stop();
  }
  const r = await mustRun(['serve', '--path', data, '--listen', '127.0.0.1:0', '--no-auth', '--map-tiles', tpl], { env: webEnv() }, 1);
  assert.match(r.stderr, /--map-tiles needs --web/);
});
