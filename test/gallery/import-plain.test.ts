/** `coffer import folder`: plain exports (folders are albums), Ente metadata JSON, iCloud CSVs. */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, describe, it } from 'node:test';
import { openGallery } from '../../src/core/engine/gallery/read.js';
import { parseCsv, parseEnteMetadata, parseICloudAlbum, parseICloudDate, parseICloudDetails, plainAlbumName } from '../../src/core/gallery/exports.js';
import { openRepository } from '../../src/core/repository/open.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { makeJpeg } from './photo-maker.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';

const env = testEnv({ TZ: 'UTC', COFFER_WORKERS: '0' });
const te = new TextEncoder();
const albumId = (name: string) => `import-${createHash('sha256').update(name).digest('hex').slice(0, 16)}`;

/** A minimal ZIP writer (stored and deflated entries, DOS times in UTC as this test's TZ). */
function makeZip(entries: { name: string; data: Uint8Array; mtime: Date }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  entries.forEach((e, i) => {
    const deflate = i % 2 === 1;
    const body = deflate ? zlib.deflateRawSync(e.data) : Buffer.from(e.data);
    const name = Buffer.from(e.name, 'utf8');
    const crc = zlib.crc32(e.data);
    const d = e.mtime;
    const time = (d.getUTCHours() << 11) | (d.getUTCMinutes() << 5) | (d.getUTCSeconds() >> 1);
    const date = ((d.getUTCFullYear() - 1980) << 9) | ((d.getUTCMonth() + 1) << 5) | d.getUTCDate();
    const lh = Buffer.alloc(30);
    lh.writeUInt32LE(0x04034b50, 0);
    lh.writeUInt16LE(20, 4);
    lh.writeUInt16LE(0x800, 6);
    lh.writeUInt16LE(deflate ? 8 : 0, 8);
    lh.writeUInt16LE(time, 10);
    lh.writeUInt16LE(date, 12);
    lh.writeUInt32LE(crc, 14);
    lh.writeUInt32LE(body.length, 18);
    lh.writeUInt32LE(e.data.length, 22);
    lh.writeUInt16LE(name.length, 26);
    parts.push(lh, name, body);
    const ch = Buffer.alloc(46);
    ch.writeUInt32LE(0x02014b50, 0);
    ch.writeUInt16LE(20, 4);
    ch.writeUInt16LE(20, 6);
    ch.writeUInt16LE(0x800, 8);
    ch.writeUInt16LE(deflate ? 8 : 0, 10);
    ch.writeUInt16LE(time, 12);
    ch.writeUInt16LE(date, 14);
    ch.writeUInt32LE(crc, 16);
    ch.writeUInt32LE(body.length, 20);
    ch.writeUInt32LE(e.data.length, 24);
    ch.writeUInt16LE(name.length, 28);
    ch.writeUInt32LE(offset, 42);
    central.push(ch, name);
    offset += 30 + name.length + body.length;
  });
  const cd = Buffer.concat(central);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, eocd]);
}

