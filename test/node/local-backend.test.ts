import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { runBackendSuite, idOf } from '../backend/backend-suite.js';
import { LocalBackend, mapError, TEMP_PREFIX } from '../../src/node/local-backend.js';
import { isCofferError } from '../../src/core/errors.js';
import { tempDir } from '../helpers/paths.js';

runBackendSuite('local', async () => {
  const dir = path.join(tempDir(), 'repo');
  return { backend: new LocalBackend(dir), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
});

describe('LocalBackend specifics', () => {
  it('creates restic’s folder structure with restic’s modes', async () => {
    const root = path.join(tempDir(), 'r');
    const b = new LocalBackend(root);
    await b.create();
    assert.deepEqual(fs.readdirSync(root).sort(), ['data', 'index', 'keys', 'locks', 'snapshots']);
    assert.equal(fs.readdirSync(path.join(root, 'data')).length, 256);
    assert.equal(fs.statSync(path.join(root, 'data', 'ff')).mode & 0o777, 0o700 & ~process.umask());
    const h = { type: 'data' as const, name: idOf('x') };
    await b.put(h, new Uint8Array([1]));
    const p = path.join(root, 'data', h.name.slice(0, 2), h.name);
    assert.equal(fs.statSync(p).mode & 0o7777, 0o400, 'read-only like restic');
    await b.put({ type: 'config', name: '' }, new Uint8Array([2]));
    await assert.rejects(b.create(), (e) => isCofferError(e, 'already-exists'));
  });

  it('uses group-readable modes when the config is group-readable (as restic)', async () => {
    const root = path.join(tempDir(), 'g');
    await new LocalBackend(root).create();
    fs.writeFileSync(path.join(root, 'config'), 'c', { mode: 0o440 });
    fs.chmodSync(path.join(root, 'config'), 0o440);
    const b = new LocalBackend(root);
    const h = { type: 'index' as const, name: idOf('g') };
    await b.put(h, new Uint8Array([1]));
    assert.equal(fs.statSync(path.join(root, 'index', h.name)).mode & 0o7777, 0o440);
  });

  it('skips temp files, non-ID names and folders when listing; recreates missing shards on put', async () => {
    const root = path.join(tempDir(), 's');
    const b = new LocalBackend(root);
    await b.create();
    const id = idOf('a');
    fs.writeFileSync(path.join(root, 'snapshots', id), 'abc');
    fs.writeFileSync(path.join(root, 'snapshots', TEMP_PREFIX + '1234'), 'partial');
    fs.writeFileSync(path.join(root, 'snapshots', id.toUpperCase()), 'x');
    fs.writeFileSync(path.join(root, 'snapshots', 'README'), 'x');
    fs.mkdirSync(path.join(root, 'snapshots', idOf('dir')));
    fs.writeFileSync(path.join(root, 'data', idOf('flat')), 'not in a shard');
    const got = [];
    for await (const fi of b.list('snapshots')) got.push(fi);
    assert.deepEqual(got, [{ name: id, size: 3 }]);
    const data = [];
    for await (const fi of b.list('data')) data.push(fi);
    assert.deepEqual(data, []);
    fs.rmSync(path.join(root, 'data', 'c0'), { recursive: true });
    const h = { type: 'data' as const, name: 'c0' + idOf('b').slice(2) };
    await b.put(h, new Uint8Array([9]));
    assert.deepEqual(await b.get(h), new Uint8Array([9]));
    fs.rmSync(path.join(root, 'locks'), { recursive: true });
    for await (const _ of b.list('locks')) assert.fail('missing folder must list as empty');
  });

  it('leaves no temp file behind after a failed put', async () => {
    const root = path.join(tempDir(), 'f');
    const b = new LocalBackend(root);
    await b.create();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(b.put({ type: 'keys', name: idOf('k') }, new Uint8Array(10), { signal: ac.signal }));
    assert.deepEqual(fs.readdirSync(path.join(root, 'keys')), []);
  });

  it('maps errno codes to contract codes with the path in the message', () => {
    const err = (code: string) => Object.assign(new Error(code), { code });
    const cases: [string, string][] = [
      ['ENOENT', 'not-found'],
      ['EACCES', 'permission'],
      ['EPERM', 'permission'],
      ['ENOSPC', 'no-space'],
      ['EDQUOT', 'no-space'],
      ['EIO', 'transient'],
      ['EISDIR', 'internal'],
    ];
    for (const [code, want] of cases) {
      const e = mapError(err(code), '/repo/data/ab/x');
      assert.equal(e.code, want, code);
      assert.match(e.message, /\/repo\/data\/ab\/x/);
    }
    assert.match(mapError(err('ENOSPC'), '/r/f').message, /disk is full/);
  });

  it('reports permission errors as permission', async () => {
    if (process.getuid?.() !== 0) {
      const root = path.join(tempDir(), 'p');
      const b = new LocalBackend(root);
      await b.create();
      fs.chmodSync(path.join(root, 'keys'), 0o500);
      await assert.rejects(b.put({ type: 'keys', name: idOf('p') }, new Uint8Array(1)), (e) => isCofferError(e, 'permission'));
      return;
    }
    // Root ignores file modes: a read-only mount refuses it too (EROFS).
    const mnt = tempDir('coffer-ro-');
    execFileSync('mount', ['-t', 'tmpfs', 'tmpfs', mnt]);
    try {
      const b = new LocalBackend(path.join(mnt, 'r'));
      await b.create();
      execFileSync('mount', ['-o', 'remount,ro', mnt]);
      await assert.rejects(b.put({ type: 'keys', name: idOf('p') }, new Uint8Array(1)), (e) => isCofferError(e, 'permission'));
    } finally {
      execFileSync('umount', [mnt]);
    }
  });

  it('reports a full disk as no-space', { skip: process.getuid?.() === 0 ? false : 'needs root for a tmpfs mount' }, async (t) => {
    const mnt = tempDir('coffer-full-');
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt], { stdio: 'ignore' });
    } catch {
      t.skip('cannot mount tmpfs here');
      return;
    }
    try {
      const b = new LocalBackend(path.join(mnt, 'r'));
      await b.create();
      await assert.rejects(b.put({ type: 'data', name: idOf('big') }, new Uint8Array(4 << 20)), (e) => isCofferError(e, 'no-space') && /disk is full/.test((e as Error).message));
      const left = fs.readdirSync(path.join(mnt, 'r', 'data', idOf('big').slice(0, 2)));
      assert.deepEqual(left, [], 'temp file removed');
    } finally {
      execFileSync('umount', [mnt]);
    }
  });
});

