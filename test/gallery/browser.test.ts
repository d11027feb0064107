/**
 * The gallery as the web app will read it: headless Chromium opens a Coffer-built gallery over
 * REST with the core's own code (openGallery), decodes the WebP thumbnails and previews with the
 * browser's own decoder, and paints a ThumbHash. Locally a missing Chromium skips; in CI it fails.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { requireBrowser, withBrowserPage } from '../browser/harness.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { makeJpeg } from './photo-maker.js';

interface PageResult {
  count: number;
  months: string[];
  items: { id: string; name: string; taken: string; thumb: { w: number; h: number }; preview: { w: number; h: number } }[];
  decoded: Record<string, { thumb: [number, number]; preview: [number, number] }>;
  hashSize: [number, number];
  hashOpaque: boolean;
}

async function inPage(a: { base: string }): Promise<PageResult> {
  const dist = '/dist/src/core/';
  const { webPlatform } = await import(dist + 'platform-web.js');
  const { RestBackend } = await import(dist + 'backend/rest.js');
  const { openRepository } = await import(dist + 'repository/open.js');
  const { openGallery } = await import(dist + 'engine/gallery/read.js');
  const { thumbHashToRGBA } = await import(dist + 'gallery/thumbhash.js');
  const { fromBase64 } = await import(dist + 'bytes.js');
  const repo = await openRepository(new RestBackend(a.base + '/repo/'), await webPlatform(), { password: 'test-password' });
  const g = await openGallery(repo);
  const items: PageResult['items'] = [];
  for (const m of g.months.months) for (const i of (await g.shard(m.month)).items) items.push({ id: i.id, name: i.name, taken: i.taken, thumb: i.thumb, preview: i.preview });
  const size = async (bytes: Uint8Array): Promise<[number, number]> => {
    const bmp = await createImageBitmap(new Blob([bytes as unknown as BlobPart], { type: 'image/webp' }));
    return [bmp.width, bmp.height];
  };
  const decoded: PageResult['decoded'] = {};
  for (const i of items) decoded[i.id] = { thumb: await size(await g.thumb(i.id)), preview: await size(await g.preview(i.id)) };
  const first = (await g.shard(g.months.months[0].month)).items[0];
  const img = thumbHashToRGBA(fromBase64(first.hash));
  return { count: g.months.count, months: g.months.months.map((m: { month: string }) => m.month), items, decoded, hashSize: [img.w, img.h], hashOpaque: img.rgba[3] === 255 };
}

test('Chromium reads the gallery with the core: months, shards, WebP thumbnails and previews, ThumbHash', async (t) => {
  if (!requireBrowser(t)) return;
  const work = tempDir('coffer-gallery-browser-');
  try {
    const src = path.join(work, 'photos');
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'a.jpg'), makeJpeg(400, 300, 1, { dateTimeOriginal: '2024:06:01 12:00:00', orientation: 6 }));
    fs.writeFileSync(path.join(src, 'b.jpg'), makeJpeg(2400, 1200, 2, { dateTimeOriginal: '2023:02:03 04:05:06' }));
    const repoDir = path.join(work, 'repo');
    const env = testEnv({ COFFER_WORKERS: '0' });
    assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
    const b = await runCoffer(['-r', repoDir, 'backup', src, '--gallery'], { env });
    assert.equal(b.code, 0, b.stderr);
    const r = await withBrowserPage({ repoDir }, (page, base) => page.evaluate(inPage, { base }));
    assert.equal(r.count, 2);
    assert.deepEqual(r.months, ['2024-06', '2023-02']);
    for (const i of r.items) {
      assert.deepEqual(r.decoded[i.id]!.thumb, [i.thumb.w, i.thumb.h], i.name);
      assert.deepEqual(r.decoded[i.id]!.preview, [i.preview.w, i.preview.h], i.name);
    }
    const a = r.items.find((i) => i.name === 'a.jpg')!;
    assert.deepEqual(r.decoded[a.id]!.thumb, [300, 400], 'upright in the browser too');
    const big = r.items.find((i) => i.name === 'b.jpg')!;
    assert.deepEqual([r.decoded[big.id]!.thumb, r.decoded[big.id]!.preview], [[600, 300], [1920, 960]]);
    assert.equal(r.hashSize[0] <= 32 && r.hashSize[1] === 32, true, String(r.hashSize));
    assert.equal(r.hashOpaque, true);
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
});
