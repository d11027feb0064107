/**
 * The viewer in Debian's Chromium: a generated MP4 (VP9, 2 s, made by Debian's ffmpeg) plays
 * from the gallery's original, decrypted as the `<video>` asks the service worker for byte
 * ranges (readyState and currentTime advance; its src is a `/_stream/` URL); a photo zooms with
 * the wheel, a double click, a two-finger pinch and the keys (+, 0), and a swipe (a horizontal
 * drag at 1×) moves to the next photo. A backup tagged `private` makes the private library,
 * shown only behind the timeline's library switch.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { requireBrowser } from '../browser/harness.js';
import { ROOT, tempDir } from '../helpers/paths.js';
import { exifJpeg, galleryRepo, openGalleryPage } from './gallery-fixtures.js';

const PASSWORD = 'gallery-viewer-' + randomBytes(6).toString('hex');

function haveFfmpeg(): boolean {
  return spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;
}

test('web gallery viewer: a video plays decrypted through Range requests; zoom, pinch and swipe', { timeout: 90_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  if (!haveFfmpeg()) {
    if (process.env.CI) throw new Error('needed in CI but missing: ffmpeg');
    t.skip('missing: ffmpeg');
    return;
  }
  const dir = tempDir('coffer-web-gallery-viewer-');
  const src = path.join(dir, 'media');
  const repo = path.join(dir, 'repo');
  fs.mkdirSync(src, { recursive: true });
  const video = path.join(src, 'clip.mp4');
  const ff = spawnSync('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=25', '-t', '2', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-pix_fmt', 'yuv420p', '-metadata', 'creation_time=2024-07-01T10:00:00Z', '-movflags', '+faststart', '-y', video], { encoding: 'utf8' });
  assert.equal(ff.status, 0, ff.stderr);
  const shots = ['2024-06-03T09:00:00', '2024-06-02T09:00:00', '2024-06-01T09:00:00'];
  shots.forEach((taken, i) => fs.writeFileSync(path.join(src, `P${i}.jpg`), exifJpeg(i, { name: `P${i}.jpg`, taken, make: 'Test', model: 'Cam' }, 640, 480)));
  const priv = path.join(dir, 'private');
  fs.mkdirSync(priv);
  fs.writeFileSync(path.join(priv, 'secret.jpg'), exifJpeg(9, { name: 'secret.jpg', taken: '2020-02-02T02:02:02', make: 'Test', model: 'Cam' }));
  await galleryRepo(repo, src, PASSWORD, priv);

  const gp = await openGalleryPage(repo, PASSWORD, { width: 1000, height: 700 }, ['--autoplay-policy=no-user-gesture-required']);
  const { page } = gp;
  try {
    await page.getByTestId('nav-gallery').click();
    const cell = page.locator('[data-testid=gallery-item][data-kind=video]');
    await cell.waitFor();
    assert.equal(await cell.getAttribute('data-name'), 'clip.mp4');
    await cell.click();
    const v = page.getByTestId('viewer-video');
    await v.waitFor({ timeout: 20_000 });
    assert.match((await v.getAttribute('src'))!, /^\/_stream\//);
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLVideoElement>('[data-testid=viewer-video]')!;
      if (el.paused && el.readyState >= 2) {
        el.muted = true;
        void el.play().catch(() => undefined);
      }
      return el.readyState >= 2 && el.currentTime > 0.4;
    }, undefined, { timeout: 20_000, polling: 100 });
    const d = await v.evaluate((el: HTMLVideoElement) => ({ duration: el.duration, w: el.videoWidth, h: el.videoHeight, error: el.error?.message ?? null }));
    assert.deepEqual({ w: d.w, h: d.h, error: d.error }, { w: 320, h: 240, error: null });
    assert.ok(Math.abs(d.duration - 2) < 0.2, `duration ${d.duration}`);
    // Seeking asks for another range.
    await v.evaluate((el: HTMLVideoElement) => (el.currentTime = 1.5));
    await page.waitForFunction(() => {
      const el = document.querySelector<HTMLVideoElement>('[data-testid=viewer-video]')!;
      return !el.seeking && el.currentTime >= 1.5 && el.readyState >= 2;
    }, undefined, { timeout: 10_000 });

    // → to the newest photo: the video element goes away, the image shows.
    await page.keyboard.press('ArrowRight');
    const img = page.getByTestId('viewer-image');
    await page.waitForFunction(() => !document.querySelector('[data-testid=viewer-video]') && (document.querySelector<HTMLImageElement>('[data-testid=viewer-image]')?.naturalWidth ?? 0) > 0);
    const first = await page.getByTestId('viewer').getAttribute('data-item-id');
    const scale = async (): Promise<number> => Number(await img.getAttribute('data-scale'));
    assert.equal(await scale(), 1);
    const box = (await img.boundingBox())!;
    const cx = box.x + box.width / 2;
    const cy = box.y + box.height / 2;
    await page.mouse.move(cx, cy);
    await page.mouse.wheel(0, -300);
    await page.waitForFunction(() => Number(document.querySelector('[data-testid=viewer-image]')!.getAttribute('data-scale')) > 1.5);
    await page.keyboard.press('0');
    assert.equal(await scale(), 1);
    await page.mouse.dblclick(cx, cy);
    assert.equal(await scale(), 2.5);
    await page.mouse.dblclick(cx, cy);
    assert.equal(await scale(), 1);
    await page.keyboard.press('+');
    assert.equal(await scale(), 1.5);
    await page.keyboard.press('0');
    // Two fingers moving apart (pointer events as a touch screen sends them).
    await page.getByTestId('viewer').evaluate((_v, [x, y]) => {
      const stage = document.querySelector('.viewer-stage')!;
      const img = document.querySelector('[data-testid=viewer-image]')!;
      const ev = (type: string, id: number, px: number) => img.dispatchEvent(new PointerEvent(type, { pointerId: id, pointerType: 'touch', clientX: px, clientY: y, bubbles: true, isPrimary: id === 11 }));
      ev('pointerdown', 11, x - 40);
      ev('pointerdown', 12, x + 40);
      for (let i = 1; i <= 5; i++) {
        ev('pointermove', 11, x - 40 - i * 16);
        ev('pointermove', 12, x + 40 + i * 16);
      }
      ev('pointerup', 11, x - 120);
      ev('pointerup', 12, x + 120);
      return stage !== null;
    }, [cx, cy]);
    const pinched = await scale();
    assert.ok(pinched > 2.5 && pinched < 3.5, `pinch from 80 to 240 px: scale ${pinched}`);
    await page.keyboard.press('0');
    // A swipe to the left at 1×: the next (older) photo.
    await page.mouse.move(cx + 150, cy);
    await page.mouse.down();
    await page.mouse.move(cx - 150, cy, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction((id) => document.querySelector('[data-testid=viewer]')!.getAttribute('data-item-id') !== id, first);
    const second = await page.getByTestId('viewer').getAttribute('data-item-id');
    // And back to the right.
    await page.mouse.move(cx - 150, cy);
    await page.mouse.down();
    await page.mouse.move(cx + 150, cy, { steps: 6 });
    await page.mouse.up();
    await page.waitForFunction((id) => document.querySelector('[data-testid=viewer]')!.getAttribute('data-item-id') === id, first);
    assert.notEqual(second, first);

    // The private library: its own timeline behind the switch.
    await page.keyboard.press('Escape');
    await page.getByTestId('gallery-library').waitFor();
    assert.equal(await page.getByTestId('gallery').getAttribute('data-count'), '4');
    assert.equal(await page.locator('[data-testid=gallery-item][data-name="secret.jpg"]').count(), 0);
    await page.getByTestId('library-private').click();
    await page.locator('[data-testid=gallery-item][data-name="secret.jpg"]').waitFor();
    assert.equal(await page.getByTestId('gallery').getAttribute('data-count'), '1');
    assert.equal(await page.getByTestId('library-private').getAttribute('aria-pressed'), 'true');
    await page.getByTestId('library-main').click();
    await page.waitForFunction(() => document.querySelector('[data-testid=gallery]')?.getAttribute('data-count') === '4');
    // A phone-sized viewer (screenshot).
    await page.setViewportSize({ width: 390, height: 760 });
    await page.locator('[data-testid=gallery-item][data-kind=image]').first().click();
    await page.waitForFunction(() => (document.querySelector<HTMLImageElement>('[data-testid=viewer-image]')?.naturalWidth ?? 0) > 0);
    await page.screenshot({ path: path.join(ROOT, 'docs', 'screenshots', 'gallery-viewer-phone.png') });
    await page.keyboard.press('Escape');
    assert.deepEqual(gp.logs.filter((l) => /^pageerror|Content Security Policy|Refused to/.test(l)), []);
  } finally {
    await gp.close();
  }
});
