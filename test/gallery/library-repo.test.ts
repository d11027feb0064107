/**
 * The gallery library in a real repository: a backup and a `--tag private` backup, one
 * `coffer gallery build`, then
 * - private photos are in the private gallery snapshot (`/coffer/gallery-private`, tagged
 *   `private`) and in no file, name or blob of the ordinary one; a restic copy of every snapshot
 *   not tagged `private` holds none of their blobs (real restic `snapshots`/`ls`/`copy`/`cat`/`check`);
 * - items carry their country, and the counts of months.json and search.json follow;
 * - hide/unhide move items between the shards and /hidden/index.json without touching the media
 *   trees, and a build keeps them hidden;
 * - `coffer forget` keeps the newest two of each gallery, as separate groups;
 * - an ordinary gallery holding private items (an older build) drops them; every inbox approval
 *   since the last build is read.
 * About 30 s.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { utf8Decode } from '../../src/core/bytes.js';
import { GALLERY_KIND, gallerySnapshot, PRIVATE_GALLERY_KIND } from '../../src/core/engine/gallery/build.js';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import { nowGoTime } from '../../src/core/format/go-time.js';
import { hideItems, openGallery, unhideItems, type OpenedGallery } from '../../src/core/engine/gallery/read.js';
import { listRecords } from '../../src/core/engine/records/records.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { decodeGeo, decodeSearch } from '../../src/core/gallery/index-files.js';
import type { GalleryItem } from '../../src/core/gallery/item.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { LOCK_OWNER } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { makeJpeg } from './photo-maker.js';

const env = testEnv({ TZ: 'UTC', COFFER_WORKERS: '0' });

function lastJson(stdout: string): Record<string, any> {
  const lines = stdout.trim().split('\n').filter((l) => l.startsWith('{'));
  return JSON.parse(lines[lines.length - 1]!);
}

async function allItems(g: OpenedGallery): Promise<GalleryItem[]> {
  const out: GalleryItem[] = [];
  for (const m of g.months.months) out.push(...(await g.shard(m.month)).items);
  return out;
}

/** Every file of a gallery snapshot: path -> { bytes, data blob IDs }. */
async function galleryFiles(repo: Repository, tree: string): Promise<Map<string, { bytes: Buffer; blobs: string[] }>> {
  const index = await loadMasterIndex(repo);
  const out = new Map<string, { bytes: Buffer; blobs: string[] }>();
  const nodes: { path: string; content: string[] }[] = [];
  await walkTree(new TreeLoader(repo, index), tree, (e) => {
    if (e.node.type === 'file') nodes.push({ path: e.path, content: [...(e.node.content ?? [])] });
  });
  for (const n of nodes) out.set(n.path, { bytes: Buffer.concat(await Promise.all(n.content.map((id) => loadBlob(repo, index, 'data', id)))), blobs: n.content });
  return out;
}

