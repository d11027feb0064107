/**
 * RestBackend against an independent server: rclone's `serve restic` (shared script
 * rclone-restic-server), with authentication, and a second instance in append-only mode.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { RestBackend } from '../../src/core/backend/rest.js';
import { CofferError } from '../../src/core/errors.js';
import type { FileType } from '../../src/core/backend/backend.js';
import { freePort, requireTool, serviceMissing, startService } from './services.js';

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}
function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed * 17 + (i >> 8)) & 0xff;
  return b;
}
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof CofferError) return e.code;
    throw e;
  }
}
async function names(b: RestBackend, t: FileType): Promise<Map<string, number>> {
  const m = new Map<string, number>();
  for await (const f of b.list(t)) m.set(f.name, f.size);
  return m;
}

test('RestBackend against rclone serve restic', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, serviceMissing('rclone-restic-server'))) return;
  const svc = startService('rclone-restic-server', { RCLONE_RESTIC_PORT: String(await freePort()) });
  try {
    const repoUrl = svc.env.RESTIC_REST_REPOSITORY!.replace(/^rest:/, '') + 'coffer-repo/';
    const rest = new RestBackend(repoUrl);
    assert.doesNotMatch(rest.location, /restic-test-password/);
    assert.equal(await code(rest.stat({ type: 'config', name: '' })), 'not-found');
    await rest.create();

    const cfg = bytes(155, 0);
    await rest.put({ type: 'config', name: '' }, cfg);
    assert.deepEqual(await rest.get({ type: 'config', name: '' }), cfg);

    // Packs in several shards, plus other types.
    const packs = [bytes(3 * 1024 * 1024 + 5, 1), bytes(700, 2), bytes(1, 3)];
    for (const p of packs) await rest.put({ type: 'data', name: sha(p) }, p);
    const idx = bytes(400, 4);
    await rest.put({ type: 'index', name: sha(idx) }, idx);
    await rest.put({ type: 'index', name: sha(idx) }, idx); // retried upload: 403 then same size → ok

    const listed = await names(rest, 'data');
    assert.equal(listed.size, packs.length);
    for (const p of packs) assert.equal(listed.get(sha(p)), p.length);
    assert.deepEqual(await names(rest, 'index'), new Map([[sha(idx), idx.length]]));
    assert.equal((await names(rest, 'snapshots')).size, 0);

    const big = { type: 'data' as const, name: sha(packs[0]!) };
    assert.equal((await rest.stat(big)).size, packs[0]!.length);
    assert.deepEqual(await rest.get(big), packs[0]);
    const n = packs[0]!.length;
    assert.deepEqual(await rest.get(big, { offset: n - 651, length: 651 }), packs[0]!.slice(n - 651));
    assert.deepEqual(await rest.get(big, { offset: 1000 }), packs[0]!.slice(1000));
    assert.equal(await code(rest.get(big, { offset: n - 10, length: 11 })), 'range');
    assert.equal(await code(rest.get(big, { offset: n + 1 })), 'range');

    const missing = { type: 'snapshots' as const, name: 'f'.repeat(64) };
    assert.equal(await code(rest.get(missing)), 'not-found');
    assert.equal(await code(rest.delete(missing)), 'not-found');

    await rest.delete({ type: 'data', name: sha(packs[1]!) });
    assert.equal(await code(rest.stat({ type: 'data', name: sha(packs[1]!) })), 'not-found');
    assert.equal((await names(rest, 'data')).size, 2);

    const wrong = new RestBackend(repoUrl.replace(/:[^:@/]+@/, ':wrong-password@'));
    assert.equal(await code(wrong.stat({ type: 'config', name: '' })), 'permission');
    const anonymous = new RestBackend(repoUrl.replace(/\/\/[^@]+@/, '//'));
    assert.equal(await code(anonymous.stat({ type: 'config', name: '' })), 'permission');
  } finally {
    svc.stop();
  }
});

test('RestBackend against rclone serve restic --append-only', { timeout: 240_000 }, async (t) => {
  if (!requireTool(t, serviceMissing('rclone-restic-server'))) return;
  const svc = startService('rclone-restic-server', { RCLONE_RESTIC_PORT: String(await freePort()), RCLONE_RESTIC_APPEND_ONLY: '1' });
  try {
    const rest = new RestBackend(svc.env.RESTIC_REST_REPOSITORY!.replace(/^rest:/, '') + 'ao/');
    await rest.create();
    const s = bytes(300, 5);
    await rest.put({ type: 'snapshots', name: sha(s) }, s);
    await rest.put({ type: 'locks', name: sha(s) }, s);
    assert.equal(await code(rest.delete({ type: 'snapshots', name: sha(s) })), 'permission');
    assert.equal(await code(rest.delete({ type: 'locks', name: sha(s) })), 'ok');
    assert.equal((await rest.stat({ type: 'snapshots', name: sha(s) })).size, 300);
  } finally {
    svc.stop();
  }
});
