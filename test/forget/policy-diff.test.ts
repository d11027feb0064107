/**
 * Differential test of the retention policy: one repository with snapshots written directly
 * (varied hosts, paths, tags, zone offsets, clusters around hour/day/ISO-week/year edges, one in
 * the future), then a battery of policies: `coffer forget --dry-run --json` must keep and remove
 * exactly what `restic forget --dry-run --json` does (0.18: with the same reasons; 0.14 for the
 * rules it shares).
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { utf8Encode } from '../../src/core/bytes.js';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import type { Snapshot } from '../../src/core/format/types.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import { openBackend } from '../../src/node/open-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';

const binaries = resticBinaries();
const latest = binaries.find((b) => b.name === 'restic-latest');
const old = binaries.find((b) => b.name === 'restic-0.14');

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const HOUR = 3600;
const DAY = 86400;
const OFFSETS = [0, 0, 19800, -28800, 3600, -3600 * 11, 13 * 3600];

function history(): Omit<Snapshot, 'tree'>[] {
  const r = rng(42);
  const pick = <T,>(a: readonly T[]): T => a[Math.floor(r() * a.length)]!;
  const now = Math.floor(Date.now() / 1000);
  const times = new Set<number>();
  // Spread over three years, with bursts (several per hour/day) and year-end/ISO-week edges.
  for (let i = 0; i < 70; i++) times.add(now - Math.floor(r() * 3 * 365 * DAY));
  for (let i = 0; i < 30; i++) times.add(now - Math.floor(r() * 20 * DAY));
  for (let i = 0; i < 25; i++) times.add(now - Math.floor(r() * 3 * DAY));
  const burst = now - 40 * DAY;
  for (let i = 0; i < 12; i++) times.add(burst + Math.floor(r() * 5 * HOUR));
  for (const y of [2022, 2023, 2024]) {
    const newYear = Date.UTC(y + 1, 0, 1) / 1000;
    for (const d of [-3 * DAY, -DAY - 7 * HOUR, -HOUR, 30 * 60, 2 * DAY, 4 * DAY + 5 * HOUR]) times.add(newYear + d);
  }
  const out: Omit<Snapshot, 'tree'>[] = [];
  for (const sec of [...times].sort((a, b) => a - b)) {
    const host = pick(['h1', 'h1', 'h2', 'laptop']);
    const paths = pick([['/data'], ['/data'], ['/home/u', '/etc'], ['/etc', '/home/u']]);
    const tags = pick([[], [], ['a'], ['b', 'c'], ['c', 'b'], ['a', 'x']]);
    out.push({ time: { sec, nsec: Math.floor(r() * 1e9), offsetSec: pick(OFFSETS) }, paths, hostname: host, ...(tags.length ? { tags } : {}) });
  }
  // One snapshot in the future: "newest" for the within rules must ignore it.
  out.push({ time: { sec: Math.floor(Date.now() / 1000) + 200 * DAY, nsec: 0, offsetSec: 0 }, paths: ['/data'], hostname: 'h1' });
  return out;
}

interface GroupOut {
  tags: string[] | null;
  host: string;
  paths: string[] | null;
  keep: { id: string }[] | null;
  remove: { id: string }[] | null;
  reasons: { snapshot: { id: string }; matches: string[] }[] | null;
}

/** Groups keyed by their key, each with sorted keep/remove IDs and reasons by ID. */
function normalize(json: string): Map<string, { keep: string[]; remove: string[]; reasons: Record<string, string[]> }> {
  const groups = JSON.parse(json) as GroupOut[];
  const out = new Map<string, { keep: string[]; remove: string[]; reasons: Record<string, string[]> }>();
  for (const g of groups) {
    const key = JSON.stringify([g.host, g.paths, g.tags]);
    const reasons: Record<string, string[]> = {};
    for (const r of g.reasons ?? []) reasons[r.snapshot.id] = r.matches;
    out.set(key, { keep: (g.keep ?? []).map((s) => s.id).sort(), remove: (g.remove ?? []).map((s) => s.id).sort(), reasons });
  }
  return out;
}

