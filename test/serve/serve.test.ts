/**
 * `coffer serve` as a child process, used by the real restic 0.14 and by Coffer's own CLI:
 * init/backup/snapshots/check --read-data/restore, htpasswd (bcrypt) users, append-only,
 * private repositories, upload hash check, --max-size, TLS with a self-signed certificate,
 * the request log without secrets, and graceful shutdown on SIGTERM.
 */
import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { describeTree, diffTrees, makeSourceTree } from '../helpers/tree.js';
import { requireTool } from '../rest/services.js';
import { basic, makeHtpasswd, startServe } from './serve-process.js';

const PASSWORD = 'pw:with/odd@chars';
const ENC = encodeURIComponent(PASSWORD);

function restic014(t: TestContext): ResticBinary | undefined {
  const bin = resticBinaries().find((b) => b.name === 'restic-0.14');
  return requireTool(t, bin ? undefined : '/usr/bin/restic (restic 0.14)') ? bin : undefined;
}

/** A data folder with an htpasswd file for `users`, or undefined when htpasswd is missing (skipped locally). */
function dataDir(t: TestContext, users: Record<string, string>): string | undefined {
  const dir = tempDir('coffer-serve-');
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  if (!requireTool(t, makeHtpasswd(path.join(data, '.htpasswd'), users) ? undefined : 'htpasswd (apt-get install apache2-utils)')) return undefined;
  return data;
}

