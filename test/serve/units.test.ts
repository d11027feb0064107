/** In-process units of coffer serve: htpasswd parsing and bcrypt checks, request routing, listen/size flags. */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isCofferError } from '../../src/core/errors.js';
import { bcryptVerify, Htpasswd, parseHtpasswd } from '../../src/server/htpasswd.js';
import { basicCredentials, repoOf } from '../../src/server/serve-app.js';
import { parseListen, parseSize } from '../../src/cli/commands/serve.js';
import { tempDir } from '../helpers/paths.js';

// Made by "htpasswd -nbB -C 5 alice secret" (Apache's $2y$).
const ALICE = '$2y$05$4QSNWqqPZJG1xCqO46YpVOwyDkJQOJZ3gppOnFAAX8XABe.n.gmy6';

test('bcrypt: $2y$ from Apache htpasswd verifies, wrong passwords do not', () => {
  assert.equal(bcryptVerify('secret', ALICE), true);
  assert.equal(bcryptVerify('Secret', ALICE), false);
  assert.equal(bcryptVerify('secret', ALICE.replace('$2y$', '$2b$')), true);
  assert.equal(bcryptVerify('secret', 'not a hash'), false);
});

test('htpasswd: SHA and apr1 entries are refused with a clear message that does not show the hash', () => {
  assert.equal(parseHtpasswd(`# users\nalice:${ALICE}\n\n`).get('alice'), ALICE);
  for (const [line, kind] of [
    ['bob:{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=', /SHA-1/],
    ['bob:$apr1$abc$0123456789abcdefghijkl', /apr1/],
  ] as const) {
    assert.throws(
      () => parseHtpasswd(line, 'pw'),
      (e) => isCofferError(e, 'usage') && kind.test(e.message) && e.message.includes('"bob"') && !e.message.includes(line.split(':')[1]!) && /htpasswd -B/.test(e.message),
    );
  }
});

test('htpasswd file: verify, cache, reload on change; missing file is a usage error', () => {
  const dir = tempDir('coffer-htpasswd-');
  const file = path.join(dir, '.htpasswd');
  assert.throws(() => new Htpasswd(file), (e) => isCofferError(e, 'usage') && /--no-auth/.test(e.message));
  fs.writeFileSync(file, `alice:${ALICE}\n`);
  const h = new Htpasswd(file);
  assert.equal(h.verify('alice', 'secret'), true);
  assert.equal(h.verify('alice', 'secret'), true); // cached
  assert.equal(h.verify('alice', 'other'), false);
  assert.equal(h.verify('nobody', 'secret'), false);
  if (spawnSync('htpasswd', ['-b', '-B', '-C', '4', file, 'bob', 'b-pw']).status === 0) {
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    (h as unknown as { checkedAt: number }).checkedAt = 0;
    assert.equal(h.verify('bob', 'b-pw'), true);
  }
});

test('routing: the repository is the path before config or <type>/[name]', () => {
  const id = 'a'.repeat(64);
  assert.equal(repoOf('/config', false), '');
  assert.equal(repoOf('/repo/config', false), 'repo');
  assert.equal(repoOf(`/u/r/data/${id}`, false), 'u/r');
  assert.equal(repoOf('/u/r/keys/', false), 'u/r');
  assert.equal(repoOf('/u/r/', true), 'u/r');
  assert.equal(repoOf('/u/r', true), 'u/r');
  assert.equal(repoOf('/', true), '');
  assert.equal(repoOf('/u/r/', false), undefined);
  assert.equal(repoOf('/../x/config', false), undefined);
  assert.equal(repoOf('/%2e%2e/config', false), undefined);
  assert.equal(repoOf('/.htpasswd', true), undefined);
  assert.equal(repoOf('/a%2Fb/config', false), 'a/b');
  assert.equal(repoOf('/a%00/config', false), undefined);
});

test('Basic credentials: passwords with colons; malformed headers give nothing', () => {
  const h = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  assert.deepEqual(basicCredentials(h('u:p:w@x')), { user: 'u', password: 'p:w@x' });
  assert.equal(basicCredentials(h('nocolon')), undefined);
  assert.equal(basicCredentials('Bearer abc'), undefined);
  assert.equal(basicCredentials(null), undefined);
});

test('--listen and --max-size parsing', () => {
  assert.deepEqual(parseListen('127.0.0.1:8000'), { host: '127.0.0.1', port: 8000 });
  assert.deepEqual(parseListen(':8000'), { host: '0.0.0.0', port: 8000 });
  assert.deepEqual(parseListen('[::1]:9'), { host: '::1', port: 9 });
  assert.throws(() => parseListen('host'), (e) => isCofferError(e, 'usage'));
  assert.throws(() => parseListen('h:70000'), (e) => isCofferError(e, 'usage'));
  assert.equal(parseSize('1000'), 1000);
  assert.equal(parseSize('10K'), 10240);
  assert.equal(parseSize('2GiB'), 2 * 1024 ** 3);
  assert.throws(() => parseSize('lots'), (e) => isCofferError(e, 'usage'));
});
