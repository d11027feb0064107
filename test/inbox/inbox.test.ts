/**
 * `coffer inbox` end to end with the real restic (0.14 and the current one) as the oracle:
 * add and scan work with no password (only the public key on this device); staged items are
 * sealed (no plaintext byte, no file name in the staging folder or any repository file);
 * approved items are in the primary (tag coffer-inbox, their places, the gallery) and in every
 * copy after sync; private ones (tag private) only in the copy that admits them; pending and
 * rejected ones in no snapshot of any repository; rejected content is never offered again;
 * unknown IDs exit 2 before the password is asked for.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { tempDir } from '../helpers/paths.js';
import { makeJpeg } from '../gallery/photo-maker.js';

interface Listed { id: string; name: string; size: number; taken: string | null; source: string; added: string }
interface Snap { id: string; paths: string[]; tags?: string[]; hostname: string }

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(p);
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

/** Fails when any file under `dirs` holds a 32-byte sample of `plain` or one of `names`. */
function assertNoPlaintext(dirs: string[], plain: Record<string, Buffer>, what: string): void {
  const needles: { label: string; bytes: Buffer }[] = [];
  for (const [name, b] of Object.entries(plain)) {
    needles.push({ label: `name ${name}`, bytes: Buffer.from(name) });
    for (const at of [0, Math.floor(b.length / 2), b.length - 32]) needles.push({ label: `bytes of ${name} at ${at}`, bytes: b.subarray(at, at + 32) });
  }
  let files = 0;
  for (const d of dirs) {
    for (const f of filesUnder(d)) {
      files++;
      const content = fs.readFileSync(f);
      for (const n of needles) assert.equal(content.indexOf(n.bytes), -1, `${what}: ${f} holds the ${n.label}`);
    }
  }
  assert.ok(files > 0, `${what}: nothing to look at`);
}