const POLICIES: { args: string[]; v014?: boolean }[] = [
  { args: ['--keep-last', '5'], v014: true },
  { args: ['--keep-hourly', '10'] },
  { args: ['--keep-daily', '7'] },
  { args: ['--keep-daily', '400'] },
  { args: ['--keep-weekly', '5', '--keep-monthly', '6'] },
  { args: ['--keep-monthly', '12', '--keep-yearly', 'unlimited'] },
  { args: ['--keep-weekly', 'unlimited', '--group-by', ''] },
  { args: ['--keep-yearly', '10'] },
  { args: ['--keep-within', '1y2m'], v014: true },
  { args: ['--keep-within', '3d12h'], v014: true },
  { args: ['--keep-within', '1m'], v014: true },
  { args: ['--keep-within-daily', '10d', '--keep-within-weekly', '2m', '--keep-within-monthly', '1y'] },
  { args: ['--keep-within-hourly', '2d', '--keep-within-yearly', '5y'] },
  { args: ['--keep-tag', 'a', '--keep-tag', 'b,c', '--keep-last', '1'], v014: true },
  { args: ['--keep-daily', '3', '--group-by', 'host'] },
  { args: ['--keep-last', '2', '--group-by', 'tags,paths'], v014: true },
  { args: ['--keep-monthly', '3', '--keep-hourly', '4', '--host', 'h1', '--tag', 'a'] },
  { args: ['--keep-yearly', '2', '--keep-last', '3', '--path', '/data', '--group-by', 'host,tags'] },
];

describe('forget policy: coffer agrees with restic', { skip: binaries.length === 0 ? 'restic not installed' : false }, () => {
  const dir = tempDir('coffer-forget-diff-');
  const repoDir = `${dir}/repo`;
  const env = testEnv();
  before(async () => {
    const init = await runCoffer(['init', '-r', repoDir], { env });
    assert.equal(init.code, 0, init.stderr);
    const repo = await openRepository(openBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const saver = new BlobSaver(repo, new MasterIndex());
    const tree = (await saver.save('tree', utf8Encode('{"nodes":[]}\n'))).id;
    await saver.flush();
    for (const s of history()) await repo.saveUnpacked('snapshots', encodeSnapshot({ ...s, tree }));
  });

  for (const p of POLICIES) {
    test(p.args.join(' '), async () => {
      const mine = await runCoffer(['forget', '-r', repoDir, '--dry-run', '--json', ...p.args], { env });
      assert.equal(mine.code, 0, mine.stderr);
      const ours = normalize(mine.stdout);
      let kept = 0;
      for (const g of ours.values()) kept += g.keep.length;
      assert.ok(kept > 0);
      for (const bin of [latest, p.v014 ? old : undefined]) {
        if (!bin) continue;
        const theirs = await runRestic(bin, ['-r', repoDir, 'forget', '--dry-run', '--json', ...p.args], { env });
        assert.equal(theirs.code, 0, theirs.stderr);
        const t = normalize(theirs.stdout.trim().split('\n').find((l) => l.startsWith('['))!);
        assert.deepEqual([...ours.keys()].sort(), [...t.keys()].sort(), `${bin.name}: groups`);
        for (const [k, g] of t) {
          const o = ours.get(k)!;
          assert.deepEqual(o.keep, g.keep, `${bin.name} ${k}: keep`);
          assert.deepEqual(o.remove, g.remove, `${bin.name} ${k}: remove`);
          if (bin === latest) assert.deepEqual(o.reasons, g.reasons, `${bin.name} ${k}: reasons`);
        }
      }
    });
  }

  test('refusals: no policy, removing a whole group, unknown group field', async () => {
    const none = await runCoffer(['forget', '-r', repoDir, '--dry-run'], { env });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no policy was specified/);
    const all = await runCoffer(['forget', '-r', repoDir, '--dry-run', '--keep-tag', 'no-such-tag'], { env });
    assert.equal(all.code, 1);
    assert.match(all.stderr, /refusing to delete last snapshot of snapshot group/);
    const bad = await runCoffer(['forget', '-r', repoDir, '--dry-run', '--keep-last', '1', '--group-by', 'color'], { env });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /unknown grouping option "color"/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });
});