describe('plain export side files', () => {
  it('parses iCloud dates, CSV quoting, Ente JSON, album folder names', () => {
    assert.equal(parseICloudDate('Saturday September 14,2019 5:33 PM GMT'), Date.UTC(2019, 8, 14, 17, 33) / 1000);
    assert.equal(parseICloudDate('Tuesday October 1,2019 12:20 AM GMT'), Date.UTC(2019, 9, 1, 0, 20) / 1000);
    assert.equal(parseICloudDate('Monday January 6,2020 12:05 PM GMT+02:00'), Date.UTC(2020, 0, 6, 10, 5) / 1000);
    assert.equal(parseICloudDate('Friday February 30,2019 5:33 PM GMT'), undefined);
    assert.equal(parseICloudDate('yesterday'), undefined);
    assert.deepEqual(parseCsv('\ufeffa,"b,""c"""\r\nx,\n'), [['a', 'b,"c"'], ['x', '']]);
    const d = parseICloudDetails(te.encode('imgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\nIMG_1.HEIC,abc,no,no,no,"Saturday September 14,2019 5:33 PM GMT",1,x\nIMG_2.HEIC,abc,no,no,no,garbage,1,x\n'));
    assert.deepEqual([[...d.taken], d.bad], [[['IMG_1.HEIC', Date.UTC(2019, 8, 14, 17, 33) / 1000]], 1]);
    assert.throws(() => parseICloudDetails(te.encode('name,date\n')), /imgName/);
    assert.deepEqual(parseICloudAlbum(te.encode('Images\nIMG_1.HEIC\n\nIMG_2.JPG\n')), ['IMG_1.HEIC', 'IMG_2.JPG']);
    assert.throws(() => parseICloudAlbum(te.encode('junk')), /Images/);
    const e = parseEnteMetadata(te.encode(JSON.stringify({ title: 'a.jpg', description: ' x ', creationTime: 1627810200123456, modificationTime: 1627810200123456, latitude: 48.1, longitude: 2.2 })));
    assert.deepEqual(e, { title: 'a.jpg', description: 'x', taken: 1627810200, gps: [48.1, 2.2] });
    assert.deepEqual(parseEnteMetadata(te.encode(JSON.stringify({ title: 'b.jpg', creationTime: 1627810200000000, latitude: null, longitude: null }))), { title: 'b.jpg', taken: 1627810200 });
    // The shape Ente's exporter writes (Google-like, seconds, `caption`).
    const g = { title: 'c.jpg', caption: 'Hi', creationTime: { timestamp: 1627810200, formatted: 'x' }, modificationTime: { timestamp: 1627810300 }, geoData: { latitude: 41.9, longitude: 12.5 } };
    assert.deepEqual(parseEnteMetadata(te.encode(JSON.stringify(g))), { title: 'c.jpg', description: 'Hi', taken: 1627810200, gps: [41.9, 12.5] });
    assert.deepEqual(parseEnteMetadata(te.encode(JSON.stringify({ ...g, caption: null, geoData: {} }))), { title: 'c.jpg', taken: 1627810200 });
    assert.equal(parseEnteMetadata(te.encode('{broken')), undefined);
    assert.deepEqual(['', 'Trip', 'a/Beach', '2019', 'Photos from 2019', '2019-05', '2019/05', 'Photos'].map((f) => plainAlbumName(f, new Set(['Photos']))), [undefined, 'Trip', 'Beach', undefined, undefined, undefined, undefined, undefined]);
  });
});

