/**
 * Camera RAW files in the gallery (src/core/gallery/raw.ts): synthetic but structurally real
 * TIFF-based RAWs (DNG, CR2, NEF layouts) and a Fuji RAF, built here around JPEGs made by sharp;
 * the largest embedded JPEG is chosen, its pixels are what the thumbnail shows, the RAW's IFD0
 * orientation wins over the preview's own, EXIF comes from the RAW, damaged files give the
 * placeholder; and through the CLI a .dng becomes an item restored byte-identical by restic.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { GALLERY_KIND } from '../../src/core/engine/gallery/build.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { listRecords } from '../../src/core/engine/records/records.js';
import type { TreeNode } from '../../src/core/format/types.js';
import { readImageMeta } from '../../src/core/gallery/exif.js';
import { decodeShard } from '../../src/core/gallery/index-files.js';
import { mediaFromMagic, mediaFromName, type GalleryItem } from '../../src/core/gallery/item.js';
import { describeImage } from '../../src/core/gallery/metadata.js';
import { jpegWithOrientation, rawInfo } from '../../src/core/gallery/raw.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import { renderImage } from '../../src/node/gallery-thumbs.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';

type Rgb = [number, number, number];
const RED: Rgb = [220, 30, 30];
const BLUE: Rgb = [30, 30, 220];
const GREEN: Rgb = [30, 200, 30];

/** A W×H JPEG, left half `left`, right half `right`; `orientation` written into its own EXIF. */
async function halves(w: number, h: number, left: Rgb, right: Rgb, orientation?: number, exif?: Record<string, Record<string, string>>): Promise<Uint8Array> {
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const c = x < w / 2 ? left : right;
      px.set(c, (y * w + x) * 3);
    }
  let s = sharp(px, { raw: { width: w, height: h, channels: 3 } });
  if (exif) s = s.withExif(exif);
  if (orientation) s = s.withMetadata({ orientation });
  return new Uint8Array(await s.jpeg({ quality: 90 }).toBuffer());
}

/** The head of a lossless JPEG (SOF3), as DNG/CR2 sensor data is stored: must never be chosen. */
function losslessJpegHead(w: number, h: number): Uint8Array {
  return Uint8Array.from([0xff, 0xd8, 0xff, 0xc3, 0, 11, 14, h >> 8, h & 255, w >> 8, w & 255, 1, 1, 0x11, 0, 0xff, 0xd9, ...new Array(64).fill(7)]);
}

// ---- a little-endian TIFF writer: IFDs with out-of-line values, then blobs ----
interface Layout {
  ifd: number[];
  blob: number[];
}
type Values = number[] | string | ((L: Layout) => number[]);
interface Entry {
  tag: number;
  type: 1 | 2 | 3 | 4 | 7;
  v: Values;
}
interface IfdSpec {
  entries: Entry[];
  next?: number;
}
const SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 7: 1 } as const;

