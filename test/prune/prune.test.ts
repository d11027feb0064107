/**
 * forget --prune and prune on a Coffer-written repository with several real backups (files
 * deleted and changed between them): afterwards both restics accept it (check --read-data, and
 * --check-unused after --max-unused 0), every kept snapshot restores exactly, and it shrank.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees, prng, type EntryInfo } from '../helpers/tree.js';

const restics = resticBinaries();

function dirSize(d: string): number {
  let n = 0;
  for (const e of fs.readdirSync(d, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) n += fs.statSync(path.join(e.parentPath ?? (e as { path: string }).path, e.name)).size;
  }
  return n;
}

describe('prune', () => {
  const dir = tempDir('coffer-prune-');
  const src = path.join(dir, 'src');
  const repo = path.join(dir, 'repo');
  const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
  /** Snapshot ID -> the source as it was backed up. */
  const states = new Map<string, Map<string, EntryInfo>>();
  const order: string[] = [];

  async function backup(): Promise<void> {
    const b = await runCoffer(['backup', '--json', src], { env });
    assert.equal(b.code, 0, b.stderr);
    const id = JSON.parse(b.stdout.trim().split('\n').pop()!).snapshot_id as string;
    states.set(id, describeTree(src));
    order.push(id);
  }

  async function checkAll(extra: string[] = []): Promise<void> {
    for (const r of restics) {
      const c = await runRestic(r, ['check', '--read-data', ...extra], { env });
      assert.equal(c.code, 0, `${r.name}: ${c.stdout}${c.stderr}`);
      assert.match(c.stdout, /no errors were found/);
    }
  }

  async function restoresExactly(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const target = path.join(dir, `restore-${id.slice(0, 8)}-${Math.random().toString(36).slice(2)}`);
      const r = await runCoffer(['restore', id, '--target', target], { env });
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(diffTrees(states.get(id)!, describeTree(path.join(target, src))), [], `snapshot ${id}`);
      fs.rmSync(target, { recursive: true, force: true });
    }
  }

  before(async () => {
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
    for (let i = 0; i < 10; i++) fs.writeFileSync(path.join(src, i % 2 ? 'sub' : '', `f${i}.bin`), prng(`f${i}`, 150_000 + i * 1000));
    fs.writeFileSync(path.join(src, 'small.txt'), 'small\n');
    await backup();
    fs.rmSync(path.join(src, 'f0.bin'));
    fs.rmSync(path.join(src, 'sub', 'f1.bin'));
    fs.writeFileSync(path.join(src, 'new.bin'), prng('new', 120_000));
    await backup();
    fs.rmSync(path.join(src, 'f2.bin'));
    fs.writeFileSync(path.join(src, 'f4.bin'), prng('f4-changed', 90_000));
    await backup();
    fs.rmSync(path.join(src, 'sub'), { recursive: true });
    await backup();
  });

  test('prune --dry-run changes nothing and reports nothing to delete while all snapshots exist', async () => {
    const before = dirSize(repo);
    const r = await runCoffer(['prune', '--dry-run'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Would have made the following changes/);
    assert.match(r.stdout, /to delete:\s+0 blobs/);
    assert.equal(dirSize(repo), before); // our lock came and went
  });

  test('forget --keep-last 2 --prune: restic checks it, kept snapshots restore, it shrank', async () => {
    const before = dirSize(path.join(repo, 'data'));
    const r = await runCoffer(['forget', '--keep-last', '2', '--prune'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /remove 2 snapshots/);
    assert.match(r.stdout, /total prune:\s+[1-9]\d* blobs/);
    const snaps = JSON.parse((await runCoffer(['snapshots', '--json'], { env })).stdout) as { id: string }[];
    assert.deepEqual(snaps.map((s) => s.id).sort(), order.slice(2).sort());
    assert.ok(dirSize(path.join(repo, 'data')) < before, 'data/ shrank');
    await checkAll();
    await restoresExactly(order.slice(2));
  });

  test('prune --max-unused 0 repacks every partly used pack: no unused blob is left', async () => {
    assert.equal((await runCoffer(['forget', '--keep-last', '1'], { env })).code, 0);
    const before = dirSize(path.join(repo, 'data'));
    const r = await runCoffer(['prune', '--max-unused', '0'], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /unused size after prune: 0 B/);
    assert.match(r.stdout, /to repack:\s+[1-9]\d* blobs/);
    assert.ok(dirSize(path.join(repo, 'data')) < before, 'data/ shrank');
    await checkAll(['--check-unused']);
    await restoresExactly(order.slice(3));
    // A second prune has nothing to do.
    const again = await runCoffer(['prune'], { env });
    assert.match(again.stdout, /total prune:\s+0 blobs/);
  });

  test('bad limits are refused with a message, not a stack trace', async () => {
    const r = await runCoffer(['prune', '--max-unused', 'lots'], { env });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /invalid --max-unused "lots"/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});
