/**
 * Coffer's own retention for its records: bounded history per kind, the newest always kept,
 * and `coffer forget` applying it beside (never instead of) the user's policy.
 */
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { utf8Encode } from '../../src/core/bytes.js';
import { planRecordRetention } from '../../src/core/engine/records/retention.js';
import { INTERNAL_TAG, writeRecord } from '../../src/core/engine/records/records.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import type { Snapshot } from '../../src/core/format/types.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { SnapshotEntry } from '../../src/core/repository/snapshots.js';
import { openBackend } from '../../src/node/open-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { LOCK_OWNER } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { makeSourceTree } from '../helpers/tree.js';

const DAY = 86_400;
const NOW = 1_790_000_000;

function entry(kind: string, ageSec: number, n: number): SnapshotEntry {
  const snapshot: Snapshot = {
    time: fromUnixNanos(BigInt(NOW - ageSec) * 1_000_000_000n, 0),
    tree: 'a'.repeat(64),
    paths: [`/coffer/${kind}`],
    hostname: 'coffer',
    tags: [INTERNAL_TAG, `coffer-${kind}`],
  };
  return { id: `${kind.length.toString(16)}${n.toString(16).padStart(63, '0')}`, snapshot };
}

describe('record retention', () => {
  it('keeps the newest 10, one a day for 30 days and one a month per kind; the gallery its newest 2', () => {
    const entries: SnapshotEntry[] = [];
    // 400 OTP records: 20 today (every hour), then one a day for 380 days.
    for (let i = 0; i < 20; i++) entries.push(entry('otp', i * 600, i));
    for (let d = 1; d <= 380; d++) entries.push(entry('otp', d * DAY + 1, 100 + d));
    for (let i = 0; i < 5; i++) entries.push(entry('gallery', i * DAY, i));
    entries.push(entry('settings', 900 * DAY, 1)); // one, very old: still kept
    const groups = planRecordRetention(entries, NOW * 1000);
    const byKind = new Map(groups.map((g) => [(g.key.paths ?? []).join(), g]));
    const otp = byKind.get('/coffer/otp')!;
    assert.equal(otp.keep.length + otp.remove.length, 400);
    // 10 newest are today's; 30 daily: today + 29 earlier days; 12 monthly, some overlapping.
    assert.ok(otp.keep.length >= 10 + 29 && otp.keep.length <= 10 + 29 + 12, `kept ${otp.keep.length}`);
    assert.ok(otp.keep.some((e) => e.id === entries[0]!.id), 'the newest is kept');
    assert.ok(!otp.keep.some((e) => e.id === entries[399]!.id) || otp.keep.length <= 51);
    assert.deepEqual(byKind.get('/coffer/gallery')!.keep.length, 2);
    assert.deepEqual(byKind.get('/coffer/settings')!.keep.length, 1);
    assert.equal(byKind.get('/coffer/settings')!.remove.length, 0);
  });

  it('coffer forget trims record history beside the user policy, and never with a filter', async () => {
    const dir = tempDir();
    const repoDir = path.join(dir, 'repo');
    const src = path.join(dir, 'src');
    makeSourceTree(src);
    const env = testEnv({ COFFER_REPOSITORY: repoDir });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    for (let i = 0; i < 2; i++) assert.equal((await runCoffer(['backup', src], { env })).code, 0);
    const repo = await openRepository(openBackend(repoDir), await nodePlatform(), { password: env.COFFER_PASSWORD! });
    for (let i = 0; i < 13; i++) await writeRecord(repo, 'otp', [{ name: 'vault.json', data: utf8Encode(`{"n":${i}}`) }], { owner: LOCK_OWNER });

    const count = async () => {
      const s = JSON.parse((await runCoffer(['snapshots', '--json'], { env })).stdout) as { hostname: string }[];
      return { user: s.filter((x) => x.hostname !== 'coffer').length, records: s.filter((x) => x.hostname === 'coffer').length };
    };
    const filtered = await runCoffer(['forget', '--keep-last', '1', '--tag', 'nothing-has-this'], { env });
    assert.equal(filtered.code, 0, filtered.stderr);
    assert.deepEqual(await count(), { user: 2, records: 13 });
    const f = await runCoffer(['forget', '--keep-last', '1'], { env });
    assert.equal(f.code, 0, f.stderr);
    // The newest 10, plus the oldest (restic 0.17+'s rule: a daily/monthly rule with buckets to
    // spare also keeps the oldest snapshot), all 13 having been written today.
    assert.deepEqual(await count(), { user: 1, records: 11 });
    const dump = await runCoffer(['dump', 'latest', '--tag', 'coffer-otp', '/vault.json'], { env });
    assert.equal(dump.stdout, '{"n":12}');
  });

  it('coffer forget leaves inbox approvals (tag coffer-inbox) alone unless --tag coffer-inbox names them', async () => {
    const dir = tempDir();
    const src = path.join(dir, 'src');
    makeSourceTree(src);
    const env = testEnv({ COFFER_REPOSITORY: path.join(dir, 'repo') });
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    // An approval of a watched folder has the same host and paths as that folder's backups.
    for (let i = 0; i < 2; i++) assert.equal((await runCoffer(['backup', '--tag', 'coffer-inbox', src], { env })).code, 0);
    for (let i = 0; i < 2; i++) assert.equal((await runCoffer(['backup', src], { env })).code, 0);
    const tagged = async () => (JSON.parse((await runCoffer(['snapshots', '--json'], { env })).stdout) as { tags?: string[] }[]).map((x) => (x.tags ?? []).includes('coffer-inbox'));
    const f = await runCoffer(['forget', '--keep-last', '1'], { env });
    assert.equal(f.code, 0, f.stderr);
    assert.deepEqual((await tagged()).sort(), [false, true, true], 'the newest backup and both approvals stay');
    const named = await runCoffer(['forget', '--keep-last', '1', '--tag', 'coffer-inbox'], { env });
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual((await tagged()).sort(), [false, true], 'named, the policy applies to approvals');
  });
});
