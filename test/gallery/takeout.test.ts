/** Google Takeout: side-file rules, the ZIP reader (ZIP64, split exports), and `coffer import google-takeout`. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { openGallery } from '../../src/core/engine/gallery/read.js';
import { parseSideFile, sideFileFor } from '../../src/core/gallery/takeout.js';
import { openRepository } from '../../src/core/repository/open.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { ZipReader } from '../../src/node/gallery-zip.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { makeJpeg, makeMp4 } from './photo-maker.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';

const env = testEnv({ TZ: 'UTC', COFFER_WORKERS: '0' });
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

/** A ZIP writer for tests: deflated or stored entries, optionally with ZIP64 records throughout. */
function makeZip(entries: { name: string; data: Uint8Array; deflate?: boolean }[], zip64 = false): Buffer {
  const locals: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const body = e.deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32(e.data);
    const extra = zip64 ? Buffer.alloc(4 + 24) : Buffer.alloc(0);
    if (zip64) {
      extra.writeUInt16LE(1, 0);
      extra.writeUInt16LE(24, 2);
      extra.writeBigUInt64LE(BigInt(e.data.length), 4);
      extra.writeBigUInt64LE(BigInt(body.length), 12);
      extra.writeBigUInt64LE(BigInt(offset), 20);
    }
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x800, 6);
    lh.writeUInt16LE(e.deflate ? 8 : 0, 8);
    lh.writeUInt16LE((12 << 11) | (30 << 5), 10);
    lh.writeUInt16LE(((2024 - 1980) << 9) | (1 << 5) | 2, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    locals.push(lh, name, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(45, 4);
    ch.writeUInt16LE(45, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(e.deflate ? 8 : 0, 10);
    lh.copy(ch, 12, 10, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(zip64 ? 0xffffffff : body.length, 20);
    ch.writeUInt32LE(zip64 ? 0xffffffff : e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt16LE(extra.length, 30);
    ch.writeUInt32LE(zip64 ? 0xffffffff : offset, 42);
    central.push(ch, name, extra);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const tail: Buffer[] = [];
  if (zip64) {
    const rec = Buffer.alloc(56);
    rec.writeUInt32LE(0x06064b50, 0);
    rec.writeBigUInt64LE(44n, 4);
    rec.writeBigUInt64LE(BigInt(entries.length), 24);
    rec.writeBigUInt64LE(BigInt(entries.length), 32);
    rec.writeBigUInt64LE(BigInt(cd.length), 40);
    rec.writeBigUInt64LE(BigInt(offset), 48);
    const loc = Buffer.alloc(20);
    loc.writeUInt32LE(0x07064b50, 0);
    loc.writeBigUInt64LE(BigInt(offset + cd.length), 8);
    loc.writeUInt32LE(1, 16);
    tail.push(rec, loc);
  }
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 8);
  eocd.writeUInt16LE(zip64 ? 0xffff : entries.length, 10);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : cd.length, 12);
  eocd.writeUInt32LE(zip64 ? 0xffffffff : offset, 16);
  return Buffer.concat([...locals, cd, ...tail, eocd]);
}

describe('takeout side files', () => {
  it('finds the side file by Takeout naming rules', () => {
    const names = new Set(['IMG_1.jpg.json', 'IMG_2.jpg.supplemental-metadata.json', 'IMG_3.jpg(1).json', 'IMG_4.jpg.json', 'a_very_long_file_name_that_google_takeout_cuts.json', 'PXL_2023.jpg.supplemental-metad.json']);
    assert.equal(sideFileFor('IMG_1.jpg', names), 'IMG_1.jpg.json');
    assert.equal(sideFileFor('IMG_2.jpg', names), 'IMG_2.jpg.supplemental-metadata.json');
    assert.equal(sideFileFor('IMG_3(1).jpg', names), 'IMG_3.jpg(1).json');
    assert.equal(sideFileFor('IMG_4-edited.jpg', names), 'IMG_4.jpg.json');
    assert.equal(sideFileFor('a_very_long_file_name_that_google_takeout_cuts_short.jpg', names), 'a_very_long_file_name_that_google_takeout_cuts.json');
    assert.equal(sideFileFor('PXL_2023.jpg', names), 'PXL_2023.jpg.supplemental-metad.json');
    assert.equal(sideFileFor('IMG_9.jpg', names), undefined);
  });
  it('reads date, place and description; 0,0 is no place', () => {
    assert.deepEqual(parseSideFile(enc({ title: 'a.jpg', description: ' hi ', photoTakenTime: { timestamp: '1562252400', formatted: 'x' }, geoData: { latitude: 48.1, longitude: 2.2 } })), { title: 'a.jpg', description: 'hi', taken: 1562252400, gps: [48.1, 2.2] });
    assert.deepEqual(parseSideFile(enc({ title: 'b.jpg', geoData: { latitude: 0, longitude: 0 }, geoDataExif: { latitude: 0, longitude: 0 } })), { title: 'b.jpg' });
    assert.equal(parseSideFile(enc({ something: 'else' })), undefined);
    assert.equal(parseSideFile(new TextEncoder().encode('not json')), undefined);
  });
});

describe('zip reader', () => {
  const dir = tempDir('coffer-zip-');
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  for (const zip64 of [false, true]) {
    it(`reads stored and deflated entries${zip64 ? ' (ZIP64)' : ''}, checks CRCs`, () => {
      const a = makeJpeg(32, 32, 1);
      const b = new TextEncoder().encode('x'.repeat(5000));
      const file = path.join(dir, `t${zip64 ? 64 : 32}.zip`);
      fs.writeFileSync(file, makeZip([{ name: 'Takeout/ä.jpg', data: a }, { name: 'b.txt', data: b, deflate: true }], zip64));
      const z = ZipReader.open(file);
      assert.deepEqual(z.entries.map((e) => [e.name, e.size]), [['Takeout/ä.jpg', a.length], ['b.txt', 5000]]);
      assert.deepEqual(z.read(z.entries[0]!), a);
      assert.deepEqual(z.read(z.entries[1]!), b);
      assert.equal(z.entries[0]!.mtime.getFullYear(), 2024);
      z.close();
      const bad = fs.readFileSync(file);
      bad[30 + Buffer.byteLength('Takeout/ä.jpg') + 100] ^= 1; // inside the first entry's data
      fs.writeFileSync(file, bad);
      const z2 = ZipReader.open(file);
      assert.throws(() => z2.read(z2.entries[0]!), /CRC-32/);
      z2.close();
    });
  }
});

describe('coffer import google-takeout', { concurrency: false }, () => {
  const work = tempDir('coffer-takeout-');
  after(() => fs.rmSync(work, { recursive: true, force: true }));
  const photos = 'Takeout/Google Photos';
  const long = 'a_very_long_file_name_that_google_takeout_cuts_short.jpg';
  const files: { name: string; data: Uint8Array }[] = [
    { name: `${photos}/Photos from 2019/IMG_0001.jpg`, data: makeJpeg(64, 48, 1) },
    { name: `${photos}/Photos from 2019/IMG_0001.jpg.json`, data: enc({ title: 'IMG_0001.jpg', description: 'Fireworks', photoTakenTime: { timestamp: String(Date.UTC(2019, 6, 4, 15, 0, 0) / 1000) }, geoData: { latitude: 48.85837, longitude: 2.29448 } }) },
    { name: `${photos}/Trip to Rome/IMG_0001.jpg`, data: makeJpeg(64, 48, 1) },
    { name: `${photos}/Trip to Rome/IMG_0001.jpg.json`, data: enc({ title: 'IMG_0001.jpg', photoTakenTime: { timestamp: String(Date.UTC(2019, 6, 4, 15, 0, 0) / 1000) } }) },
    { name: `${photos}/Trip to Rome/IMG_0002.jpg`, data: makeJpeg(48, 64, 2, { model: 'Pixel 3', dateTimeOriginal: '2018:05:05 10:00:00' }) },
    { name: `${photos}/Trip to Rome/IMG_0002.jpg.supplemental-metadata.json`, data: enc({ title: 'IMG_0002.jpg', photoTakenTime: { timestamp: '1525514400' }, geoData: { latitude: 41.89021, longitude: 12.49223 } }) },
    { name: `${photos}/Trip to Rome/metadata.json`, data: enc({ title: 'Rome 2018', description: '' }) },
    { name: `${photos}/Photos from 2020/VID_1.mp4`, data: makeMp4(-2082844800, 3) },
    { name: `${photos}/Photos from 2020/VID_1.mp4.json`, data: enc({ title: 'VID_1.mp4', photoTakenTime: { timestamp: String(Date.UTC(2020, 0, 2, 3, 4, 5) / 1000) } }) },
    { name: `${photos}/Photos from 2020/${long}`, data: makeJpeg(32, 32, 3) },
    { name: `${photos}/Photos from 2020/${'a_very_long_file_name_that_google_takeout_cuts_short.jpg.supplemental-metadata'.slice(0, 46)}.json`, data: enc({ title: long, photoTakenTime: { timestamp: String(Date.UTC(2020, 5, 6, 7, 8, 9) / 1000) } }) },
    { name: 'Takeout/archive_browser.html', data: new TextEncoder().encode('<html></html>') },
  ];

  async function importAndRead(args: string[], repoDir: string): Promise<{ items: GalleryItem[]; summary: Record<string, any>; state: any }> {
    assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
    const r = await runCoffer(['-r', repoDir, 'import', 'google-takeout', ...args, '--json'], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lines = r.stdout.trim().split('\n');
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const g = (await openGallery(repo))!;
    const items: GalleryItem[] = [];
    for (const m of g.months.months) items.push(...(await g.shard(m.month)).items);
    return { items, summary: JSON.parse(lines[lines.length - 1]!), state: g.state };
  }

  let fromDir: Awaited<ReturnType<typeof importAndRead>>;

  it('imports a Takeout folder: side-file dates and places, EXIF first, albums, descriptions', async () => {
    const dir = path.join(work, 'takeout-20240101T000000Z');
    for (const f of files) {
      fs.mkdirSync(path.dirname(path.join(dir, f.name)), { recursive: true });
      fs.writeFileSync(path.join(dir, f.name), f.data);
    }
    const repoDir = path.join(work, 'repo-dir');
    fromDir = await importAndRead([dir], repoDir);
    const { items, summary, state } = fromDir;
    assert.deepEqual([summary.media, summary.with_side_file, summary.albums, summary.captions, summary.gallery.items], [5, 5, 1, 1, 4]);
    const by = new Map(items.map((i) => [i.name, i]));
    const one = by.get('IMG_0001.jpg')!;
    assert.deepEqual([one.taken, one.takenFrom, one.offset, one.gps], ['2019-07-04T15:00:00', 'takeout', '+00:00', [48.85837, 2.29448]]);
    assert.equal(one.sources.length, 2);
    const two = by.get('IMG_0002.jpg')!;
    assert.deepEqual([two.taken, two.takenFrom, two.gps], ['2018-05-05T10:00:00', 'exif', [41.89021, 12.49223]]);
    assert.deepEqual([by.get('VID_1.mp4')!.taken, by.get('VID_1.mp4')!.takenFrom], ['2020-01-02T03:04:05', 'takeout']);
    assert.equal(by.get(long)!.taken, '2020-06-06T07:08:09');
    assert.equal(state.albums.length, 1);
    assert.equal(state.albums[0].name, 'Rome 2018');
    assert.deepEqual([...state.albums[0].items].sort(), [one.id, two.id].sort());
    assert.equal(state.edits[one.id].caption, 'Fireworks');
    const restic = resticBinaries()[0];
    if (restic) {
      const c = await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env });
      assert.equal(c.code, 0, c.stderr);
    }
  });

  it('imports the same export split over two ZIP parts (one of them ZIP64) with the same result', async () => {
    const p1 = path.join(work, 'takeout-20240101T000000Z-001.zip');
    const p2 = path.join(work, 'takeout-20240101T000000Z-002.zip');
    fs.writeFileSync(p1, makeZip(files.slice(0, 6).map((f, i) => ({ ...f, deflate: i % 2 === 0 }))));
    fs.writeFileSync(p2, makeZip(files.slice(6).map((f) => ({ ...f, deflate: true })), true));
    const fromZip = await importAndRead([p1, p2], path.join(work, 'repo-zip'));
    const key = (x: GalleryItem[]) => x.map((i) => [i.id, i.name, i.taken, i.takenFrom, JSON.stringify(i.gps), i.sources.length]).sort();
    assert.deepEqual(key(fromZip.items), key(fromDir.items));
    assert.deepEqual(fromZip.state.albums.map((a: any) => [a.name, [...a.items].sort()]), fromDir.state.albums.map((a: any) => [a.name, [...a.items].sort()]));
    const bad = await runCoffer(['-r', path.join(work, 'repo-zip'), 'import', 'google-takeout', path.join(work, 'nope.zip')], { env });
    assert.notEqual(bad.code, 0);
  });
});
