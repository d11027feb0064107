/**
 * key add/passwd/remove (new passwords open the repository with coffer and with restic; the key
 * in use cannot be removed) and copy between repositories (dedup with --copy-chunker-params,
 * a second copy adds nothing, restic check --read-data passes and the copies restore exactly).
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';
import { makeFixture, type Fixture } from './fixture.js';

const restics = resticBinaries();

describe('key', () => {
  let f: Fixture;
  before(async () => {
    f = await makeFixture(tempDir(), 'coffer');
  });
  const withPw = (pw: string) => ({ ...f.env, COFFER_PASSWORD: pw, RESTIC_PASSWORD: pw });

  it('key add: the new password opens the repository with coffer and restic; list marks the current key', async () => {
    const file = path.join(f.dir, 'pw2');
    fs.writeFileSync(file, 'second password\n');
    const add = await runCoffer(['key', 'add', '--new-password-file', file, '--user', 'alice', '--host', 'box'], { env: f.env });
    assert.equal(add.code, 0, add.stderr);
    const id = /saved new key with ID ([0-9a-f]{64})/.exec(add.stdout)?.[1];
    assert.ok(id, add.stdout);
    const list = await runCoffer(['key', 'list', '--json'], { env: withPw('second password') });
    assert.equal(list.code, 0, list.stderr);
    const keys = JSON.parse(list.stdout) as { current: boolean; id: string; userName: string; hostName: string }[];
    assert.equal(keys.length, 2);
    assert.deepEqual(keys.filter((k) => k.current).map((k) => [k.id, k.userName, k.hostName]), [[id, 'alice', 'box']]);
    const text = await runCoffer(['key', 'list'], { env: f.env });
    assert.match(text.stdout, /^ ID\s+User\s+Host\s+Created$/m);
    assert.match(text.stdout, new RegExp(`^ ${id.slice(0, 8)}  alice`, 'm'));
    for (const restic of restics) {
      const r = await runRestic(restic, ['snapshots', '--json'], { env: withPw('second password') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).length, 2);
      const rl = await runRestic(restic, ['key', 'list', '--json'], { env: withPw('second password') });
      assert.equal(JSON.parse(rl.stdout).length, 2);
    }
  });

  it('key remove of the key in use is refused; of another key works', async () => {
    const keys = JSON.parse((await runCoffer(['key', 'list', '--json'], { env: f.env })).stdout) as { current: boolean; id: string }[];
    const current = keys.find((k) => k.current)!;
    const other = keys.find((k) => !k.current)!;
    const refused = await runCoffer(['key', 'remove', current.id.slice(0, 10)], { env: f.env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /refusing to remove key currently used/);
    assert.ok(!refused.stderr.includes('    at '), 'no stack trace');
    const ok = await runCoffer(['key', 'remove', other.id], { env: f.env });
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = await runCoffer(['snapshots'], { env: withPw('second password') });
    assert.equal(wrong.code, 12);
  });

  it('key passwd: the new password works, the old one no longer does', async () => {
    const file = path.join(f.dir, 'pw3');
    fs.writeFileSync(file, 'third password');
    const p = await runCoffer(['key', 'passwd', '--new-password-file', file], { env: f.env });
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /saved new key as [0-9a-f]{64}/);
    assert.equal((await runCoffer(['snapshots'], { env: f.env })).code, 12);
    assert.equal((await runCoffer(['snapshots'], { env: withPw('third password') })).code, 0);
    for (const restic of restics) {
      const r = await runRestic(restic, ['cat', 'config'], { env: withPw('third password') });
      assert.equal(r.code, 0, r.stderr);
    }
    assert.equal(fs.readdirSync(path.join(f.repo, 'keys')).length, 1);
    assert.equal(fs.readdirSync(path.join(f.repo, 'locks')).length, 0, 'lock released');
  });
});

describe('copy', () => {
  let f: Fixture;
  const dir = tempDir();
  const envFor = (repo: string) => testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo, COFFER_FROM_REPOSITORY: f.repo, RESTIC_FROM_PASSWORD: 'test-password' });
  before(async () => {
    const restic = restics[restics.length - 1];
    assert.ok(restic, 'restic is needed');
    f = await makeFixture(path.join(dir, 'src-side'), restic);
  });

  const dataBlobs = async (env: NodeJS.ProcessEnv) => {
    const r = await runRestic(restics[0]!, ['list', 'blobs'], { env });
    return r.stdout.split('\n').filter((l) => l.startsWith('data ')).length;
  };

  it('into a repository with the same chunker parameters: everything, then nothing more', async () => {
    const repo = path.join(dir, 'same-chunker');
    const env = envFor(repo);
    const init = await runCoffer(['init', '--copy-chunker-params'], { env });
    assert.equal(init.code, 0, init.stderr);
    const pol = async (e: NodeJS.ProcessEnv) => JSON.parse((await runRestic(restics[0]!, ['cat', 'config'], { env: e })).stdout).chunker_polynomial;
    assert.equal(await pol(env), await pol(f.env));

    const c1 = await runCoffer(['copy', '--json'], { env });
    assert.equal(c1.code, 0, c1.stderr);
    const r1 = JSON.parse(c1.stdout.trim().split('\n').pop()!);
    assert.equal(r1.copied.length, 2);
    assert.equal(await dataBlobs(env), await dataBlobs(f.env));

    // A plain second copy adds nothing.
    const c2 = await runCoffer(['copy', '--json'], { env });
    const r2 = JSON.parse(c2.stdout.trim().split('\n').pop()!);
    assert.deepEqual([r2.copied.length, r2.skipped, r2.data_blobs, r2.tree_blobs], [0, 2, 0, 0]);

    // Identical data backed up again in the source: its copy adds no data blob (same chunks).
    const b = await runRestic(restics[0]!, ['backup', '--tag', 'again', f.src], { env: f.env });
    assert.equal(b.code, 0, b.stderr);
    const c3 = await runCoffer(['copy', '--json', '--tag', 'again'], { env });
    const r3 = JSON.parse(c3.stdout.trim().split('\n').pop()!);
    assert.equal(r3.copied.length, 1);
    assert.equal(r3.data_blobs, 0);

    for (const restic of restics) {
      const chk = await runRestic(restic, ['check', '--read-data'], { env });
      assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    }
    // restic's own copy recognizes coffer's copies (original and fields) and copies nothing.
    const back = await runRestic(restics[restics.length - 1]!, ['copy', '--from-repo', f.repo, '--from-password-file', path.join(f.dir, 'same-password')], { env });
    assert.equal(back.code, 0, back.stderr);
    assert.doesNotMatch(back.stdout, /copy started/);

    const snaps = JSON.parse((await runRestic(restics[0]!, ['snapshots', '--json'], { env })).stdout) as { id: string; original: string }[];
    const latest = snaps.find((s) => s.original === f.snapshots[1])!;
    assert.ok(latest, 'the copy names its original');
    const target = path.join(dir, 'restored');
    const rr = await runRestic(restics[0]!, ['restore', latest.id, '--target', target], { env });
    assert.equal(rr.code, 0, rr.stderr);
    assert.deepEqual(diffTrees(describeTree(f.src), describeTree(path.join(target, f.src))), []);
  });

  it('into a repository with other chunker parameters: snapshots restore exactly', async () => {
    const repo = path.join(dir, 'other-chunker');
    const env = envFor(repo);
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    const c = await runCoffer(['copy', f.snapshots[0]!.slice(0, 8)], { env });
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /copy started/);
    const chk = await runRestic(restics[restics.length - 1]!, ['check', '--read-data'], { env });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    const target = path.join(dir, 'restored-other');
    const rr = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(rr.code, 0, rr.stderr);
    const restored = describeTree(path.join(target, f.src));
    assert.equal(restored.get('/b/y.txt')?.sha256 !== undefined, true, 'first snapshot content');
    const missing = await runCoffer(['copy', '--from-repo', path.join(dir, 'nothing-here')], { env });
    assert.equal(missing.code, 10);
  });
});