async function restic(bin: ResticBinary, repo: string, args: string[], extra: Record<string, string> = {}) {
  return runRestic(bin, args, { env: testEnv({ RESTIC_REPOSITORY: repo, ...extra }) });
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

test('restic 0.14: init, backup, snapshots, check --read-data, restore; 401 for a wrong password; log has no secrets', { timeout: 180_000 }, async (t) => {
  const bin = restic014(t);
  if (!bin) return;
  const data = dataDir(t, { backup: PASSWORD });
  if (!data) return;
  const work = path.dirname(data);
  const src = path.join(work, 'src');
  makeSourceTree(src);
  const srv = await startServe(['--path', data]);
  try {
    const repo = `rest:http://backup:${ENC}@127.0.0.1:${srv.port}/backup/repo1/`;
    const ok = async (args: string[]) => {
      const r = await restic(bin, repo, args);
      assert.equal(r.code, 0, `restic ${args.join(' ')}:\n${r.stderr}\n--- server:\n${srv.stderr().slice(-3000)}`);
      return r;
    };
    await ok(['init']);
    assert.ok(fs.existsSync(path.join(data, 'backup', 'repo1', 'config')), 'stored under DIR/backup/repo1');
    await ok(['backup', src, '--host', 'servehost']);
    await ok(['backup', src, '--host', 'servehost']);
    const snaps = JSON.parse((await ok(['snapshots', '--json'])).stdout) as { hostname: string }[];
    assert.equal(snaps.length, 2);
    assert.equal(snaps[0]!.hostname, 'servehost');
    await ok(['check', '--read-data']);
    const target = path.join(work, 'restored');
    await ok(['restore', 'latest', '--target', target]);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);

    // Wrong password, unknown user, no credentials: 401 with a Basic challenge.
    const cfg = `${srv.url}/backup/repo1/config`;
    const wrong = await fetch(cfg, { headers: basic('backup', 'nope') });
    assert.equal(wrong.status, 401);
    assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
    assert.equal((await fetch(cfg, { headers: basic('mallory', PASSWORD) })).status, 401);
    assert.equal((await fetch(cfg)).status, 401);
    assert.equal((await fetch(cfg, { headers: basic('backup', PASSWORD) })).status, 200);
    // Health needs no authentication; dot-paths (the htpasswd file) are never served.
    assert.equal((await fetch(`${srv.url}/health`)).status, 200);
    assert.equal((await fetch(`${srv.url}/.htpasswd`, { headers: basic('backup', PASSWORD) })).status, 404);
    assert.equal((await fetch(`${srv.url}/%2e%2e/config`, { headers: basic('backup', PASSWORD) })).status, 404);

    const log = srv.stderr();
    assert.match(log, /backup "POST \/backup\/repo1\/data\/[0-9a-f]{64}" 200/);
    assert.ok(!log.includes(PASSWORD) && !log.includes(ENC), 'no password in the log');
    assert.ok(!/authorization|basic [a-z0-9+/=]{8,}/i.test(log), 'no Authorization header in the log');
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('append-only: restic forget --prune is refused and nothing is lost', { timeout: 240_000 }, async (t) => {
  const bin = restic014(t);
  if (!bin) return;
  const data = dataDir(t, { backup: PASSWORD });
  if (!data) return;
  const work = path.dirname(data);
  const src = path.join(work, 'src');
  makeSourceTree(src);
  const srv = await startServe(['--path', data, '--append-only']);
  try {
    const repo = `rest:http://backup:${ENC}@127.0.0.1:${srv.port}/repo/`;
    const ok = async (args: string[]) => {
      const r = await restic(bin, repo, args);
      assert.equal(r.code, 0, `restic ${args.join(' ')}:\n${r.stderr}`);
      return r;
    };
    await ok(['init']);
    await ok(['backup', src]);
    fs.writeFileSync(path.join(src, 'new-file'), 'changed');
    await ok(['backup', src]);
    const before = fs.readdirSync(path.join(data, 'repo', 'snapshots')).sort();
    assert.equal(before.length, 2);
    const forget = await restic(bin, repo, ['forget', '--keep-last', '1', '--prune']);
    assert.notEqual(forget.code, 0, 'forget --prune must fail in append-only mode');
    assert.match(srv.stderr(), /"DELETE \/repo\/snapshots\/[0-9a-f]{64}" 403/);
    assert.deepEqual(fs.readdirSync(path.join(data, 'repo', 'snapshots')).sort(), before, 'no snapshot deleted');
    await ok(['unlock']); // locks may be deleted in append-only mode
    await ok(['check', '--read-data']);
    const target = path.join(work, 'restored');
    await ok(['restore', 'latest', '--target', target]);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    // Direct DELETE of a data file: 403, the file stays.
    const packs = fs.readdirSync(path.join(data, 'repo', 'data')).flatMap((d) => fs.readdirSync(path.join(data, 'repo', 'data', d)));
    const del = await fetch(`${srv.url}/repo/data/${packs[0]}`, { method: 'DELETE', headers: basic('backup', PASSWORD) });
    assert.equal(del.status, 403);
    assert.equal((await fetch(`${srv.url}/repo/data/${packs[0]}`, { method: 'HEAD', headers: basic('backup', PASSWORD) })).status, 200);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('private repositories: a user reaches only /<user>/', { timeout: 60_000 }, async (t) => {
  const data = dataDir(t, { alice: 'alice-pw', bob: 'bob-pw' });
  if (!data) return;
  const srv = await startServe(['--path', data, '--private-repos']);
  try {
    const alice = basic('alice', 'alice-pw');
    const bob = basic('bob', 'bob-pw');
    assert.equal((await fetch(`${srv.url}/alice/r/?create=true`, { method: 'POST', headers: alice })).status, 200);
    const cfg = new TextEncoder().encode('config bytes');
    assert.equal((await fetch(`${srv.url}/alice/r/config`, { method: 'POST', headers: alice, body: cfg })).status, 200);
    assert.equal((await fetch(`${srv.url}/alice/r/config`, { headers: alice })).status, 200);
    // Bob cannot read, list, write or create in Alice's space, nor at the root.
    for (const [method, url] of [
      ['GET', '/alice/r/config'],
      ['GET', '/alice/r/keys/'],
      ['POST', '/alice/other/?create=true'],
      ['DELETE', '/alice/r/config'],
      ['POST', '/?create=true'],
    ] as const) {
      const r = await fetch(srv.url + url, { method, headers: bob });
      assert.ok(r.status === 403 || r.status === 401, `bob ${method} ${url}: ${r.status}`);
    }
    assert.equal((await fetch(`${srv.url}/bob/?create=true`, { method: 'POST', headers: bob })).status, 200);
    assert.equal((await fetch(`${srv.url}/bob/keys/`, { headers: alice })).status, 403);
    assert.ok(fs.existsSync(path.join(data, 'alice', 'r', 'config')));
    assert.ok(!fs.existsSync(path.join(data, 'alice', 'other')));
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('upload hash checked against the name; --max-size rejects uploads past the quota with 507', { timeout: 60_000 }, async () => {
  const data = path.join(tempDir('coffer-serve-'), 'data');
  const srv = await startServe(['--path', data, '--no-auth', '--max-size', '100K', '--quiet']);
  try {
    assert.equal((await fetch(`${srv.url}/q/?create=true`, { method: 'POST' })).status, 200);
    const a = new Uint8Array(60 * 1024).fill(1);
    const b = new Uint8Array(60 * 1024).fill(2);
    // Content that does not match its name: 400, nothing stored.
    const bad = await fetch(`${srv.url}/q/data/${sha256(b)}`, { method: 'POST', body: a });
    assert.equal(bad.status, 400);
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(b)}`, { method: 'HEAD' })).status, 404);
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(a)}`, { method: 'POST', body: a })).status, 200);
    // 60 KiB + 60 KiB > 100 KiB.
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(b)}`, { method: 'POST', body: b })).status, 507);
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(b)}`, { method: 'HEAD' })).status, 404);
    // Small files still fit; the quota is per repository, another one starts empty.
    const c = new Uint8Array(1000).fill(3);
    assert.equal((await fetch(`${srv.url}/q/snapshots/${sha256(c)}`, { method: 'POST', body: c })).status, 200);
    assert.equal((await fetch(`${srv.url}/other/?create=true`, { method: 'POST' })).status, 200);
    assert.equal((await fetch(`${srv.url}/other/data/${sha256(b)}`, { method: 'POST', body: b })).status, 200);
    // After a delete the space is free again.
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(a)}`, { method: 'DELETE' })).status, 200);
    assert.equal((await fetch(`${srv.url}/q/data/${sha256(b)}`, { method: 'POST', body: b })).status, 200);
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('TLS with a self-signed certificate: restic --cacert init and snapshots', { timeout: 120_000 }, async (t) => {
  const bin = restic014(t);
  if (!bin) return;
  if (!requireTool(t, spawnSync('openssl', ['version']).error ? 'openssl' : undefined)) return;
  const data = dataDir(t, { backup: PASSWORD });
  if (!data) return;
  const dir = path.dirname(data);
  const cert = path.join(dir, 'cert.pem');
  const key = path.join(dir, 'key.pem');
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const srv = await startServe(['--path', data, '--tls', '--tls-cert', cert, '--tls-key', key], { tls: { ca: fs.readFileSync(cert, 'utf8') } });
  try {
    assert.match(srv.url, /^https:/);
    const repo = `rest:https://backup:${ENC}@127.0.0.1:${srv.port}/tls/`;
    const init = await restic(bin, repo, ['--cacert', cert, 'init']);
    assert.equal(init.code, 0, init.stderr);
    const snaps = await restic(bin, repo, ['--cacert', cert, 'snapshots', '--json']);
    assert.equal(snaps.code, 0, snaps.stderr);
    assert.deepEqual(JSON.parse(snaps.stdout), []);
    assert.ok(fs.existsSync(path.join(data, 'tls', 'config')));
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});

test('SIGTERM: an in-flight upload finishes, then the server exits 0', { timeout: 60_000 }, async () => {
  const data = path.join(tempDir('coffer-serve-'), 'data');
  const srv = await startServe(['--path', data, '--no-auth']);
  assert.equal((await fetch(`${srv.url}/g/?create=true`, { method: 'POST' })).status, 200);
  const body = Buffer.alloc(4096, 7);
  const status = new Promise<number>((resolve, reject) => {
    const req = http.request(`${srv.url}/g/data/${sha256(body)}`, { method: 'POST', headers: { 'Content-Length': String(body.length) } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.write(body.subarray(0, 1000));
    // The server gets SIGTERM mid-upload; the rest of the body follows.
    setTimeout(() => {
      srv.child.kill('SIGTERM');
      setTimeout(() => req.end(body.subarray(1000)), 500);
    }, 300);
  });
  assert.equal(await status, 200, 'in-flight upload completed');
  assert.equal(await srv.stop(), 0);
  assert.match(srv.stdout(), /stopped/);
  assert.equal(fs.readdirSync(path.join(data, 'g', 'data', sha256(body).slice(0, 2))).length, 1);
});

test("Coffer's CLI against coffer serve: init, backup, restore", { timeout: 120_000 }, async (t) => {
  const data = dataDir(t, { me: PASSWORD });
  if (!data) return;
  const work = path.dirname(data);
  const src = path.join(work, 'src');
  makeSourceTree(src);
  const srv = await startServe(['--path', data]);
  try {
    const env = testEnv({ COFFER_REPOSITORY: `rest:http://me:${ENC}@127.0.0.1:${srv.port}/me/coffer/` });
    const ok = async (args: string[]) => {
      const r = await runCoffer(args, { env });
      assert.equal(r.code, 0, `coffer ${args.join(' ')}:\n${r.stderr}`);
      return r;
    };
    await ok(['init']);
    await ok(['backup', src]);
    const target = path.join(work, 'restored');
    await ok(['restore', 'latest', '--target', target]);
    assert.deepEqual(diffTrees(describeTree(src), describeTree(path.join(target, src))), []);
    await ok(['check', '--read-data']);
    assert.ok(fs.existsSync(path.join(data, 'me', 'coffer', 'config')));
  } finally {
    assert.equal(await srv.stop(), 0);
  }
});
