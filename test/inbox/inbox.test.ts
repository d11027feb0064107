/**
 * `coffer inbox` end to end with the real restic as the oracle: approved and private items are
 * stored (byte-identical, tagged), rejected and pending ones are in no snapshot, rejected content
 * is not offered again by scan, unknown IDs exit 2, and the local state is private (0700/0600).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { tempDir } from '../helpers/paths.js';
import { makeJpeg } from '../gallery/photo-maker.js';

interface Listed { id: string; name: string; size: number; taken: string | null; source: string; added: string }

test('inbox: add, watch, scan, list, approve, private, reject; only decided items reach the repository', async (t) => {
  const bins = resticBinaries();
  const restic = bins[0];
  if (!restic) return t.skip('restic not installed');
  const root = tempDir('coffer-inbox-');
  const repo = path.join(root, 'repo');
  const src = path.join(root, 'src');
  const watchDir = path.join(root, 'phone');
  fs.mkdirSync(src);
  fs.mkdirSync(path.join(watchDir, 'DCIM'), { recursive: true });
  const env = testEnv({ XDG_STATE_HOME: path.join(root, 'state'), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_DATA_HOME: path.join(root, 'data'), COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
  const coffer = async (...args: string[]) => runCoffer(args, { env });
  const ok = async (...args: string[]) => {
    const r = await coffer(...args);
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok('init');

  const photo = makeJpeg(32, 24, 7, { dateTimeOriginal: '2024:05:06 07:08:09' });
  const files: Record<string, Buffer> = {
    'photo.jpg': Buffer.from(photo),
    'secret.bin': randomBytes(50_000),
    'dull.bin': randomBytes(3000),
  };
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(src, n), b);
  const rejectMe = randomBytes(4000);
  const keepPending = randomBytes(5000);
  fs.writeFileSync(path.join(watchDir, 'DCIM', 'reject-me.bin'), rejectMe);
  fs.writeFileSync(path.join(watchDir, 'DCIM', 'pending.bin'), keepPending);

  await ok('inbox', 'add', path.join(src, 'photo.jpg'), path.join(src, 'secret.bin'), path.join(src, 'dull.bin'));
  // The inbox keeps its own copy: the source may go away before the decision.
  fs.rmSync(path.join(src, 'photo.jpg'));
  await ok('inbox', 'watch', watchDir);
  const scanned = JSON.parse((await ok('--json', 'inbox', 'scan')).stdout) as Listed[];
  assert.deepEqual(scanned.map((i) => i.name).sort(), ['pending.bin', 'reject-me.bin']);

  const list = JSON.parse((await ok('inbox', 'list', '--json')).stdout) as Listed[];
  assert.equal(list.length, 5);
  const by = (n: string) => list.find((i) => i.name === n)!;
  assert.deepEqual(list.slice(0, 3).map((i) => i.name), ['photo.jpg', 'secret.bin', 'dull.bin'], 'oldest first');
  assert.equal(by('photo.jpg').size, photo.length);
  assert.equal(by('photo.jpg').taken, '2024-05-06T07:08:09');
  assert.equal(by('dull.bin').taken, null);
  assert.equal(by('photo.jpg').source, 'added');
  assert.equal(by('pending.bin').source, `watch:${watchDir}`);

  // Local state only, private to the user.
  const inboxDir = path.join(root, 'state', 'coffer', 'inbox');
  assert.equal(fs.statSync(inboxDir).mode & 0o777, 0o700);
  assert.equal(fs.statSync(path.join(inboxDir, 'index.json')).mode & 0o777, 0o600);

  // Unknown IDs: refused before any work (nothing decided).
  const bad = await coffer('inbox', 'approve', by('photo.jpg').id, 'deadbeef0000');
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /^coffer: no pending inbox item deadbeef0000/);
  assert.equal((JSON.parse((await ok('inbox', 'list', '--json')).stdout) as Listed[]).length, 5);

  const approvedOut = JSON.parse((await ok('--json', 'inbox', 'approve', by('photo.jpg').id, by('dull.bin').id, '--album', 'Holiday', '--gallery')).stdout.trim().split('\n').at(-1)!) as { gallery: { added: number } };
  assert.equal(approvedOut.gallery.added, 1, 'the approved photo (not the .bin) is added to the gallery');
  const privGallery = await coffer('inbox', 'private', by('secret.bin').id, '--gallery');
  assert.equal(privGallery.code, 2, 'no private item into the shared gallery');
  await ok('inbox', 'private', by('secret.bin').id);
  await ok('inbox', 'reject', by('reject-me.bin').id);
  const after = JSON.parse((await ok('inbox', 'list', '--json')).stdout) as Listed[];
  assert.deepEqual(after.map((i) => i.name), ['pending.bin']);
  // A rejected file that stays in the watched folder is not offered again.
  const rescan = JSON.parse((await ok('--json', 'inbox', 'scan')).stdout) as Listed[];
  assert.deepEqual(rescan, []);
  assert.deepEqual((JSON.parse((await ok('inbox', 'list', '--json')).stdout) as Listed[]).map((i) => i.name), ['pending.bin']);
  // A changed watched file is a new item; the old one is gone and its ID refused.
  const oldId = by('pending.bin').id;
  const keepPending2 = Buffer.concat([keepPending, Buffer.from('edited')]);
  fs.writeFileSync(path.join(watchDir, 'DCIM', 'pending.bin'), keepPending2);
  const changed = JSON.parse((await ok('--json', 'inbox', 'scan')).stdout) as Listed[];
  assert.equal(changed.length, 1);
  assert.notEqual(changed[0]!.id, oldId);
  assert.equal(changed[0]!.size, keepPending2.length);
  assert.deepEqual((JSON.parse((await ok('inbox', 'list', '--json')).stdout) as Listed[]).map((i) => i.id), [changed[0]!.id]);
  assert.equal((await coffer('inbox', 'approve', oldId)).code, 2);

  // The real restic as the oracle.
  const snaps = JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env })).stdout) as { id: string; tags?: string[] }[];
  const user = snaps.filter((s) => s.tags?.includes('inbox'));
  assert.ok(snaps.some((s) => s.tags?.includes('coffer-gallery')), 'a gallery snapshot was written');
  assert.equal(user.length, 2);
  const approved = user.find((s) => !s.tags!.includes('private'))!;
  const priv = user.find((s) => s.tags!.includes('private'))!;
  assert.ok(approved.tags!.includes('album:Holiday'));
  assert.ok(priv, 'the private item carries the tag private');

  const out = path.join(root, 'restored');
  const rr = await runRestic(restic, ['restore', approved.id, '--target', out], { env });
  assert.equal(rr.code, 0, rr.stderr);
  const restoredFiles: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) (e.isDirectory() ? walk(path.join(d, e.name)) : restoredFiles.push(path.join(d, e.name)));
  };
  walk(out);
  const restored = (n: string) => fs.readFileSync(restoredFiles.find((f) => path.basename(f) === n)!);
  assert.ok(restored('photo.jpg').equals(files['photo.jpg']!), 'approved photo restores byte-identical');
  assert.ok(restored('dull.bin').equals(files['dull.bin']!));
  assert.equal(restoredFiles.length, 2);

  const dump = await runRestic(restic, ['dump', priv.id, restoredPath(await runRestic(restic, ['ls', '--json', priv.id], { env }), 'secret.bin')], { env });
  assert.ok(dump.stdoutBytes.equals(files['secret.bin']!), 'private item restores byte-identical');

  // Pending and rejected items are in no snapshot (restic find over every snapshot); find does see stored ones.
  const seen = await runRestic(restic, ['find', '--json', 'photo.jpg'], { env });
  assert.equal((JSON.parse(seen.stdout) as { matches?: unknown[] }[]).flatMap((s) => s.matches ?? []).length, 1);
  for (const name of ['pending.bin', 'reject-me.bin']) {
    const f = await runRestic(restic, ['find', '--json', name], { env });
    assert.equal(f.code, 0, f.stderr);
    const hits = (JSON.parse(f.stdout || '[]') as { matches?: unknown[] }[]).flatMap((s) => s.matches ?? []);
    assert.deepEqual(hits, [], `${name} must be in no snapshot`);
  }
  // And the coffer ls view agrees: no snapshot lists them.
  let listed = '';
  for (const s of snaps) listed += (await ok('ls', s.id)).stdout;
  assert.match(listed, /photo\.jpg/);
  assert.match(listed, /secret\.bin/);
  assert.doesNotMatch(listed, /pending\.bin|reject-me\.bin/);
  // Every restic (0.14 and the current one) checks the repository and reads the approved photo.
  for (const bin of bins) {
    const c = await runRestic(bin, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, `${bin.name} check: ${c.stderr}`);
    const p = restoredPath(await runRestic(bin, ['ls', '--json', approved.id], { env }), 'photo.jpg');
    assert.ok((await runRestic(bin, ['dump', approved.id, p], { env })).stdoutBytes.equals(files['photo.jpg']!), bin.name);
  }
  // Decided items' inbox copies are gone.
  assert.deepEqual(fs.existsSync(path.join(inboxDir, 'items')) ? fs.readdirSync(path.join(inboxDir, 'items')) : [], []);
});

function restoredPath(ls: { stdout: string }, name: string): string {
  for (const line of ls.stdout.split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { name?: string; path?: string; type?: string };
    if (o.name === name && o.type === 'file') return o.path!;
  }
  throw new Error(`${name} not in snapshot`);
}

test('inbox: one action at a time (a live lock holder is waited for, then exit 11; a dead one is taken over)', async () => {
  const root = tempDir('coffer-inbox-lock-');
  const env = testEnv({ XDG_STATE_HOME: path.join(root, 'state'), XDG_CONFIG_HOME: path.join(root, 'config') });
  const lock = path.join(root, 'state', 'coffer', 'inbox', 'lock');
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  fs.writeFileSync(lock, String(process.pid)); // this test process: alive
  const busy = await runCoffer(['inbox', 'list'], { env });
  assert.equal(busy.code, 11, busy.stderr);
  assert.match(busy.stderr, /inbox is in use by process/);
  fs.writeFileSync(lock, '2147483646'); // no such process
  const file = path.join(root, 'a.bin');
  fs.writeFileSync(file, randomBytes(100));
  const r = await runCoffer(['inbox', 'add', file], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(lock), false, 'released after the action');
});
