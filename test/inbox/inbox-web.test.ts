/**
 * The inbox in the web app (issue 12, design web-gallery.md §2, §6, §11), end to end in Debian's
 * Chromium: a phone-sized browser uploads two photos through `/u/<upload token>` (sealed in the
 * browser); the review grid shows them; one is approved, the other rejected; then the real restic
 * finds the approved one byte-identical under /inbox/phone with tag coffer-inbox, and the
 * rejected one nowhere. Nothing the phone sends holds a name or a plaintext window. The staging folder and the server's request log never hold a plaintext
 * byte or a file name, and the upload token cannot list, read or delete items. A third photo kept
 * private reaches the primary and never the copy that excludes `private` (after coffer sync).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { chromium } from 'playwright-core';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { resticBinaries, runRestic, testEnv } from '../helpers/run.js';
import { mustRun, recordingProxy, startWeb, webEnv } from '../web/web-helpers.js';

const PASSWORD = 'inbox-web-pw';

/** A JPEG of random pixels (so any 24-byte window of it is unique). */
async function photo(seed: number, w = 64, h = 48): Promise<Buffer> {
  const key = crypto.createHash('sha256').update(`photo ${seed}`).digest().subarray(0, 16);
  const px = crypto.createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(w * h * 3));
  return sharp(px, { raw: { width: w, height: h, channels: 3 } }).jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

function allFiles(dir: string): string[] {
  const out: string[] = [];
  if (!fs.existsSync(dir)) return out;
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...allFiles(p));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/** Windows of `plain` spread over it: finding any of them in `hay` means plaintext leaked. */
function leaks(hay: Buffer, plain: Buffer, name: string): string | undefined {
  if (hay.includes(Buffer.from(name))) return `the name ${name}`;
  for (let o = 0; o + 24 <= plain.length; o += Math.max(24, Math.floor(plain.length / 40))) {
    if (hay.includes(plain.subarray(o, o + 24))) return `bytes ${o}..${o + 24} of ${name}`;
  }
  return undefined;
}

