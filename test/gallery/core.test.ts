/** The pure gallery codecs: EXIF/PNG/WebP/MP4 readers, dates, the id rule, index files, ThumbHash. */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { monthOf, parseExifDate, parseOffset, wallTime } from '../../src/core/gallery/dates.js';
import { readJpegMeta, readPngMeta, readTiffExif, readWebpMeta } from '../../src/core/gallery/exif.js';
import { decodeGeo, decodeMonths, decodeSearch, decodeShard, decodeState, EMPTY_STATE, encodeGalleryIndex } from '../../src/core/gallery/index-files.js';
import { itemId, mediaFromMagic, mediaFromName, originalName, type GalleryItem } from '../../src/core/gallery/item.js';
import { describeImage, describeVideo } from '../../src/core/gallery/metadata.js';
import { bytesReader, readVideoMeta } from '../../src/core/gallery/mp4.js';
import { thumbHash, thumbHashAverage, thumbHashToRGBA } from '../../src/core/gallery/thumbhash.js';
import { pixels } from './photo-maker.js';
import { buildTiff, makeJpeg, makeMp4, makePng } from './photo-maker.js';

const EXIF_SAMPLES = path.join(os.homedir(), '.cache', 'coffer-bench', 'corpus', 'photos', 'camera', 'exif-samples', 'github.com');

describe('gallery: EXIF reader', () => {
  const spec = { make: 'Canon', model: 'Canon EOS 5D Mark IV', lens: 'EF24-70mm f/2.8L II USM', orientation: 6, dateTimeOriginal: '2024:06:01 12:34:56', subSec: '25', offset: '+02:00', gps: [48.85837, -2.29448] as [number, number] };

  for (const bigEndian of [false, true]) {
    it(`reads every tag from a ${bigEndian ? 'big' : 'little'}-endian TIFF block`, () => {
      const e = readTiffExif(buildTiff({ ...spec, bigEndian }))!;
      assert.equal(e.make, 'Canon');
      assert.equal(e.model, 'Canon EOS 5D Mark IV');
      assert.equal(e.lens, 'EF24-70mm f/2.8L II USM');
      assert.equal(e.orientation, 6);
      assert.equal(e.dateTimeOriginal, '2024:06:01 12:34:56');
      assert.equal(e.subSecTimeOriginal, '25');
      assert.equal(e.offsetTimeOriginal, '+02:00');
      assert.ok(Math.abs(e.gps![0] - 48.85837) < 1e-6 && Math.abs(e.gps![1] + 2.29448) < 1e-6, String(e.gps));
    });
  }

  it('reads JPEG APP1 and the SOF size; orientation 6 swaps the displayed size', () => {
    const jpg = makeJpeg(64, 32, 1, spec);
    const m = readJpegMeta(jpg);
    assert.equal(m.width, 64);
    assert.equal(m.height, 32);
    const c = describeImage(jpg, 'image/jpeg', undefined);
    assert.deepEqual([c.w, c.h, c.orientation], [32, 64, 6]);
    assert.equal(c.taken, '2024-06-01T12:34:56');
    assert.equal(c.offset, '+02:00');
    assert.equal(c.takenFrom, 'exif');
    assert.deepEqual(c.camera, { make: 'Canon', model: 'Canon EOS 5D Mark IV', lens: 'EF24-70mm f/2.8L II USM' });
    assert.deepEqual(c.gps, [48.85837, -2.29448]);
  });

  it('reads PNG IHDR and eXIf', () => {
    const png = makePng(20, 10, 2, { model: 'Pixel 8', dateTimeOriginal: '2023:12:31 23:59:59' });
    const m = readPngMeta(png);
    assert.deepEqual([m.width, m.height, m.exif?.model, m.exif?.dateTimeOriginal], [20, 10, 'Pixel 8', '2023:12:31 23:59:59']);
  });

  it('never throws on truncated or garbage input', () => {
    const jpg = makeJpeg(16, 16, 3, spec);
    for (let n = 0; n < jpg.length; n += 7) {
      readJpegMeta(jpg.subarray(0, n));
      describeImage(jpg.subarray(0, n), 'image/jpeg', undefined);
    }
    const t = buildTiff(spec);
    for (let i = 0; i < t.length; i++) {
      const bad = t.slice();
      bad[i] ^= 0xff;
      readTiffExif(bad);
    }
  });

  it('never throws on arbitrary bytes behind a valid signature (property)', async () => {
    const sigs = [[0xff, 0xd8], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], [0x49, 0x49, 0x2a, 0x00, 8, 0, 0, 0], [0x4d, 0x4d, 0x00, 0x2a, 0, 0, 0, 8], [...'RIFF\0\0\0\0WEBP'].map((c) => c.charCodeAt(0))];
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: sigs.length - 1 }), fc.uint8Array({ maxLength: 600 }), async (k, tail) => {
        const b = new Uint8Array([...sigs[k]!, ...tail]);
        readJpegMeta(b);
        readPngMeta(b);
        readWebpMeta(b);
        readTiffExif(b);
        describeImage(b, 'image/jpeg', undefined);
        await readVideoMeta(bytesReader(b), b.length);
      }),
      { numRuns: 400 },
    );
  });

  it('invalid dates fall back to the mtime in the host zone it was recorded in', () => {
    const jpg = makeJpeg(16, 16, 4, { dateTimeOriginal: '0000:00:00 00:00:00' });
    const c = describeImage(jpg, 'image/jpeg', { sec: Date.UTC(2021, 2, 4, 10, 0, 0) / 1000, nsec: 0, offsetSec: 3600 });
    assert.equal(c.takenFrom, 'mtime');
    assert.equal(c.taken, '2021-03-04T11:00:00');
    assert.equal(c.offset, '+01:00');
  });

  it('matches the dates of real camera files (goexif samples, named after DateTimeOriginal)', { skip: !fs.existsSync(EXIF_SAMPLES) && 'bench corpus not built' }, () => {
    const dir = path.join(EXIF_SAMPLES, 'rwcarlsen', 'goexif', 'exif', 'samples');
    let checked = 0;
    for (const f of fs.readdirSync(dir)) {
      const m = /^(\d{4})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-sep/.exec(f);
      if (!m) continue;
      const c = describeImage(new Uint8Array(fs.readFileSync(path.join(dir, f))), 'image/jpeg', undefined);
      assert.equal(c.takenFrom, 'exif', f);
      assert.equal(c.taken, `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}`, f);
      checked++;
    }
    assert.ok(checked >= 20, `only ${checked} samples`);
    // The corrupt ones must not hang or throw.
    for (const f of fs.readdirSync(path.join(dir, '..', 'corrupt'))) describeImage(new Uint8Array(fs.readFileSync(path.join(dir, '..', 'corrupt', f))), 'image/jpeg', undefined);
  });
});

