/**
 * Per-copy policies changed later (issue 12): the private item goes to the copy that admits it;
 * a new --exclude-tag never deletes by itself (sync and `copies policy` report what no longer
 * belongs, and the copy still holds it); `copies purge` removes the snapshot AND its data, so
 * the real restic finds neither the snapshot nor the private file's blob, and check --read-data
 * passes. Records follow --exclude-tag too (the private gallery is a record tagged private).
 */
import { test } from 'node:test';
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { admits, excludedSnapshots } from '../../src/core/engine/sync/sync.js';
import type { Snapshot } from '../../src/core/format/types.js';
import { resticBinaries, runRestic } from '../helpers/run.js';
import { copiesHarness } from './harness.js';

const snap = (hostname: string, paths: string[], tags: string[]): Snapshot => ({ time: { sec: 0, nsec: 0, offsetSec: 0 }, tree: '0'.repeat(64), paths, hostname, tags }) as unknown as Snapshot;

test('admits: --exclude-tag keeps out user snapshots and records; --only-tag never filters records', () => {
  const policy = { excludeTags: ['private'], onlyTags: ['photos'] };
  assert.equal(admits(snap('pc', ['/p'], ['photos']), policy), true);
  assert.equal(admits(snap('pc', ['/p'], ['photos', 'private']), policy), false);
  assert.equal(admits(snap('pc', ['/p'], []), policy), false);
  assert.equal(admits(snap('coffer', ['/coffer/gallery'], ['coffer-internal', 'coffer-gallery']), policy), true);
  assert.equal(admits(snap('coffer', ['/coffer/gallery-private'], ['coffer-internal', 'coffer-gallery', 'private']), policy), false);
  // A drill record belongs to the copy it drilled: never reported as excluded there.
  const drill = { id: 'd'.repeat(64), snapshot: snap('coffer', ['/coffer/drill'], ['coffer-internal', 'coffer-drill']) };
  assert.deepEqual(excludedSnapshots([drill], policy), []);
});

test('a policy changed later is reported, kept, and purged only on request (restic checks the copy)', async () => {
  const h = copiesHarness('copies-policy');
  const primary = path.join(h.dir, 'primary');
  const copy = path.join(h.dir, 'copy');
  const priv = path.join(h.dir, 'private');
  fs.mkdirSync(priv);
  // Over restic's minimum chunk size would split it; 100 KiB is one blob whose ID is its SHA-256.
  const secret = randomBytes(100 * 1024);
  fs.writeFileSync(path.join(priv, 'secret.jpg'), secret);
  const blobId = createHash('sha256').update(secret).digest('hex');

  await h.coffer(['init', '-r', primary]);
  await h.coffer(['backup', '-r', primary, path.join(h.dir, 'src')]);
  await h.coffer(['backup', '-r', primary, '--tag', 'private', priv]);
  await h.coffer(['copies', 'add', '-r', primary, 'usb', copy]);
  await h.coffer(['sync']);
  assert.equal((await h.resticSnapshots(copy)).filter((s) => s.hostname !== 'coffer').length, 2);

  const changed = await h.coffer(['copies', 'policy', 'usb', '--exclude-tag', 'private']);
  assert.match(changed.stderr, /holds 1 snapshot\(s\) its policy no longer admits/);
  assert.match(changed.stderr, /copies purge usb/);
  const shown = await h.coffer(['copies', 'policy', 'usb']);
  assert.match(shown.stdout, /not private/);

  const synced = await h.coffer(['sync', '--json']);
  const out = JSON.parse(synced.stdout.trim().split('\n').at(-1)!);
  assert.equal(out.copies[0].excluded.length, 1);
  assert.match(synced.stderr, /private/);
  let copySnaps = await h.resticSnapshots(copy);
  assert.equal(copySnaps.filter((s) => s.tags?.includes('private')).length, 1, 'nothing deleted without the explicit command');

  const dry = await h.coffer(['copies', 'purge', 'usb', '--dry-run']);
  assert.match(dry.stderr + dry.stdout, /would remove/);
  assert.equal((await h.resticSnapshots(copy)).filter((s) => s.tags?.includes('private')).length, 1);

  await h.coffer(['copies', 'purge', 'usb']);
  copySnaps = await h.resticSnapshots(copy);
  assert.equal(copySnaps.filter((s) => s.tags?.includes('private')).length, 0);
  assert.equal(copySnaps.filter((s) => s.hostname !== 'coffer').length, 1, 'the admitted backup stays');
  for (const restic of resticBinaries()) {
    const check = await runRestic(restic, ['-r', copy, 'check', '--read-data'], { env: h.env });
    assert.equal(check.code, 0, check.stderr);
  }
  const blobs = await runRestic(resticBinaries().at(-1)!, ['-r', copy, 'list', 'blobs'], { env: h.env });
  assert.equal(blobs.code, 0, blobs.stderr);
  assert.ok(!blobs.stdout.includes(blobId), 'the private file is gone from the copy, not even its ciphertext stays');
  const primaryBlobs = await runRestic(resticBinaries().at(-1)!, ['-r', primary, 'list', 'blobs'], { env: h.env });
  assert.ok(primaryBlobs.stdout.includes(blobId), 'the primary keeps it');
  // The next sync does not bring it back.
  await h.coffer(['sync']);
  assert.equal((await h.resticSnapshots(copy)).filter((s) => s.tags?.includes('private')).length, 0);
});
