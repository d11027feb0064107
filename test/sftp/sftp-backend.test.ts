/**
 * SftpBackend against a real OpenSSH server (shared script sftp-server): the conformance suite,
 * URL and ssh-config parsing, known_hosts checks (unknown host, mismatch, hashed entries).
 */
import { describe, it, before, after } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHmac, randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { SftpBackend } from '../../src/node/sftp-backend.js';
import { checkHostKey, parseSftpUrl, resolveSftpTarget, sshConfigFor } from '../../src/node/ssh-config.js';
import { isCofferError } from '../../src/core/errors.js';
import { runBackendSuite } from '../backend/backend-suite.js';
import { tempDir } from '../helpers/paths.js';
import { requireTool, type Service } from '../rest/services.js';
import { sftpEnv, sftpMissing, startSftp } from './server.js';

describe('sftp URL and ssh config parsing', () => {
  it('parses restic\'s two URL forms', () => {
    assert.deepEqual(parseSftpUrl('sftp:user@host:/srv/repo'), { user: 'user', host: 'host', path: '/srv/repo' });
    assert.deepEqual(parseSftpUrl('sftp:host:repo'), { host: 'host', path: 'repo' });
    assert.deepEqual(parseSftpUrl('sftp:me@[::1]:/r'), { user: 'me', host: '::1', path: '/r' });
    assert.deepEqual(parseSftpUrl('sftp://user@host:2222//srv/repo'), { user: 'user', host: 'host', port: 2222, path: '/srv/repo' });
    assert.deepEqual(parseSftpUrl('sftp://host/rel/repo'), { host: 'host', path: 'rel/repo' });
    assert.throws(() => parseSftpUrl('sftp:hostonly'), (e: unknown) => isCofferError(e, 'usage'));
  });

  it('never puts a URL password into location or messages', () => {
    const b = new SftpBackend('sftp://me:s3cret-pw@example.invalid:22//r', { env: { HOME: tempDir() } });
    assert.doesNotMatch(b.location, /s3cret/);
    assert.equal(b.location, 'sftp://me@example.invalid:22//r');
  });

  it('reads Host blocks (first value wins, wildcards, IdentityFile accumulates)', () => {
    const text = ['Host nas', '  HostName 10.0.0.5', '  Port 2200', '  User backup', '  IdentityFile ~/.ssh/nas_key', 'Host *', '  User other', '  Port 22', '  IdentityFile ~/.ssh/id_x', '  UserKnownHostsFile ~/kh'].join('\n');
    const c = sshConfigFor(text, 'nas', '/home/u');
    assert.equal(c.hostName, '10.0.0.5');
    assert.equal(c.port, 2200);
    assert.equal(c.user, 'backup');
    assert.deepEqual(c.identityFiles, ['/home/u/.ssh/nas_key', '/home/u/.ssh/id_x']);
    assert.deepEqual(c.knownHostsFiles, ['/home/u/kh']);
    const d = sshConfigFor(text, 'other', '/home/u');
    assert.equal(d.hostName, undefined);
    assert.equal(d.user, 'other');
    const home = tempDir();
    fs.mkdirSync(path.join(home, '.ssh'));
    fs.writeFileSync(path.join(home, '.ssh', 'config'), text);
    const t = resolveSftpTarget('sftp:nas:/backups', { HOME: home });
    assert.deepEqual([t.host, t.port, t.user, t.path], ['10.0.0.5', 2200, 'backup', '/backups']);
  });

  it('checks host keys: plain, hashed, [host]:port, unknown, mismatch, revoked', () => {
    const dir = tempDir();
    const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), randomBytes(36)]);
    const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), randomBytes(36)]);
    const f = path.join(dir, 'kh');
    const salt = randomBytes(20);
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('[h.example]:2222').digest('base64')}`;
    fs.writeFileSync(f, [`# comment`, `plain.example,10.1.1.1 ssh-ed25519 ${key.toString('base64')}`, `${hashed} ssh-ed25519 ${key.toString('base64')}`, `[changed.example]:2200 ssh-ed25519 ${other.toString('base64')}`].join('\n'));
    assert.deepEqual(checkHostKey([f], 'plain.example', 22, key, 'ssh-ed25519'), { ok: true });
    assert.deepEqual(checkHostKey([f], '10.1.1.1', 22, key, 'ssh-ed25519'), { ok: true });
    assert.deepEqual(checkHostKey([f], 'h.example', 2222, key, 'ssh-ed25519'), { ok: true });
    const unknownPort = checkHostKey([f], 'h.example', 22, key, 'ssh-ed25519');
    assert.equal(unknownPort.ok, false);
    assert.equal(!unknownPort.ok && unknownPort.reason, 'unknown');
    const mm = checkHostKey([f], 'changed.example', 2200, key, 'ssh-ed25519');
    assert.equal(!mm.ok && mm.reason, 'mismatch');
    assert.match(!mm.ok ? mm.message : '', /HOST KEY MISMATCH for \[changed\.example\]:2200/);
    fs.appendFileSync(f, `\n@revoked plain.example ssh-ed25519 ${key.toString('base64')}\n`);
    // First match wins in file order; the plain entry comes first, so put the revocation first.
    fs.writeFileSync(f, `@revoked plain.example ssh-ed25519 ${key.toString('base64')}\n` + fs.readFileSync(f, 'utf8'));
    const rv = checkHostKey([f], 'plain.example', 22, key, 'ssh-ed25519');
    assert.equal(!rv.ok && rv.reason, 'revoked');
  });
});