describe('gallery: dates', () => {
  it('accepts real dates and skips known garbage', () => {
    assert.equal(parseExifDate('2024:02:29 01:02:03'), '2024-02-29T01:02:03');
    for (const bad of ['0000:00:00 00:00:00', '    :  :     :  :  ', '2023:02:29 00:00:00', '4501:12:31 00:00:00', '2024:13:01 00:00:00', '1799:01:01 00:00:00', '']) assert.equal(parseExifDate(bad), undefined, bad);
    assert.equal(parseOffset('-05:30'), '-05:30');
    assert.equal(parseOffset('garbage'), undefined);
    assert.equal(monthOf('2024-06-30T23:59:59'), '2024-06');
    assert.equal(wallTime(0, 3600), '1970-01-01T01:00:00');
  });
});

describe('gallery: MP4/MOV mvhd', () => {
  for (const version1 of [false, true]) {
    it(`reads duration and creation time (mvhd v${version1 ? 1 : 0}, moov after mdat)`, async () => {
      const created = Date.UTC(2022, 7, 15, 18, 30, 0) / 1000;
      const mp4 = makeMp4(created, 12.5, { version1, mdatBytes: 5000 });
      let reads = 0;
      const inner = bytesReader(mp4);
      const meta = await readVideoMeta((o, n) => (reads++, inner(o, n)), mp4.length);
      assert.deepEqual(meta, { duration: 12.5, created });
      assert.ok(reads < 10, `${reads} reads`);
      const c = describeVideo(meta, undefined, () => -4 * 3600);
      assert.deepEqual([c.taken, c.offset, c.takenFrom, c.duration], ['2022-08-15T14:30:00', '-04:00', 'quicktime', 12.5]);
    });
  }
  it('reads the video track size, turned by its matrix', async () => {
    for (const rotate90 of [false, true]) {
      const mp4 = makeMp4(1e9, 2, { track: { width: 1920, height: 1080, rotate90 } });
      const m = await readVideoMeta(bytesReader(mp4), mp4.length);
      assert.deepEqual([m.width, m.height], rotate90 ? [1080, 1920] : [1920, 1080]);
      assert.deepEqual([describeVideo(m, undefined).w, describeVideo(m, undefined).h], [m.width, m.height]);
    }
  });
  it('a truncated file gives nothing, without throwing', async () => {
    const mp4 = makeMp4(1e9, 3);
    assert.deepEqual(await readVideoMeta(bytesReader(mp4.subarray(0, mp4.length - 20)), mp4.length - 20), {});
  });
});

describe('gallery: ids and media', () => {
  it('id = first 16 bytes of SHA-256 over the raw blob IDs; a one-chunk file is sha256(sha256(file))', () => {
    const file = new TextEncoder().encode('one chunk');
    const blob = createHash('sha256').update(file).digest('hex');
    assert.equal(itemId([blob]), createHash('sha256').update(createHash('sha256').update(file).digest()).digest('hex').slice(0, 32));
    const a = 'aa'.repeat(32);
    const b = 'bb'.repeat(32);
    assert.equal(itemId([a, b]), createHash('sha256').update(Buffer.from(a + b, 'hex')).digest('hex').slice(0, 32));
    assert.notEqual(itemId([a, b]), itemId([b, a]));
  });
  it('knows photos and videos by name and magic', () => {
    assert.deepEqual(mediaFromName('IMG_1.JPG'), { kind: 'image', mime: 'image/jpeg' });
    assert.deepEqual(mediaFromName('clip.MOV'), { kind: 'video', mime: 'video/quicktime' });
    assert.equal(mediaFromName('notes.txt'), undefined);
    assert.equal(mediaFromMagic(makeJpeg(8, 8, 1))?.mime, 'image/jpeg');
    assert.equal(mediaFromMagic(makePng(8, 8, 1))?.mime, 'image/png');
    assert.equal(mediaFromMagic(makeMp4(1, 1))?.kind, 'video');
    assert.equal(originalName('ab'.repeat(16), 'X.JPG'), 'ab'.repeat(16) + '.jpg');
  });
});