describe('gallery library: private gallery, countries, hidden items, retention', { concurrency: false }, () => {
  const work = tempDir('coffer-gallery-library-');
  const pub = path.join(work, 'Pictures');
  const priv = path.join(work, 'Private');
  const repoDir = path.join(work, 'repo');
  let repo: Repository;
  let build: Record<string, any>;
  const restics = resticBinaries();

  before(async () => {
    fs.mkdirSync(pub, { recursive: true });
    fs.mkdirSync(priv, { recursive: true });
    fs.writeFileSync(path.join(pub, 'paris.jpg'), makeJpeg(320, 240, 11, { dateTimeOriginal: '2024:06:01 10:00:00', gps: [48.85837, 2.29448] }));
    fs.writeFileSync(path.join(pub, 'newyork.jpg'), makeJpeg(320, 240, 12, { dateTimeOriginal: '2024:06:02 10:00:00', gps: [40.7128, -74.006] }));
    fs.writeFileSync(path.join(pub, 'nogps.jpg'), makeJpeg(320, 240, 13, { dateTimeOriginal: '2024:05:01 10:00:00' }));
    fs.writeFileSync(path.join(priv, 'sydney.jpg'), makeJpeg(320, 240, 21, { dateTimeOriginal: '2024:06:03 10:00:00', gps: [-33.8688, 151.2093] }));
    fs.writeFileSync(path.join(priv, 'SECRET_name.jpg'), makeJpeg(240, 320, 22, { dateTimeOriginal: '2024:04:01 10:00:00' }));
    assert.equal((await runCoffer(['-r', repoDir, 'init'], { env })).code, 0);
    for (const args of [['backup', pub], ['backup', priv, '--tag', 'private']]) {
      const r = await runCoffer(['-r', repoDir, ...args, '--json'], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    build = lastJson(r.stdout);
    repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('puts private photos in the private gallery only, not even a thumbnail in the ordinary one', async () => {
    assert.equal(build.gallery.items, 5);
    assert.match(build.snapshot_id, /^[0-9a-f]{64}$/);
    assert.match(build.private_snapshot_id, /^[0-9a-f]{64}$/);
    const main = (await openGallery(repo))!;
    const pg = (await openGallery(repo, { library: 'private' }))!;
    assert.equal(main.entry.id, build.snapshot_id);
    assert.equal(pg.entry.id, build.private_snapshot_id);
    const mainItems = await allItems(main);
    const privItems = await allItems(pg);
    assert.deepEqual(mainItems.map((i) => i.name).sort(), ['newyork.jpg', 'nogps.jpg', 'paris.jpg']);
    assert.deepEqual(privItems.map((i) => i.name).sort(), ['SECRET_name.jpg', 'sydney.jpg']);
    assert.ok(privItems.every((i) => i.sources.every((s) => s.path.startsWith(priv))));

    const mainFiles = await galleryFiles(repo, main.entry.snapshot.tree);
    const privFiles = await galleryFiles(repo, pg.entry.snapshot.tree);
    // Blobs only the private side has: the photos themselves and their thumbnails and previews.
    const mainBlobs = new Set([...mainFiles.values()].flatMap((f) => f.blobs));
    const privOnly = new Set([...privFiles].filter(([p]) => /^\/(thumbs|previews|originals)\//.test(p)).flatMap(([, f]) => f.blobs));
    assert.equal(privOnly.size >= 6, true, `private media blobs: ${privOnly.size}`);
    for (const b of privOnly) assert.equal(mainBlobs.has(b), false, `blob ${b} of the private gallery is in the ordinary one`);
    for (const [p, f] of mainFiles) {
      const text = f.bytes.toString('latin1');
      for (const it of privItems) assert.equal(p.includes(it.id) || text.includes(it.id), false, `${p} names private item ${it.id}`);
      assert.equal(text.includes('SECRET_name') || text.includes(priv), false, `${p} names a private file`);
    }
    for (const it of privItems) {
      for (const dir of ['thumbs', 'previews']) assert.ok(privFiles.has(`/${dir}/${it.id.slice(0, 2)}/${it.id}.webp`), `${dir} of ${it.name}`);
      assert.ok(privFiles.has(`/originals/${it.id.slice(0, 2)}/${it.id}.jpg`));
    }
    assert.equal((await main.hidden()).length, 0);

    for (const restic of restics) {
      const snaps = JSON.parse((await runRestic(restic, ['-r', repoDir, 'snapshots', '--json'], { env })).stdout) as { id: string; paths: string[]; tags?: string[] }[];
      const ps = snaps.find((s) => s.id === pg.entry.id)!;
      assert.deepEqual(ps.paths, ['/coffer/gallery-private']);
      for (const t of ['coffer-internal', 'coffer-gallery', 'private']) assert.ok(ps.tags?.includes(t), `${restic.name}: tag ${t}`);
      assert.equal(snaps.find((s) => s.id === main.entry.id)!.tags?.includes('private'), false);
      const lsMain = await runRestic(restic, ['-r', repoDir, 'ls', main.entry.id], { env });
      assert.equal(lsMain.code, 0, lsMain.stderr);
      for (const it of privItems) assert.equal(lsMain.stdout.includes(it.id), false, `${restic.name} ls: ${it.id} in the ordinary gallery`);
      for (const it of mainItems) assert.ok(lsMain.stdout.includes(`/thumbs/${it.id.slice(0, 2)}/${it.id}.webp`));
      const lsPriv = await runRestic(restic, ['-r', repoDir, 'ls', pg.entry.id], { env });
      for (const it of privItems) assert.ok(lsPriv.stdout.includes(`/originals/${it.id.slice(0, 2)}/${it.id}.jpg`), `${restic.name} ls private`);
    }
    const check = await runRestic(restics[0]!, ['-r', repoDir, 'check', '--read-data'], { env });
    assert.equal(check.code, 0, check.stderr + check.stdout);

    // A copy of every snapshot not tagged `private` (what `--exclude-tag private` admits) holds
    // no blob of a private photo, and restic finds it complete.
    if (restics.length) {
      const restic = restics[restics.length - 1]!;
      const copyDir = path.join(work, 'copy');
      const pw = path.join(work, 'pw');
      fs.writeFileSync(path.join(work, 'pw'), 'test-password');
      const from = ['--from-repo', repoDir, '--from-password-file', pw];
      assert.equal((await runRestic(restic, ['-r', copyDir, 'init', ...from, '--copy-chunker-params'], { env })).code, 0);
      const snaps = JSON.parse((await runRestic(restic, ['-r', repoDir, 'snapshots', '--json'], { env })).stdout) as { id: string; tags?: string[] }[];
      const ids = snaps.filter((s) => !(s.tags ?? []).includes('private')).map((s) => s.id);
      assert.equal(ids.length, 2, 'the ordinary backup and gallery');
      const cp = await runRestic(restic, ['-r', copyDir, 'copy', ...from, ...ids], { env });
      assert.equal(cp.code, 0, cp.stderr);
      assert.equal((await runRestic(restic, ['-r', copyDir, 'check', '--read-data'], { env })).code, 0);
      for (const b of [...privOnly].slice(0, 4)) {
        assert.notEqual((await runRestic(restic, ['-r', copyDir, 'cat', 'blob', b], { env })).code, 0, `copy holds private blob ${b}`);
        assert.equal((await runRestic(restic, ['-r', repoDir, 'cat', 'blob', b], { env })).code, 0);
      }
    }
  });

  it('gives each item its country and counts countries per library', async () => {
    const main = (await openGallery(repo))!;
    const pg = (await openGallery(repo, { library: 'private' }))!;
    const byName = new Map([...(await allItems(main)), ...(await allItems(pg))].map((i) => [i.name, i.country]));
    assert.deepEqual(Object.fromEntries(byName), { 'paris.jpg': 'FR', 'newyork.jpg': 'US', 'nogps.jpg': null, 'sydney.jpg': 'AU', 'SECRET_name.jpg': null });
    assert.deepEqual(main.months.countries, [{ code: 'FR', count: 1 }, { code: 'US', count: 1 }]);
    assert.deepEqual(pg.months.countries, [{ code: 'AU', count: 1 }]);
    const search = decodeSearch(await main.readFile('/search.json'));
    assert.deepEqual(search.countries, ['FR', 'US']);
    assert.equal(search.country.filter((c) => c === -1).length, 1);
  });

  it('hides and unhides without touching the media trees; a build keeps hidden items hidden', async () => {
    const before = (await openGallery(repo))!;
    const paris = (await allItems(before)).find((i) => i.name === 'paris.jpg')!;
    const rootOf = async (g: OpenedGallery) => new Map((await new TreeLoader(repo, await loadMasterIndex(repo)).load(g.entry.snapshot.tree)).nodes.map((n) => [utf8Decode(n.name), n]));
    const root0 = await rootOf(before);

    const hid = await hideItems(repo, [paris.id], { owner: LOCK_OWNER });
    assert.ok(hid);
    assert.equal(await hideItems(repo, [paris.id], { owner: LOCK_OWNER }), undefined, 'hiding twice changes nothing');
    const h = (await openGallery(repo))!;
    assert.equal(h.entry.id, hid.id);
    assert.deepEqual(h.state.hidden, [paris.id]);
    assert.equal(h.months.count, 2);
    assert.deepEqual(h.months.months.map((m) => [m.month, m.count]), [['2024-06', 1], ['2024-05', 1]]);
    assert.deepEqual(h.months.countries, [{ code: 'US', count: 1 }]);
    assert.equal((await allItems(h)).some((i) => i.id === paris.id), false);
    assert.equal(decodeGeo(await h.readFile('/geo.json')).points.some((p) => p[2] === paris.id), false);
    assert.equal(decodeSearch(await h.readFile('/search.json')).ids.includes(paris.id), false);
    assert.deepEqual((await h.hidden()).map((i) => [i.id, i.country]), [[paris.id, 'FR']]);
    const root1 = await rootOf(h);
    for (const d of ['thumbs', 'previews', 'originals']) assert.equal(root1.get(d)!.subtree, root0.get(d)!.subtree, `${d} is the same tree`);
    assert.deepEqual(root1.get('index')!.subtree === root0.get('index')!.subtree, false);
    assert.ok(await h.thumb(paris.id), 'the thumbnail stays, for the hidden view');
    // The private library is its own: hiding there leaves the ordinary gallery alone.
    const pg = (await openGallery(repo, { library: 'private' }))!;
    const syd = (await allItems(pg)).find((i) => i.name === 'sydney.jpg')!;
    assert.ok(await hideItems(repo, [syd.id], { owner: LOCK_OWNER, library: 'private' }));
    assert.equal((await openGallery(repo))!.entry.id, hid.id);
    assert.equal((await openGallery(repo, { library: 'private' }))!.months.count, 1);

    // A build over the same backups: nothing new, nothing written, still hidden.
    const r = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).snapshot_id, undefined);
    assert.equal((await openGallery(repo))!.months.count, 2);

    assert.ok(await unhideItems(repo, [paris.id], { owner: LOCK_OWNER }));
    assert.ok(await unhideItems(repo, [syd.id], { owner: LOCK_OWNER, library: 'private' }));
    const back = (await openGallery(repo))!;
    assert.equal(back.months.count, 3);
    assert.deepEqual(back.state.hidden, []);
    assert.deepEqual((await back.hidden()), []);
    const root2 = await rootOf(back);
    for (const n of ['months.json', 'geo.json', 'search.json']) assert.deepEqual(root2.get(n)!.content, root0.get(n)!.content, `${n} as before hiding`);
    for (const m of before.months.months) assert.deepEqual((await back.node(`/index/${m.month}.json`))!.content, (await before.node(`/index/${m.month}.json`))!.content, `${m.month} shard as before hiding`);
  });

  it('coffer forget keeps the newest two of each gallery, as separate groups', async () => {
    const mainList = await listRecords(repo, GALLERY_KIND);
    const privList = await listRecords(repo, PRIVATE_GALLERY_KIND);
    assert.equal(mainList.length, 3);
    assert.equal(privList.length, 3);
    const r = await runCoffer(['-r', repoDir, 'forget', '--keep-last', '1', '--prune'], { env });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const after = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    assert.deepEqual((await listRecords(after, GALLERY_KIND)).map((e) => e.id), mainList.slice(-2).map((e) => e.id));
    assert.deepEqual((await listRecords(after, PRIVATE_GALLERY_KIND)).map((e) => e.id), privList.slice(-2).map((e) => e.id));
    const pg = (await openGallery(after, { library: 'private' }))!;
    assert.equal(pg.months.count, 2);
    assert.ok((await pg.thumb((await allItems(pg))[0]!.id)).length > 0);
    for (const restic of restics) {
      const c = await runRestic(restic, ['-r', repoDir, 'check'], { env });
      assert.equal(c.code, 0, `${restic.name}: ${c.stderr}`);
    }
  });

  it('an ordinary gallery that holds private items (an older build) drops them on the next build', async () => {
    // The older build: an ordinary gallery snapshot whose tree is the private library's.
    const pg = (await openGallery(repo, { library: 'private' }))!;
    const privIds = (await allItems(pg)).map((i) => i.id);
    const old = gallerySnapshot('main', pg.entry.snapshot.tree, nowGoTime(), LOCK_OWNER, undefined);
    const oldId = await repo.saveUnpacked('snapshots', encodeSnapshot(old));
    assert.equal((await openGallery(repo))!.entry.id, oldId);
    const r = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const main = (await openGallery(repo))!;
    assert.equal(main.entry.id, lastJson(r.stdout).snapshot_id);
    assert.deepEqual((await allItems(main)).map((i) => i.name).sort(), ['newyork.jpg', 'nogps.jpg', 'paris.jpg']);
    const files = await galleryFiles(repo, main.entry.snapshot.tree);
    for (const p of files.keys()) for (const id of privIds) assert.equal(p.includes(id), false, `${p} is a private item's`);
  });

  it('reads every inbox approval since the last build, not only the newest of its paths', async () => {
    // Two approvals of the same folder between builds, each holding only its new photo.
    const inbox = path.join(work, 'inbox');
    fs.mkdirSync(inbox);
    for (const [i, name] of ['first.jpg', 'second.jpg'].entries()) {
      for (const f of fs.readdirSync(inbox)) fs.rmSync(path.join(inbox, f));
      fs.writeFileSync(path.join(inbox, name), makeJpeg(200, 150, 41 + i, { dateTimeOriginal: `2024:07:0${i + 1} 10:00:00` }));
      const r = await runCoffer(['-r', repoDir, 'backup', inbox, '--tag', 'coffer-inbox'], { env });
      assert.equal(r.code, 0, r.stderr);
    }
    const r = await runCoffer(['-r', repoDir, 'gallery', 'build', '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(lastJson(r.stdout).gallery.added, 2);
    const names = (await allItems((await openGallery(repo))!)).map((i) => i.name);
    assert.ok(names.includes('first.jpg') && names.includes('second.jpg'), names.join(','));
  });
});
