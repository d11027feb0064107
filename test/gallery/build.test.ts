/**
 * The gallery snapshot end to end: `coffer backup --gallery` and `coffer gallery build` on
 * generated photos with known EXIF (plus a few real camera files from the bench corpus when it
 * is built), read back in process, checked and restored by both real restics.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { utf8Decode } from '../../src/core/bytes.js';
import { buildGallery, GALLERY_KIND } from '../../src/core/engine/gallery/build.js';
import { sharpRenderer } from '../../src/node/gallery-thumbs.js';
import { openGallery, updateGalleryState } from '../../src/core/engine/gallery/read.js';
import { listRecords } from '../../src/core/engine/records/records.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { decodeGeo, decodeMonths, decodeSearch, decodeShard } from '../../src/core/gallery/index-files.js';
import { itemId, type GalleryItem } from '../../src/core/gallery/item.js';
import type { TreeNode } from '../../src/core/format/types.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { makeJpeg, makeMp4, makePng, padJpeg } from './photo-maker.js';

const CORPUS = path.join(os.homedir(), '.cache', 'coffer-bench', 'corpus', 'photos', 'camera', 'exif-samples', 'github.com');
// Wall times of mtimes and of videos' UTC creation times depend on the host's zone: fix it.
const env = testEnv({ TZ: 'UTC', COFFER_WORKERS: '0' });

interface Gallery {
  snapshotId: string;
  count: number;
  /** Path in the gallery tree -> file node. */
  nodes: Map<string, TreeNode>;
  read(p: string): Promise<Uint8Array>;
  items: GalleryItem[];
}

async function readGallery(repoDir: string): Promise<Gallery> {
  const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
  const records = await listRecords(repo, GALLERY_KIND);
  const entry = records[records.length - 1]!;
  const index = await loadMasterIndex(repo);
  const loader = new TreeLoader(repo, index);
  const nodes = new Map<string, TreeNode>();
  await walkTree(loader, entry.snapshot.tree, (e) => {
    if (e.node.type === 'file') nodes.set(e.path, e.node);
  });
  const read = async (p: string) => {
    const n = nodes.get(p);
    assert.ok(n, `no ${p} in the gallery`);
    return Buffer.concat(await Promise.all((n.content ?? []).map((id) => loadBlob(repo, index, 'data', id))));
  };
  const items: GalleryItem[] = [];
  for (const p of nodes.keys()) if (p.startsWith('/index/')) items.push(...decodeShard(await read(p)).items);
  return { snapshotId: entry.id, count: records.length, nodes, read, items };
}