function item(n: number, taken: string, extra: Partial<GalleryItem> = {}): GalleryItem {
  const content = [createHash('sha256').update(String(n)).digest('hex')];
  return {
    id: itemId(content), kind: 'image', mime: 'image/jpeg', name: `IMG_${n}.jpg`, taken, offset: null, takenFrom: 'exif', w: 4, h: 3, orientation: 1, size: 100 + n,
    duration: null, camera: n % 2 ? { make: 'Canon', model: 'EOS R' } : null, gps: n % 3 === 0 ? [1.234567, 2.345678] : null, country: null, content, hints: [],
    sources: [{ path: `/p/IMG_${n}.jpg`, snapshot: 'f'.repeat(64) }], thumb: { w: 4, h: 3 }, preview: { w: 4, h: 3 }, hash: null, ...extra,
  };
}

describe('gallery: index files', () => {
  it('shards by month, newest first, with counts that match and deterministic bytes', () => {
    const items = [item(1, '2024-06-01T10:00:00'), item(2, '2024-06-30T23:59:59'), item(3, '2023-01-05T00:00:00'), item(4, '2024-05-31T23:00:00')];
    const files = encodeGalleryIndex(items, EMPTY_STATE);
    const again = encodeGalleryIndex([...items].reverse(), EMPTY_STATE);
    for (const [k, v] of files) assert.deepEqual(again.get(k), v, k);
    const months = decodeMonths(files.get('months.json')!);
    assert.deepEqual(months.months.map((m) => [m.month, m.count]), [['2024-06', 2], ['2024-05', 1], ['2023-01', 1]]);
    assert.equal(months.count, 4);
    assert.deepEqual(months.cameras, [{ make: 'Canon', model: 'EOS R', count: 2 }]);
    const june = decodeShard(files.get('index/2024-06.json')!);
    assert.deepEqual(june.items.map((i) => i.name), ['IMG_2.jpg', 'IMG_1.jpg']);
    const geo = decodeGeo(files.get('geo.json')!);
    assert.deepEqual(geo.points, [[1.23457, 2.34568, items[2]!.id]]);
    const s = decodeSearch(files.get('search.json')!);
    assert.equal(s.ids.length, 4);
    assert.equal(s.cameras[s.camera[s.ids.indexOf(items[0]!.id)]!], 'Canon EOS R');
    assert.deepEqual(decodeState(files.get('state.json')!), EMPTY_STATE);
  });
  it('rejects a shard whose item is not in its month', () => {
    const files = encodeGalleryIndex([item(1, '2024-06-01T10:00:00')], EMPTY_STATE);
    const text = new TextDecoder().decode(files.get('index/2024-06.json')!).replace('"month":"2024-06"', '"month":"2024-07"');
    assert.throws(() => decodeShard(new TextEncoder().encode(text)), /not in 2024-07/);
  });
});

describe('gallery: ThumbHash', () => {
  it('stores the average colour and is about 25 bytes', () => {
    const w = 32;
    const h = 24;
    const rgba = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) rgba.set([200, 40, 40, 255], i * 4);
    const hash = thumbHash(w, h, rgba);
    assert.ok(hash.length >= 20 && hash.length <= 30, String(hash.length));
    const [r, g, b] = thumbHashAverage(hash);
    assert.ok(Math.abs(r - 200 / 255) < 0.05 && Math.abs(g - 40 / 255) < 0.05 && Math.abs(b - 40 / 255) < 0.05, `${r} ${g} ${b}`);
    assert.equal(hash[4]! >> 7, 1, 'landscape bit');
    assert.throws(() => thumbHash(101, 10, new Uint8Array(101 * 40)));
  });
  it('decodes back to the picture: a red left half and a blue right half, its aspect kept', () => {
    const hash = thumbHash(80, 40, pixels(80, 40, 1));
    const img = thumbHashToRGBA(hash);
    assert.ok(img.w === 32 && img.h >= 15 && img.h <= 18, `${img.w}x${img.h}`); // the aspect is approximate (term counts)
    const at = (x: number, y: number) => [...img.rgba.subarray((y * img.w + x) * 4, (y * img.w + x) * 4 + 4)];
    const left = at(3, 8);
    const right = at(28, 8);
    assert.ok(left[0]! > left[2]! + 60 && right[2]! > right[0]! + 60, `left ${left} right ${right}`);
    assert.equal(left[3], 255);
  });
});
