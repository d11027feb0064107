/**
 * The worker's download reads (web/worker/session.ts): readPlan merges the blobs that lie back to
 * back in one pack into one ranged read even when the file's order interleaves packs (a backup
 * fills packs in parallel), within a window and up to a size; and Session.fileBlobs, run in Node
 * against `coffer web`'s REST app over a real local repository (the same fetch, WebCrypto and
 * wasm as in the browser's worker), yields every blob of a file in file order, byte-exact, for
 * a content list that interleaves packs, repeats blobs and runs past several windows.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { backup } from '../../src/core/engine/backup/backup.js';
import { TreeLoader, resolveSubfolder } from '../../src/core/engine/walk/tree-walker.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex, MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { listen } from '../../src/server/node-listener.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { withStreamedReads } from '../../src/server/web-serve.js';
import { readPlan, Session } from '../../src/web/worker/session.js';
import { CHEAP_KDF, dir, file, FakeSource, LOCK_OWNER, OWNER, platform, randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { cliLike } from './web-helpers.js';

const MiB = 1024 * 1024;

const id = (n: number): string => n.toString(16).padStart(64, '0');

test('readPlan: interleaved packs give one read per run of back-to-back blobs, in file order', () => {
  const index = new MasterIndex();
  const P = 'a'.repeat(64), Q = 'b'.repeat(64);
  // File order 0..7 alternates between two packs, each holding its blobs back to back.
  index.addPack(P, [0, 2, 4, 6].map((n, i) => ({ type: 'data' as const, id: id(n), offset: i * MiB, length: MiB, uncompressedLength: 0 })));
  index.addPack(Q, [1, 3, 5, 7].map((n, i) => ({ type: 'data' as const, id: id(n), offset: i * MiB, length: MiB, uncompressedLength: 0 })));
  const ids = [0, 1, 2, 3, 4, 5, 6, 7, 2, 99].map(id);
  const { groups, order } = readPlan(index, ids, 64 * MiB, 16 * MiB);
  assert.deepEqual(
    groups.map((g) => [g.packId?.[0], g.offset / MiB, g.length / MiB, g.blobs.map((b) => Number.parseInt(b.id, 16))]),
    [
      ['a', 0, 4, [0, 2, 4, 6]],
      ['b', 0, 4, [1, 3, 5, 7]],
      ['a', 1, 1, [2]], // blob 2 a second time: its own read (its own buffer)
      [undefined, 0, 0, [99]], // not in the index: left to the core's loader
    ],
  );
  // Every position maps to the blob it names.
  ids.forEach((want, pos) => assert.equal(groups[order[pos]!.group]!.blobs[order[pos]!.blob]!.id, want));
  // A small window splits the plan; a small read size splits a run.
  assert.equal(readPlan(index, ids.slice(0, 8), 2 * MiB, 16 * MiB).groups.length, 8);
  assert.deepEqual(readPlan(index, ids.slice(0, 8), 64 * MiB, 2 * MiB).groups.map((g) => g.length / MiB), [2, 2, 2, 2]);
});

test('Session.fileBlobs: interleaved, repeated and windowed content comes out in file order, byte-exact', { timeout: 60_000 }, async () => {
  const tmp = tempDir('coffer-web-plan-');
  const repoDir = path.join(tmp, 'repo');
  const data = randomBytes(11, 12 * MiB);
  // Small packs: the file's blobs spread over several packs.
  const repo = await initRepository(new LocalBackend(repoDir), await platform(), { password: 'plan-password', kdf: CHEAP_KDF, ...OWNER, packSize: 4 * MiB });
  await backup(repo, new FakeSource(dir({ big: file(data) })), { targets: ['/big'], hostname: 'plan-host', owner: LOCK_OWNER });
  const reopened = await openRepository(new LocalBackend(repoDir), await platform(), { password: 'plan-password' });
  const index = await loadMasterIndex(reopened);
  const snap = (await loadSnapshots(reopened))[0]!;
  const loader = new TreeLoader(reopened, index, 16);
  const node = (await loader.load(await resolveSubfolder(loader, snap.snapshot.tree, ''))).nodes.find((n) => n.type === 'file')!;
  const content = node.content!;
  assert.ok(content.length >= 6, `want several blobs, got ${content.length}`);
  assert.ok(new Set(content.map((c) => index.lookup('data', c)!.packId)).size >= 2, 'blobs in more than one pack');
  // Odd positions first, then even, then some again: every read plan shape at once.
  const shuffled = [...content.filter((_, i) => i % 2 === 1), ...content.filter((_, i) => i % 2 === 0), content[0]!, content[3]!, content[0]!];
  const want: Uint8Array[] = [];
  for (const c of shuffled) want.push(await loadBlob(reopened, index, 'data', c));

  const rest = createRestApp({ backend: withStreamedReads(cliLike(new LocalBackend(repoDir))), prefix: '/repo/' });
  let ranged = 0; // 206 answers: the worker's own range reads (range-fetch.ts), not the fallback
  const server = await listen(async (req) => {
    const r = await rest(req);
    if (r.status === 206) ranged++;
    return r;
  });
  const g = globalThis as { self?: unknown };
  const hadSelf = 'self' in g;
  g.self ??= { location: { href: `${server.url}/` } };
  try {
    const session = await Session.unlock('/repo/', 'plan-password');
    for (const ahead of [1, 48 * MiB]) {
      const got: Uint8Array[] = [];
      for await (const b of session.fileBlobs({ ...node, content: shuffled }, ahead)) got.push(b.slice());
      assert.equal(got.length, want.length);
      got.forEach((b, i) => assert.ok(Buffer.from(b).equals(Buffer.from(want[i]!)), `blob ${i} differs (ahead ${ahead})`));
    }
    // The real file: its bytes exactly.
    const parts: Buffer[] = [];
    ranged = 0;
    for await (const b of session.fileBlobs(node)) parts.push(Buffer.from(b));
    assert.ok(Buffer.concat(parts).equals(Buffer.from(data)), 'file bytes differ');
    // One read per pack here (blobs back to back), not one per blob.
    const packs = new Set(content.map((c) => index.lookup('data', c)!.packId)).size;
    assert.ok(ranged > 0 && ranged <= packs, `${ranged} range reads for ${packs} packs and ${content.length} blobs`);
  } finally {
    if (!hadSelf) delete g.self;
    await server.close();
  }
});
