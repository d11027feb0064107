/**
 * stats, diff and find on a coffer-written and a restic-written repository, compared with the
 * real restic's own output on the same repository (exact text and JSON with the current restic,
 * the numbers with restic 0.14 as well).
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic } from '../helpers/run.js';
import { makeFixture, type Fixture } from './fixture.js';

const restics = resticBinaries();
const latest = restics.find((r) => r.name === 'restic-latest');

for (const origin of ['coffer', 'restic'] as const) {
  describe(`inspecting a ${origin}-written repository`, () => {
    let f: Fixture;
    before(async () => {
      const by = origin === 'coffer' ? 'coffer' : restics[restics.length - 1];
      assert.ok(by, 'restic is needed');
      f = await makeFixture(tempDir(), by);
    });

    const both = async (args: string[], restic = latest) => {
      assert.ok(restic, 'restic-latest is needed');
      const c = await runCoffer(args, { env: f.env });
      const r = await runRestic(restic, args, { env: f.env });
      assert.equal(c.code, 0, c.stderr);
      assert.equal(r.code, 0, r.stderr);
      return { c: c.stdout, r: r.stdout };
    };
    const lastLine = (s: string) => s.trim().split('\n').pop()!;

    for (const mode of ['restore-size', 'raw-data']) {
      it(`stats --mode ${mode}: the same numbers and text as restic`, async () => {
        const j = await both(['stats', '--json', '--mode', mode]);
        assert.deepEqual(JSON.parse(lastLine(j.c)), JSON.parse(lastLine(j.r)));
        assert.ok(JSON.parse(lastLine(j.c)).total_size > 1_000_000);
        const t = await both(['stats', '--mode', mode, f.snapshots[0]!]);
        const body = (s: string) => s.slice(s.indexOf('Stats in'));
        assert.equal(body(t.c), body(t.r));
        for (const old of restics.filter((r) => r !== latest)) {
          const o = await both(['stats', '--json', '--mode', mode], old);
          const a = JSON.parse(lastLine(o.c));
          const b = JSON.parse(lastLine(o.r));
          assert.equal(a.total_size, b.total_size);
          assert.equal(a.total_file_count ?? 0, b.total_file_count ?? 0);
          assert.equal(a.total_blob_count ?? 0, b.total_blob_count ?? 0);
        }
      });
    }

    it('diff: the same change lines and statistics as restic (text, --json, --metadata)', async () => {
      const [s1, s2] = f.snapshots as [string, string];
      for (const extra of [[], ['--json'], ['--metadata']]) {
        const d = await both(['diff', ...extra, s1, s2]);
        assert.equal(d.c, d.r.replace(/^repository .*\n/, ''));
      }
      const j = await runCoffer(['diff', '--json', s1, s2], { env: f.env });
      const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
      const mods = Object.fromEntries(lines.filter((l) => l.message_type === 'change').map((l) => [path.basename(l.path), l.modifier]));
      assert.equal(mods['x.txt'], 'M');
      assert.equal(mods['y.txt'], '-');
      assert.equal(mods['new.txt'], '+');
      assert.equal(mods['sym'], 'T');
      for (const old of restics.filter((r) => r !== latest)) {
        const o = await both(['diff', '--json', s1, s2], old);
        assert.equal(o.c, o.r);
      }
    });

    it('find: the same matches as restic for names, paths, -i, --long and --json', async () => {
      for (const args of [['*.txt'], ['x*'], ['-i', 'z.txt'], ['--long', 'new.txt'], ['--json', 'same*'], [`${f.src}/b`], ['deep', 'c']]) {
        const r = await both(['find', ...args]);
        assert.equal(r.c, r.r, `find ${args.join(' ')}`);
      }
      const hit = await runCoffer(['find', 'new.txt'], { env: f.env });
      assert.match(hit.stdout, /\/c\/new\.txt$/m);
      const none = await runCoffer(['find', '--json', 'nothing-like-this'], { env: f.env });
      assert.deepEqual(JSON.parse(none.stdout), []);
    });

    it('find --blob/--tree/--pack: the same uses as restic', async () => {
      assert.ok(latest);
      const blobs = (await runRestic(latest, ['list', 'blobs'], { env: f.env })).stdout.trim().split('\n').map((l) => l.split(' '));
      const data = blobs.filter(([t]) => t === 'data').map(([, id]) => id!);
      const trees = blobs.filter(([t]) => t === 'tree').map(([, id]) => id!);
      const packs = (await runRestic(latest, ['list', 'packs'], { env: f.env })).stdout.trim().split('\n');
      for (const args of [['--blob', data[0]!], ['--blob', data[1]!.slice(0, 8)], ['--json', '--tree', trees[0]!, trees[1]!], ['--pack', ...packs]]) {
        const r = await both(['find', ...args]);
        assert.equal(r.c, r.r, `find ${args.join(' ')}`);
        assert.match(r.c, /Found|object_type/);
      }
    });
  });
}
