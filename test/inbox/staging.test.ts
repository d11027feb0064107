/**
 * The staging store and the Node staging helpers in process: a staged photo's sealed thumbnail is
 * a small upright WebP; half-written items are not listed; the keyed dedup keeps a scan from
 * staging pending content twice; the old plaintext inbox is moved into the sealed one and deleted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import type { TestContext } from 'node:test';
import sharp from 'sharp';
import { generateInboxKeyPair, InboxOpener } from '../../src/core/inbox/seal.js';
import { InboxStore } from '../../src/node/inbox-store.js';
import { KnownContent, legacyInboxDir, migrateLegacyInbox, readStagedMeta, scanWatched, stageFile } from '../../src/node/inbox.js';
import { isCofferError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/paths.js';
import { makeJpeg } from '../gallery/photo-maker.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

test('staged photo: sealed meta with taken/type, sealed WebP thumbnail; parts being written are not listed', async () => {
  const root = tempDir('coffer-inbox-stage-');
  const pair = generateInboxKeyPair();
  const opener = new InboxOpener(pair);
  const store = new InboxStore(path.join(root, 'staging'));
  const file = path.join(root, 'IMG_1.jpg');
  const jpeg = Buffer.from(makeJpeg(1200, 800, 3, { dateTimeOriginal: '2023:01:02 03:04:05' }));
  fs.writeFileSync(file, jpeg);
  const r = await stageFile(store, pair.publicKey, file, { source: 'add:host', known: new KnownContent(store, pair.publicKey) });
  assert.equal(r.known, false);
  if (r.known) return;
  const meta = readStagedMeta(store, opener, r.id);
  assert.equal(meta.sha256, sha(jpeg));
  assert.equal(meta.taken, '2023-01-02T03:04:05');
  assert.equal(meta.type, 'image/jpeg');
  assert.equal(meta.size, jpeg.length);
  const thumb = opener.open(store.readStaged(r.id, 'thumb')!, 'thumb');
  assert.equal(Buffer.from(thumb.subarray(0, 4)).toString(), 'RIFF');
  assert.equal(Buffer.from(thumb.subarray(8, 12)).toString(), 'WEBP');
  const m = await sharp(thumb).metadata();
  assert.equal(Math.max(m.width!, m.height!), 400);
  assert.deepEqual(opener.open(store.readStaged(r.id, 'data')!, 'data'), new Uint8Array(jpeg));
  // A half-written item is invisible; a non-image gets no thumbnail.
  const half = store.newStageId();
  store.stageSealed(half, 'meta', new Uint8Array([1]));
  assert.deepEqual(store.listStaged().map((s) => s.id), [r.id]);
  assert.throws(() => store.commitStaged(half), (e: unknown) => isCofferError(e, 'bad-input'));
  // An upload's stray pieces do not follow the item it commits.
  store.stageSealed(half, 'data', new Uint8Array([2]));
  fs.writeFileSync(path.join(store.itemsDir, `.${half}.part`, 'thumb.up'), 'x');
  store.commitStaged(half);
  assert.deepEqual(fs.readdirSync(path.join(store.itemsDir, half)).sort(), ['data', 'meta']);
  store.deleteStaged(half);
  assert.throws(() => store.stageSealed('../x', 'meta', new Uint8Array()), (e: unknown) => isCofferError(e, 'bad-input'));
  const bin = path.join(root, 'x.bin');
  fs.writeFileSync(bin, randomBytes(10));
  const rb = await stageFile(store, pair.publicKey, bin, { source: 'add:host', known: new KnownContent(store, pair.publicKey) });
  assert.ok(!rb.known && store.readStaged(rb.id, 'thumb') === undefined);
});

test('scan: pending content (by the keyed digest) and decided content are not staged again; a memory cache skips hashing', async () => {
  const root = tempDir('coffer-inbox-scan-');
  const pair = generateInboxKeyPair();
  const store = new InboxStore(path.join(root, 'staging'));
  const dir = path.join(root, 'w');
  fs.mkdirSync(path.join(dir, 'sub'), { recursive: true });
  const a = randomBytes(100);
  fs.writeFileSync(path.join(dir, 'a.bin'), a);
  fs.writeFileSync(path.join(dir, 'sub', 'copy-of-a.bin'), a);
  fs.writeFileSync(path.join(dir, '.syncthing.tmp'), randomBytes(10));
  fs.writeFileSync(path.join(dir, 'b.bin'), randomBytes(50));
  const first = await scanWatched(store, pair.publicKey, [dir]);
  assert.deepEqual(first.staged.map((s) => s.meta.name).sort(), ['a.bin', 'b.bin'], 'equal content once, hidden files skipped');
  assert.equal(first.staged.find((s) => s.meta.name === 'a.bin')!.meta.path, path.join(dir, 'a.bin'));
  assert.deepEqual((await scanWatched(store, pair.publicKey, [dir])).staged, []);
  // Decided content does not come back even when its staged copy is gone.
  const b = first.staged.find((s) => s.meta.name === 'b.bin')!;
  store.logDecisions([{ sha256: b.meta.sha256, decision: 'reject', time: new Date().toISOString() }]);
  store.deleteStaged(b.id);
  assert.deepEqual((await scanWatched(store, pair.publicKey, [dir])).staged, []);
  // A different key's scanner cannot tell what is pending (the digest is keyed).
  const other = new KnownContent(store, generateInboxKeyPair().publicKey);
  assert.equal(other.has(sha(a)), false);
  assert.equal(new KnownContent(store, pair.publicKey).has(sha(a)), true);
  // The cache: a file seen with the same size and mtime is not even read again (so its new
  // content, same size and mtime, is not noticed while cached; a scan without the cache stages it).
  // (Whole seconds: utimes cannot always give back a sub-second mtime exactly.)
  fs.utimesSync(path.join(dir, 'a.bin'), 1_700_000_000, 1_700_000_000);
  const cache = new Map<string, string>();
  await scanWatched(store, pair.publicKey, [dir], cache);
  assert.equal(cache.size, 3);
  fs.writeFileSync(path.join(dir, 'a.bin'), randomBytes(100));
  fs.utimesSync(path.join(dir, 'a.bin'), 1_700_000_000, 1_700_000_000);
  assert.deepEqual((await scanWatched(store, pair.publicKey, [dir], cache)).staged, []);
  assert.deepEqual((await scanWatched(store, pair.publicKey, [dir])).staged.map((x) => x.meta.name), ['a.bin']);
});

test('the old plaintext inbox is moved into the sealed staging and deleted', async () => {
  const root = tempDir('coffer-inbox-legacy-');
  const env = { ...process.env, XDG_STATE_HOME: path.join(root, 'state'), XDG_DATA_HOME: path.join(root, 'data') };
  const old = legacyInboxDir(env);
  const kept = randomBytes(300);
  const gone = randomBytes(200);
  fs.mkdirSync(path.join(old, 'items', 'abc'), { recursive: true });
  fs.writeFileSync(path.join(old, 'items', 'abc', 'holiday.jpg'), kept);
  const rejected = 'f'.repeat(64);
  fs.writeFileSync(path.join(old, 'index.json'), JSON.stringify({
    version: 1,
    items: [
      { id: 'abc', name: 'holiday.jpg', sha256: sha(kept), source: 'added', path: '/nowhere/holiday.jpg', staged: 'items/abc/holiday.jpg' },
      { id: 'def', name: 'gone.bin', sha256: sha(gone), source: 'watch:/nowhere', path: '/nowhere/gone.bin' },
    ],
    decisions: [{ sha256: rejected, decision: 'reject', time: '2026-01-01T00:00:00Z' }],
  }));
  const pair = generateInboxKeyPair();
  const store = new InboxStore(path.join(root, 'staging'));
  assert.deepEqual(await migrateLegacyInbox(env, store, pair.publicKey), { moved: 1, dropped: 1 });
  assert.equal(fs.existsSync(old), false, 'the plaintext copy is gone');
  const [item] = store.listStaged();
  const meta = readStagedMeta(store, new InboxOpener(pair), item!.id);
  assert.equal(meta.name, 'holiday.jpg');
  assert.equal(meta.sha256, sha(kept));
  assert.deepEqual(store.readDecisions().map((d) => d.sha256), [rejected]);
  assert.equal(await migrateLegacyInbox(env, store, pair.publicKey), undefined);
});

function need(t: TestContext, tool: string): boolean {
  if (!spawnSync(tool, ['--help'], { stdio: 'ignore' }).error) return true;
  if (process.env.CI) assert.fail(`${tool} is missing (CI=true): install it (.ci/run's apt list)`);
  t.skip(`${tool} is not installed`);
  return false;
}

test('a staged video gets its poster frame and a HEIC photo its pixels as the sealed thumbnail', async (t) => {
  if (!need(t, 'ffmpeg') || !need(t, 'heif-enc') || !need(t, 'heif-convert')) return;
  const root = tempDir('coffer-inbox-media-');
  const pair = generateInboxKeyPair();
  const opener = new InboxOpener(pair);
  const store = new InboxStore(path.join(root, 'staging'));
  const clip = path.join(root, 'clip.mp4');
  // Red clip, 640x360: the poster is red, 400 wide.
  const v = spawnSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=c=red:s=640x360:d=2:r=10', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  const png = path.join(root, 'green.png');
  await sharp({ create: { width: 300, height: 500, channels: 3, background: { r: 0, g: 255, b: 0 } } }).png().toFile(png);
  const heic = path.join(root, 'IMG_0001.HEIC');
  const h = spawnSync('heif-enc', ['-q', '90', png, '-o', heic], { encoding: 'utf8' });
  assert.equal(h.status, 0, h.stderr);
  const checks: [string, number, number, [number, number, number]][] = [[clip, 400, 225, [255, 0, 0]], [heic, 240, 400, [0, 255, 0]]];
  for (const [file, w, hgt, rgb] of checks) {
    const r = await stageFile(store, pair.publicKey, file, { source: 'add:host', known: new KnownContent(store, pair.publicKey) });
    assert.ok(!r.known);
    if (r.known) return;
    const thumb = opener.open(store.readStaged(r.id, 'thumb')!, 'thumb');
    const img = sharp(thumb);
    const m = await img.metadata();
    assert.equal(m.format, 'webp', file);
    assert.deepEqual([m.width, m.height], [w, hgt], file);
    const { data } = await sharp(thumb).raw().toBuffer({ resolveWithObject: true });
    const mid = ((Math.floor(hgt / 2) * w + Math.floor(w / 2)) * m.channels!);
    assert.ok(rgb.every((c, i) => Math.abs(data[mid + i]! - c) < 40), `${file}: ${[...data.subarray(mid, mid + 3)]}`);
  }
});