test('inbox: sealed staging without a password; decisions reach the primary, the gallery and the copies their policies admit', async (t) => {
  const bins = resticBinaries();
  const restic = bins[0];
  if (!restic) return t.skip('restic not installed');
  const root = tempDir('coffer-inbox-');
  const repo = path.join(root, 'repo');
  const src = path.join(root, 'src');
  const watchDir = path.join(root, 'phone');
  fs.mkdirSync(src);
  fs.mkdirSync(path.join(watchDir, 'DCIM'), { recursive: true });
  const dataHome = path.join(root, 'data');
  const env = testEnv({ XDG_STATE_HOME: path.join(root, 'state'), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_DATA_HOME: dataHome, COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
  const noPassword = { ...env };
  delete noPassword.COFFER_PASSWORD;
  delete noPassword.RESTIC_PASSWORD;
  const coffer = async (args: string[], e = env) => runCoffer(args, { env: e });
  const ok = async (args: string[], e = env) => {
    const r = await coffer(args, e);
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok(['init']);

  // The first use with the repository open makes the key pair; then the device has the public key.
  assert.deepEqual(JSON.parse((await ok(['inbox', 'list', '--json'])).stdout), []);
  const pubs = fs.readdirSync(path.join(root, 'config', 'coffer', 'inbox')).filter((n) => n.endsWith('.pub'));
  assert.equal(pubs.length, 1);
  const repoId = pubs[0]!.slice(0, -4);
  const staging = path.join(dataHome, 'coffer', 'inbox', repoId);
  const keyRecords = JSON.parse((await runRestic(restic, ['snapshots', '--json', '--tag', 'coffer-inbox-key'], { env })).stdout) as Snap[];
  assert.equal(keyRecords.length, 1);
  assert.deepEqual(keyRecords[0]!.paths, ['/coffer/inbox-key']);
  assert.equal(keyRecords[0]!.hostname, 'coffer');

  const photo = Buffer.from(makeJpeg(32, 24, 7, { dateTimeOriginal: '2024:05:06 07:08:09' }));
  const files: Record<string, Buffer> = { 'photo.jpg': photo, 'secret.bin': randomBytes(50_000), 'dull.bin': randomBytes(3000), 'private.jpg': Buffer.from(makeJpeg(40, 30, 99, { dateTimeOriginal: '2024:06:07 08:09:10' })) };
  for (const [n, b] of Object.entries(files)) fs.writeFileSync(path.join(src, n), b);
  const watched: Record<string, Buffer> = { 'reject-me.bin': randomBytes(4000), 'pending.bin': randomBytes(5000), 'keep.bin': randomBytes(6000) };
  for (const [n, b] of Object.entries(watched)) fs.writeFileSync(path.join(watchDir, 'DCIM', n), b);

  // add and scan: no password at all.
  const added = JSON.parse((await ok(['--json', 'inbox', 'add', path.join(src, 'photo.jpg'), path.join(src, 'secret.bin'), path.join(src, 'dull.bin'), path.join(src, 'private.jpg')], noPassword)).stdout) as { id: string; added: boolean }[];
  assert.deepEqual(added.map((a) => a.added), [true, true, true, true]);
  assert.ok(added.every((a) => /^[0-9a-f]{32}$/.test(a.id)), 'random 32-hex stage ids');
  assert.deepEqual(added.map((a) => a.id).filter((id) => Object.values(files).some((b) => id === createSha(b).slice(0, 32))), [], 'ids are not content hashes');
  // The same content again is known, not staged twice; the source may go away (the inbox has its sealed copy).
  const again = JSON.parse((await ok(['--json', 'inbox', 'add', path.join(src, 'dull.bin')], noPassword)).stdout) as { added: boolean }[];
  assert.deepEqual(again.map((a) => a.added), [false]);
  fs.rmSync(path.join(src, 'photo.jpg'));
  await ok(['inbox', 'watch', watchDir], noPassword);
  const scanned = JSON.parse((await ok(['--json', 'inbox', 'scan'], noPassword)).stdout) as Listed[];
  assert.deepEqual(scanned.map((i) => i.name).sort(), ['keep.bin', 'pending.bin', 'reject-me.bin']);
  assert.deepEqual(JSON.parse((await ok(['--json', 'inbox', 'scan'], noPassword)).stdout), [], 'pending content is not staged twice');
  // Listing needs the private key (names are sealed): without a password it cannot.
  assert.notEqual((await coffer(['inbox', 'list'], noPassword)).code, 0);

  // Sealed: no plaintext byte and no file name in the staging folder.
  assertNoPlaintext([staging], { ...files, ...watched }, 'staging folder');
  assert.equal(fs.statSync(staging).mode & 0o777, 0o700);
  for (const f of filesUnder(path.join(staging, 'items'))) assert.equal(fs.statSync(f).mode & 0o777, 0o600, f);
  // Nothing pending reaches the repository (not even encrypted): only the key record so far.
  assert.deepEqual((JSON.parse((await runRestic(restic, ['snapshots', '--json'], { env })).stdout) as Snap[]).map((s) => s.paths[0]), ['/coffer/inbox-key']);

  const list = JSON.parse((await ok(['inbox', 'list', '--json'])).stdout) as Listed[];
  assert.equal(list.length, 7);
  const by = (n: string) => list.find((i) => i.name === n)!;
  assert.deepEqual(list.slice(0, 3).map((i) => i.name), ['photo.jpg', 'secret.bin', 'dull.bin'], 'oldest first');
  assert.deepEqual(Object.keys(list[0]!).sort(), ['added', 'id', 'name', 'size', 'source', 'taken']);
  assert.equal(by('photo.jpg').size, photo.length);
  assert.equal(by('photo.jpg').taken, '2024-05-06T07:08:09');
  assert.equal(by('dull.bin').taken, null);
  assert.equal(by('photo.jpg').source, `add:${os.hostname()}`);
  assert.equal(by('pending.bin').source, `watch:${watchDir}`);
  // The photo's staged thumbnail is a sealed WebP (checked in inbox-thumb below through the key).
  assert.ok(fs.existsSync(path.join(staging, 'items', by('photo.jpg').id, 'thumb')));

  // Unknown IDs: refused before any work, even before a password is asked for.
  for (const action of ['approve', 'private', 'reject']) {
    const bad = await coffer(['inbox', action, by('photo.jpg').id, 'deadbeef0000'], noPassword);
    assert.equal(bad.code, 2, bad.stderr);
    assert.match(bad.stderr, /^coffer: no pending inbox item deadbeef0000/);
  }
  assert.equal((JSON.parse((await ok(['inbox', 'list', '--json'])).stdout) as Listed[]).length, 7);

  const approvedOut = JSON.parse((await ok(['--json', 'inbox', 'approve', by('photo.jpg').id, by('dull.bin').id, by('keep.bin').id, '--album', 'Holiday'])).stdout.trim().split('\n').at(-1)!) as { gallery?: { added: number }; snapshot: string };
  assert.equal(approvedOut.gallery?.added, 1, 'the approved photo (not the .bin files) is added to the gallery by default');
  const privOut = JSON.parse((await ok(['--json', 'inbox', 'private', by('secret.bin').id, by('private.jpg').id])).stdout.trim().split('\n').at(-1)!) as { gallery?: { added: number } };
  assert.equal(privOut.gallery?.added, 1, 'the private photo goes to the (private) gallery');
  await ok(['inbox', 'reject', by('reject-me.bin').id.slice(0, 10)]); // a unique prefix will do
  assert.deepEqual((JSON.parse((await ok(['inbox', 'list', '--json'])).stdout) as Listed[]).map((i) => i.name), ['pending.bin']);
  // A rejected (or stored) file that stays in the watched folder is not offered again.
  assert.deepEqual(JSON.parse((await ok(['--json', 'inbox', 'scan'], noPassword)).stdout), []);
  const decisions = JSON.parse(fs.readFileSync(path.join(staging, 'decisions.json'), 'utf8')) as { sha256: string; decision: string; time: string }[];
  assert.deepEqual(decisions.map((d) => d.decision).sort(), ['approve', 'approve', 'approve', 'private', 'private', 'reject']);
  assert.ok(decisions.some((d) => d.decision === 'reject' && d.sha256 === createSha(watched['reject-me.bin']!)));
  // Decided items' staged copies are gone; the pending one stays.
  assert.deepEqual(fs.readdirSync(path.join(staging, 'items')), [by('pending.bin').id]);

  // Copies: one admits everything, one excludes `private`; then sync.
  const copyAll = path.join(root, 'copy-all');
  const copyCloud = path.join(root, 'copy-cloud');
  await ok(['copies', 'add', 'all', copyAll]);
  await ok(['copies', 'add', 'cloud', copyCloud, '--exclude-tag', 'private']);
  await ok(['sync']);

  // The real restic as the oracle, on the primary and both copies.
  const snapsOf = async (r: string) => JSON.parse((await runRestic(restic, ['-r', r, 'snapshots', '--json'], { env })).stdout) as Snap[];
  const snaps = await snapsOf(repo);
  const user = snaps.filter((s) => s.tags?.includes('coffer-inbox'));
  assert.equal(user.length, 2);
  const approved = user.find((s) => !s.tags!.includes('private'))!;
  const priv = user.find((s) => s.tags!.includes('private'))!;
  assert.ok(approved.tags!.includes('album:Holiday'));
  assert.deepEqual([...approved.paths].sort(), [`/inbox/${os.hostname()}`, watchDir].sort(), 'added items under /inbox/<device>, watched ones at their folder');
  // The shared gallery has the approved photo only; the private photo is in the private gallery only.
  const mainGallery = snaps.filter((s) => s.tags?.includes('coffer-gallery') && !s.tags.includes('private')).at(-1);
  const privGallery = snaps.filter((s) => s.tags?.includes('coffer-gallery-private')).at(-1);
  assert.ok(mainGallery && privGallery, 'both galleries were written');
  assert.ok(privGallery.tags!.includes('private'));
  const originals = async (id: string) => (await runRestic(restic, ['ls', '--json', id], { env })).stdout.split('\n').filter((l) => l.includes('"/originals/') && l.includes('"type":"file"')).length;
  assert.equal(await originals(mainGallery.id), 1);
  assert.equal(await originals(privGallery.id), 1);

  const dumpFrom = async (r: string, snap: string, file: string) => (await runRestic(restic, ['-r', r, 'dump', snap, file], { env })).stdoutBytes;
  const host = os.hostname();
  for (const bin of bins) {
    for (const r of [repo, copyAll, copyCloud]) {
      const c = await runRestic(bin, ['-r', r, 'check', '--read-data'], { env });
      assert.equal(c.code, 0, `${bin.name} check ${r}: ${c.stderr}`);
    }
  }
  for (const r of [repo, copyAll, copyCloud]) {
    const s = await snapsOf(r);
    const a = s.find((x) => x.tags?.includes('coffer-inbox') && !x.tags.includes('private'));
    assert.ok(a, `approved items are in ${r}`);
    assert.ok((await dumpFrom(r, a.id, `/inbox/${host}/photo.jpg`)).equals(files['photo.jpg']!), `photo byte-identical in ${r}`);
    assert.ok((await dumpFrom(r, a.id, `/inbox/${host}/dull.bin`)).equals(files['dull.bin']!));
    assert.ok((await dumpFrom(r, a.id, path.join(watchDir, 'DCIM', 'keep.bin'))).equals(watched['keep.bin']!), 'watched item at its own path');
    const p = s.find((x) => x.tags?.includes('coffer-inbox') && x.tags.includes('private'));
    if (r === copyCloud) {
      assert.equal(p, undefined, 'the copy that excludes private has no private item');
      assert.deepEqual(s.filter((x) => x.tags?.includes('private')).map((x) => x.paths), [], 'nor any snapshot tagged private');
    } else {
      assert.ok(p, `private item in ${r}`);
      assert.ok((await dumpFrom(r, p.id, `/inbox/${host}/secret.bin`)).equals(files['secret.bin']!));
      assert.ok((await dumpFrom(r, p.id, `/inbox/${host}/private.jpg`)).equals(files['private.jpg']!));
      assert.ok(s.some((x) => x.tags?.includes('coffer-gallery-private')), `private gallery in ${r}`);
    }
    // Pending and rejected items are in no snapshot of any repository.
    for (const name of ['pending.bin', 'reject-me.bin']) {
      const f = await runRestic(restic, ['-r', r, 'find', '--json', name], { env });
      assert.equal(f.code, 0, f.stderr);
      assert.deepEqual((JSON.parse(f.stdout || '[]') as { matches?: unknown[] }[]).flatMap((x) => x.matches ?? []), [], `${name} in no snapshot of ${r}`);
    }
  }
  // No plaintext byte or name of any item (stored ones are encrypted) in any repository file or the staging folder.
  assertNoPlaintext([repo, copyAll, copyCloud, staging], { ...files, ...watched }, 'repositories');
});

function createSha(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

test('inbox: one action at a time (a live lock holder is waited for, then exit 11; a dead one is taken over)', async () => {
  const root = tempDir('coffer-inbox-lock-');
  const repo = path.join(root, 'repo');
  const env = testEnv({ XDG_STATE_HOME: path.join(root, 'state'), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_DATA_HOME: path.join(root, 'data'), COFFER_REPOSITORY: repo });
  assert.equal((await runCoffer(['init'], { env })).code, 0);
  assert.equal((await runCoffer(['inbox', 'list'], { env })).code, 0);
  const repoId = fs.readdirSync(path.join(root, 'config', 'coffer', 'inbox')).find((n) => n.endsWith('.pub'))!.slice(0, -4);
  const lock = path.join(root, 'data', 'coffer', 'inbox', repoId, 'lock');
  fs.writeFileSync(lock, String(process.pid)); // this test process: alive
  const file = path.join(root, 'a.bin');
  fs.writeFileSync(file, randomBytes(100));
  const busy = await runCoffer(['inbox', 'add', file], { env });
  assert.equal(busy.code, 11, busy.stderr);
  assert.match(busy.stderr, /inbox is in use by process/);
  fs.writeFileSync(lock, '2147483646'); // no such process
  const r = await runCoffer(['inbox', 'add', file], { env });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(fs.existsSync(lock), false, 'released after the action');
  // An item that cannot be opened (sealed for another key, damaged) is not listed, and reject deletes it.
  const bogus = 'ab'.repeat(16);
  const bogusDir = path.join(root, 'data', 'coffer', 'inbox', repoId, 'items', bogus);
  fs.mkdirSync(bogusDir);
  fs.writeFileSync(path.join(bogusDir, 'meta'), randomBytes(200));
  fs.writeFileSync(path.join(bogusDir, 'data'), randomBytes(200));
  const listed = await runCoffer(['inbox', 'list', '--json'], { env });
  assert.equal(listed.code, 0, listed.stderr);
  assert.deepEqual((JSON.parse(listed.stdout) as { name: string }[]).map((i) => i.name), ['a.bin']);
  assert.match(listed.stderr, new RegExp(`inbox item ${bogus} cannot be opened`));
  const rej = await runCoffer(['inbox', 'reject', bogus], { env });
  assert.equal(rej.code, 0, rej.stderr);
  assert.equal(fs.existsSync(bogusDir), false);
  // A public key on the device that is not the repository's is replaced (and said so) by the next opening.
  const pubFile = path.join(root, 'config', 'coffer', 'inbox', `${repoId}.pub`);
  const good = fs.readFileSync(pubFile, 'utf8');
  fs.writeFileSync(pubFile, Buffer.alloc(32, 7).toString('base64') + '\n');
  const fixed = await runCoffer(['inbox', 'list'], { env });
  assert.equal(fixed.code, 0, fixed.stderr);
  assert.match(fixed.stderr, /inbox public key on this device was not the repository's/);
  assert.equal(fs.readFileSync(pubFile, 'utf8'), good);
});