function tiff(head: 'tiff' | 'cr2', ifds: IfdSpec[], blobs: Uint8Array[], ifd0 = 0): Uint8Array {
  const headLen = head === 'cr2' ? 16 : 8;
  const encode = (e: Entry, L: Layout): Uint8Array => {
    const v = typeof e.v === 'function' ? e.v(L) : e.v;
    if (typeof v === 'string') return new TextEncoder().encode(v + '\0');
    const b = new Uint8Array(v.length * SIZE[e.type]);
    const dv = new DataView(b.buffer);
    v.forEach((x, i) => (e.type === 3 ? dv.setUint16(i * 2, x, true) : e.type === 4 ? dv.setUint32(i * 4, x, true) : dv.setUint8(i, x)));
    return b;
  };
  const zero: Layout = { ifd: ifds.map(() => 0), blob: blobs.map(() => 0) };
  const L: Layout = { ifd: [], blob: [] };
  let off = headLen;
  for (const d of ifds) {
    L.ifd.push(off);
    off += 2 + d.entries.length * 12 + 4;
    for (const e of d.entries) {
      const n = encode(e, zero).length;
      if (n > 4) off += n + (n & 1);
    }
  }
  for (const b of blobs) {
    L.blob.push(off);
    off += b.length + (b.length & 1);
  }
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  out.set([0x49, 0x49, 0x2a, 0]);
  dv.setUint32(4, L.ifd[ifd0]!, true);
  if (head === 'cr2') out.set([0x43, 0x52, 2, 0], 8);
  ifds.forEach((d, i) => {
    const at = L.ifd[i]!;
    const sorted = [...d.entries].sort((a, b) => a.tag - b.tag);
    dv.setUint16(at, sorted.length, true);
    let data = at + 2 + sorted.length * 12 + 4;
    sorted.forEach((e, j) => {
      const p = at + 2 + j * 12;
      const bytes = encode(e, L);
      dv.setUint16(p, e.tag, true);
      dv.setUint16(p + 2, e.type, true);
      dv.setUint32(p + 4, bytes.length / SIZE[e.type], true);
      if (bytes.length <= 4) out.set(bytes, p + 8);
      else {
        dv.setUint32(p + 8, data, true);
        out.set(bytes, data);
        data += bytes.length + (bytes.length & 1);
      }
    });
    dv.setUint32(at + 2 + sorted.length * 12, d.next === undefined ? 0 : d.next === -1 ? at : L.ifd[d.next]!, true);
  });
  blobs.forEach((b, i) => out.set(b, L.blob[i]!));
  return out;
}

const camera = (make: string, model: string, orientation: number): Entry[] => [
  { tag: 0x010f, type: 2, v: make },
  { tag: 0x0110, type: 2, v: model },
  { tag: 0x0112, type: 3, v: [orientation] },
];
const exifIfd = (date: string): IfdSpec => ({ entries: [{ tag: 0x9003, type: 2, v: date }] });
const jpegAt = (blob: number, len: number): Entry[] => [
  { tag: 0x0201, type: 4, v: (L) => [L.blob[blob]!] },
  { tag: 0x0202, type: 4, v: [len] },
];
const strip = (blob: number, len: number, compression: number): Entry[] => [
  { tag: 0x0103, type: 3, v: [compression] },
  { tag: 0x0111, type: 4, v: (L) => [L.blob[blob]!] },
  { tag: 0x0117, type: 4, v: [len] },
];

/** DNG: IFD0 thumbnail (0x0201), SubIFDs: sensor data (lossless JPEG, larger) and the preview strip. */
function dng(thumb: Uint8Array, preview: Uint8Array, orientation: number, opts: { loop?: boolean } = {}): Uint8Array {
  const sensor = losslessJpegHead(6000, 4000);
  return tiff(
    'tiff',
    [
      {
        entries: [
          ...camera('Canon', 'EOS R5', orientation),
          { tag: 0xc612, type: 1, v: [1, 4, 0, 0] },
          ...jpegAt(0, thumb.length),
          { tag: 0x014a, type: 4, v: (L) => [L.ifd[2]!, L.ifd[3]!, ...(opts.loop ? [L.ifd[0]!] : [])] },
          { tag: 0x8769, type: 4, v: (L) => [L.ifd[1]!] },
        ],
        ...(opts.loop ? { next: -1 } : {}),
      },
      exifIfd('2023:07:14 18:30:05'),
      { entries: [{ tag: 0x00fe, type: 4, v: [0] }, ...strip(2, sensor.length, 7)], ...(opts.loop ? { next: 0 } : {}) },
      { entries: [{ tag: 0x00fe, type: 4, v: [1] }, ...strip(1, preview.length, 7)] },
    ],
    [thumb, preview, sensor],
  );
}

