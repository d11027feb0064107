/**
 * Pure and local parts of copies/status/schedules/alerts: the config file (mode 0600, atomic,
 * validated), the settings record codec (URLs redacted), sync policies, schedule units and
 * crontab lines, webhook request shapes. No servers.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { isCofferError } from '../../src/core/errors.js';
import { decodeSettings, encodeSettings, redactUrl, urlHasPassword, copyKindOf, checkCopyName, type CopyEntry } from '../../src/core/engine/settings/settings.js';
import { admits, missingSnapshots, recordsCurrent, wantedSnapshots } from '../../src/core/engine/sync/sync.js';
import { appendDrill, configPath, drillsPath, emptyConfig, loadConfig, readDrills, saveConfig, settingsFromConfig, statusPath, updateCopyState, loadState } from '../../src/node/config.js';
import { cronLine, cronTime, onCalendar, serviceUnit, timerUnit } from '../../src/node/schedule.js';
import { webhookRequest } from '../../src/node/alerts/webhook.js';
import { makePayload } from '../../src/node/alerts/payload.js';
import { mailMessage } from '../../src/node/alerts/sendmail.js';
import type { Snapshot } from '../../src/core/format/types.js';
import type { SnapshotEntry } from '../../src/core/repository/snapshots.js';
import { tempDir } from '../helpers/paths.js';

const copy = (over: Partial<CopyEntry> = {}): CopyEntry => ({
  name: 'nas',
  url: 'rest:https://backup:s3cret@nas.example:8000/coffer/',
  kind: 'rest',
  repositoryId: 'ab'.repeat(32),
  addedAt: '2026-11-28T10:00:00Z',
  chunkerPolynomial: '0x3da3358b4dc173',
  credentials: { env: [], inUrl: true },
  options: {},
  policy: { excludeTags: [], onlyTags: [] },
  ...over,
});

test('config: XDG paths, 0600, atomic save, round trip, validation as bad-input', () => {
  const home = tempDir();
  const env = { HOME: home, XDG_CONFIG_HOME: path.join(home, 'cfg'), XDG_STATE_HOME: path.join(home, 'st') };
  assert.equal(configPath(env), path.join(home, 'cfg', 'coffer', 'config.json'));
  assert.equal(statusPath({ HOME: home }), path.join(home, '.local', 'state', 'coffer', 'status.json'));
  assert.equal(loadConfig(env), undefined);
  const c = { ...emptyConfig('/primary'), copies: [copy()], kit: { id: '9c41e2d07a55', createdAt: '2026-11-28T22:15:04Z', copies: { nas: { repositoryId: 'ab'.repeat(32), keyId: 'cd'.repeat(32) } } } };
  saveConfig(c, env);
  assert.equal(fs.statSync(configPath(env)).mode & 0o777, 0o600);
  assert.deepEqual(loadConfig(env), c);
  assert.deepEqual(fs.readdirSync(path.dirname(configPath(env))), ['config.json'], 'no temp file left behind');
  fs.writeFileSync(configPath(env), '{"version":1,"primary":{"url":"/p"},"copies":[{"name":"x"}]}');
  assert.throws(() => loadConfig(env), (e) => isCofferError(e, 'bad-input') && /copies\[0\]/.test(e.message));
  fs.writeFileSync(configPath(env), 'not json');
  assert.throws(() => loadConfig(env), (e) => isCofferError(e, 'bad-input'));
  // State cache: merged per copy; drills appended as JSON lines.
  updateCopyState(env, 'nas', { lastSync: { at: 't1', ok: true, copied: 2 } });
  updateCopyState(env, 'nas', { lastCheck: { at: 't2', ok: false } });
  assert.deepEqual(loadState(env).copies.nas, { lastSync: { at: 't1', ok: true, copied: 2 }, lastCheck: { at: 't2', ok: false } });
  appendDrill({ kitId: 'k', verdict: 'pass' }, env);
  fs.appendFileSync(drillsPath(env), '{"torn');
  assert.deepEqual(readDrills(env), [{ kitId: 'k', verdict: 'pass' }]);
});

test('settings record: URLs redacted, decoded back, names and kinds checked', () => {
  assert.equal(redactUrl('rest:https://backup:s3cret@nas.example:8000/coffer/'), 'rest:https://backup:***@nas.example:8000/coffer/');
  assert.equal(redactUrl('s3:https://s3.example.com/b/p'), 's3:https://s3.example.com/b/p');
  assert.equal(urlHasPassword('rest:http://u:p@h/'), true);
  assert.equal(urlHasPassword('sftp:user@host:/srv'), false);
  assert.equal(copyKindOf('/media/usb'), 'local');
  assert.equal(copyKindOf('rclone:remote:x'), 'rclone');
  assert.throws(() => copyKindOf('ftp:x'), (e) => isCofferError(e, 'bad-input'));
  assert.throws(() => checkCopyName('primary'), (e) => isCofferError(e, 'bad-input'));
  assert.throws(() => checkCopyName('Bad_Name'), (e) => isCofferError(e, 'bad-input'));
  checkCopyName('usb-2');
  const config = { ...emptyConfig('/p'), copies: [copy()], alerts: [{ type: 'email' as const, to: 'me@example.org' }] };
  const s = settingsFromConfig(config, { repositoryId: 'ef'.repeat(32), chunkerPolynomial: '0x3da3358b4dc173' }, new Date('2026-11-28T10:00:00.123Z'));
  const bytes = encodeSettings(s);
  assert.doesNotMatch(Buffer.from(bytes).toString(), /s3cret/);
  const back = decodeSettings(bytes);
  assert.equal(back.writtenAt, '2026-11-28T10:00:00Z');
  assert.equal(back.copies[0]!.url, 'rest:https://backup:***@nas.example:8000/coffer/');
  assert.deepEqual(back.alerts, config.alerts);
  assert.throws(() => decodeSettings(Buffer.from('{"version":2}')), (e) => isCofferError(e, 'corrupt'));
});

const T = (sec: number) => ({ sec, nsec: 0, offsetSec: 0 });
function snap(id: string, over: Partial<Snapshot>): SnapshotEntry {
  return { id, snapshot: { time: T(Number.parseInt(id, 16)), tree: id.repeat(8), paths: ['/home'], hostname: 'laptop', ...over } as Snapshot };
}

test('sync policy: tags decide user snapshots; records go everywhere except drills', () => {
  const pol = { excludeTags: ['private'], onlyTags: [] };
  const user = snap('01', { tags: ['daily'] });
  const priv = snap('02', { tags: ['private'] });
  const settings = snap('03', { hostname: 'coffer', paths: ['/coffer/settings'], tags: ['coffer-internal', 'coffer-settings'] });
  const drill = snap('04', { hostname: 'coffer', paths: ['/coffer/drill'], tags: ['coffer-internal', 'coffer-drill'] });
  assert.deepEqual(wantedSnapshots([user, priv, settings, drill], pol).map((e) => e.id), ['01', '03']);
  assert.equal(admits(user.snapshot, { excludeTags: [], onlyTags: ['weekly'] }), false);
  assert.equal(admits(settings.snapshot, { excludeTags: [], onlyTags: ['weekly'] }), true);
  // A copy holding `original` of 01 lacks only 03.
  const copied = { id: 'aa', snapshot: { ...user.snapshot, original: '01' } };
  assert.deepEqual(missingSnapshots([user, settings], [copied]).map((e) => e.id), ['03']);
  assert.deepEqual(recordsCurrent([user, settings], [copied]), { settings: false, secrets: true, otp: true });
});

test('schedule: timer, service and crontab line', () => {
  assert.equal(onCalendar({ daily: '03:30' }), '*-*-* 03:30:00');
  assert.equal(onCalendar({ every: '6h' }), '*-*-* 00/6:00:00');
  assert.equal(cronTime({ daily: '3:05' }), '5 3 * * *');
  assert.equal(cronTime({ every: '30m' }), '*/30 * * * *');
  assert.throws(() => cronTime({ every: '7h' }), (e) => isCofferError(e, 'bad-input'));
  assert.throws(() => onCalendar({ daily: '25:00' }), (e) => isCofferError(e, 'bad-input'));
  const timer = timerUnit({ daily: '03:30' });
  for (const l of ['OnCalendar=*-*-* 03:30:00', 'Persistent=true', 'RandomizedDelaySec=10m', 'WantedBy=timers.target']) assert.ok(timer.includes(l), l);
  const spec = { node: '/usr/bin/node', script: '/opt/coffer/bin/coffer.js', env: { COFFER_PASSWORD_FILE: '/home/me/.coffer pw' } };
  const svc = serviceUnit(spec);
  assert.match(svc, /^Environment="COFFER_PASSWORD_FILE=\/home\/me\/.coffer pw"$/m);
  assert.match(svc, /^ExecStart=\/usr\/bin\/node \/opt\/coffer\/bin\/coffer.js run-scheduled$/m);
  const line = cronLine({ daily: '03:30' }, spec, '/s/scheduled.log');
  assert.equal(line, "30 3 * * * COFFER_PASSWORD_FILE='/home/me/.coffer pw' /usr/bin/node /opt/coffer/bin/coffer.js run-scheduled >> /s/scheduled.log 2>&1 # coffer-schedule");
});

