/**
 * Status and alerts end to end on local copies: a copy that is current, checked, drilled (a
 * `coffer drill --kit`, which records its result in the copy) and named by `coffer kit` makes status safe
 * (exit 0); a backup that is not synced makes it unsafe (snapshots-missing, exit 1) and fires
 * every channel once (a local HTTP receiver, a Healthchecks-style ping URL, a fake sendmail and a
 * command hook), not again the same day; a sync makes it safe and sends "recovered".
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { readSettingsRecord } from '../../src/core/engine/settings/settings.js';
import { openCopyRepository } from '../../src/node/open-copy.js';
import { nodePlatform } from '../../src/node/platform.js';

interface Hit {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

let dir: string;
let env: NodeJS.ProcessEnv;
let server: http.Server;
let base: string;
const hits: Hit[] = [];
let failNext = 0;

before(async () => {
  dir = tempDir('coffer-alerts-');
  env = testEnv({
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'cfg'),
    XDG_STATE_HOME: path.join(dir, 'state'),
    XDG_DATA_HOME: path.join(dir, 'data'),
    COFFER_SENDMAIL: path.join(dir, 'sendmail'),
    COFFER_ALERT_RETRY_MS: '50',
  });
  fs.mkdirSync(path.join(dir, 'src'));
  fs.writeFileSync(path.join(dir, 'src', 'a.txt'), 'a\n');
  // sendmail -t: the message on stdin, appended to a mailbox file.
  fs.writeFileSync(env.COFFER_SENDMAIL!, `#!/bin/sh\n[ "$1" = "-t" ] || exit 64\n{ cat; echo "--END--"; } >> "${path.join(dir, 'mailbox')}"\n`, { mode: 0o755 });
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hits.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      if (failNext > 0 && req.url === '/hook') {
        failNext--;
        res.writeHead(500).end();
      } else res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

after(() => server.close());

async function coffer(args: string[], code = 0): Promise<{ stdout: string; stderr: string }> {
  const r = await runCoffer(args, { env });
  assert.equal(r.code, code, `coffer ${args.join(' ')} → ${r.code}: ${r.stderr}${r.stdout}`);
  return r;
}

function mails(): string[] {
  return fs.existsSync(path.join(dir, 'mailbox')) ? fs.readFileSync(path.join(dir, 'mailbox'), 'utf8').split('--END--\n').filter(Boolean) : [];
}

function commandRuns(): { event: string; verdict: string; payload: { event: string; reasons: { code: string }[] } }[] {
  const f = path.join(dir, 'hook.log');
  return fs.existsSync(f) ? fs.readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)) : [];
}

function events(): string[] {
  return hits.filter((h) => h.url === '/hook').map((h) => (JSON.parse(h.body) as { event: string }).event);
}

/** The real kit and drill: the kit names the copy's key, the drill records its result in the copy. */
async function drillAndKit(): Promise<void> {
  await coffer(['kit', '--output', path.join(dir, 'kit.txt')]);
  await coffer(['drill', '--kit', path.join(dir, 'kit.txt'), '--all', '-q']);
}

