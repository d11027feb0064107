/**
 * Awkward entries in a backup source, compared with restic 0.14 backing up the same folder:
 * a fifo (never opened, so the backup cannot block on it), a socket (skipped, as restic), a
 * character and a block device (as root), names and a symlink target that are not valid UTF-8,
 * and an unreadable file and folder. As root, both programs run as `nobody` so that the
 * unreadable entries really are unreadable. Coffer, like restic, exits 3, lists what it could not
 * read, and stores everything else; both snapshots list the same entries; restic check passes;
 * Coffer's snapshot restores exactly through Coffer and through the current restic.
 */
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runProcess, runRestic, testEnv, type RunResult } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';
import { IS_ROOT, NOBODY, openToAll } from './support.js';

const restics = resticBinaries();
const restic014 = restics.find((r) => r.name === 'restic-0.14');
// restic 0.14 restores a symlink target that is not UTF-8 with U+FFFD marks (it has no
// linktarget_raw); the current restic restores it byte for byte, so restores go through that one.
const resticLatest = restics.find((r) => r.name === 'restic-latest');

describe('awkward entries: fifo, socket, devices, non-UTF-8 names, unreadable files', { skip: !(restic014 && resticLatest) && 'restic not installed' }, () => {
  const dir = tempDir('coffer-awk-nodes-');
  const src = path.join(dir, 'src');
  const home = path.join(dir, 'home');
  const cofferRepo = path.join(dir, 'coffer-repo');
  const resticRepo = path.join(dir, 'restic-repo');
  const badName = Buffer.concat([Buffer.from(src + '/bad-'), Buffer.from([0xff, 0xfe, 0x80]), Buffer.from('.txt')]);
  const badDir = Buffer.concat([Buffer.from(src + '/dir-'), Buffer.from([0xc3, 0x28])]);
  const unreadable = path.join(src, 'secret.txt');
  const closed = path.join(src, 'closed');
  let server: net.Server;
  // Run as nobody when root (root can read anything); as ourselves otherwise.
  const as = IS_ROOT ? { uid: NOBODY, gid: NOBODY } : {};
  const env = (repo: string) => testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, HOME: home });
  let coffer: RunResult;
  let cofferJson: RunResult;
  let restic: RunResult;

  const lsSet = async (repo: string): Promise<string[]> => {
    const r = await runRestic(restic014!, ['ls', '--json', 'latest'], { env: env(repo) });
    assert.equal(r.code, 0, r.stderr);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l))
      .filter((n) => n.struct_type === 'node')
      .map((n) => `${n.type} ${n.path}${n.type === 'symlink' ? ` -> ${n.link_target ?? ''}` : ''}`)
      .sort();
  };

  before(async () => {
    for (const d of [dir, home]) {
      fs.mkdirSync(d, { recursive: true });
      openToAll(d);
    }
    fs.mkdirSync(src);
    fs.writeFileSync(path.join(src, 'plain.txt'), 'plain\n');
    execFileSync('mkfifo', [path.join(src, 'fifo')]);
    server = net.createServer();
    await new Promise<void>((res) => server.listen(path.join(src, 'socket'), res));
    if (IS_ROOT) {
      execFileSync('mknod', [path.join(src, 'chardev'), 'c', '1', '3']);
      execFileSync('mknod', [path.join(src, 'blockdev'), 'b', '7', '200']);
    }
    fs.writeFileSync(badName, 'latin-1 name\n');
    fs.mkdirSync(badDir);
    fs.writeFileSync(Buffer.concat([badDir, Buffer.from('/inside.txt')]), 'inside\n');
    fs.symlinkSync(Buffer.from([0x74, 0xe9, 0x2e, 0x74, 0x78, 0x74]), path.join(src, 'link-to-latin1'));
    fs.writeFileSync(unreadable, 'nobody may read this\n');
    fs.chmodSync(unreadable, 0o000);
    fs.mkdirSync(closed);
    fs.writeFileSync(path.join(closed, 'hidden.txt'), 'hidden\n');
    fs.chmodSync(closed, 0o000);

    for (const [repo, init] of [
      [cofferRepo, () => runCoffer(['init'], { env: env(cofferRepo), ...as })],
      [resticRepo, () => runProcess(restic014!.path, ['--no-cache', 'init'], { env: env(resticRepo), ...as })],
    ] as const) {
      const r = await init();
      assert.equal(r.code, 0, `init ${repo}: ${r.stdout}${r.stderr}`);
    }
    coffer = await runCoffer(['backup', src], { env: env(cofferRepo), ...as });
    cofferJson = await runCoffer(['backup', '--json', src], { env: env(cofferRepo), ...as });
    restic = await runProcess(restic014!.path, ['--no-cache', 'backup', src], { env: env(resticRepo), ...as });
  });

  after(() => {
    server?.close();
    fs.chmodSync(closed, 0o755);
  });

  it('exit 3 and a list of what could not be read, as restic', () => {
    assert.equal(restic.code, 3, `restic: ${restic.stderr}`);
    assert.equal(coffer.code, 3, `coffer: ${coffer.stdout}${coffer.stderr}`);
    assert.match(coffer.stderr, /2 source files could not be read and are not in the snapshot:/);
    assert.match(coffer.stderr, new RegExp(`^  ${unreadable}$`, 'm'));
    assert.match(coffer.stderr, new RegExp(`^  ${closed}$`, 'm'));
    assert.match(coffer.stderr, /permission denied/);
    assert.match(coffer.stdout, /snapshot [0-9a-f]{8} saved/);
    assert.equal(cofferJson.code, 3);
    const errors = cofferJson.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.message_type === 'error');
    assert.deepEqual(errors.map((e) => e.item).sort(), [closed, unreadable].sort());
  });

  it('both snapshots hold the same entries (socket skipped, non-UTF-8 names kept, devices as root)', async () => {
    const ours = await lsSet(cofferRepo);
    const theirs = await lsSet(resticRepo);
    assert.deepEqual(ours, theirs);
    assert.ok(ours.some((l) => l.startsWith('fifo ')), 'the fifo is stored');
    assert.ok(!ours.some((l) => l.includes('/socket')), 'the socket is skipped');
    assert.ok(!ours.some((l) => l.includes('secret.txt') || l.includes('/closed')), 'unreadable entries are left out');
    if (IS_ROOT) assert.ok(ours.some((l) => l.startsWith('chardev ')) && ours.some((l) => l.startsWith('dev ')), 'devices are stored');
  });

  it('restic check passes and the snapshot restores exactly through Coffer and through restic', async () => {
    const c = await runRestic(restic014!, ['check', '--read-data'], { env: env(cofferRepo) });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const skipped = (p: string) => p === '/socket' || p === '/secret.txt' || p === '/closed' || p.startsWith('/closed/');
    const want = describeTree(src);
    for (const via of ['coffer', 'restic'] as const) {
      const target = path.join(dir, `restore-${via}`);
      const r = via === 'coffer'
        ? await runCoffer(['restore', 'latest', '--target', target], { env: env(cofferRepo) })
        : await runRestic(resticLatest!, ['restore', 'latest', '--target', target], { env: env(cofferRepo) });
      assert.equal(r.code, 0, `${via} restore: ${r.stdout}${r.stderr}`);
      const got = describeTree(path.join(target, src));
      assert.deepEqual(diffTrees(want, got, { ignore: skipped }), [], `restored through ${via}`);
      assert.ok(got.has('/bad-\xff\xfe\x80.txt') && got.has('/dir-\xc3\x28/inside.txt'), 'raw names restored byte for byte');
      assert.equal(got.get('/link-to-latin1')?.target, 't\xe9.txt');
    }
  });
});
