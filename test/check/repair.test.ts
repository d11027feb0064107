/**
 * `coffer repair index` and `repair snapshots` on repositories written by Coffer and by restic:
 * after the damage is repaired the real restic's `check --read-data` passes, every snapshot
 * restores, and the command says what was lost.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';
import { buildFixture, copyRepo, envFor, filePath, files, flipByte, type Fixture } from './fixtures.js';

const restics = resticBinaries();
const latest = restics[restics.length - 1];

async function coffer(repo: string, ...args: string[]) {
  const r = await runCoffer(args, { env: envFor(repo) });
  assert.doesNotMatch(r.stderr, /\n\s+at .+:\d+:\d+/);
  return r;
}

async function resticChecksAll(repo: string): Promise<void> {
  for (const restic of restics) {
    const r = await runRestic(restic, ['check', '--read-data'], { env: envFor(repo) });
    assert.equal(r.code, 0, `${restic.name} check: ${r.stdout}${r.stderr}`);
  }
}

/** Restores a snapshot with the current restic and returns the restored copy of `src`. */
async function resticRestore(repo: string, snapshot: string, src: string): Promise<string> {
  const target = tempDir('coffer-repair-restore-');
  const r = await runRestic(latest!, ['restore', snapshot, '--target', target], { env: envFor(repo) });
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return path.join(target, src);
}

for (const kind of ['coffer', 'restic'] as const) {
  describe(`repair on a ${kind}-written repository`, { skip: restics.length === 0 }, () => {
    let f: Fixture;
    before(async () => {
      f = await buildFixture(kind, restics[0]);
    });

    it(`${kind === 'restic' ? 'rebuild-index' : 'repair index'} after losing an index file: restic check --read-data passes, every snapshot restores`, async () => {
      const repo = copyRepo(f, 'lost-index');
      const old = files(repo, 'index');
      fs.rmSync(filePath(repo, 'index', old[0]!));
      assert.equal((await coffer(repo, 'check')).code, 1, 'the damage is visible first');
      const r = await coffer(repo, ...(kind === 'restic' ? ['rebuild-index'] : ['repair', 'index']));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /read the headers of [1-9]\d* packs/);
      const now = files(repo, 'index');
      assert.ok(now.every((i) => !old.includes(i)), 'the old index files are gone');
      const c = await coffer(repo, 'check', '--read-data');
      assert.equal(c.code, 0, c.stdout + c.stderr);
      assert.doesNotMatch(c.stdout, /not referenced/);
      await resticChecksAll(repo);
      const [s1, s2] = f.snapshots;
      assert.deepEqual(diffTrees(describeTree(f.src1), describeTree(await resticRestore(repo, s1!.id, f.src1))), []);
      assert.deepEqual(diffTrees(describeTree(f.src2), describeTree(await resticRestore(repo, s2!.id, f.src2))), []);
    });

    it('repair index leaves a pack with a damaged header out and says so', async () => {
      const repo = copyRepo(f, 'bad-header');
      const pack = f.secondDataPacks[0]!;
      flipByte(filePath(repo, 'data', pack), -10);
      const r = await coffer(repo, 'repair', 'index', '--read-all-packs');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`pack ${pack}: damaged, left out of the index`));
      const c = await coffer(repo, 'check');
      assert.equal(c.code, 1, 'snapshot 2 references blobs that were only in that pack');
      assert.match(c.stdout, new RegExp(`pack ${pack}: not referenced in any index`));
      assert.match(c.stderr, /file "[^"]*\/new1\.bin" blob [0-9a-f]{64} not found in index/);
    });

    it('repair snapshots after losing a pack: lost files are named, restic check accepts the result', async () => {
      const repo = copyRepo(f, 'lost-pack');
      for (const p of f.secondDataPacks) fs.rmSync(filePath(repo, 'data', p));
      const ri = await coffer(repo, 'repair', 'index');
      assert.equal(ri.code, 0, ri.stderr);
      assert.match(ri.stderr, new RegExp(`pack ${f.secondDataPacks[0]}: listed in the index but does not exist`));

      const snapsBefore = files(repo, 'snapshots');
      const dry = await coffer(repo, 'repair', 'snapshots', '--dry-run');
      assert.equal(dry.code, 0, dry.stderr);
      assert.match(dry.stdout, /would modify 1 snapshots/);
      assert.deepEqual(files(repo, 'snapshots'), snapsBefore, '--dry-run writes nothing');

      const r = await coffer(repo, 'repair', 'snapshots', '--forget');
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /file "[^"]*\/new1\.bin": removed missing content/);
      assert.match(r.stdout, /file "[^"]*\/new2\.txt": removed missing content/);
      assert.doesNotMatch(r.stdout, /nested\.txt|a\.bin/, 'files whose data survived are untouched');
      assert.match(r.stdout, /modified 1 snapshots/);

      const [s1, s2] = f.snapshots;
      const snaps = JSON.parse((await coffer(repo, 'snapshots', '--json')).stdout) as { id: string; tags?: string[]; original?: string }[];
      assert.equal(snaps.length, 2);
      assert.ok(snaps.some((s) => s.id === s1!.id), 'the intact snapshot is kept as it was');
      const repaired = snaps.find((s) => s.id !== s1!.id)!;
      assert.notEqual(repaired.id, s2!.id, '--forget removed the damaged original');
      assert.deepEqual(repaired.tags, ['repaired']);
      assert.equal(repaired.original, s2!.id);

      const c = await coffer(repo, 'check', '--read-data');
      assert.equal(c.code, 0, c.stdout + c.stderr);
      await resticChecksAll(repo);
      assert.deepEqual(diffTrees(describeTree(f.src1), describeTree(await resticRestore(repo, s1!.id, f.src1))), []);
      const restored = await resticRestore(repo, repaired.id, f.src2);
      assert.deepEqual(diffTrees(describeTree(path.join(f.src2, 'sub')), describeTree(path.join(restored, 'sub'))), []);
      assert.equal(fs.statSync(path.join(restored, 'new1.bin')).size, 0, 'a file with all its data lost is kept, empty');

      const again = await coffer(repo, 'repair', 'snapshots');
      assert.match(again.stdout, /no snapshots were modified/);
    });

    it('repair snapshots with a lost root tree: refuses without --forget, removes the snapshot with it', async () => {
      const repo = copyRepo(f, 'lost-root');
      assert.ok(f.secondTreePacks.length > 0);
      for (const p of f.secondTreePacks) fs.rmSync(filePath(repo, 'data', p));
      assert.equal((await coffer(repo, 'repair', 'index')).code, 0);
      const [s1, s2] = f.snapshots;
      const r = await coffer(repo, 'repair', 'snapshots');
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`snapshot ${s2!.id.slice(0, 8)}: root tree is damaged, remove it with --forget`));
      assert.equal(files(repo, 'snapshots').length, 2);
      const j = await coffer(repo, 'repair', 'snapshots', '--forget', '--json');
      assert.equal(j.code, 0, j.stderr);
      const summary = JSON.parse(j.stdout.trim().split('\n').pop()!);
      assert.deepEqual(summary.removed, [s2!.id]);
      assert.deepEqual(files(repo, 'snapshots'), [s1!.id]);
      assert.equal((await coffer(repo, 'check')).code, 0);
      await resticChecksAll(repo);
    });
  });
}