describe('LocalBackend crash safety', () => {
  it('a process killed (SIGKILL) during puts leaves only whole files under final names', async () => {
    const root = path.join(tempDir(), 'k');
    await new LocalBackend(root).create();
    // The child writes 32 MiB files whose name is the hash of their content, until it is killed.
    const script = `
      import { LocalBackend } from ${JSON.stringify(path.resolve('dist/src/node/local-backend.js'))};
      import { createHash, randomBytes } from 'node:crypto';
      const b = new LocalBackend(${JSON.stringify(root)});
      for (;;) {
        const d = randomBytes(32 << 20);
        await b.put({ type: 'data', name: createHash('sha256').update(d).digest('hex') }, d);
        process.stdout.write('.');
      }`;
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let written = 0;
    await new Promise<void>((resolve) => {
      child.stdout!.on('data', (d: Buffer) => {
        written += d.length;
        // kill while the next put is in flight
        if (written >= 2) setTimeout(() => child.kill('SIGKILL'), 15);
      });
      child.on('exit', () => resolve());
    });
    const b = new LocalBackend(root);
    let whole = 0;
    for await (const fi of b.list('data')) {
      assert.equal(fi.size, 32 << 20, 'a partial file under a final name');
      assert.equal(idOf(await b.get({ type: 'data', name: fi.name })), fi.name);
      whole++;
    }
    assert.ok(whole >= 2, `${whole} whole files`);
  });
});
