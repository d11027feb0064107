/**
 * A download opened in parallel (web/worker/open-pool.ts): the session worker hands its planned
 * reads to nested opener workers, in Chromium against `coffer web`. The page drives the session
 * worker's own protocol (unlock, stream into a MessagePort, pulls as credits) and checks:
 *  - the file arrives byte-exact and in order, and its data packs were fetched by the openers,
 *    not by the session worker (its own resource timings name none of them);
 *  - with one byte of a data pack flipped on disk, the stream ends in a clear error naming the
 *    damaged blob, and every byte delivered before it is the file's own (no wrong bytes);
 *  - terminating the session worker (what Lock does) ends the openers with it.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { chromium, type Worker as PwWorker } from 'playwright-core';
import { backup } from '../../src/core/engine/backup/backup.js';
import { TreeLoader, resolveSubfolder } from '../../src/core/engine/walk/tree-walker.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository } from '../../src/core/repository/open.js';
import { loadSnapshots } from '../../src/core/repository/snapshots.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { CHROMIUM, CHROMIUM_ARGS, requireBrowser } from '../browser/harness.js';
import { CHEAP_KDF, dir, file, FakeSource, LOCK_OWNER, OWNER, platform, randomBytes } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { startWeb } from './web-helpers.js';

const MiB = 1024 * 1024;
const PASSWORD = 'parallel-password';
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

interface Got {
  bytes: number;
  sha: string;
  done: boolean;
  error?: string;
}

test('web download: reads opened by nested workers, byte-exact; a flipped byte fails it; Lock ends them', { timeout: 120_000 }, async (t) => {
  if (!requireBrowser(t)) return;
  const tmp = tempDir('coffer-web-parallel-');
  const repoDir = path.join(tmp, 'repo');
  const data = randomBytes(23, 40 * MiB + 4321);
  // 4 MiB packs: the file spreads over ~10 packs, so over many reads.
  const repo = await initRepository(new LocalBackend(repoDir), await platform(), { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, packSize: 4 * MiB });
  await backup(repo, new FakeSource(dir({ big: file(data) })), { targets: ['/big'], hostname: 'parallel-host', owner: LOCK_OWNER });
  const reopened = await openRepository(new LocalBackend(repoDir), await platform(), { password: PASSWORD });
  const index = await loadMasterIndex(reopened);
  const snap = (await loadSnapshots(reopened))[0]!;
  const loader = new TreeLoader(reopened, index, 16);
  const node = (await loader.load(await resolveSubfolder(loader, snap.snapshot.tree, ''))).nodes.find((n) => n.type === 'file')!;
  const locs = node.content!.map((id) => index.lookup('data', id)!);
  const dataPacks = [...new Set(locs.map((l) => l.packId))];
  assert.ok(dataPacks.length >= 6, `packs: ${dataPacks.length}`);

  const server = await startWeb(repoDir);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    const openers: PwWorker[] = [];
    const closed: string[] = [];
    page.on('worker', (w) => {
      if (w.url().endsWith('/opener.js')) openers.push(w);
      w.on('close', () => closed.push(w.url()));
    });
    await page.goto(server.url);
    const unlocked = await page.evaluate(async (password) => {
      const script = document.querySelector<HTMLScriptElement>('script[type=module]')!.src;
      const w = new Worker(new URL('../worker/worker.js', script), { type: 'module', name: 'coffer' });
      let next = 1;
      const waiting = new Map<number, (r: { ok: boolean; value?: unknown; error?: { message: string } }) => void>();
      w.onmessage = (e) => waiting.get(e.data.id)?.(e.data);
      const call = (req: unknown, transfer: Transferable[] = []): Promise<{ ok: boolean; value?: unknown; error?: { message: string } }> =>
        new Promise((resolve) => {
          const id = next++;
          waiting.set(id, resolve);
          w.postMessage({ id, req }, transfer);
        });
      (globalThis as unknown as { coffer: unknown }).coffer = { w, call };
      const u = await call({ op: 'unlock', repo: '/repo/', password, remember: false });
      if (!u.ok) return u.error!.message;
      const s = await call({ op: 'snapshots' });
      return (s.value as { id: string }[])[0]!.id;
    }, PASSWORD);
    assert.match(unlocked, /^[0-9a-f]{64}$/, unlocked);

    const download = (): Promise<Got> =>
      page.evaluate(async (snapshot) => {
        const { call } = (globalThis as unknown as { coffer: { call(req: unknown, t?: Transferable[]): Promise<{ ok: boolean; error?: { message: string } }> } }).coffer;
        const ch = new MessageChannel();
        const parts: Uint8Array[] = [];
        let bytes = 0;
        const end = new Promise<{ done: boolean; error?: string }>((resolve) => {
          ch.port1.onmessage = (e) => {
            const m = e.data as { chunk?: ArrayBuffer; done?: boolean; error?: string };
            if (m.chunk) {
              parts.push(new Uint8Array(m.chunk));
              bytes += m.chunk.byteLength;
            }
            if (m.error !== undefined) resolve({ done: false, error: m.error });
            else if (m.done) resolve({ done: true });
            else ch.port1.postMessage({ pull: true });
          };
        });
        const r = await call({ op: 'stream', snapshot, path: '/big', kind: 'file' }, [ch.port2]);
        if (!r.ok) return { bytes: 0, sha: '', done: false, error: r.error!.message };
        for (let i = 0; i < 8; i++) ch.port1.postMessage({ pull: true });
        const out = await end;
        const all = new Uint8Array(bytes);
        let o = 0;
        for (const p of parts) {
          all.set(p, o);
          o += p.length;
        }
        const hex = Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', all)), (x) => x.toString(16).padStart(2, '0')).join('');
        return { bytes, sha: hex, ...out };
      }, unlocked);

    // 1. Byte-exact through the openers.
    const good = await download();
    assert.equal(good.error, undefined, good.error);
    assert.ok(good.done);
    assert.equal(good.bytes, data.length);
    assert.equal(good.sha, sha(data), 'downloaded bytes differ from the file');
    const session = page.workers().find((w) => w.url().endsWith('/worker.js'));
    assert.ok(session, 'the session worker is visible');
    const fetchedBySession = await session.evaluate((packs) => performance.getEntriesByType('resource').filter((e) => packs.some((p) => e.name.includes(p))).length, dataPacks);
    assert.equal(fetchedBySession, 0, 'the session worker read data packs itself: the openers were not used');
    t.diagnostic(`openers seen by playwright: ${openers.length}`);
    if (openers.length > 0) {
      const fetched = await Promise.all(openers.map((w) => w.evaluate((packs) => performance.getEntriesByType('resource').filter((e) => packs.some((p) => e.name.includes(p))).length, dataPacks)));
      assert.ok(fetched.reduce((a, b) => a + b, 0) >= dataPacks.length, `reads by the openers: ${fetched.join(', ')}`);
      assert.ok(fetched.filter((n) => n > 0).length >= 2, `reads spread over the openers: ${fetched.join(', ')}`);
    }

    // 2. One flipped byte in a data pack holding the middle of the file: a clear error, no wrong bytes.
    const mid = locs[Math.floor(locs.length / 2)]!;
    const packFile = path.join(repoDir, 'data', mid.packId.slice(0, 2), mid.packId);
    fs.chmodSync(packFile, 0o644);
    const fd = fs.openSync(packFile, 'r+');
    const at = mid.offset + 16 + Math.floor(mid.length / 2);
    const one = Buffer.alloc(1);
    fs.readSync(fd, one, 0, 1, at);
    one[0] ^= 0x20;
    fs.writeSync(fd, one, 0, 1, at);
    fs.closeSync(fd);
    const bad = await download();
    assert.equal(bad.done, false, 'a tampered pack must not complete the download');
    assert.match(bad.error ?? '', new RegExp(`data blob [0-9a-f]{64} in pack ${mid.packId}`), bad.error);
    assert.ok(bad.bytes < data.length);
    assert.equal(bad.sha, sha(data.subarray(0, bad.bytes)), 'bytes delivered before the error differ from the file');

    // 3. Lock: terminating the session worker ends the openers.
    await page.evaluate(() => (globalThis as unknown as { coffer: { w: Worker } }).coffer.w.terminate());
    if (openers.length > 0) {
      const deadline = Date.now() + 10_000;
      while (Date.now() < deadline && !openers.every((w) => closed.includes(w.url()) && closed.filter((u) => u.endsWith('/opener.js')).length >= openers.length)) await new Promise((r) => setTimeout(r, 100));
      assert.ok(closed.filter((u) => u.endsWith('/opener.js')).length >= openers.length, `openers still running after the session worker ended: ${openers.length} started, ${closed.length} closed`);
    }
  } finally {
    await context.close();
    await server.stop();
    fs.rmSync(profile, { recursive: true, force: true });
  }
});
