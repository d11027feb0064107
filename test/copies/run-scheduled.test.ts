/**
 * `coffer run-scheduled` as the timer runs it: backup of the scheduled paths, sync, the weekly
 * check and a drill with the normal password (no kit at hand), then status; each run one JSON
 * line in runs.jsonl. When a copy vanishes the run fails, a failure alert and an unsafe alert go
 * out (command hook), and status --offline shows the copy unreachable with the run history. A
 * pack deleted from the copy fails the sync's structure check: status says check-failed.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { loadConfig, saveConfig } from '../../src/node/config.js';

let dir: string;
let env: NodeJS.ProcessEnv;

before(() => {
  dir = tempDir('coffer-scheduled-');
  env = testEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data') });
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
});

async function coffer(args: string[], code = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await runCoffer(args, { env });
  assert.equal(r.code, code, `coffer ${args.join(' ')} → ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

function alerts(): { event: string; message?: string; reasons: { code: string; copy?: string }[] }[] {
  const f = path.join(dir, 'alerts.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

test('run-scheduled: steps logged; a vanished copy sends a failure alert and status says unreachable', { timeout: 60_000 }, async () => {
  await coffer(['backup', path.join(dir, 'src')]);
  await coffer(['copies', 'add', 'usb', path.join(dir, 'usb')]);
  await coffer(['kit', '--output', path.join(dir, 'kit.txt')]);
  await coffer(['alert', 'add', 'command', `cat >> ${path.join(dir, 'alerts.log')}`]);
  const config = loadConfig(env)!;
  saveConfig({ ...config, schedule: { mode: 'cron', daily: '03:30', drillEveryDays: 7, paths: [path.join(dir, 'src')], installedAt: new Date().toISOString() } }, env);

  fs.writeFileSync(path.join(dir, 'src', 'c.txt'), 'c\n');
  const r1 = JSON.parse((await coffer(['run-scheduled', '--json'])).stdout) as { ok: boolean; steps: { step: string; ok: boolean }[]; verdict: string };
  // Every step ran: the drill too (never run by a schedule before), with the normal password.
  assert.deepEqual(r1.steps.map((s) => [s.step, s.ok]), [['backup', true], ['sync', true], ['check', true], ['drill', true]], JSON.stringify(r1.steps));
  assert.equal(r1.verdict, 'safe', 'synced, checked, drilled, and the kit names the copy');
  assert.deepEqual(alerts(), [], 'safe and no failure: nothing sent');
  const st0 = JSON.parse((await coffer(['status', '--json'])).stdout) as { copies: { lastDrill: { verdict: string; mode: string } }[] };
  assert.deepEqual(st0.copies[0]!.lastDrill && [st0.copies[0]!.lastDrill.verdict, st0.copies[0]!.lastDrill.mode], ['pass', 'sample'], 'the drill recorded itself in the copy');

  fs.renameSync(path.join(dir, 'usb'), path.join(dir, 'usb-gone'));
  const run2 = JSON.parse((await coffer(['run-scheduled', '--json'], 1)).stdout) as { ok: boolean; steps: { step: string; ok: boolean; error?: string }[]; verdict: string };
  assert.deepEqual(run2.steps.map((s) => [s.step, s.ok]), [['backup', true], ['sync', false]], 'the weekly check and the drill are not repeated');
  assert.match(run2.steps[1]!.error!, /^usb: /);
  assert.equal(run2.verdict, 'unsafe');
  assert.deepEqual(alerts().map((a) => a.event), ['failure', 'unsafe']);
  assert.match(alerts()[0]!.message!, /sync failed: usb: /);
  assert.ok(alerts()[1]!.reasons.some((r) => r.code === 'unreachable' && r.copy === 'usb'));
  const log = fs.readFileSync(path.join(dir, 'state', 'coffer', 'runs.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { ok: boolean });
  assert.deepEqual(log.map((l) => l.ok), [true, false]);
  const st = JSON.parse((await coffer(['status', '--json', '--offline'], 1)).stdout) as { reasons: { code: string; copy?: string }[]; lastRuns: unknown[] };
  assert.deepEqual(st.reasons[0], { ...st.reasons[0], code: 'unreachable', copy: 'usb' });
  assert.equal(st.lastRuns.length, 2);

  // The copy is back but a pack of it is gone: the sync's structure check fails it (check-failed),
  // the failure alert is not repeated the same day, the new reason is sent.
  fs.renameSync(path.join(dir, 'usb-gone'), path.join(dir, 'usb'));
  const dataDir = path.join(dir, 'usb', 'data');
  const shard = fs.readdirSync(dataDir).find((d) => fs.readdirSync(path.join(dataDir, d)).length > 0)!;
  const pack = fs.readdirSync(path.join(dataDir, shard))[0]!;
  fs.rmSync(path.join(dataDir, shard, pack));
  const run3 = JSON.parse((await coffer(['run-scheduled', '--json'], 1)).stdout) as { steps: { step: string; ok: boolean; error?: string }[] };
  assert.match(run3.steps[1]!.error!, new RegExp(`^usb: structure check found \\d+ problem\\(s\\): missing-pack: data/${shard}/${pack}`));
  assert.deepEqual(alerts().map((a) => a.event), ['failure', 'unsafe', 'unsafe']);
  assert.ok(alerts()[2]!.reasons.some((r) => r.code === 'check-failed' && r.copy === 'usb'));
  const st3 = JSON.parse((await coffer(['status', '--json'], 1)).stdout) as { reasons: { code: string; copy?: string }[]; copies: { reachable: boolean }[] };
  assert.deepEqual(st3.reasons[0], { ...st3.reasons[0], code: 'check-failed', copy: 'usb' });
  assert.equal(st3.copies[0]!.reachable, true);
});