/** CR2: 'CR' at byte 8; IFD0 = the big JPEG as one strip (compression 6), IFD1 = thumbnail, IFD3 = sensor. */
function cr2(thumb: Uint8Array, preview: Uint8Array, orientation: number): Uint8Array {
  const sensor = losslessJpegHead(6000, 4000);
  return tiff(
    'cr2',
    [
      { entries: [...camera('Canon', 'EOS 5D Mark III', orientation), ...strip(1, preview.length, 6), { tag: 0x8769, type: 4, v: (L) => [L.ifd[1]!] }], next: 2 },
      exifIfd('2019:02:03 04:05:06'),
      { entries: jpegAt(0, thumb.length), next: 3 },
      { entries: strip(2, sensor.length, 6) },
    ],
    [thumb, preview, sensor],
  );
}

/** NEF: IFD0 with an uncompressed strip; SubIFDs: the JpgFromRaw (0x0201) and Nikon-compressed sensor data. */
function nef(preview: Uint8Array, orientation: number): Uint8Array {
  const rgb = new Uint8Array(160 * 120 * 3).fill(9);
  return tiff(
    'tiff',
    [
      { entries: [...camera('NIKON CORPORATION', 'NIKON D850', orientation), ...strip(1, rgb.length, 1), { tag: 0x014a, type: 4, v: (L) => [L.ifd[2]!, L.ifd[3]!] }, { tag: 0x8769, type: 4, v: (L) => [L.ifd[1]!] }] },
      exifIfd('2021:12:24 20:00:00'),
      { entries: jpegAt(0, preview.length) },
      { entries: strip(1, rgb.length, 34713) },
    ],
    [preview, rgb],
  );
}

/** RAF: "FUJIFILMCCD-RAW " header, JPEG offset and length big-endian at 84 and 88. */
function raf(jpeg: Uint8Array): Uint8Array {
  const out = new Uint8Array(160 + jpeg.length + 500);
  out.set(new TextEncoder().encode('FUJIFILMCCD-RAW 0201FF129502'));
  const dv = new DataView(out.buffer);
  dv.setUint32(84, 160);
  dv.setUint32(88, jpeg.length);
  out.set(jpeg, 160);
  return out;
}

/** Mean colour of a region (fractions of the image) of an encoded image. */
async function meanColour(img: Uint8Array, x0: number, y0: number, x1: number, y1: number): Promise<Rgb> {
  const { data, info } = await sharp(img).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const s = [0, 0, 0];
  let n = 0;
  for (let y = Math.floor(y0 * info.height); y < Math.floor(y1 * info.height); y++)
    for (let x = Math.floor(x0 * info.width); x < Math.floor(x1 * info.width); x++) {
      for (let c = 0; c < 3; c++) s[c]! += data[(y * info.width + x) * 3 + c]!;
      n++;
    }
  return s.map((v) => v / n) as Rgb;
}
function near(a: Rgb, b: Rgb, what: string): void {
  assert.ok(a.every((v, i) => Math.abs(v - b[i]!) < 40), `${what}: ${a.map(Math.round)} is not ${b}`);
}

