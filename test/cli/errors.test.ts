/**
 * Exit codes and messages for bad input, as restic's: wrong password 12, no repository 10,
 * locked 11, usage errors 1, unreadable source files 3 (snapshot still written). Never a stack trace.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

const noStack = (s: string) => assert.doesNotMatch(s, /\n\s+at .+\(.+:\d+:\d+\)/);

describe('exit codes', () => {
  const dir = tempDir();
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repo });

  it('no repository: exit 10', async () => {
    const r = await runCoffer(['snapshots'], { env });
    assert.equal(r.code, 10);
    assert.match(r.stderr, /no repository/i);
    noStack(r.stderr);
  });

  it('wrong password: exit 12', async () => {
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const r = await runCoffer(['snapshots'], { env: { ...env, COFFER_PASSWORD: 'not-it' } });
    assert.equal(r.code, 12, r.stderr);
    assert.match(r.stderr, /wrong password/i);
    assert.doesNotMatch(r.stderr, /not-it/);
    noStack(r.stderr);
  });

  it('init over an existing repository fails', async () => {
    const r = await runCoffer(['init'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /already exists/);
  });

  it('unknown flag: exit 1 with a usage message', async () => {
    const r = await runCoffer(['backup', '--no-such-flag', dir], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /no-such-flag/);
    noStack(r.stderr);
  });

  it('unreadable file: reported, snapshot written, exit 3', async () => {
    // As root every file is readable, so run coffer as "nobody" then (CI runs as root).
    const asNobody = process.getuid?.() === 0;
    const work = path.join(dir, 'unreadable');
    fs.mkdirSync(path.join(work, 'src'), { recursive: true });
    fs.writeFileSync(path.join(work, 'src', 'ok.txt'), 'ok');
    fs.writeFileSync(path.join(work, 'src', 'secret.txt'), 'no');
    fs.chmodSync(path.join(work, 'src', 'secret.txt'), 0);
    if (asNobody) {
      fs.chmodSync(dir, 0o755);
      fs.chmodSync(work, 0o777);
    }
    // The default repository (under XDG_DATA_HOME) is created on first use.
    const { COFFER_REPOSITORY: _unused, ...rest } = env;
    const r = await runCoffer(['backup', path.join(work, 'src')], {
      env: { ...rest, HOME: work, XDG_DATA_HOME: work },
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    });
    assert.equal(r.code, 3, r.stdout + r.stderr);
    assert.match(r.stderr, /secret\.txt/);
    assert.match(r.stdout, /snapshot [0-9a-f]{8} saved/);
    noStack(r.stderr);
  });

  it('a tampered pack: restore names the blob and pack, exits 1, and leaves no complete-looking file', async () => {
    const work = path.join(dir, 'tamper');
    const src = path.join(work, 'src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(path.join(src, 'good.txt'), 'good\n');
    const big = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < big.length; i++) big[i] = (i * 7919) % 251;
    fs.writeFileSync(path.join(src, 'victim.bin'), big);
    const tenv = { ...env, COFFER_REPOSITORY: path.join(work, 'repo'), COFFER_COMPRESSION: 'off' };
    assert.equal((await runCoffer(['init'], { env: tenv })).code, 0);
    assert.equal((await runCoffer(['backup', src], { env: tenv })).code, 0);
    // Flip one byte in the middle of the largest data pack (the one holding victim.bin).
    const packs: string[] = [];
    for (const shard of fs.readdirSync(path.join(work, 'repo', 'data'))) {
      for (const f of fs.readdirSync(path.join(work, 'repo', 'data', shard))) packs.push(path.join(work, 'repo', 'data', shard, f));
    }
    const victim = packs.sort((a, b) => fs.statSync(b).size - fs.statSync(a).size)[0]!;
    fs.chmodSync(victim, 0o600);
    const bytes = fs.readFileSync(victim);
    bytes[Math.floor(bytes.length / 2)] ^= 0x40;
    fs.writeFileSync(victim, bytes);

    const target = path.join(work, 'restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env: tenv });
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /victim\.bin/);
    assert.match(r.stderr, new RegExp(path.basename(victim).slice(0, 16)));
    noStack(r.stderr);
    const restored = path.join(target, src);
    assert.equal(fs.readFileSync(path.join(restored, 'good.txt'), 'utf8'), 'good\n');
    assert.ok(!fs.existsSync(path.join(restored, 'victim.bin')), 'a damaged file is not left under its name');
  });
});
