/**
 * Scans nobody asked for: `coffer web` (no password) stages new files of the watched folders on
 * its own, and so does a scheduled run (`run-scheduled`, step inbox-scan). Both with only the
 * public key this device keeps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { runCoffer, testEnv } from '../helpers/run.js';
import { tempDir } from '../helpers/paths.js';
import { startCoffer } from '../web/web-helpers.js';

interface Listed { id: string; name: string; source: string }

async function setup(prefix: string) {
  const root = tempDir(prefix);
  const repo = path.join(root, 'repo');
  const watchDir = path.join(root, 'phone');
  fs.mkdirSync(watchDir);
  const env = testEnv({ XDG_STATE_HOME: path.join(root, 'state'), XDG_CONFIG_HOME: path.join(root, 'config'), XDG_DATA_HOME: path.join(root, 'data'), COFFER_REPOSITORY: repo });
  const ok = async (args: string[], e = env) => {
    const r = await runCoffer(args, { env: e });
    assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  await ok(['init']);
  await ok(['inbox', 'list']); // makes the key pair, remembered on this device
  await ok(['inbox', 'watch', watchDir]);
  const noPassword = { ...env };
  delete noPassword.COFFER_PASSWORD;
  delete noPassword.RESTIC_PASSWORD;
  const items = () => {
    const d = path.join(root, 'data', 'coffer', 'inbox');
    const repoDir = fs.readdirSync(d).find((n) => /^[0-9a-f]{64}$/.test(n));
    return repoDir && fs.existsSync(path.join(d, repoDir, 'items')) ? fs.readdirSync(path.join(d, repoDir, 'items')).filter((n) => !n.startsWith('.')) : [];
  };
  return { root, repo, watchDir, env, noPassword, ok, items };
}

test('coffer web scans the watched folders on its own, without a password', async () => {
  const s = await setup('coffer-inbox-webscan-');
  fs.writeFileSync(path.join(s.watchDir, 'early.bin'), randomBytes(2000));
  const web = await startCoffer(['-r', s.repo, 'web', '--listen', '127.0.0.1:0'], { ...s.noPassword, COFFER_INBOX_SCAN_SECONDS: '1' }, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  try {
    const until = async (n: number) => {
      const deadline = Date.now() + 20_000;
      while (s.items().length < n) {
        if (Date.now() > deadline) throw new Error(`web did not stage ${n} item(s): ${s.items().length}\n${web.stderr()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    await until(1); // the scan at start
    fs.writeFileSync(path.join(s.watchDir, 'later.bin'), randomBytes(3000));
    await until(2); // a later round
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(s.items().length, 2, 'nothing staged twice by later rounds');
  } finally {
    await web.stop();
  }
  const list = JSON.parse((await s.ok(['inbox', 'list', '--json'])).stdout) as Listed[];
  assert.deepEqual(list.map((i) => i.name).sort(), ['early.bin', 'later.bin']);
  assert.ok(list.every((i) => i.source === `watch:${s.watchDir}`));
});

test('a scheduled run scans the watched folders (step inbox-scan)', async () => {
  const s = await setup('coffer-inbox-schedscan-');
  fs.writeFileSync(path.join(s.watchDir, 'night.bin'), randomBytes(2500));
  const r = await runCoffer(['--json', 'run-scheduled'], { env: s.env });
  const record = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { steps: { step: string; ok: boolean; skipped?: string }[] };
  const step = record.steps.find((x) => x.step === 'inbox-scan');
  assert.ok(step, `no inbox-scan step: ${r.stdout} ${r.stderr}`);
  assert.equal(step.ok, true);
  assert.equal(step.skipped, undefined);
  assert.equal(s.items().length, 1);
  const list = JSON.parse((await s.ok(['inbox', 'list', '--json'])).stdout) as Listed[];
  assert.deepEqual(list.map((i) => i.name), ['night.bin']);
});