test('alerts: webhook shapes (plain, ntfy, healthchecks) and the mail', () => {
  const bad = makePayload('unsafe', { verdict: 'unsafe', reasons: [{ code: 'unreachable', copy: 'nas', message: 'copy nas cannot be reached' }] });
  const good = makePayload('recovered', { verdict: 'safe' });
  const plain = webhookRequest('http://127.0.0.1:9/hook', bad);
  assert.equal(plain.method, 'POST');
  assert.equal(plain.headers.Title, undefined);
  assert.deepEqual(JSON.parse(plain.body!), bad);
  const ntfy = webhookRequest('https://ntfy.sh/my-topic', bad);
  assert.equal(ntfy.headers.Priority, 'high');
  assert.match(ntfy.headers.Title!, /UNSAFE/);
  assert.equal(webhookRequest('https://hc-ping.com/uuid-1', bad).url, 'https://hc-ping.com/uuid-1/fail');
  assert.deepEqual(webhookRequest('https://hc-ping.com/uuid-1', good), { method: 'GET', url: 'https://hc-ping.com/uuid-1', headers: {} });
  const mail = mailMessage('me@example.org\nBcc: evil@example.org', bad);
  assert.match(mail, /^To: me@example.org Bcc: evil@example.org$/m, 'no header injection');
  assert.match(mail, /^Subject: Coffer on .*: backups are UNSAFE$/m);
  assert.match(mail, /copy nas cannot be reached/);
});
