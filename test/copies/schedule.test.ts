/**
 * `coffer schedule install|show|remove` with fake `systemctl` and `crontab` (COFFER_SYSTEMCTL,
 * COFFER_CRONTAB): the unit files and the crontab line are written as the design says, the
 * commands are called, a reinstall never duplicates, remove leaves other crontab lines alone.
 * Nothing is enabled on this machine.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { before, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';

let dir: string;
let env: NodeJS.ProcessEnv;
const log = () => (fs.existsSync(path.join(dir, 'systemctl.log')) ? fs.readFileSync(path.join(dir, 'systemctl.log'), 'utf8').trim().split('\n') : []);
const table = () => fs.readFileSync(path.join(dir, 'crontab.txt'), 'utf8');

before(() => {
  dir = tempDir('coffer-schedule-');
  const fakeSystemctl = path.join(dir, 'systemctl');
  fs.writeFileSync(fakeSystemctl, `#!/bin/sh\necho "$*" >> "${dir}/systemctl.log"\n[ -e "${dir}/no-systemd" ] && exit 1\nexit 0\n`, { mode: 0o755 });
  const fakeCrontab = path.join(dir, 'crontab');
  fs.writeFileSync(fakeCrontab, `#!/bin/sh\nf="${dir}/crontab.txt"\nif [ "$1" = "-l" ]; then [ -e "$f" ] || { echo "no crontab for you" >&2; exit 1; }; cat "$f"; exit 0; fi\nif [ "$1" = "-" ]; then cat > "$f"; exit 0; fi\nexit 2\n`, { mode: 0o755 });
  fs.writeFileSync(path.join(dir, 'pw'), 'test-password\n');
  env = testEnv({ HOME: dir, XDG_CONFIG_HOME: path.join(dir, 'cfg'), XDG_STATE_HOME: path.join(dir, 'state'), XDG_DATA_HOME: path.join(dir, 'data'), COFFER_SYSTEMCTL: fakeSystemctl, COFFER_CRONTAB: fakeCrontab });
  delete env.COFFER_PASSWORD;
  fs.mkdirSync(path.join(dir, 'docs'));
});

async function coffer(args: string[], code = 0, extra: NodeJS.ProcessEnv = {}) {
  const r = await runCoffer(args, { env: { ...env, ...extra } });
  assert.equal(r.code, code, `coffer ${args.join(' ')} → ${r.code}: ${r.stderr}`);
  return r;
}

test('systemd: unit files written, daemon-reload and enable --now called; remove disables', async () => {
  const noPw = await coffer(['schedule', 'install', path.join(dir, 'docs')], 2);
  assert.match(noPw.stderr, /password-file|COFFER_PASSWORD_FILE/);
  assert.match((await coffer(['schedule', 'install', '--daily', '25:00', '--password-file', path.join(dir, 'pw')], 2)).stderr, /invalid --daily/);
  await coffer(['schedule', 'install', path.join(dir, 'docs'), '--daily', '04:15', '--drill-every', '14', '--password-file', path.join(dir, 'pw')]);
  const unitDir = path.join(dir, 'cfg', 'systemd', 'user');
  const timer = fs.readFileSync(path.join(unitDir, 'coffer.timer'), 'utf8');
  assert.match(timer, /^OnCalendar=\*-\*-\* 04:15:00$/m);
  assert.match(timer, /^Persistent=true$/m);
  assert.match(timer, /^RandomizedDelaySec=10m$/m);
  const service = fs.readFileSync(path.join(unitDir, 'coffer.service'), 'utf8');
  assert.match(service, new RegExp(`^Environment=COFFER_PASSWORD_FILE=${path.join(dir, 'pw')}$`, 'm'));
  assert.match(service, new RegExp(`^Environment=XDG_CONFIG_HOME=${path.join(dir, 'cfg')}$`, 'm'));
  assert.match(service, /^ExecStart=\S+node\S* \S+\/bin\/coffer\.js run-scheduled$/m);
  assert.doesNotMatch(service, /test-password/, 'the password itself is never in the unit');
  assert.deepEqual(log().filter((l) => !l.includes('show-environment')), ['--user daemon-reload', '--user enable --now coffer.timer']);
  const shown = JSON.parse((await coffer(['schedule', 'show', '--json'])).stdout) as { schedule: Record<string, unknown>; installed: { timer?: string } };
  assert.deepEqual({ ...shown.schedule, installedAt: undefined }, { mode: 'systemd', daily: '04:15', drillEveryDays: 14, paths: [path.join(dir, 'docs')], installedAt: undefined });
  assert.ok(shown.installed.timer);
  await coffer(['schedule', 'remove']);
  assert.ok(!fs.existsSync(path.join(unitDir, 'coffer.timer')) && !fs.existsSync(path.join(unitDir, 'coffer.service')));
  assert.ok(log().includes('--user disable --now coffer.timer'));
  assert.equal((JSON.parse((await coffer(['schedule', 'show', '--json'])).stdout) as { schedule: unknown }).schedule, null);
});

test('cron where systemd is absent: one line, replaced on reinstall, others kept', async () => {
  fs.writeFileSync(path.join(dir, 'no-systemd'), '');
  fs.writeFileSync(path.join(dir, 'crontab.txt'), 'MAILTO=me\n0 1 * * * /usr/local/bin/other-job\n');
  const pw = { COFFER_PASSWORD_FILE: path.join(dir, 'pw') };
  await coffer(['schedule', 'install', path.join(dir, 'docs'), '--daily', '03:30'], 0, pw);
  await coffer(['schedule', 'install', '--every', '6h'], 0, pw);
  const lines = table().trim().split('\n');
  assert.equal(lines.length, 3, table());
  assert.deepEqual(lines.slice(0, 2), ['MAILTO=me', '0 1 * * * /usr/local/bin/other-job']);
  assert.match(lines[2]!, /^0 \*\/6 \* \* \* COFFER_PASSWORD_FILE=\S+ .*XDG_STATE_HOME=\S+ .*\S+\/bin\/coffer\.js run-scheduled >> \S+scheduled\.log 2>&1 # coffer-schedule$/);
  const shown = JSON.parse((await coffer(['schedule', 'show', '--json'])).stdout) as { schedule: { mode: string; every: string; paths: string[] } };
  assert.deepEqual([shown.schedule.mode, shown.schedule.every, shown.schedule.paths], ['cron', '6h', [path.join(dir, 'docs')]], 'paths kept from the last install');
  assert.ok(!fs.existsSync(path.join(dir, 'cfg', 'systemd', 'user', 'coffer.timer')));
  await coffer(['schedule', 'remove']);
  assert.equal(table(), 'MAILTO=me\n0 1 * * * /usr/local/bin/other-job\n');
});