test('inbox web: a phone uploads three photos; the grid approves one, keeps one private, rejects one; restic agrees', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const restics = resticBinaries();
  assert.ok(restics.length > 0, 'restic is needed');
  const dir = tempDir('coffer-inbox-web-');
  const repo = path.join(dir, 'repo');
  const xdg = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') };
  const env = testEnv({ ...xdg, COFFER_PASSWORD: PASSWORD, COFFER_REPOSITORY: repo });
  await mustRun(['init'], { env }, 0);
  // A cloud copy that must never hold private items: the grid says so per item.
  await mustRun(['copies', 'add', 'cloud', path.join(dir, 'cloud'), '--exclude-tag', 'private'], { env }, 0);
  // The first inbox use makes the key pair (private half in the repository, public half on this device).
  await mustRun(['inbox', 'list'], { env }, 0);

  const photos = [
    { name: 'IMG_0001.jpg', bytes: await photo(1) },
    // Big enough for several sealed 1 MiB chunks and PUTs.
    { name: 'IMG_0002.jpg', bytes: await photo(2, 1200, 900) },
    { name: 'IMG_0003.jpg', bytes: await photo(3) },
  ];
  const upload = path.join(dir, 'phone');
  fs.mkdirSync(upload);
  for (const p of photos) fs.writeFileSync(path.join(upload, p.name), p.bytes);

  const server = await startWeb(repo, webEnv({ ...xdg, COFFER_REPOSITORY: repo }));
  const base = `http://127.0.0.1:${server.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const login = await fetch(server.url, { redirect: 'manual' });
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]!;
    const setup = (await (await fetch(`${base}/api/inbox/setup`, { headers: { cookie } })).json()) as { uploadUrls: string[]; qrSvg: string; copies: { name: string }[] };
    const uploadUrl = setup.uploadUrls[0]!;
    assert.match(uploadUrl, new RegExp(`^${base}/u/[A-Za-z0-9_-]{43}$`));
    assert.match(setup.qrSvg, /^<svg /);
    const token = uploadUrl.slice(uploadUrl.lastIndexOf('/') + 1);
    assert.equal((await fetch(`${base}/api/inbox/key`)).status, 200, 'the public key is public');
    assert.equal((await fetch(`${base}/u/not-the-token`)).status, 404);

    // The phone: a narrow, touch browser context with nothing but the upload address, talking
    // through a proxy that records every byte it sends.
    const proxy = await recordingProxy(server.port);
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const pp = await phone.newPage();
    await pp.goto(uploadUrl.replace(`:${server.port}/`, `:${proxy.port}/`));
    await pp.getByTestId('upload-input').setInputFiles(photos.map((p) => path.join(upload, p.name)));
    await pp.getByTestId('upload-send').click();
    await pp.getByTestId('upload-summary').waitFor({ timeout: 30_000 });
    assert.equal(await pp.getByTestId('upload-summary').getAttribute('data-done'), '3');
    assert.deepEqual(await pp.getByTestId('upload-item').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.state)), ['done', 'done', 'done']);
    // Nothing on the page is wider than the phone.
    assert.ok((await pp.evaluate(() => document.documentElement.scrollWidth)) <= 390, 'the upload page fits a phone');
    await pp.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'inbox-phone.png') });
    await phone.close();
    await proxy.close();
    // Sealed in the phone's browser: no name and no plaintext window ever left it.
    const wire = proxy.sent();
    assert.ok(!server.stderr().includes(token), 'the request log never holds the upload token');
    assert.match(server.stderr(), /GET \/u\/\*\*\* 200/);
    assert.ok(wire.length > photos[1]!.bytes.length, `the proxy recorded the uploads (${wire.length} bytes)`);
    for (const p of photos) assert.equal(leaks(wire, p.bytes, p.name), undefined, 'plaintext on the wire from the phone');

    // The upload token only adds: no list, read or delete; no token, no upload.
    const list = (await (await fetch(`${base}/api/inbox/items`, { headers: { cookie } })).json()) as { items: { id: string }[] };
    assert.equal(list.items.length, 3);
    const id0 = list.items[0]!.id;
    const bearer = { Authorization: `Bearer ${token}` };
    assert.equal((await fetch(`${base}/api/inbox/items`, { headers: bearer })).status, 403);
    assert.equal((await fetch(`${base}/api/inbox/items/${id0}/meta`, { headers: bearer })).status, 403);
    assert.equal((await fetch(`${base}/api/inbox/items/${id0}/data`, { headers: bearer })).status, 403);
    assert.equal((await fetch(`${base}/api/inbox/items/${id0}`, { method: 'DELETE', headers: bearer })).status, 403);
    assert.equal((await fetch(`${base}/api/inbox/items`)).status, 401);
    assert.equal((await fetch(`${base}/api/inbox/items/${'ab'.repeat(16)}/data?offset=0`, { method: 'PUT', body: 'x' })).status, 401);
    assert.equal((await fetch(`${base}/api/inbox/items/${'ab'.repeat(16)}/data?offset=0`, { method: 'PUT', body: 'x', headers: { Authorization: 'Bearer nope' } })).status, 403);
    // An upload cannot overwrite a staged item.
    assert.equal((await fetch(`${base}/api/inbox/items/${id0}/data?offset=0`, { method: 'PUT', body: 'x', headers: bearer })).status, 409);

    // While pending: the staging folder holds sealed bytes only.
    const staged = allFiles(path.join(dir, 'data', 'coffer', 'inbox'));
    assert.ok(staged.some((f) => f.endsWith(path.join(id0, 'data'))), staged.join('\n'));
    for (const f of staged) {
      const hay = fs.readFileSync(f);
      for (const p of photos) assert.equal(leaks(hay, p.bytes, p.name), undefined, `${f} holds plaintext`);
      assert.ok(!path.basename(f).includes('IMG_'), f);
    }

    // The review grid on a desktop.
    const desk = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await desk.newPage();
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-inbox').click();
    const items = page.getByTestId('inbox-item');
    await items.nth(2).waitFor();
    assert.equal(await items.count(), 3);
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.name)), ['IMG_0001.jpg', 'IMG_0002.jpg', 'IMG_0003.jpg'], 'oldest first');
    assert.deepEqual(await items.evaluateAll((els) => els.map((e) => !!e.querySelector('img'))), [true, true, true], 'thumbnails opened in the worker');
    assert.equal(await items.first().getAttribute('data-copies-approve'), 'primary,cloud');
    assert.equal(await items.first().getAttribute('data-copies-private'), 'primary', 'a copy excluding private never holds a private item');
    assert.ok(((await page.getByTestId('inbox-upload-url').textContent()) ?? '').includes('/u/'));
    await page.locator('.inbox-phone-box summary').click();
    await page.getByTestId('inbox-qr').waitFor();
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'inbox.png') });
    await page.locator('.inbox-phone-box summary').click();

    const first = page.locator('[data-testid=inbox-item][data-name="IMG_0001.jpg"]');
    // A larger look first: the content opened in the worker (the photo's own size), Esc closes,
    // and the selection is untouched.
    await first.getByTestId('inbox-view').click();
    const media = page.getByTestId('inbox-preview-media');
    await media.waitFor();
    await page.waitForFunction(() => (document.querySelector('[data-testid=inbox-preview-media]') as HTMLImageElement | null)?.naturalWidth === 64);
    await page.keyboard.press('Escape');
    await page.getByTestId('inbox-preview').waitFor({ state: 'detached' });
    assert.equal(await first.getAttribute('aria-selected'), 'false');
    await first.click();
    assert.equal(await first.getAttribute('aria-selected'), 'true');
    await page.getByTestId('inbox-approve').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=inbox-item]').length === 2, undefined, { timeout: 30_000 });
    await page.locator('[data-testid=inbox-item][data-name="IMG_0003.jpg"]').click();
    await page.getByTestId('inbox-private').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=inbox-item]').length === 1, undefined, { timeout: 30_000 });
    const second = page.locator('[data-testid=inbox-item][data-name="IMG_0002.jpg"]');
    await second.click();
    assert.equal(await second.getAttribute('aria-selected'), 'true');
    await page.getByTestId('inbox-reject').click();
    await page.getByTestId('inbox-empty').waitFor({ timeout: 15_000 });
    await desk.close();
  } finally {
    await browser.close();
    await server.stop();
  }

  // The request log: stage ids only, never a name or plaintext.
  const log = Buffer.from(server.stderr());
  const dataPuts = [...server.stderr().matchAll(/PUT \/api\/inbox\/items\/([0-9a-f]{32})\/data 200/g)].map((m) => m[1]);
  assert.ok(photos[1]!.bytes.length > 2 << 20, `the big photo has ${photos[1]!.bytes.length} bytes`);
  assert.ok(dataPuts.length > photos.length && new Set(dataPuts).size === photos.length, `chunked PUTs: ${dataPuts.join(' ')}`);
  for (const p of photos) assert.equal(leaks(log, p.bytes, p.name), undefined, 'the request log holds plaintext');

  // After the decisions: nothing staged, both decisions logged by content hash.
  const left = allFiles(path.join(dir, 'data', 'coffer', 'inbox'));
  assert.ok(!left.some((f) => /\/items\/[0-9a-f]{32}\//.test(f)), left.join('\n'));
  const decisionsFile = left.find((f) => f.endsWith('decisions.json'));
  assert.ok(decisionsFile, 'decisions.json is written');
  const decisions = JSON.parse(fs.readFileSync(decisionsFile, 'utf8')) as { sha256: string; decision: string; snapshot?: string }[];
  const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
  assert.deepEqual(decisions.map((d) => [d.sha256, d.decision]), [[sha(photos[0]!.bytes), 'approve'], [sha(photos[2]!.bytes), 'private'], [sha(photos[1]!.bytes), 'reject']]);

  // The next scheduled run (`backup --gallery`, here of an unrelated folder) adds what the page
  // stored: the approved photo to the gallery, the private one to the private gallery.
  const docs = path.join(dir, 'docs');
  fs.mkdirSync(docs);
  fs.writeFileSync(path.join(docs, 'notes.txt'), 'not a photo\n');
  const ran = (await mustRun(['backup', docs, '--gallery', '--json'], { env }, 0)).stdout.trim().split('\n').map((l) => JSON.parse(l) as { message_type: string; gallery?: { added: number } });
  assert.equal(ran.find((m) => m.message_type === 'summary')?.gallery?.added, 2, JSON.stringify(ran.at(-1)));
  const galleries = JSON.parse((await runRestic(restics[0]!, ['snapshots', '--json', '--tag', 'coffer-gallery'], { env: testEnv({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo }) })).stdout) as { id: string; tags: string[] }[];
  const summary = { private_snapshot_id: galleries.find((g) => g.tags.includes('private'))?.id };
  assert.equal(galleries.length, 2, 'a gallery and a private gallery');
  assert.ok(summary.private_snapshot_id, JSON.stringify(galleries));

  // The copy that excludes `private` gets the approved photo, never the private one.
  await mustRun(['sync'], { env }, 0);

  // The real restic: the approved photo, byte-identical, tag coffer-inbox; the private one with
  // tag private too and only where private is admitted; the rejected one nowhere.
  for (const restic of restics) {
    for (const [where, wantPrivate] of [[repo, true], [path.join(dir, 'cloud'), false]] as const) {
      const renv = testEnv({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: where });
      const snaps = JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env: renv })).stdout) as { id: string; paths: string[]; tags?: string[] }[];
      const inbox = snaps.filter((s) => s.tags?.includes('coffer-inbox'));
      assert.deepEqual(inbox.map((s) => [s.paths, s.tags]), [[['/inbox/phone'], ['coffer-inbox']], ...(wantPrivate ? [[['/inbox/phone'], ['coffer-inbox', 'private']]] : [])], `${restic.name} ${where}`);
      // The decision log names the primary's snapshots (a copy's have other ids).
      if (wantPrivate) assert.deepEqual(inbox.map((s) => s.id), [decisions[0]!.snapshot, decisions[1]!.snapshot]);
      for (const [s, p] of inbox.map((s, i) => [s, photos[i === 0 ? 0 : 2]!] as const)) {
        const dump = await runRestic(restic, ['dump', s.id, `/inbox/phone/${p.name}`], { env: renv });
        assert.equal(dump.code, 0, dump.stderr);
        assert.ok(dump.stdoutBytes.equals(p.bytes), `${restic.name}: ${p.name} is byte-identical in ${where}`);
      }
      // Found in no snapshot at all (restic find searches every snapshot's trees).
      const find = async (name: string) => {
        const r = await runRestic(restic, ['find', '--json', name], { env: renv });
        assert.equal(r.code, 0, r.stderr);
        return (JSON.parse(r.stdout) as { matches: unknown[] }[]).flatMap((s) => s.matches);
      };
      assert.equal((await find('IMG_0001.jpg')).length, 1, `${restic.name}: find works (the approved photo, once)`);
      assert.deepEqual(await find('IMG_0002.jpg'), [], `${restic.name}: the rejected photo is in a snapshot of ${where}`);
      if (!wantPrivate) assert.deepEqual(await find('IMG_0003.jpg'), [], `${restic.name}: the private photo reached the cloud copy`);
      if (!wantPrivate) assert.ok(!snaps.some((s) => s.tags?.includes('private')), `${restic.name}: a private snapshot (or the private gallery) reached the cloud copy`);
      else assert.ok(snaps.some((s) => s.id === summary.private_snapshot_id), 'the private gallery is in the primary');
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
});

test('inbox web: the page sets the inbox up; then an item the CLI added without the password is approved into an album', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const restics = resticBinaries();
  assert.ok(restics.length > 0, 'restic is needed');
  const dir = tempDir('coffer-inbox-web-setup-');
  const added = await photo(9);
  const repo = path.join(dir, 'repo');
  const xdg = { XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') };
  const env = testEnv({ ...xdg, COFFER_PASSWORD: PASSWORD, COFFER_REPOSITORY: repo });
  await mustRun(['init'], { env }, 0);
  const server = await startWeb(repo, webEnv({ ...xdg, COFFER_REPOSITORY: repo }));
  const base = `http://127.0.0.1:${server.port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  let served: string;
  try {
    assert.equal((await fetch(`${base}/api/inbox/key`)).status, 404, 'no key before the set-up');
    assert.equal((await fetch(`${base}/api/inbox/key`, { method: 'POST', body: '{}' })).status, 401, 'only the signed-in page sets the key');
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.getByTestId('unlock-password').fill(PASSWORD);
    await page.getByTestId('unlock-submit').click();
    await page.getByTestId('nav-inbox').click();
    await page.getByTestId('inbox-setup').click();
    await page.locator('[data-testid=inbox-empty]:not(:has([data-testid=inbox-setup]))').waitFor();
    served = ((await (await fetch(`${base}/api/inbox/key`)).json()) as { publicKey: string }).publicKey;

    // The CLI stages with the public key the page handed over (no password); the grid decides.
    const noPassword = testEnv({ ...xdg, COFFER_REPOSITORY: repo });
    delete noPassword.COFFER_PASSWORD;
    delete noPassword.RESTIC_PASSWORD;
    fs.writeFileSync(path.join(dir, 'added.jpg'), added);
    await mustRun(['inbox', 'add', path.join(dir, 'added.jpg')], { env: noPassword }, 0);
    // The open view picks the new item up by itself.
    const item = page.locator('[data-testid=inbox-item][data-name="added.jpg"]');
    await item.click();
    await page.getByTestId('inbox-album').fill('Trip 2024');
    await page.getByTestId('inbox-approve').click();
    await page.locator('[data-testid=inbox-empty]:not(:has([data-testid=inbox-setup]))').waitFor({ timeout: 30_000 });
  } finally {
    await browser.close();
    await server.stop();
  }
  // One key record in the repository, the same key the server now hands to phones; the CLI uses it.
  const renv = testEnv({ RESTIC_PASSWORD: PASSWORD, RESTIC_REPOSITORY: repo });
  const snaps = JSON.parse((await runRestic(restics[0]!, ['snapshots', '--json', '--tag', 'coffer-inbox-key'], { env: renv })).stdout) as { id: string }[];
  assert.equal(snaps.length, 1);
  const rec = JSON.parse((await runRestic(restics[0]!, ['dump', snaps[0]!.id, '/inbox-key.json'], { env: renv })).stdout) as { publicKey: string };
  assert.equal(Buffer.from(rec.publicKey, 'base64').toString('base64url'), served);
  const list = await mustRun(['inbox', 'list', '--json'], { env }, 0);
  assert.deepEqual(JSON.parse(list.stdout), [], 'decided in the page: nothing pending for the CLI either');
  const after = JSON.parse((await runRestic(restics[0]!, ['snapshots', '--json', '--tag', 'coffer-inbox-key'], { env: renv })).stdout) as unknown[];
  assert.equal(after.length, 1, 'the CLI reuses the key the page made');
  const stored = JSON.parse((await runRestic(restics[0]!, ['snapshots', '--json', '--tag', 'coffer-inbox'], { env: renv })).stdout) as { id: string; paths: string[]; tags: string[] }[];
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0]!.tags, ['coffer-inbox', 'album:Trip 2024']);
  assert.match(stored[0]!.paths[0]!, /^\/inbox\/[^/]+$/);
  const dump = await runRestic(restics[0]!, ['dump', stored[0]!.id, `${stored[0]!.paths[0]}/added.jpg`], { env: renv });
  assert.ok(dump.stdoutBytes.equals(added), 'the CLI-staged photo approved in the page is byte-identical');
  fs.rmSync(dir, { recursive: true, force: true });
});