describe('camera RAW: embedded previews, orientation, EXIF', () => {
  let thumb: Uint8Array;
  let preview: Uint8Array;

  it('finds the largest decodable JPEG (not the thumbnail, not the lossless sensor data) in DNG, CR2, NEF and RAF', async () => {
    thumb = await halves(160, 120, GREEN, GREEN);
    // The preview's own EXIF says 3 (upside down): the RAW's IFD0 must win.
    preview = await halves(1200, 800, RED, BLUE, 3);
    const cases: [string, Uint8Array, string][] = [
      ['x.dng', dng(thumb, preview, 1), 'image/x-adobe-dng'],
      ['x.cr2', cr2(thumb, preview, 1), 'image/x-canon-cr2'],
      ['x.nef', nef(preview, 1), 'image/x-nikon-nef'],
    ];
    for (const [name, file, mime] of cases) {
      assert.equal(mediaFromName(name)?.mime, mime);
      assert.deepEqual(mediaFromMagic(file), { kind: 'image', mime }, name);
      const info = rawInfo(file)!;
      assert.equal(info.mime, mime);
      assert.deepEqual([info.preview?.width, info.preview?.height, info.preview?.length], [1200, 800, preview.length], name);
      assert.deepEqual(file.subarray(info.preview!.offset, info.preview!.offset + info.preview!.length), preview, name);
      const r = await renderImage(file);
      assert.equal(r.warning, undefined, name);
      assert.deepEqual([r.w, r.h, r.orientation], [1200, 800, 1], `${name}: RAW orientation 1 beats the preview's 3`);
      near(await meanColour(r.thumb, 0.05, 0.1, 0.4, 0.9), RED, `${name} thumbnail left`);
      near(await meanColour(r.thumb, 0.6, 0.1, 0.95, 0.9), BLUE, `${name} thumbnail right`);
      near(await meanColour(r.preview, 0.05, 0.1, 0.4, 0.9), RED, `${name} preview left`);
      assert.ok(r.hash);
    }
    // A plain TIFF is still a TIFF.
    const plain = tiff('tiff', [{ entries: [{ tag: 0x0100, type: 3, v: [4] }] }], []);
    assert.equal(mediaFromMagic(plain)?.mime, 'image/tiff');
    assert.equal(rawInfo(plain), undefined);
  });

  it('orientation 6 in IFD0 gives an upright portrait picture', async () => {
    for (const file of [dng(thumb, preview, 6), cr2(thumb, preview, 6), nef(preview, 6)]) {
      const r = await renderImage(file);
      assert.deepEqual([r.w, r.h, r.orientation, r.thumbSize.h > r.thumbSize.w], [800, 1200, 6, true]);
      // 90° clockwise: the left (red) half becomes the top.
      near(await meanColour(r.thumb, 0.1, 0.05, 0.9, 0.4), RED, 'top');
      near(await meanColour(r.thumb, 0.1, 0.6, 0.9, 0.95), BLUE, 'bottom');
      const info = describeImage(file, rawInfo(file)!.mime, undefined);
      assert.deepEqual([info.w, info.h, info.orientation], [800, 1200, 6]);
    }
  });

  it('reads date and camera from the RAW itself; a RAF from its JPEG', async () => {
    const d = describeImage(dng(thumb, preview, 1), 'image/x-adobe-dng', undefined);
    assert.deepEqual([d.taken, d.takenFrom, d.camera], ['2023-07-14T18:30:05', 'exif', { make: 'Canon', model: 'EOS R5' }]);
    const c = describeImage(cr2(thumb, preview, 1), 'image/x-canon-cr2', undefined);
    assert.deepEqual([c.taken, c.camera?.model], ['2019-02-03T04:05:06', 'EOS 5D Mark III']);
    const n = describeImage(nef(preview, 1), 'image/x-nikon-nef', undefined);
    assert.deepEqual([n.taken, n.camera], ['2021-12-24T20:00:00', { make: 'NIKON CORPORATION', model: 'NIKON D850' }]);

    const fujiJpeg = await halves(900, 600, BLUE, RED, 8, { IFD0: { Make: 'FUJIFILM', Model: 'X-T3' }, IFD2: { DateTimeOriginal: '2020:05:06 07:08:09' } });
    const f = raf(fujiJpeg);
    assert.deepEqual(mediaFromMagic(f), { kind: 'image', mime: 'image/x-fuji-raf' });
    assert.equal(mediaFromName('DSCF0001.RAF')?.mime, 'image/x-fuji-raf');
    const fm = describeImage(f, 'image/x-fuji-raf', undefined);
    assert.deepEqual([fm.taken, fm.camera, fm.orientation, fm.w, fm.h], ['2020-05-06T07:08:09', { make: 'FUJIFILM', model: 'X-T3' }, 8, 600, 900]);
    // A RAF has no IFD0 of its own: the JPEG's orientation (8: 90° anti-clockwise) applies.
    const r = await renderImage(f);
    assert.deepEqual([r.w, r.h, r.orientation], [600, 900, 8]);
    near(await meanColour(r.thumb, 0.1, 0.05, 0.9, 0.4), RED, 'RAF top (was the right half)');
  });

  it('jpegWithOrientation replaces the EXIF orientation and keeps the pixels', async () => {
    const j = jpegWithOrientation(preview, 6);
    assert.equal((await sharp(j).metadata()).orientation, 6);
    assert.equal((await sharp(jpegWithOrientation(j, 1)).metadata()).orientation, 1);
    const a = await sharp(preview).raw().toBuffer();
    const b = await sharp(j).raw().toBuffer();
    assert.ok(a.equals(b));
    assert.equal(jpegWithOrientation(Uint8Array.of(1, 2, 3), 6).length, 3);
  });

  it('damaged RAWs: truncated, looping IFDs, garbage offsets: never a throw, the placeholder when nothing decodes', async () => {
    // A loop: IFD0 -> next IFD0, SubIFD -> IFD0, sensor IFD -> IFD0: still terminates and finds the preview.
    const loop = dng(thumb, preview, 1, { loop: true });
    assert.equal(rawInfo(loop)?.preview?.width, 1200);
    const full = dng(thumb, preview, 1);
    const info = rawInfo(full)!;
    // Cut inside IFD0: no RAW recognised, not decodable: the placeholder with a warning.
    for (const cut of [12, 40, 100]) {
      const r = await renderImage(full.subarray(0, cut));
      assert.ok(r.warning && r.w === 0, `cut at ${cut}`);
      readImageMeta(full.subarray(0, cut), 'image/x-adobe-dng');
    }
    // Cut in the middle of the large preview: libjpeg fails on it, the thumbnail (intact, before it) stands in.
    const mid = full.subarray(0, info.preview!.offset + (info.preview!.length >> 1));
    assert.deepEqual(rawInfo(mid)?.previews.map((p) => p.width), [1200, 160]);
    const rm = await renderImage(mid);
    assert.deepEqual([rm.warning, rm.w, rm.h], [undefined, 160, 120]);
    near(await meanColour(rm.thumb, 0.1, 0.1, 0.9, 0.9), GREEN, 'the thumbnail stands in');
    // Both cut: the placeholder and a warning.
    const both = full.slice();
    both.fill(0, rawInfo(full)!.previews[1]!.offset + 200, rawInfo(full)!.previews[1]!.offset + 600);
    const rb2 = await renderImage(both.subarray(0, info.preview!.offset + 2000));
    assert.ok(rb2.warning && rb2.w === 0 && rb2.hash === null, JSON.stringify(rb2.warning));
    // The large preview zeroed: the thumbnail is the largest left.
    const noPreview = full.slice();
    noPreview.fill(0, info.preview!.offset, info.preview!.offset + info.preview!.length);
    const t = rawInfo(noPreview)!;
    assert.equal(t.mime, 'image/x-adobe-dng');
    assert.equal(t.preview?.width, 160, 'the thumbnail is what is left');
    // A DNG whose JPEG offset points at zeros: recognised, the placeholder and a warning.
    const bare = tiff('tiff', [{ entries: [...camera('Canon', 'EOS R5', 1), { tag: 0xc612, type: 1, v: [1, 4, 0, 0] }, ...jpegAt(0, 10_000)] }], [new Uint8Array(64)]);
    const rb = await renderImage(bare);
    assert.match(rb.warning ?? '', /without an embedded JPEG/);
    assert.equal(rb.hash, null);
    assert.equal(describeImage(bare, 'image/x-adobe-dng', undefined).camera?.model, 'EOS R5');
    // Random flips of a real structure: never a throw.
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    for (let i = 0; i < 300; i++) {
      const b = (i % 2 ? full : cr2(thumb, preview, 1)).slice(0, 2000);
      for (let k = 0; k < 8; k++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256);
      rawInfo(b);
      readImageMeta(b, 'image/x-canon-cr2');
      mediaFromMagic(b);
    }
  });
});

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('camera RAW through the CLI', { concurrency: false }, () => {
  const work = tempDir('coffer-gallery-raw-');
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('coffer backup + gallery build: a .dng and a .nef become items; restic restores the originals byte-identical', async () => {
    const env = testEnv({ TZ: 'UTC', COFFER_WORKERS: '0' });
    const src = path.join(work, 'Pictures');
    const repoDir = path.join(work, 'repo');
    fs.mkdirSync(src, { recursive: true });
    const t = await halves(160, 120, GREEN, GREEN);
    const p = await halves(1200, 800, RED, BLUE);
    fs.writeFileSync(path.join(src, 'IMG_0001.dng'), dng(t, p, 6));
    fs.writeFileSync(path.join(src, 'DSC_0002.NEF'), nef(p, 1));
    fs.writeFileSync(path.join(src, 'broken.cr2'), Uint8Array.from([0x49, 0x49, 0x2a, 0, 8, 0, 0, 0, 0x43, 0x52, 2, 0, 0, 0, 0, 0, 99]));
    assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
    const b = await runCoffer(['-r', repoDir, 'backup', src, '--json'], { env });
    assert.equal(b.code, 0, b.stderr);
    const g = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(g.code, 0, g.stderr + g.stdout);
    assert.ok(g.stdout.includes('broken.cr2'), 'a warning names the damaged RAW');

    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const records = await listRecords(repo, GALLERY_KIND);
    const entry = records[records.length - 1]!;
    const index = await loadMasterIndex(repo);
    const nodes = new Map<string, TreeNode>();
    await walkTree(new TreeLoader(repo, index), entry.snapshot.tree, (e) => {
      if (e.node.type === 'file') nodes.set(e.path, e.node);
    });
    const read = async (n: TreeNode) => Buffer.concat(await Promise.all((n.content ?? []).map((id) => loadBlob(repo, index, 'data', id))));
    const items: GalleryItem[] = [];
    for (const [p2, n] of nodes) if (p2.startsWith('/index/')) items.push(...decodeShard(await read(n)).items);
    const byName = new Map(items.map((i) => [i.name, i]));
    const d = byName.get('IMG_0001.dng')!;
    assert.deepEqual([d.kind, d.mime, d.w, d.h, d.orientation, d.taken, d.camera?.model, d.broken], ['image', 'image/x-adobe-dng', 800, 1200, 6, '2023-07-14T18:30:05', 'EOS R5', undefined]);
    const thumb = await read(nodes.get(`/thumbs/${d.id.slice(0, 2)}/${d.id}.webp`)!);
    near(await meanColour(thumb, 0.1, 0.05, 0.9, 0.4), RED, 'item thumbnail top');
    const n = byName.get('DSC_0002.NEF')!;
    assert.deepEqual([n.mime, n.w, n.h, n.camera?.make, n.broken], ['image/x-nikon-nef', 1200, 800, 'NIKON CORPORATION', undefined]);
    assert.equal(byName.get('broken.cr2')?.broken, true);

    const restics = resticBinaries();
    assert.ok(restics.length > 0 || process.env.CI !== 'true', 'restic is required');
    if (restics.length === 0) return;
    const restic = restics[restics.length - 1]!;
    assert.equal((await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env })).code, 0);
    const target = path.join(work, 'restored');
    const r = await runRestic(restic, ['-r', repoDir, 'restore', entry.id, '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    for (const i of [d, n]) {
      const restored = fs.readFileSync(path.join(target, 'originals', i.id.slice(0, 2), i.id + path.extname(i.name).toLowerCase()));
      assert.equal(sha(restored), sha(fs.readFileSync(path.join(src, i.name))), i.name);
    }
  });
});
