/**
 * The CLI through a faulty REST server: Coffer's REST app (the one `coffer serve` runs) in this
 * process, over a FaultyBackend over a local folder, and `coffer` as a child process talking to it
 * with its real backend stack (RestBackend, timeouts, retries). Transient server faults (HTTP 500,
 * lost replies, slow answers, broken listings) are ridden out by backup and restore; damaged
 * bodies never reach a restored file; a pack the server refuses for good stops the restore with
 * one clear line, and the files it started are left as .coffer-partial and listed. The real
 * restic then checks the folder the faults went through.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Handle } from '../../src/core/backend/backend.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { listen, type Listening } from '../../src/server/node-listener.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { FaultyBackend, type FaultKind } from '../helpers/faulty-backend.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type RunResult } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';

const restics = resticBinaries();

/** A FaultyBackend whose rates can be changed between commands. */
class Switchable {
  current: FaultyBackend;
  constructor(readonly local: LocalBackend) {
    this.current = new FaultyBackend(local, { seed: 1, rates: {} });
  }
  set(seed: number, rates: Partial<Record<FaultKind, number>>, extra: { match?: (h: Handle) => boolean } = {}): FaultyBackend {
    this.current = new FaultyBackend(this.local, { seed, rates, slowMs: 30, ...(extra.match ? { match: extra.match } : {}) });
    return this.current;
  }
}