test('status: safe, then unsafe with alerts on every channel once, then recovered', { timeout: 60_000 }, async () => {
  await coffer(['backup', path.join(dir, 'src')]);
  const usb = path.join(dir, 'usb');
  await coffer(['copies', 'add', 'usb', usb]);
  await coffer(['sync']);
  const unsafe = JSON.parse((await coffer(['status', '--json'], 1)).stdout) as { reasons: { code: string }[] };
  assert.deepEqual(unsafe.reasons.map((r) => r.code), ['no-kit', 'never-drilled']);
  await drillAndKit();
  const safe = JSON.parse((await coffer(['status', '--json'])).stdout) as Record<string, any>;
  assert.equal(safe.verdict, 'safe');
  assert.deepEqual(safe.reasons, []);
  assert.equal(safe.copies[0].lastDrill.verdict, 'pass');
  assert.equal(safe.kit.id, /^Kit-ID: (\S+)$/m.exec(fs.readFileSync(path.join(dir, 'kit.txt'), 'utf8'))![1]);
  assert.equal(safe.copies[0].kitKeyPresent, true);
  assert.deepEqual(safe.copies[0].records, { settings: true, secrets: true, otp: true });
  assert.equal(safe.kit.stale, false);
  assert.match((await coffer(['status'])).stdout, /^SAFE/);

  await coffer(['alert', 'add', 'webhook', `${base}/hook`]);
  await coffer(['alert', 'add', 'webhook', `${base}/ping/0f3e-uuid`]);
  await coffer(['alert', 'add', 'email', 'me@example.org']);
  await coffer(['alert', 'add', 'command', `{ printf '{"event":"%s","verdict":"%s","payload":' "$COFFER_EVENT" "$COFFER_VERDICT"; tr -d '\\n'; echo '}'; } >> ${path.join(dir, 'hook.log')}`]);
  const listed = JSON.parse((await coffer(['alert', 'list', '--json'])).stdout) as { type: string }[];
  assert.deepEqual(listed.map((a) => a.type), ['webhook', 'webhook', 'email', 'command']);
  // The alerts are part of the settings kept inside every repository.
  const copyRepo = await openCopyRepository(usb, { password: 'test-password', platform: await nodePlatform() });
  assert.deepEqual((await readSettingsRecord(copyRepo))!.settings.alerts.map((a) => a.type), ['webhook', 'webhook', 'email', 'command']);

  // Status was safe: --alert sends nothing.
  await coffer(['status', '--alert']);
  assert.equal(hits.length, 0);

  // A backup not yet synced: the copy lags.
  fs.writeFileSync(path.join(dir, 'src', 'b.txt'), 'b\n');
  await coffer(['backup', path.join(dir, 'src')]);
  const lag = await coffer(['status', '--json', '--alert'], 1);
  const report = JSON.parse(lag.stdout) as { verdict: string; reasons: { code: string; copy?: string }[] };
  assert.deepEqual(report.reasons.map((r) => [r.code, r.copy]), [['snapshots-missing', 'usb']]);
  assert.deepEqual(events(), ['unsafe']);
  const hook = hits.find((h) => h.url === '/hook')!;
  assert.equal(hook.method, 'POST');
  assert.equal(hook.headers['content-type'], 'application/json');
  const payload = JSON.parse(hook.body) as Record<string, any>;
  assert.equal(payload.verdict, 'unsafe');
  assert.deepEqual(payload.copies, [{ name: 'usb', safe: false }]);
  assert.equal(payload.reasons[0].code, 'snapshots-missing');
  assert.deepEqual(hits.filter((h) => h.url.startsWith('/ping/')).map((h) => `${h.method} ${h.url}`), ['POST /ping/0f3e-uuid/fail']);
  assert.equal(mails().length, 1);
  assert.match(mails()[0]!, /^To: me@example.org$/m);
  assert.match(mails()[0]!, /lacks 1 snapshot/);
  assert.deepEqual(commandRuns().map((r) => [r.event, r.verdict, r.payload.event]), [['unsafe', 'unsafe', 'unsafe']]);

  // Same reason again the same day: no second alert.
  await coffer(['status', '--alert'], 1);
  assert.equal(events().length, 1);
  assert.equal(mails().length, 1);

  // Synced: safe again, "recovered" everywhere; the ping URL gets a plain GET.
  await coffer(['sync']);
  await coffer(['status', '--alert']);
  assert.deepEqual(events(), ['unsafe', 'recovered']);
  assert.deepEqual(hits.filter((h) => h.url.startsWith('/ping/')).map((h) => `${h.method} ${h.url}`), ['POST /ping/0f3e-uuid/fail', 'GET /ping/0f3e-uuid']);
  assert.equal(mails().length, 2);
  assert.deepEqual(commandRuns().map((r) => r.event), ['unsafe', 'recovered']);

  // backup --sync: the copy never lags, status stays safe and nothing is sent.
  fs.writeFileSync(path.join(dir, 'src', 'd.txt'), 'd\n');
  const bs = await coffer(['backup', '--sync', path.join(dir, 'src')]);
  assert.match(bs.stdout, /^usb: 1 of \d+ snapshots to copy$/m);
  await coffer(['status', '--alert']);
  assert.deepEqual(events(), ['unsafe', 'recovered']);

  // A new machine with only the kit: the copy list comes from the copy's settings record.
  const fresh = path.join(dir, 'fresh');
  const r = await runCoffer(['copies', 'list', '--kit', path.join(dir, 'kit.txt'), '--copy', 'usb', '--json'], {
    env: testEnv({ HOME: fresh, XDG_CONFIG_HOME: path.join(fresh, 'c'), XDG_STATE_HOME: path.join(fresh, 's'), XDG_DATA_HOME: path.join(fresh, 'd'), COFFER_PASSWORD: '' }),
  });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { name: string; url: string; inKit: boolean }[]).map((c) => [c.name, c.url, c.inKit]), [['usb', usb, true]]);

  // alert test: every channel, with the result of each; a failing receiver is retried 3 times.
  hits.length = 0;
  await coffer(['alert', 'test']);
  assert.deepEqual(events(), ['test']);
  failNext = 3;
  const bad = await coffer(['alert', 'test'], 1);
  assert.match(bad.stderr, /^coffer: alert via webhook http:\/\/127\.0\.0\.1:\d+\/… failed: webhook to 127\.0\.0\.1:\d+ failed after 3 tries: HTTP 500$/m);
});
