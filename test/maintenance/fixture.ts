/** A small repository with two snapshots of a changing folder, written by coffer or by restic. */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { prng } from '../helpers/tree.js';
import { runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';

export interface Fixture {
  readonly dir: string;
  readonly src: string;
  readonly repo: string;
  readonly env: NodeJS.ProcessEnv;
  /** Snapshot IDs, oldest first. */
  readonly snapshots: string[];
}

export function writeVersion1(src: string): void {
  const w = (rel: string, data: Buffer | string) => {
    fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
    fs.writeFileSync(path.join(src, rel), data);
  };
  w('a/x.txt', 'hello\n');
  w('a/big.bin', prng('big', 1_500_000));
  w('b/y.txt', 'yo\n');
  w('b/deep/z.TXT', 'zz\n');
  w('same1.txt', 'same\n');
  w('same2.txt', 'same\n');
  fs.linkSync(path.join(src, 'a/x.txt'), path.join(src, 'a/x-link.txt'));
  fs.symlinkSync('a/x.txt', path.join(src, 'sym'));
}

export function writeVersion2(src: string): void {
  fs.writeFileSync(path.join(src, 'a/x.txt'), 'hello, changed\n');
  fs.rmSync(path.join(src, 'b/y.txt'));
  fs.mkdirSync(path.join(src, 'c'));
  fs.writeFileSync(path.join(src, 'c/new.txt'), 'new\n');
  fs.chmodSync(path.join(src, 'same1.txt'), 0o600);
  fs.rmSync(path.join(src, 'sym'));
  fs.writeFileSync(path.join(src, 'sym'), 'now a file\n');
}

/** Two backups (before and after writeVersion2) by coffer or by the given restic. */
export async function makeFixture(dir: string, by: 'coffer' | ResticBinary): Promise<Fixture> {
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
  writeVersion1(src);
  const run = (args: string[]) => (by === 'coffer' ? runCoffer(args, { env }) : runRestic(by, args, { env }));
  const init = await run(['init']);
  assert.equal(init.code, 0, init.stderr);
  if (by !== 'coffer') await cheapKey(dir, repo, env);
  const snapshots: string[] = [];
  for (const step of [() => undefined, () => writeVersion2(src)]) {
    step();
    const b = await run(['backup', '--json', src]);
    assert.equal(b.code, 0, b.stderr);
    snapshots.push(JSON.parse(b.stdout.trim().split('\n').pop()!).snapshot_id);
  }
  return { dir, src, repo, env, snapshots };
}

/**
 * Replaces restic's calibrated (slow) key by a cheap one with the same password, using coffer's
 * `key add` and `key remove`, so that every later command opens the repository quickly.
 */
async function cheapKey(dir: string, repo: string, env: NodeJS.ProcessEnv): Promise<void> {
  const [old] = fs.readdirSync(path.join(repo, 'keys'));
  const pw = path.join(dir, 'same-password');
  fs.writeFileSync(pw, String(env.COFFER_PASSWORD));
  const add = await runCoffer(['key', 'add', '--new-password-file', pw], { env });
  assert.equal(add.code, 0, add.stderr);
  const id = /saved new key with ID ([0-9a-f]{64})/.exec(add.stdout)![1]!;
  const rm = await runCoffer(['key', 'remove', old!, '--key-hint', id], { env });
  assert.equal(rm.code, 0, rm.stderr);
  assert.deepEqual(fs.readdirSync(path.join(repo, 'keys')), [id]);
}