function readTree(root: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.set(path.relative(root, p), fs.readFileSync(p));
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

describe('CLI through a faulty REST server', () => {
  let server: Listening;
  let sw: Switchable;
  let repoDir: string;
  let src: string;
  let env: NodeJS.ProcessEnv;
  let want: Map<string, Buffer>;

  before(async () => {
    const dir = tempDir('coffer-cli-faults-');
    repoDir = path.join(dir, 'repo');
    fs.mkdirSync(repoDir);
    src = path.join(dir, 'src');
    fs.mkdirSync(path.join(src, 'many'), { recursive: true });
    fs.writeFileSync(path.join(src, 'big.bin'), prng('cli-faults-big', 9_000_000));
    fs.writeFileSync(path.join(src, 'mid.bin'), prng('cli-faults-mid', 300_000));
    for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(src, 'many', `f${i}.txt`), prng(`cli-faults-${i}`, 100 + i * 300));
    want = readTree(src);
    sw = new Switchable(new LocalBackend(repoDir));
    // Every request goes through the current FaultyBackend.
    const app = createRestApp({
      backend: new Proxy({} as LocalBackend, {
        get: (_t, prop) => {
          const v = (sw.current as unknown as Record<string | symbol, unknown>)[prop];
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(sw.current) : v;
        },
      }),
    });
    server = await listen(app);
    env = testEnv({ COFFER_REPOSITORY: `rest:${server.url}/`, RESTIC_REPOSITORY: repoDir });
    const init = await runCoffer(['init'], { env });
    assert.equal(init.code, 0, init.stderr);
  });

  after(async () => {
    await server?.close();
  });

  async function restoreAndCompare(): Promise<{ r: RunResult; target: string; wrong: string[]; missing: string[]; partial: string[] }> {
    const target = tempDir('coffer-cli-faults-out-');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    const root = path.join(target, src);
    const got = fs.existsSync(root) ? readTree(root) : new Map<string, Buffer>();
    const wrong = [...got].filter(([p, b]) => !p.endsWith('.coffer-partial') && !b.equals(want.get(p) ?? Buffer.alloc(0))).map(([p]) => p);
    const missing = [...want.keys()].filter((p) => !got.has(p));
    const partial = [...got.keys()].filter((p) => p.endsWith('.coffer-partial'));
    return { r, target, wrong, missing, partial };
  }

  it('backup and restore ride out HTTP 500s, lost replies, slow answers and broken listings', async () => {
    const f = sw.set(11, { transient: 0.06, lostReply: 0.04, slow: 0.05, listBreak: 0.1 });
    // 4 MiB packs: big.bin spans two data packs (the last test refuses one of them).
    const b = await runCoffer(['backup', '--pack-size', '4', src], { env });
    assert.equal(b.code, 0, b.stderr);
    const inBackup = f.injected;
    const f2 = sw.set(12, { transient: 0.06, lostReply: 0.04, slow: 0.05, listBreak: 0.1 });
    const { r, wrong, missing, partial } = await restoreAndCompare();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual({ wrong, missing, partial }, { wrong: [], missing: [], partial: [] });
    assert.ok(inBackup + f2.injected >= 3, `faults injected: backup ${JSON.stringify(f.counts())}, restore ${JSON.stringify(f2.counts())}`);
    assert.match(b.stderr + r.stderr, /retrying in/, 'the retries were reported');
    sw.set(0, {});
    for (const bin of restics) {
      const c = await runRestic(bin, ['check', '--read-data'], { env });
      assert.equal(c.code, 0, `${bin.name} check --read-data after a backup through faults:\n${c.stdout}${c.stderr}`);
    }
  });

  it('damaged bodies (bit flips) never reach a restored file: each file is exact, or partial and listed', async () => {
    // Every data read has one flipped bit: the blob it hits fails (its re-read is damaged too), the rest of the range is good.
    // Packs of file content only: the trees stay readable, so the walk reaches every file.
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const index = await loadMasterIndex(repo);
    const treePacks = new Set([...index.packIds()].filter((id) => index.packBlobs(id)!.some((b) => b.type === 'tree')));
    const f = sw.set(21, { corrupt: 1 }, { match: (h) => h.type === 'data' && !treePacks.has(h.name) });
    const { r, target, wrong, missing } = await restoreAndCompare();
    assert.deepEqual(wrong, []);
    assert.ok(f.counts().corrupt > 0);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    assert.ok(missing.length > 0, 'some files were hit');
    {
      assert.equal(r.code, 1, r.stderr);
      for (const m of missing) {
        const full = path.join(target, src, m);
        assert.match(r.stderr, new RegExp(`incomplete: ${path.join(src, m).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(`), `${m} not listed`);
        if (fs.existsSync(full + '.coffer-partial')) assert.ok(r.stderr.includes(`left as ${full}.coffer-partial`));
      }
    }
    sw.set(0, {});
  });

  it('a pack the server refuses for good stops the restore with one clear line; started files are partial and listed', async () => {
    // A pack holding part of big.bin but not its start: big.bin may be started, then stops.
    const repo = await openRepository(new LocalBackend(repoDir), await nodePlatform(), { password: 'test-password' });
    const index = await loadMasterIndex(repo);
    sw.set(0, {});
    const list = await runCoffer(['snapshots', '--json'], { env });
    assert.equal(list.code, 0, list.stderr);
    const snaps = JSON.parse(list.stdout) as { tree: string }[];
    let content: readonly string[] = [];
    await walkTree(new TreeLoader(repo, index), snaps[snaps.length - 1]!.tree, (e) => {
      if (e.path.endsWith('/big.bin')) content = e.node.content ?? [];
    });
    const first = index.lookup('data', content[0]!)!.packId;
    const last = content.map((id) => index.lookup('data', id)!.packId).find((p) => p !== first);
    assert.ok(last, 'big.bin spans two packs');
    const f = sw.set(31, {});
    f.kill({ type: 'data', name: last });
    const { r, wrong, partial } = await restoreAndCompare();
    assert.deepEqual(wrong, []);
    assert.equal(r.code, 1, r.stderr);
    assert.doesNotMatch(r.stderr, /^\s+at /m);
    const fatal = r.stderr.split('\n').filter((l) => /^(Fatal|coffer): /.test(l));
    assert.equal(fatal.length, 1, r.stderr);
    assert.match(fatal[0]!, /403|permission|forbidden/i);
    assert.ok(partial.length >= 1 || !r.stderr.includes('incomplete:'), r.stderr);
    for (const p of partial) assert.ok(r.stderr.includes(`incomplete: ${path.join(src, p.slice(0, -'.coffer-partial'.length))} (left as`), `${p} not listed:\n${r.stderr}`);
    // The same with --json: one `incomplete` message per partial file, then the exit error.
    const target = tempDir('coffer-cli-faults-out-');
    const j = await runCoffer(['restore', 'latest', '--target', target, '--json'], { env });
    assert.equal(j.code, 1, j.stderr);
    const messages = j.stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { message_type: string; item?: string; left_as?: string });
    const listed = messages.filter((m) => m.message_type === 'incomplete');
    const left = readTree(path.join(target, src));
    const partialJ = [...left.keys()].filter((p) => p.endsWith('.coffer-partial'));
    assert.deepEqual(listed.map((m) => m.left_as).sort(), partialJ.map((p) => path.join(target, src, p)).sort());
    assert.match(j.stderr, /"message_type":"exit_error"/);
    sw.set(0, {});
  });

  it('storage refusing every new pack stops a backup with one clear line; the repository stays valid', async () => {
    fs.writeFileSync(path.join(src, 'added.bin'), prng('cli-faults-added', 2_000_000));
    try {
      const f = sw.set(41, { permanent: 1 }, { match: (h) => h.type === 'data' });
      const before = fs.readdirSync(path.join(repoDir, 'snapshots')).length;
      const b = await runCoffer(['backup', src], { env });
      if (process.env.DEBUG_FAULTS) console.log(b.stderr);
      assert.equal(b.code, 1, b.stderr);
      assert.doesNotMatch(b.stderr, /^\s+at /m);
      const fatal = b.stderr.split('\n').filter((l) => /^(Fatal|coffer): /.test(l));
      assert.equal(fatal.length, 1, b.stderr);
      assert.match(fatal[0]!, /data\/[0-9a-f]{64}.*(403|permission|forbidden)/i);
      assert.ok(f.counts().permanent >= 1);
      sw.set(0, {});
      assert.equal(fs.readdirSync(path.join(repoDir, 'snapshots')).length, before, 'no snapshot from the failed backup');
      assert.equal(fs.readdirSync(path.join(repoDir, 'locks')).length, 0, 'lock released');
      for (const bin of restics) {
        const c = await runRestic(bin, ['check'], { env });
        assert.equal(c.code, 0, `${bin.name} check after the failed backup:\n${c.stdout}${c.stderr}`);
      }
    } finally {
      fs.rmSync(path.join(src, 'added.bin'));
      sw.set(0, {});
    }
  });
});