function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]!);
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('gallery snapshot: build, incremental, restic interop', { concurrency: false }, () => {
  const work = tempDir('coffer-gallery-');
  const src = path.join(work, 'Pictures');
  const repoDir = path.join(work, 'repo');
  const corpusFiles: string[] = [];
  let first: Gallery;

  before(async () => {
    fs.mkdirSync(path.join(src, '2024'), { recursive: true });
    fs.mkdirSync(path.join(src, 'phone'), { recursive: true });
    const w = (rel: string, data: Uint8Array) => fs.writeFileSync(path.join(src, rel), data);
    w('2024/IMG_A.jpg', makeJpeg(640, 480, 1, { make: 'Canon', model: 'Canon EOS R5', lens: 'RF24-105mm F4 L IS USM', orientation: 6, dateTimeOriginal: '2024:06:01 12:00:00', offset: '+02:00', gps: [48.85837, 2.29448] }));
    w('2024/IMG_B.jpg', makeJpeg(320, 240, 2, { make: 'NIKON CORPORATION', model: 'NIKON D750', dateTimeOriginal: '2024:06:20 09:30:00' }));
    // Late on New Year's Eve in New York: UTC would put it in January, the wall time keeps it in December.
    w('2024/IMG_C.jpg', makeJpeg(200, 300, 3, { dateTimeOriginal: '2023:12:31 23:30:00', offset: '-05:00', bigEndian: true }));
    w('phone/screenshot.png', makePng(120, 60, 4, { dateTimeOriginal: '2024:05:05 08:00:00' }));
    w('phone/IMG_A copy.jpg', fs.readFileSync(path.join(src, '2024/IMG_A.jpg')));
    w('phone/clip.mp4', makeMp4(Date.UTC(2022, 1, 1, 10, 0, 0) / 1000, 7.5));
    w('phone/broken.jpg', new Uint8Array(4000).fill(0x5a));
    w('phone/no-exif.jpg', makeJpeg(100, 100, 5));
    fs.utimesSync(path.join(src, 'phone/no-exif.jpg'), new Date('2021-03-04T05:06:07Z'), new Date('2021-03-04T05:06:07Z'));
    fs.utimesSync(path.join(src, 'phone/broken.jpg'), new Date('2021-03-10T00:00:00Z'), new Date('2021-03-10T00:00:00Z'));
    w('phone/notes.txt', new TextEncoder().encode('not a photo'));
    if (fs.existsSync(CORPUS)) {
      fs.mkdirSync(path.join(src, 'real'));
      for (const rel of ['disintegration/imaging/testdata/orientation_6.jpg', 'disintegration/imaging/testdata/orientation_1.jpg', 'rwcarlsen/goexif/exif/samples/has-lens-info.jpg']) {
        fs.copyFileSync(path.join(CORPUS, rel), path.join(src, 'real', path.basename(rel)));
        corpusFiles.push(path.basename(rel));
      }
    }
    assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('backup --gallery: every photo once, months by wall time, one item for two copies, upright thumbnails', async () => {
    const r = await runCoffer(['-r', repoDir, 'backup', src, '--gallery', '--json'], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const summary = lastJson(r.stdout);
    const unique = 7 + corpusFiles.length; // 8 media files, one of them a copy
    assert.deepEqual({ ...summary.gallery, ms: 0 }, { items: unique, added: unique, removed: 0, processed: unique, ms: 0 });
    assert.ok(r.stdout.includes('"during":"gallery"') && r.stdout.includes('broken.jpg'), 'a warning names the broken file');

    first = await readGallery(repoDir);
    const g = first;
    assert.equal(g.count, 1);
    assert.equal(g.items.length, unique);
    assert.equal(new Set(g.items.map((i) => i.id)).size, unique, 'no item twice');
    const byName = new Map(g.items.map((i) => [i.name, i]));
    const a = byName.get('IMG_A.jpg') ?? byName.get('IMG_A copy.jpg')!;
    assert.deepEqual(a.sources.map((s) => s.path).sort(), [path.join(src, '2024/IMG_A.jpg'), path.join(src, 'phone/IMG_A copy.jpg')]);
    assert.deepEqual([a.taken, a.offset, a.takenFrom, a.w, a.h, a.orientation], ['2024-06-01T12:00:00', '+02:00', 'exif', 480, 640, 6]);
    assert.deepEqual(a.camera, { make: 'Canon', model: 'Canon EOS R5', lens: 'RF24-105mm F4 L IS USM' });
    assert.deepEqual(a.gps, [48.85837, 2.29448]);
    assert.deepEqual(a.thumb, { w: 300, h: 400 });
    assert.equal(a.id, itemId(a.content));
    assert.equal(byName.get('IMG_C.jpg')!.taken, '2023-12-31T23:30:00');
    assert.equal(byName.get('clip.mp4')!.takenFrom, 'quicktime');
    assert.deepEqual([byName.get('clip.mp4')!.taken, byName.get('clip.mp4')!.duration, byName.get('clip.mp4')!.kind], ['2022-02-01T10:00:00', 7.5, 'video']);
    assert.deepEqual([byName.get('no-exif.jpg')!.taken, byName.get('no-exif.jpg')!.takenFrom], ['2021-03-04T05:06:07', 'mtime']);
    assert.equal(byName.get('broken.jpg')!.broken, true);
    assert.equal(byName.get('notes.txt'), undefined);

    // Months: shard per month, counts equal shard lengths, newest first.
    const months = decodeMonths(await g.read('/months.json'));
    const expected = new Map<string, number>();
    for (const i of g.items) expected.set(i.taken.slice(0, 7), (expected.get(i.taken.slice(0, 7)) ?? 0) + 1);
    assert.deepEqual(new Map(months.months.map((m) => [m.month, m.count])), expected);
    assert.deepEqual(months.months.map((m) => m.month), [...months.months.map((m) => m.month)].sort().reverse());
    for (const m of months.months) {
      const shard = decodeShard(await g.read(`/index/${m.month}.json`));
      assert.equal(shard.items.length, m.count);
      assert.ok(shard.items.every((i) => i.taken.startsWith(m.month)));
    }
    assert.equal(expected.get('2024-06'), 2);
    assert.equal(expected.get('2023-12'), 1);
    assert.ok(months.cameras.some((c) => c.model === 'NIKON D750' && c.count === 1));
    const geo = decodeGeo(await g.read('/geo.json'));
    assert.ok(geo.points.some((p) => p[2] === a.id && p[0] === 48.85837));
    assert.equal(decodeSearch(await g.read('/search.json')).ids.length, unique);

    // Thumbnails and previews decode, upright, at the sizes the items claim.
    for (const i of g.items) {
      const t = await sharp(await g.read(`/thumbs/${i.id.slice(0, 2)}/${i.id}.webp`)).metadata();
      assert.deepEqual([t.format, t.width, t.height], ['webp', i.thumb.w, i.thumb.h], i.name);
      const p = await sharp(await g.read(`/previews/${i.id.slice(0, 2)}/${i.id}.webp`)).metadata();
      assert.deepEqual([p.format, p.width, p.height], ['webp', i.preview.w, i.preview.h], i.name);
      if (!i.broken && i.kind === 'image' && i.w) assert.equal(i.thumb.w > i.thumb.h, i.w > i.h, `${i.name} thumbnail is upright`);
    }
    // Orientation 6 turns the left (red) half of the stored image to the top.
    const px = await sharp(await g.read(`/thumbs/${a.id.slice(0, 2)}/${a.id}.webp`)).raw().toBuffer({ resolveWithObject: true });
    const at = (x: number, y: number) => [...px.data.subarray((y * px.info.width + x) * 3, (y * px.info.width + x) * 3 + 3)];
    assert.ok(at(150, 20)[0]! > 150 && at(150, 20)[2]! < 100, `top is red: ${at(150, 20)}`);
    assert.ok(at(150, 380)[2]! > 150 && at(150, 380)[0]! < 100, `bottom is blue: ${at(150, 380)}`);
    if (corpusFiles.length) {
      const o6 = byName.get('orientation_6.jpg')!;
      const meta = await sharp(fs.readFileSync(path.join(src, 'real', 'orientation_1.jpg'))).metadata();
      assert.deepEqual([o6.w, o6.h], [meta.width, meta.height], 'a real orientation-6 photo shows as upright as its orientation-1 twin');
      assert.equal(byName.get('has-lens-info.jpg')!.camera?.model, 'iPhone 4S');
    }
  });

  it('real restic check --read-data passes and restic restore gives back the originals byte for byte', async () => {
    const restics = resticBinaries();
    for (const restic of restics) {
      const c = await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env });
      assert.equal(c.code, 0, `${restic.name}: ${c.stderr}`);
    }
    if (restics.length === 0) return;
    const target = path.join(work, 'restored');
    const r = await runRestic(restics[restics.length - 1]!, ['-r', repoDir, 'restore', first.snapshotId, '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const i of first.items) {
      const ext = path.extname(i.name).toLowerCase();
      const restored = fs.readFileSync(path.join(target, 'originals', i.id.slice(0, 2), i.id + ext));
      for (const s of i.sources) assert.equal(sha(restored), sha(fs.readFileSync(s.path)), s.path);
      assert.ok(fs.statSync(path.join(target, 'thumbs', i.id.slice(0, 2), i.id + '.webp')).size > 0);
    }
    assert.ok(fs.existsSync(path.join(target, 'months.json')) && fs.existsSync(path.join(target, 'state.json')));
  });

  it('the repository holds no plaintext: no EXIF text, no JPEG or WebP headers', () => {
    const needles = ['Canon EOS R5', 'NIKON D750', 'RF24-105mm', 'Exif\0\0', 'JFIF\0', 'WEBPVP8', '2024:06:01 12:00:00', '"taken"', 'IMG_A'].map((s) => Buffer.from(s, 'latin1'));
    needles.push(Buffer.from([0xff, 0xd8, 0xff, 0xe1]), Buffer.from([0xff, 0xd8, 0xff, 0xe0]));
    const walk = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(d, e.name)) : [path.join(d, e.name)]));
    const files = walk(repoDir);
    assert.ok(files.length > 5);
    for (const f of files) {
      const b = fs.readFileSync(f);
      for (const n of needles) assert.equal(b.indexOf(n), -1, `${JSON.stringify(n.toString('latin1'))} in ${path.relative(repoDir, f)}`);
    }
  });

  it('no change, no new gallery snapshot; one new photo changes only its month shard', async () => {
    const again = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(lastJson(again.stdout).snapshot_id, undefined);
    assert.deepEqual(lastJson(again.stdout).gallery.added, 0);
    // A second backup of the same files: new backup snapshot, same photos, same paths.
    const b2 = await runCoffer(['-r', repoDir, 'backup', src, '--gallery', '--json'], { env });
    assert.equal(b2.code, 0, b2.stderr);
    assert.equal(lastJson(b2.stdout).gallery.added, 0);
    assert.equal((await readGallery(repoDir)).count, 1, 'no new gallery snapshot');

    // Big enough to be several chunks: the id covers every content blob, in order.
    fs.writeFileSync(path.join(src, '2024', 'IMG_NEW.jpg'), padJpeg(makeJpeg(300, 200, 9, { model: 'Pixel 8', dateTimeOriginal: '2023:12:15 10:00:00' }), 4 * 1024 * 1024));
    const b3 = await runCoffer(['-r', repoDir, 'backup', src, '--gallery', '--json'], { env });
    assert.equal(b3.code, 0, b3.stderr);
    assert.deepEqual([lastJson(b3.stdout).gallery.added, lastJson(b3.stdout).gallery.processed], [1, 1]);
    const second = await readGallery(repoDir);
    assert.equal(second.count, 2);
    assert.equal(second.items.length, first.items.length + 1);
    const changed = [...second.nodes].filter(([p, n]) => p.startsWith('/index/') && JSON.stringify(first.nodes.get(p)?.content) !== JSON.stringify(n.content)).map(([p]) => p);
    assert.deepEqual(changed, ['/index/2023-12.json']);
    // Earlier thumbnails, previews and originals are the very same blobs.
    for (const [p, n] of first.nodes) if (/^\/(thumbs|previews|originals)\//.test(p)) assert.deepEqual(second.nodes.get(p)?.content, n.content, p);
    const added = second.items.find((i) => i.name === 'IMG_NEW.jpg')!;
    assert.equal(added.taken, '2023-12-15T10:00:00');
    assert.ok(added.content.length > 1, `${added.content.length} chunks`);
    assert.equal(added.id, itemId(added.content));
    assert.deepEqual([added.w, added.h, added.camera?.model], [300, 200, 'Pixel 8']);
    assert.equal(added.hints.length, added.content.length);
  });

  it('gallery build SNAPSHOT reads a backup restic made', async () => {
    const restics = resticBinaries();
    if (restics.length === 0) return;
    const extra = path.join(work, 'from-restic');
    fs.mkdirSync(extra);
    fs.writeFileSync(path.join(extra, 'R.jpg'), makeJpeg(160, 120, 11, { make: 'FUJIFILM', model: 'X-T5', dateTimeOriginal: '2020:08:08 08:08:08' }));
    fs.copyFileSync(path.join(src, '2024', 'IMG_B.jpg'), path.join(extra, 'B again.jpg'));
    const b = await runRestic(restics[0]!, ['-r', repoDir, 'backup', extra, '--json'], { env });
    assert.equal(b.code, 0, b.stderr);
    const sid = lastJson(b.stdout).snapshot_id as string;
    const r = await runCoffer(['-r', repoDir, 'gallery', 'build', sid.slice(0, 8), '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).gallery.added, 1);
    const g = await readGallery(repoDir);
    const bItem = g.items.find((i) => i.name === 'IMG_B.jpg')!;
    assert.ok(bItem.sources.some((s) => s.path === path.join(extra, 'B again.jpg') && s.snapshot.startsWith(sid)), `a known photo gains a source: ${JSON.stringify(bItem.sources)} ${sid}`);
    assert.equal(g.items.find((i) => i.name === 'R.jpg')?.camera?.model, 'X-T5');
    const bad = await runCoffer(['-r', repoDir, 'gallery', 'build', g.snapshotId.slice(0, 8)], { env });
    assert.notEqual(bad.code, 0, 'a gallery snapshot is not a backup');
    assert.equal((await runCoffer(['-r', repoDir, 'gallery', 'nope'], { env })).code, 1);
  });
  it('openGallery reads on demand; state edits make a snapshot of their own and survive rebuilds', async () => {
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const g = (await openGallery(repo))!;
    const newest = g.months.months[0]!;
    const shard = await g.shard(newest.month);
    assert.equal(shard.items.length, newest.count);
    const fav = shard.items[0]!.id;
    assert.equal((await sharp(await g.thumb(fav)).metadata()).width, shard.items[0]!.thumb.w);
    const owner = { hostname: 'test', username: 'tester', pid: process.pid };
    const w = await updateGalleryState(repo, (s) => ({ ...s, favorites: [...s.favorites, fav], albums: [{ id: 'a1', name: 'Paris', items: [fav], cover: fav, created: '2024-06-02T00:00:00Z' }] }), { owner });
    assert.ok(w);
    assert.equal(await updateGalleryState(repo, (s) => s, { owner }), undefined, 'no change, no snapshot');
    const after1 = (await openGallery(repo))!;
    assert.equal(after1.entry.id, w.id);
    assert.deepEqual(after1.state.favorites, [fav]);
    assert.deepEqual((await after1.node('/index/' + newest.month + '.json'))?.content, (await g.node('/index/' + newest.month + '.json'))?.content);

    fs.writeFileSync(path.join(src, '2024', 'IMG_LATE.jpg'), makeJpeg(64, 64, 12, { dateTimeOriginal: '2019:01:01 00:00:01' }));
    const b = await runCoffer(['-r', repoDir, 'backup', src, '--gallery', '--json'], { env });
    assert.equal(b.code, 0, b.stderr);
    const after2 = (await openGallery(repo))!;
    assert.notEqual(after2.entry.id, w.id);
    assert.deepEqual(after2.state.favorites, [fav]);
    assert.equal(after2.state.albums[0]?.name, 'Paris');
    assert.deepEqual((await after2.shard('2019-01')).items.map((i) => i.name), ['IMG_LATE.jpg']);
    for (const restic of resticBinaries()) {
      const c = await runRestic(restic, ['-r', repoDir, 'check'], { env });
      assert.equal(c.code, 0, `${restic.name}: ${c.stderr}`);
    }
  });
  it('30 days after it went to the trash, an item leaves the library and stays out', async () => {
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const owner = { hostname: 'test', username: 'tester', pid: process.pid };
    const before = await readGallery(repoDir);
    const gone = before.items.find((i) => i.name === 'IMG_B.jpg')!;
    const kept = before.items.find((i) => i.name === 'IMG_C.jpg')!;
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    await updateGalleryState(repo, (s) => ({ ...s, trash: [{ id: gone.id, deleted: iso(now - 31 * 86400_000) }, { id: kept.id, deleted: iso(now - 86400_000) }] }), { owner });
    const r = await buildGallery(repo, { owner, renderer: sharpRenderer, now });
    assert.deepEqual([r.removed, r.added, r.items], [1, 0, before.items.length - 1]);
    assert.ok(r.snapshotId);
    const after1 = await readGallery(repoDir);
    assert.equal(after1.items.some((i) => i.id === gone.id), false);
    assert.equal(after1.items.some((i) => i.id === kept.id), true, 'a day in the trash: still in the library');
    assert.equal([...after1.nodes.keys()].some((p) => p.includes(gone.id)), false, 'no thumbnail, preview or original left');
    const again = await buildGallery(repo, { owner, renderer: sharpRenderer, now });
    assert.deepEqual([again.snapshotId, again.added, again.removed], [undefined, 0, 0], 'the backup that still holds it does not bring it back');
  });
  it('with every backup forgotten and pruned by restic, the gallery alone keeps every photo', async () => {
    const restics = resticBinaries();
    if (restics.length === 0) return;
    const restic = restics[restics.length - 1]!;
    const g = await readGallery(repoDir);
    const list = await runRestic(restic, ['-r', repoDir, 'snapshots', '--json'], { env });
    const user = (JSON.parse(list.stdout) as { id: string; hostname: string }[]).filter((x) => x.hostname !== 'coffer').map((x) => x.id);
    assert.ok(user.length >= 3);
    const f = await runRestic(restic, ['-r', repoDir, 'forget', ...user, '--prune'], { env });
    assert.equal(f.code, 0, f.stderr);
    const c = await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stderr);
    const target = path.join(work, 'after-prune');
    const r = await runRestic(restic, ['-r', repoDir, 'restore', g.snapshotId, '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const i of g.items) {
      const restored = fs.readFileSync(path.join(target, 'originals', i.id.slice(0, 2), i.id + path.extname(i.name).toLowerCase()));
      const source = i.sources.map((s) => s.path).find((p) => fs.existsSync(p))!;
      assert.equal(sha(restored), sha(fs.readFileSync(source)), i.name);
    }
    // And Coffer still builds on it: nothing new, nothing lost.
    const again = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    assert.equal(lastJson(again.stdout).gallery.items, g.items.length);
  });
});
