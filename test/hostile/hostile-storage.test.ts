/**
 * Hostile storage, through the CLI: a repository whose files were tampered with, swapped,
 * replayed, cut short or forged. Each time `coffer restore` and `coffer check` must fail with a
 * clear error (exit code non-zero, a `coffer: ...` line, never a stack trace), restore must write
 * only authenticated bytes (every file under its real name is exact; what could not be restored
 * is left as NAME.coffer-partial and listed), and the real restic must agree that the repository
 * is damaged.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import { nowGoTime } from '../../src/core/format/go-time.js';
import type { Id } from '../../src/core/format/types.js';
import { loadMasterIndex, type MasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { TreeLoader, walkTree } from '../../src/core/engine/walk/tree-walker.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv, type RunResult } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';

const restics = resticBinaries();

interface Base {
  repo: string;
  src: string;
  /** Snapshot IDs, oldest first. */
  snaps: string[];
  /** Relative path -> bytes, per snapshot. */
  content: Map<string, Buffer>[];
}

let base: Base;

function env(repo: string): NodeJS.ProcessEnv {
  return testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
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
  walk(root);
  return out;
}

async function ok(args: string[], repo: string): Promise<RunResult> {
  const r = await runCoffer(args, { env: env(repo) });
  assert.equal(r.code, 0, `coffer ${args.join(' ')}: ${r.stderr}`);
  return r;
}

async function core(repo: string): Promise<{ repo: Repository; index: MasterIndex }> {
  const r = await openRepository(new LocalBackend(repo), await nodePlatform(), { password: 'test-password' });
  return { repo: r, index: await loadMasterIndex(r) };
}

/** A fresh copy of the base repository to damage. */
function copy(label: string): string {
  const dst = path.join(path.dirname(base.repo), `hostile-${label}`);
  fs.cpSync(base.repo, dst, { recursive: true });
  return dst;
}

function file(repo: string, type: 'data' | 'index' | 'snapshots' | 'keys', name: string): string {
  return type === 'data' ? path.join(repo, 'data', name.slice(0, 2), name) : path.join(repo, type, name);
}

function rewrite(p: string, f: (b: Buffer) => Buffer): void {
  fs.chmodSync(p, 0o644);
  fs.writeFileSync(p, f(fs.readFileSync(p)));
}