const missing = sftpMissing();
if (missing) {
  it('SFTP against OpenSSH', (t) => t.skip(`missing: ${missing}`));
} else {
  let svc: Service | undefined;
  let n = 0;
  const server = async (): Promise<Service> => (svc ??= await startSftp());

  runBackendSuite('sftp → OpenSSH', async () => {
    const s = await server();
    const backend = new SftpBackend(`sftp:sftp-test:${s.env.SFTP_ROOT}/suite-${n++}/repo`, { env: { ...process.env, ...sftpEnv(s) } });
    return { backend, cleanup: async () => undefined };
  });

  describe('sftp connection checks', () => {
    let s: Service;
    before(async () => {
      s = await server();
    });
    after(() => svc?.stop());

    it('works with the URL form and env overrides (relative path under the login folder)', async () => {
      const b = new SftpBackend(`sftp://${s.env.SFTP_USER}@${s.env.SFTP_HOST}:${s.env.SFTP_PORT}/rel-repo`, {
        env: { HOME: tempDir(), SSH_AUTH_SOCK: '', COFFER_SFTP_KNOWN_HOSTS: s.env.SFTP_KNOWN_HOSTS!, COFFER_SFTP_IDENTITY: s.env.SFTP_PRIVATE_KEY_RSA! },
      });
      try {
        await b.create();
        await b.put({ type: 'config', name: '' }, new Uint8Array([1, 2, 3]));
        assert.ok(fs.existsSync(path.join(s.env.SFTP_ROOT!, 'rel-repo', 'config')));
        assert.ok(fs.existsSync(path.join(s.env.SFTP_ROOT!, 'rel-repo', 'data', 'ff')));
        await assert.rejects(b.create(), (e: unknown) => isCofferError(e, 'already-exists'));
      } finally {
        await b.close();
      }
    });

    it('logs in with the SSH agent (SSH_AUTH_SOCK) when no key file is there', async (t) => {
      const dir = tempDir();
      const sock = path.join(dir, 'agent.sock');
      const agent = spawnSync('ssh-agent', ['-a', sock, '-s'], { encoding: 'utf8' });
      if (agent.status !== 0) {
        if (!requireTool(t, 'ssh-agent (openssh-client)')) return;
      }
      const pid = /SSH_AGENT_PID=(\d+)/.exec(agent.stdout)?.[1];
      try {
        const add = spawnSync('ssh-add', [s.env.SFTP_PRIVATE_KEY!], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: sock } });
        assert.equal(add.status, 0, add.stderr);
        const b = new SftpBackend(`sftp://${s.env.SFTP_USER}@${s.env.SFTP_HOST}:${s.env.SFTP_PORT}/${s.env.SFTP_ROOT}/agent-repo`, {
          env: { HOME: dir, SSH_AUTH_SOCK: sock, COFFER_SFTP_KNOWN_HOSTS: s.env.SFTP_KNOWN_HOSTS! },
        });
        try {
          await b.create();
          assert.ok(fs.existsSync(path.join(s.env.SFTP_ROOT!, 'agent-repo', 'keys')));
        } finally {
          await b.close();
        }
      } finally {
        if (pid) process.kill(Number(pid));
      }
    });

    it('refuses a host whose key differs from known_hosts, with a clear message', async () => {
      const kh = path.join(tempDir(), 'known_hosts');
      const fake = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), randomBytes(32)]);
      fs.writeFileSync(kh, `[${s.env.SFTP_HOST}]:${s.env.SFTP_PORT} ssh-ed25519 ${fake.toString('base64')}\n`);
      const b = new SftpBackend(`sftp://${s.env.SFTP_USER}@${s.env.SFTP_HOST}:${s.env.SFTP_PORT}//tmp/x`, {
        env: { HOME: tempDir(), SSH_AUTH_SOCK: '', COFFER_SFTP_KNOWN_HOSTS: kh, COFFER_SFTP_IDENTITY: s.env.SFTP_PRIVATE_KEY! },
      });
      await assert.rejects(b.stat({ type: 'config', name: '' }), (e: unknown) => {
        assert.ok(isCofferError(e, 'permission'), String(e));
        assert.match((e as Error).message, /HOST KEY MISMATCH/);
        assert.ok((e as Error).message.includes(s.env.SFTP_HOST_KEY_SHA256!), (e as Error).message);
        return true;
      });
      await b.close();
    });

    it('refuses an unknown host (no silent trust)', async () => {
      const b = new SftpBackend(`sftp://${s.env.SFTP_USER}@${s.env.SFTP_HOST}:${s.env.SFTP_PORT}//tmp/x`, {
        env: { HOME: tempDir(), SSH_AUTH_SOCK: '', COFFER_SFTP_IDENTITY: s.env.SFTP_PRIVATE_KEY! },
      });
      await assert.rejects(b.stat({ type: 'config', name: '' }), (e: unknown) => {
        assert.ok(isCofferError(e, 'permission'), String(e));
        assert.match((e as Error).message, /is not known/);
        assert.match((e as Error).message, /ssh-keyscan -p/);
        return true;
      });
      await b.close();
    });

    it('reports a missing key as a permission error', async () => {
      const b = new SftpBackend(`sftp://nobody-here@${s.env.SFTP_HOST}:${s.env.SFTP_PORT}//tmp/x`, {
        env: { HOME: tempDir(), SSH_AUTH_SOCK: '', COFFER_SFTP_KNOWN_HOSTS: s.env.SFTP_KNOWN_HOSTS!, COFFER_SFTP_IDENTITY: s.env.SFTP_PRIVATE_KEY! },
      });
      await assert.rejects(b.stat({ type: 'config', name: '' }), (e: unknown) => isCofferError(e, 'permission') && /authentication failed/.test((e as Error).message));
      await b.close();
    });
  });
}
