/**
 * `coffer share --server` against `coffer serve --web` (design §2): the CLI signs in with the
 * server's account (Basic at /login, then the session cookie), streams the sealed files to
 * `/api/shares`, and the link's base is the server. The share lands in `<data>/.coffer-shares/`
 * owned by that account: anyone with the link reads it (opened here with the core, byte-identical),
 * another account neither lists nor revokes it, the owner revokes it and every route says 404.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import bcrypt from 'bcryptjs';
import { fileNumber, openFile, openManifest, parseShareLink } from '../../src/core/share/format.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { mustRun, startCoffer, webEnv } from '../web/web-helpers.js';

test('share --server: upload to coffer serve --web with an account; owners; revoke', { timeout: 60_000 }, async () => {
  const dir = tempDir('coffer-share-serve-');
  const data = path.join(dir, 'data');
  const src = path.join(dir, 'src');
  fs.mkdirSync(src, { recursive: true });
  fs.mkdirSync(data, { recursive: true });
  const content = randomBytes(1024 * 1024 + 333);
  fs.writeFileSync(path.join(src, 'report.pdf'), content);
  const repo = path.join(dir, 'repo');
  const env = testEnv();
  await mustRun(['-r', repo, 'init'], { env });
  await mustRun(['-r', repo, 'backup', src], { env });
  fs.writeFileSync(path.join(data, '.htpasswd'), `alice:${bcrypt.hashSync('alice-login', 5)}\nbob:${bcrypt.hashSync('bob-login', 5)}\n`);
  const server = await startCoffer(['serve', '--path', data, '--listen', '127.0.0.1:0', '--web'], webEnv(), /listening on http:\/\/127\.0\.0\.1:\d+\//);
  const base = /(http:\/\/127\.0\.0\.1:\d+)\//.exec(server.line)![1]!;
  const as = (who: string, pw: string) => `http://${who}:${pw}@${base.slice('http://'.length)}/`;
  try {
    const made = JSON.parse((await mustRun(['-r', repo, 'share', 'create', `latest:${src}/report.pdf`, '--server', as('alice', 'alice-login'), '--json'], { env })).stdout) as { id: string; url: string };
    const link = parseShareLink(made.url);
    assert.equal(link.base, base);
    assert.equal(link.id, made.id);

    // Public, with the link alone.
    const m = openManifest(link.key, link.id, new Uint8Array(await (await fetch(`${base}/s/${link.id}/m`)).arrayBuffer()));
    assert.deepEqual(m.items.map((i) => [i.name, i.mime, i.size, i.hasPreview]), [['report.pdf', 'application/pdf', content.length, false]]);
    const sealed = new Uint8Array(await (await fetch(`${base}/s/${link.id}/f/${fileNumber(0, 'original')}`)).arrayBuffer());
    assert.ok(Buffer.from(openFile(link.key, link.id, 0, sealed)).equals(content));

    const meta = JSON.parse(fs.readFileSync(path.join(data, '.coffer-shares', link.id, 'meta.json'), 'utf8')) as { owner: string };
    assert.equal(meta.owner, 'alice');

    const listOf = async (who: string, pw: string) => JSON.parse((await mustRun(['-r', repo, 'share', 'list', '--server', as(who, pw), '--json'], { env })).stdout) as { id: string; url?: string }[];
    const alice = await listOf('alice', 'alice-login');
    assert.deepEqual(alice.map((s) => s.id), [link.id]);
    assert.equal(alice[0]!.url, made.url, 'the link comes back from the sealed record');
    assert.deepEqual(await listOf('bob', 'bob-login'), []);

    const wrong = await runCoffer(['-r', repo, 'share', 'list', '--server', as('alice', 'nope')], { env });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /sign-in refused \(401\)/);
    assert.ok(!wrong.stderr.includes('nope'));

    assert.notEqual((await runCoffer(['-r', repo, 'share', 'revoke', link.id, '--server', as('bob', 'bob-login')], { env })).code, 0);
    assert.equal((await fetch(`${base}/s/${link.id}/m`)).status, 200, 'bob could not revoke it');
    await mustRun(['-r', repo, 'share', 'revoke', link.id, '--server', as('alice', 'alice-login')], { env });
    for (const p of [`/s/${link.id}`, `/s/${link.id}/m`, `/s/${link.id}/f/0`]) assert.equal((await fetch(base + p)).status, 404, p);
    assert.equal(fs.existsSync(path.join(data, '.coffer-shares', link.id)), false);
    assert.ok(!server.stderr().includes(made.url.split('#')[1]!));
  } finally {
    await server.stop();
  }
});