describe('coffer import folder', { concurrency: false }, () => {
  const work = tempDir('coffer-import-plain-');
  after(() => fs.rmSync(work, { recursive: true, force: true }));
  const restic = resticBinaries()[0];
  const mtime = new Date(Date.UTC(2017, 2, 4, 5, 6, 8));
  const a = makeJpeg(64, 48, 1, { model: 'Pixel 3', dateTimeOriginal: '2018:05:05 10:00:00' });
  const files: { name: string; data: Uint8Array }[] = [
    { name: 'Trip to Rome/IMG_A.jpg', data: a },
    { name: 'Trip to Rome/IMG_B.jpg', data: makeJpeg(48, 64, 2) }, // no EXIF: the mtime
    { name: 'Beach/IMG_C.jpg', data: makeJpeg(40, 40, 3, { dateTimeOriginal: '2019:07:01 12:00:00' }) },
    { name: 'Beach/IMG_A.jpg', data: a }, // the same photo in two albums
    { name: '2019/IMG_D.jpg', data: makeJpeg(32, 32, 4, { dateTimeOriginal: '2019:01:01 08:00:00' }) },
    { name: 'root.jpg', data: makeJpeg(32, 40, 5, { dateTimeOriginal: '2020:02:02 20:20:20' }) },
    { name: 'notes.txt', data: te.encode('not a photo') },
  ];

  function writeTree(dir: string, list: { name: string; data: Uint8Array }[]): void {
    for (const f of list) {
      const p = path.join(dir, f.name);
      fs.mkdirSync(path.dirname(p), { recursive: true });
      fs.writeFileSync(p, f.data);
      fs.utimesSync(p, mtime, mtime);
    }
  }

  interface Library {
    items: GalleryItem[];
    summary: Record<string, any>;
    state: any;
    warnings: string[];
  }

  async function importAndRead(args: string[], repoDir: string, init = true): Promise<Library> {
    if (init) assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
    const r = await runCoffer(['-r', repoDir, 'import', 'folder', ...args, '--json'], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const g = (await openGallery(repo))!;
    const items: GalleryItem[] = [];
    for (const m of g.months.months) items.push(...(await g.shard(m.month)).items);
    let state = g.state;
    if (restic) {
      // state.json as the real restic sees it in the newest gallery snapshot.
      const s = await runRestic(restic, ['-r', repoDir, 'snapshots', '--json', '--tag', 'coffer-gallery'], { env });
      assert.equal(s.code, 0, s.stderr);
      const snaps = (JSON.parse(s.stdout) as { id: string; time: string; tags: string[] }[]).filter((x) => !x.tags.includes('private')).sort((x, y) => (x.time < y.time ? -1 : 1));
      const d = await runRestic(restic, ['-r', repoDir, 'dump', snaps[snaps.length - 1]!.id, '/state.json'], { env });
      assert.equal(d.code, 0, d.stderr);
      state = JSON.parse(d.stdout);
    }
    const warnings = lines.filter((l) => l.message_type === 'error').map((l) => `${l.item}: ${l.error.message}`);
    return { items, summary: lines[lines.length - 1], state, warnings };
  }

  const albumsOf = (l: Library) => l.state.albums.map((x: any) => [x.id, x.name, [...x.items].sort()]).sort();
  const keyOf = (x: GalleryItem[]) => x.map((i) => [i.id, i.name, i.taken, i.takenFrom, JSON.stringify(i.gps)]).sort();
  let fromDir: Library;
  const repoDir = path.join(work, 'repo-dir');

  it('imports a folder export: items once each, folders as albums (not the root or year folders), dates', async () => {
    const dir = path.join(work, 'My Export');
    writeTree(dir, files);
    fromDir = await importAndRead([dir], repoDir);
    const { items, summary } = fromDir;
    assert.deepEqual([summary.media, summary.albums, summary.gallery.items, summary.gallery.added], [6, 2, 5, 5]);
    const by = new Map(items.map((i) => [i.name, i]));
    assert.deepEqual([...by.keys()].sort(), ['IMG_A.jpg', 'IMG_B.jpg', 'IMG_C.jpg', 'IMG_D.jpg', 'root.jpg']);
    assert.equal(items.length, 5);
    assert.deepEqual([by.get('IMG_A.jpg')!.taken, by.get('IMG_A.jpg')!.takenFrom, by.get('IMG_A.jpg')!.sources.length], ['2018-05-05T10:00:00', 'exif', 2]);
    assert.deepEqual([by.get('IMG_B.jpg')!.taken, by.get('IMG_B.jpg')!.takenFrom], ['2017-03-04T05:06:08', 'mtime']);
    assert.equal(by.get('root.jpg')!.taken, '2020-02-02T20:20:20');
    assert.ok(by.get('IMG_C.jpg')!.sources.every((s) => s.path.startsWith('/import/My Export/Beach/')));
    const id = (n: string) => by.get(n)!.id;
    assert.deepEqual(albumsOf(fromDir), [
      [albumId('Beach'), 'Beach', [id('IMG_A.jpg'), id('IMG_C.jpg')].sort()],
      [albumId('Trip to Rome'), 'Trip to Rome', [id('IMG_A.jpg'), id('IMG_B.jpg')].sort()],
    ].sort());
    if (restic) {
      const s = await runRestic(restic, ['-r', repoDir, 'snapshots', '--json', '--tag', 'import'], { env });
      assert.deepEqual(JSON.parse(s.stdout).map((x: any) => x.paths), [['/import/My Export']]);
      const c = await runRestic(restic, ['-r', repoDir, 'check', '--read-data'], { env });
      assert.equal(c.code, 0, c.stderr);
    }
  });

  it('importing the same export again adds nothing new', async () => {
    const again = await importAndRead([path.join(work, 'My Export')], repoDir, false);
    assert.equal(again.summary.gallery.added, 0);
    assert.deepEqual(keyOf(again.items), keyOf(fromDir.items));
    assert.deepEqual(albumsOf(again), albumsOf(fromDir));
  });

  it('the same export as a ZIP of its folder gives the same library', async () => {
    const zip = path.join(work, 'My Export.zip');
    fs.writeFileSync(zip, makeZip(files.map((f) => ({ name: `My Export/${f.name}`, data: f.data, mtime }))));
    const fromZip = await importAndRead([zip], path.join(work, 'repo-zip'));
    assert.deepEqual(keyOf(fromZip.items), keyOf(fromDir.items));
    assert.deepEqual(albumsOf(fromZip), albumsOf(fromDir));
    const bad = await runCoffer(['-r', path.join(work, 'repo-zip'), 'import', 'folder', path.join(work, 'nope')], { env });
    assert.notEqual(bad.code, 0);
  });

  it('reads Ente metadata JSON and iCloud CSVs; damaged side files are warnings', async () => {
    const dir = path.join(work, 'services');
    const at = Date.UTC(2021, 7, 1, 9, 30, 0) / 1000;
    const eiffel = { title: 'IMG_E.jpg', caption: 'Eiffel', creationTime: { timestamp: at, formatted: 'x' }, modificationTime: { timestamp: at + 60, formatted: 'x' }, geoData: { latitude: 48.85837, longitude: 2.29448 } };
    writeTree(dir, [
      { name: 'Summer/IMG_E.jpg', data: makeJpeg(40, 30, 6) },
      { name: 'Summer/metadata/IMG_E.jpg.json', data: te.encode(JSON.stringify(eiffel)) },
      { name: 'Summer/IMG_F.jpg', data: makeJpeg(30, 40, 7) },
      { name: 'Summer/metadata/IMG_F.jpg.json', data: te.encode('{"creationTime": 16') },
      { name: 'Summer/IMG_X.jpg', data: makeJpeg(30, 30, 8, { dateTimeOriginal: '2015:06:07 08:09:10' }) },
      { name: 'Summer/metadata/IMG_X.jpg.json', data: te.encode(JSON.stringify({ title: 'IMG_X.jpg', creationTime: at * 1e6, latitude: 1, longitude: 2 })) }, // Ente's flat shape
      { name: 'Trash/IMG_T.jpg', data: makeJpeg(30, 30, 11) },
      { name: 'iCloud Photos/Photos/IMG_G.jpg', data: makeJpeg(36, 36, 9) },
      { name: 'iCloud Photos/Photos/IMG_H.jpg', data: makeJpeg(36, 30, 10) },
      { name: 'iCloud Photos/Photos/Photo Details.csv', data: te.encode('imgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\r\nIMG_G.jpg,x,no,no,no,"Saturday September 14,2019 5:33 PM GMT",0,"Saturday September 14,2019 6:00 PM GMT"\r\n') },
      { name: 'iCloud Photos/Albums/Holidays.csv', data: te.encode('Images\nIMG_G.jpg\nIMG_H.jpg\n') },
      { name: 'iCloud Photos/Recently Deleted/IMG_R.jpg', data: makeJpeg(30, 36, 12) },
      { name: 'iCloud Photos/Albums/Broken.csv', data: te.encode('\u0000\u0001garbage') },
    ]);
    const lib = await importAndRead([dir, '--name', 'Leaving'], path.join(work, 'repo-services'));
    const by = new Map(lib.items.map((i) => [i.name, i]));
    const e = by.get('IMG_E.jpg')!;
    assert.deepEqual([e.taken, e.gps, e.sources[0]!.path], ['2021-08-01T09:30:00', [48.85837, 2.29448], '/import/Leaving/Summer/IMG_E.jpg']);
    assert.equal(lib.state.edits[e.id].caption, 'Eiffel');
    assert.deepEqual([by.get('IMG_F.jpg')!.taken, by.get('IMG_F.jpg')!.takenFrom], ['2017-03-04T05:06:08', 'mtime']);
    assert.deepEqual([by.get('IMG_X.jpg')!.taken, by.get('IMG_X.jpg')!.takenFrom, by.get('IMG_X.jpg')!.gps], ['2015-06-07T08:09:10', 'exif', [1, 2]]); // EXIF beats the side file's date
    assert.ok(by.has('IMG_T.jpg') && by.has('IMG_R.jpg')); // kept, in no album
    assert.equal(by.get('IMG_G.jpg')!.taken, '2019-09-14T17:33:00');
    assert.equal(by.get('IMG_H.jpg')!.takenFrom, 'mtime');
    const id = (n: string) => by.get(n)!.id;
    assert.deepEqual(albumsOf(lib), [
      [albumId('Holidays'), 'Holidays', [id('IMG_G.jpg'), id('IMG_H.jpg')].sort()],
      [albumId('Summer'), 'Summer', [id('IMG_E.jpg'), id('IMG_F.jpg'), id('IMG_X.jpg')].sort()],
    ].sort());
    assert.equal(lib.warnings.length, 2, lib.warnings.join('\n'));
    assert.ok(lib.warnings.some((w) => w.startsWith('Summer/metadata/IMG_F.jpg.json')));
    assert.ok(lib.warnings.some((w) => w.startsWith('iCloud Photos/Albums/Broken.csv')));
  });

  it('reads an iCloud export in two ZIP parts, each with its own Photo Details.csv', async () => {
    const head = 'imgName,fileChecksum,favorite,hidden,deleted,originalCreationDate,viewCount,importDate\n';
    const part = (n: number, img: string, date: string, extra: { name: string; data: Uint8Array }[] = []) => {
      const root = `iCloud Photos Part ${n} of 2`;
      const list = [
        { name: `Photos/${img}`, data: makeJpeg(30, 30, 20 + n) },
        { name: 'Photos/Photo Details.csv', data: te.encode(`${head}${img},x,no,no,no,"${date}",0,x\n`) },
        ...extra,
      ];
      fs.writeFileSync(path.join(work, `${root}.zip`), makeZip(list.map((f) => ({ name: `${root}/${f.name}`, data: f.data, mtime }))));
      return path.join(work, `${root}.zip`);
    };
    const p1 = part(1, 'IMG_1.jpg', 'Monday January 6,2020 11:05 PM GMT', [{ name: 'Albums/Snow.csv', data: te.encode('Images\r\nIMG_1.jpg\r\nIMG_2.jpg\r\n') }]);
    const p2 = part(2, 'IMG_2.jpg', 'Tuesday March 3,2020 7:00 AM GMT');
    const repo = path.join(work, 'repo-icloud');
    const lib = await importAndRead([p1, p2], repo);
    const by = new Map(lib.items.map((i) => [i.name, i]));
    assert.deepEqual([by.get('IMG_1.jpg')!.taken, by.get('IMG_2.jpg')!.taken], ['2020-01-06T23:05:00', '2020-03-03T07:00:00']);
    assert.deepEqual(albumsOf(lib), [[albumId('Snow'), 'Snow', [by.get('IMG_1.jpg')!.id, by.get('IMG_2.jpg')!.id].sort()]]);
    assert.deepEqual(lib.warnings, []);
    if (restic) {
      const s = await runRestic(restic, ['-r', repo, 'snapshots', '--json', '--tag', 'import'], { env });
      assert.deepEqual(JSON.parse(s.stdout).map((x: any) => x.paths), [['/import/iCloud Photos']]);
      const ls = await runRestic(restic, ['-r', repo, 'ls', 'latest', '--tag', 'import', '/import/iCloud Photos/Photos'], { env });
      assert.match(ls.stdout, /Photo Details \(2\)\.csv/);
    }
  });
});