/** The one-line error contract: one `Fatal: ` line (restic's wording; `coffer: ` also accepted), no stack trace. */
function assertClearError(r: RunResult, what: string, pattern?: RegExp): void {
  assert.notEqual(r.code, 0, `${what}: exit 0\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /^\s+at .+[(:]/m, `${what}: a stack trace\n${r.stderr}`);
  const errLines = r.stderr.split('\n').filter((l) => /^(Fatal|coffer): /.test(l));
  assert.equal(errLines.length, 1, `${what}: one error line expected\n${r.stderr}`);
  if (pattern) assert.match(errLines[0]!, pattern, what);
}

/** Every restic agrees the repository is damaged. */
async function resticCheckFails(repo: string, args: string[] = ['check', '--read-data']): Promise<void> {
  for (const b of restics) {
    const r = await runRestic(b, args, { env: env(repo) });
    assert.notEqual(r.code, 0, `${b.name} ${args.join(' ')} passed on a damaged repository:\n${r.stdout}`);
  }
}

/**
 * Restores snapshot `snap` (index into base.snaps) and checks the target: every file under its
 * real name is exact; returns the incomplete files the output listed, and the result.
 */
async function restoreInto(repo: string, snap: number, json = false): Promise<{ r: RunResult; target: string; missing: string[]; listed: Map<string, string | undefined> }> {
  const target = tempDir('coffer-hostile-out-');
  const r = await runCoffer(['restore', base.snaps[snap]!, '--target', target, ...(json ? ['--json'] : [])], { env: env(repo) });
  const root = path.join(target, base.src);
  const got = fs.existsSync(root) ? readTree(root) : new Map<string, Buffer>();
  const missing: string[] = [];
  for (const [rel, bytes] of base.content[snap]!) {
    const b = got.get(rel);
    if (b === undefined) missing.push(rel);
    else assert.ok(b.equals(bytes), `${rel} restored under its real name with wrong bytes`);
  }
  for (const rel of got.keys()) {
    if (rel.endsWith('.coffer-partial')) assert.ok(!got.has(rel.slice(0, -'.coffer-partial'.length)), `${rel} next to a complete file`);
    else assert.ok(base.content[snap]!.has(rel), `unexpected file ${rel}`);
  }
  const listed = new Map<string, string | undefined>();
  if (json) {
    for (const line of r.stdout.split('\n').filter(Boolean)) {
      const m = JSON.parse(line) as { message_type: string; item?: string; left_as?: string };
      if (m.message_type === 'incomplete') listed.set(path.relative('/' + base.src, m.item!), m.left_as);
    }
  } else {
    for (const m of r.stderr.matchAll(/^incomplete: (.+?)(?: \(left as (.+)\)| \(not restored\))$/gm)) listed.set(path.relative('/' + base.src, m[1]!), m[2]);
  }
  return { r, target, missing, listed };
}

/** The relative paths whose content uses `pack`, and the blob IDs of `rel`. */
async function filesIn(repo: string, snap: number): Promise<{ c: Awaited<ReturnType<typeof core>>; blobs: Map<string, readonly Id[]> }> {
  const c = await core(repo);
  const list = await runCoffer(['snapshots', '--json'], { env: env(repo) });
  assert.equal(list.code, 0, list.stderr);
  const tree = (JSON.parse(list.stdout) as { id: string; tree: string }[]).find((s) => s.id === base.snaps[snap])!.tree;
  const blobs = new Map<string, readonly Id[]>();
  await walkTree(new TreeLoader(c.repo, c.index), tree, (e) => {
    if (e.node.type === 'file') blobs.set(e.path.slice(1).slice(base.src.length), e.node.content ?? []);
  });
  return { c, blobs };
}

before(async () => {
  const dir = tempDir('coffer-hostile-');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'big.bin'), prng('hostile-big', 3_200_000));
  fs.writeFileSync(path.join(src, 'a.txt'), 'alpha\n');
  fs.writeFileSync(path.join(src, 'sub', 'mid.bin'), prng('hostile-mid', 200_000));
  fs.writeFileSync(path.join(src, 'gone.bin'), prng('hostile-gone', 700_000));
  const repo = path.join(dir, 'repo');
  await ok(['init'], repo);
  await ok(['backup', '-q', src], repo);
  const c1 = readTree(src);
  fs.rmSync(path.join(src, 'gone.bin'));
  fs.writeFileSync(path.join(src, 'new.bin'), prng('hostile-new', 1_500_000));
  fs.writeFileSync(path.join(src, 'sub', 'c.txt'), 'only in the second snapshot\n');
  await ok(['backup', '-q', src], repo);
  const c2 = readTree(src);
  const snaps = (JSON.parse((await ok(['snapshots', '--json'], repo)).stdout) as { id: string }[]).map((s) => s.id);
  assert.equal(snaps.length, 2);
  base = { repo, src: src.slice(1), snaps, content: [c1, c2] };
});

describe('hostile storage', () => {
  it('clean: restore is exact, check passes (the baseline the other cases break)', async () => {
    const { r, missing } = await restoreInto(base.repo, 1);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(missing, []);
    await ok(['check', '--read-data'], base.repo);
  });

  it('tampered ciphertext in a pack: the file is left as .coffer-partial and listed (text and --json), exit 1; check and restic fail', async () => {
    const repo = copy('tamper');
    const { c, blobs } = await filesIn(repo, 1);
    const big = blobs.get('/big.bin')!;
    assert.ok(big.length >= 2, 'big.bin has several blobs');
    const loc = c.index.lookup('data', big[big.length - 1]!)!;
    rewrite(file(repo, 'data', loc.packId), (b) => {
      b[loc.offset + Math.floor(loc.length / 2)]! ^= 0x01;
      return b;
    });
    for (const json of [false, true]) {
      const { r, target, missing, listed } = await restoreInto(repo, 1, json);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, /^\s+at /m);
      assert.ok(missing.includes('big.bin'), `missing: ${missing.join(', ')}`);
      const partial = path.join(target, base.src, 'big.bin.coffer-partial');
      assert.equal(listed.get('big.bin'), partial, json ? r.stdout : r.stderr);
      assert.ok(fs.existsSync(partial));
      assert.deepEqual(missing.filter((m) => !listed.has(m)), [], 'every file not restored is listed');
      if (json) {
        const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { message_type: string; files_incomplete?: string[] };
        assert.equal(summary.message_type, 'summary');
        assert.ok(summary.files_incomplete?.some((p) => p.endsWith('/big.bin')));
      } else assert.match(r.stderr, new RegExp(`${loc.packId}`), 'the error names the pack');
    }
    const chk = await runCoffer(['check', '--read-data'], { env: env(repo) });
    assertClearError(chk, 'check', /error/i);
    assert.match(chk.stdout + chk.stderr, new RegExp(loc.packId.slice(0, 8)));
    await resticCheckFails(repo);
    for (const b of restics) {
      const target = tempDir('coffer-hostile-restic-');
      const rr = await runRestic(b, ['restore', base.snaps[1]!, '--target', target], { env: env(repo) });
      assert.notEqual(rr.code, 0, `${b.name} restore of the tampered snapshot succeeded`);
    }
  });

  it('a pack swapped for another: files in it are not restored, nothing wrong is written; check and restic fail', async () => {
    const repo = copy('swap');
    const { c, blobs } = await filesIn(repo, 1);
    const a = c.index.lookup('data', blobs.get('/new.bin')![0]!)!.packId;
    const b = c.index.lookup('data', blobs.get('/sub/mid.bin')![0]!)!.packId;
    assert.notEqual(a, b);
    fs.chmodSync(file(repo, 'data', b), 0o644);
    fs.copyFileSync(file(repo, 'data', a), file(repo, 'data', b));
    const { r, missing, listed } = await restoreInto(repo, 1);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(missing.includes('sub/mid.bin'), missing.join(', '));
    assert.deepEqual(missing.filter((m) => !listed.has(m)), []);
    const chk = await runCoffer(['check', '--read-data'], { env: env(repo) });
    assertClearError(chk, 'check');
    assert.match(chk.stdout + chk.stderr, new RegExp(b.slice(0, 8)));
    await resticCheckFails(repo);
  });

  it('an old index replayed after prune: restore still exact (other copies), check and restic name the missing packs', async () => {
    const repo = copy('replay');
    const oldIndex = path.join(path.dirname(repo), 'replay-old-index');
    fs.cpSync(path.join(repo, 'index'), oldIndex, { recursive: true });
    await ok(['forget', base.snaps[0]!, '--prune'], repo);
    const before = new Set(fs.readdirSync(path.join(repo, 'index')));
    for (const f of fs.readdirSync(oldIndex)) if (!before.has(f)) fs.copyFileSync(path.join(oldIndex, f), path.join(repo, 'index', f));
    assert.ok(fs.readdirSync(path.join(repo, 'index')).length > before.size, 'old index files are back');
    const { r, missing } = await restoreInto(repo, 1);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(missing, []);
    const chk = await runCoffer(['check'], { env: env(repo) });
    assertClearError(chk, 'check');
    assert.match(chk.stdout + chk.stderr, /does not exist|missing/i);
    await resticCheckFails(repo, ['check']);
  });

  it('the newest index removed: restore of the newest snapshot stops with one clear line; check and restic fail', async () => {
    const repo = copy('noindex');
    const { c, blobs } = await filesIn(repo, 1);
    const newPack = c.index.lookup('data', blobs.get('/new.bin')![0]!)!.packId;
    let removed = 0;
    for (const f of fs.readdirSync(path.join(repo, 'index'))) {
      if (fs.readFileSync(path.join(repo, 'index', f)).length > 0) {
        const one = await loadIndexFile(repo, f);
        if (one.includes(newPack)) {
          fs.rmSync(path.join(repo, 'index', f));
          removed++;
        }
      }
    }
    assert.ok(removed >= 1);
    const { r, missing } = await restoreInto(repo, 1);
    assertClearError(r, 'restore', /not in the index|incomplete|check/);
    assert.ok(missing.includes('new.bin'));
    const chk = await runCoffer(['check'], { env: env(repo) });
    assertClearError(chk, 'check');
    await resticCheckFails(repo, ['check']);
  });

  it('a pack cut to half its size: its files are listed as incomplete; check and restic name the size', async () => {
    const repo = copy('short');
    const { c, blobs } = await filesIn(repo, 1);
    const pack = c.index.lookup('data', blobs.get('/big.bin')![blobs.get('/big.bin')!.length - 1]!)!.packId;
    rewrite(file(repo, 'data', pack), (b) => b.subarray(0, Math.floor(b.length / 2)));
    const { r, missing, listed } = await restoreInto(repo, 1);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(missing.includes('big.bin'));
    assert.deepEqual(missing.filter((m) => !listed.has(m)), []);
    const chk = await runCoffer(['check'], { env: env(repo) });
    assertClearError(chk, 'check');
    assert.match(chk.stdout + chk.stderr, new RegExp(pack.slice(0, 8)));
    await resticCheckFails(repo, ['check']);
  });

  it('a forged snapshot pointing at a missing tree: restore stops with one clear line naming the tree; check and restic fail', async () => {
    const repo = copy('forged');
    const c = await core(repo);
    const tree = c.repo.sha256Hex(new TextEncoder().encode('no such tree'));
    const id = await c.repo.saveUnpacked('snapshots', encodeSnapshot({ time: nowGoTime(), tree, paths: ['/forged'], hostname: 'evil' }));
    const target = tempDir('coffer-hostile-out-');
    const r = await runCoffer(['restore', id, '--target', target], { env: env(repo) });
    assertClearError(r, 'restore', new RegExp(tree.slice(0, 8)));
    assert.deepEqual(fs.readdirSync(target), [], 'nothing restored');
    const chk = await runCoffer(['check'], { env: env(repo) });
    assertClearError(chk, 'check');
    assert.match(chk.stdout + chk.stderr, new RegExp(tree.slice(0, 8)));
    await resticCheckFails(repo, ['check']);
  });

  it('a tampered snapshot file: restore of it stops with one clear line; check and restic fail', async () => {
    const repo = copy('snapfile');
    const name = fs.readdirSync(path.join(repo, 'snapshots')).find((f) => f.startsWith(base.snaps[1]!.slice(0, 8)))!;
    rewrite(file(repo, 'snapshots', name), (b) => {
      b[b.length - 20]! ^= 0x40;
      return b;
    });
    const target = tempDir('coffer-hostile-out-');
    const r = await runCoffer(['restore', base.snaps[1]!, '--target', target], { env: env(repo) });
    assertClearError(r, 'restore');
    assert.deepEqual(fs.readdirSync(target), []);
    const chk = await runCoffer(['check'], { env: env(repo) });
    assertClearError(chk, 'check');
    assert.match(chk.stdout + chk.stderr, new RegExp(name.slice(0, 8)));
    await resticCheckFails(repo, ['check']);
  });

  it('a tampered key file or config: nothing opens, one clear line; restic refuses too', async () => {
    for (const what of ['key', 'config'] as const) {
      const repo = copy(what);
      const p = what === 'key' ? file(repo, 'keys', fs.readdirSync(path.join(repo, 'keys'))[0]!) : path.join(repo, 'config');
      rewrite(p, (b) => {
        if (what === 'key') {
          // Inside the base64 "data" field: the key still parses, and no longer authenticates.
          const s = b.toString('utf8');
          const at = s.indexOf('"data":"') + 20;
          return Buffer.from(s.slice(0, at) + (s[at] === 'A' ? 'B' : 'A') + s.slice(at + 1));
        }
        b[b.length - 5]! ^= 0x01;
        return b;
      });
      const target = tempDir('coffer-hostile-out-');
      const r = await runCoffer(['restore', 'latest', '--target', target], { env: env(repo) });
      assertClearError(r, `restore with a tampered ${what}`, what === 'config' ? /config/ : undefined);
      assert.deepEqual(fs.readdirSync(target), []);
      assertClearError(await runCoffer(['check'], { env: env(repo) }), `check with a tampered ${what}`);
      await resticCheckFails(repo, ['snapshots']);
    }
  });
});

/** The pack IDs an index file lists (decrypted with the repository key). */
async function loadIndexFile(repo: string, name: string): Promise<string> {
  const c = await core(repo);
  const bytes = await c.repo.loadUnpacked('index', name);
  return new TextDecoder().decode(bytes);
}
