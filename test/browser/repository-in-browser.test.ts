/**
 * The browser proof: headless Chromium opens repositories with the core's own code (compiled
 * dist/src/core/… as ES modules, no Node code in the page) through RestBackend → our REST
 * server, lists the snapshot, walks its trees and restores files, twice: blob by blob with
 * loadBlob, and through the engine's restore() into an in-page memory sink.
 *
 *  - repos/tiny-v1 and tiny-v2 (written by restic 0.14; scrypt N=32768 r=8 p=9 in pure JS),
 *    and a wrong password gives CofferError 'wrong-password' in the page;
 *  - repositories written by Coffer's CLI (version 2 and 1) with a multi-chunk random file, a
 *    compressible multi-chunk file and small files; SHA-256s computed in the page are compared
 *    with the source in Node.
 *
 * Locally a missing Chromium skips; in CI (CI=true) it fails (requireBrowser).
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { VECTORS, tempDir } from '../helpers/paths.js';
import { runCoffer, testEnv } from '../helpers/run.js';
import { prng } from '../helpers/tree.js';
import { requireBrowser, withBrowserPage } from './harness.js';

interface PageArgs {
  base: string;
  password: string;
  /** Files to restore blob by blob, relative to the snapshot's (only) path. */
  files: string[];
  /** Also try this password and report the error. */
  wrongPassword?: string;
}

interface FileResult {
  found: boolean;
  type?: string;
  size: number;
  /** Size the tree node records. */
  nodeSize?: number;
  blobs: number;
  /** Content blobs stored zstd-compressed (uncompressed length in the index). */
  compressedBlobs: number;
  /** SHA-256 by the web crypto suite (platform.crypto) and by crypto.subtle. */
  sha256: string;
  subtleSha256: string;
  text?: string;
  allZero: boolean;
}

interface PageResult {
  userAgent: string;
  version: number;
  openMs: number;
  snapshots: { id: string; paths: string[]; hostname?: string; tags?: string[]; tree: string }[];
  indexBlobs: number;
  walked: { path: string; type: string; size?: number; blobs: number; linktarget?: string }[];
  files: Record<string, FileResult>;
  restore: {
    result: { files: number; dirs: number; others: number; bytes: number; errors: { path: string; message: string }[] };
    files: Record<string, { size: number; sha256: string; closed: boolean }>;
    specials: { path: string; type: string; linktarget?: string }[];
    dirs: string[];
  };
  wrong?: { isCofferError: boolean; name: string; code?: string; message: string };
}

/**
 * Runs in the page (serialized by playwright: self-contained, imports only /dist/src/core/…).
 */
async function browseInPage(a: PageArgs): Promise<PageResult> {
  const dist = '/dist/src/core/';
  const { webPlatform } = await import(dist + 'platform-web.js');
  const { RestBackend } = await import(dist + 'backend/rest.js');
  const { openRepository } = await import(dist + 'repository/open.js');
  const { loadSnapshots } = await import(dist + 'repository/snapshots.js');
  const { loadMasterIndex } = await import(dist + 'repository/master-index.js');
  const { loadBlob } = await import(dist + 'repository/blob-loader.js');
  const { TreeLoader, walkTree, resolveSubfolder } = await import(dist + 'engine/walk/tree-walker.js');
  const { restore } = await import(dist + 'engine/restore/restorer.js');
  const { CofferError } = await import(dist + 'errors.js');

  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  const dec = new TextDecoder();
  const concat = (parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };

  const platform = await webPlatform();
  const backend = new RestBackend(a.base + '/repo/');
  const t0 = performance.now();
  const repo = await openRepository(backend, platform, { password: a.password });
  const openMs = performance.now() - t0;
  const entries = await loadSnapshots(repo);
  const snapshots = entries.map((e: any) => ({ id: e.id, paths: [...e.snapshot.paths], hostname: e.snapshot.hostname, tags: e.snapshot.tags ? [...e.snapshot.tags] : undefined, tree: e.snapshot.tree }));
  const index = await loadMasterIndex(repo);
  const loader = new TreeLoader(repo, index);
  const snap = entries[entries.length - 1].snapshot;

  // Every node of the snapshot, full display paths.
  const walked: PageResult['walked'] = [];
  const nodes = new Map<string, any>();
  await walkTree(loader, snap.tree, (e: any) => {
    nodes.set(e.path, e.node);
    walked.push({ path: e.path, type: e.node.type, size: e.node.size, blobs: e.node.content ? e.node.content.length : 0, ...(e.node.linktarget !== undefined ? { linktarget: e.node.linktarget } : {}) });
  });

  // Restore blob by blob.
  const root = snap.paths[0] as string;
  const files: Record<string, FileResult> = {};
  for (const rel of a.files) {
    const node = nodes.get(root.replace(/\/+$/, '') + '/' + rel);
    if (!node) {
      files[rel] = { found: false, size: 0, blobs: 0, compressedBlobs: 0, sha256: '', subtleSha256: '', allZero: false };
      continue;
    }
    const parts: Uint8Array[] = [];
    for (const id of node.content ?? []) parts.push(await loadBlob(repo, index, 'data', id));
    const data = concat(parts);
    files[rel] = {
      found: true,
      type: node.type,
      size: data.length,
      nodeSize: node.size,
      blobs: parts.length,
      compressedBlobs: (node.content ?? []).filter((id: string) => index.lookup('data', id).uncompressedLength > 0).length,
      sha256: hex(platform.crypto.sha256(data)),
      subtleSha256: hex(new Uint8Array(await crypto.subtle.digest('SHA-256', data))),
      ...(data.length <= 4096 ? { text: dec.decode(data) } : {}),
      allZero: data.every((x) => x === 0),
    };
  }

  // The engine's restore() of the snapshot's folder into a memory sink.
  const key = (p: readonly Uint8Array[]) => p.map((c) => dec.decode(c)).join('/');
  const written = new Map<string, { chunks: { offset: number; data: Uint8Array }[]; closed: boolean }>();
  const specials: PageResult['restore']['specials'] = [];
  const dirs: string[] = [];
  const sink = {
    async mkdir(p: readonly Uint8Array[]) {
      dirs.push(key(p));
    },
    async createFile(p: readonly Uint8Array[]) {
      const f = { chunks: [] as { offset: number; data: Uint8Array }[], closed: false };
      written.set(key(p), f);
      return {
        async write(offset: number, data: Uint8Array) {
          f.chunks.push({ offset, data: data.slice() });
        },
        async close() {
          f.closed = true;
        },
        async abandon() {
          return undefined;
        },
      };
    },
    async createSpecial(p: readonly Uint8Array[], node: any) {
      specials.push({ path: key(p), type: node.type, ...(node.linktarget !== undefined ? { linktarget: node.linktarget } : {}) });
    },
    async hardlink() {},
    async setMetadata() {},
  };
  const sub = await resolveSubfolder(loader, snap.tree, root);
  const r = await restore(repo, index, sub, sink, { basePath: root });
  const restoredFiles: PageResult['restore']['files'] = {};
  for (const [k, f] of written) {
    const size = f.chunks.reduce((n, c) => Math.max(n, c.offset + c.data.length), 0);
    const buf = new Uint8Array(size);
    for (const c of f.chunks) buf.set(c.data, c.offset);
    restoredFiles[k] = { size, sha256: hex(platform.crypto.sha256(buf)), closed: f.closed };
  }

  let wrong: PageResult['wrong'];
  if (a.wrongPassword !== undefined) {
    try {
      await openRepository(backend, platform, { password: a.wrongPassword });
      wrong = { isCofferError: false, name: '', message: 'opened with the wrong password' };
    } catch (e: any) {
      wrong = { isCofferError: e instanceof CofferError, name: e?.name, code: e?.code, message: String(e?.message) };
    }
  }

  return {
    userAgent: navigator.userAgent,
    version: repo.version,
    openMs,
    snapshots,
    indexBlobs: index.blobCount,
    walked,
    files,
    restore: { result: { files: r.files, dirs: r.dirs, others: r.others, bytes: r.bytes, errors: r.errors.map((x: any) => ({ path: x.path, message: x.message })) }, files: restoredFiles, specials, dirs },
    ...(wrong ? { wrong } : {}),
  };
}

function browse(repoDir: string, args: Omit<PageArgs, 'base'>): Promise<PageResult> {
  return withBrowserPage({ repoDir }, (page, base) => page.evaluate(browseInPage, { ...args, base }));
}

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

for (const name of ['tiny-v1', 'tiny-v2']) {
  test(`browser: opens repos/${name} (restic 0.14), lists the snapshot, restores files`, { timeout: 180_000 }, async (t) => {
    if (!requireBrowser(t)) return;
    const r = await browse(path.join(VECTORS, 'repos', name), { password: 'vectors', files: ['hello.txt', 'zeros.bin', 'dir/nested.txt', 'empty'], wrongPassword: 'not-vectors' });
    assert.match(r.userAgent, /HeadlessChrome|Chrome/);
    assert.equal(r.version, name === 'tiny-v1' ? 1 : 2);
    assert.equal(r.snapshots.length, 1);
    assert.deepEqual(r.snapshots[0]!.paths, ['/src/tiny']);
    assert.equal(r.snapshots[0]!.hostname, 'vectorhost');
    assert.deepEqual(r.snapshots[0]!.tags, ['vec']);
    assert.ok(r.snapshots[0]!.tree.startsWith('c863fc75'), 'the vectors\' tree ID');
    assert.ok(r.indexBlobs > 0);

    assert.deepEqual(
      r.walked.map((w) => `${w.type} ${w.path}`),
      ['dir /src', 'dir /src/tiny', 'dir /src/tiny/dir', 'file /src/tiny/dir/nested.txt', 'file /src/tiny/empty', 'file /src/tiny/hello.txt', 'symlink /src/tiny/link', 'file /src/tiny/zeros.bin'],
    );
    assert.equal(r.walked.find((w) => w.path === '/src/tiny/link')!.linktarget, 'hello.txt');

    const hello = r.files['hello.txt']!;
    assert.equal(hello.found, true);
    assert.equal(hello.text, 'hello restic\n');
    assert.equal(hello.sha256, sha('hello restic\n'));
    assert.equal(hello.subtleSha256, hello.sha256);
    const zeros = r.files['zeros.bin']!;
    assert.equal(zeros.size, 525288);
    assert.equal(zeros.nodeSize, 525288);
    assert.equal(zeros.blobs, 2);
    assert.equal(zeros.allZero, true);
    assert.equal(zeros.sha256, sha(Buffer.alloc(525288)));
    assert.equal(r.files['dir/nested.txt']!.text, 'nested file\n');
    assert.equal(r.files['empty']!.size, 0);
    assert.equal(r.files['empty']!.blobs, 0);

    // The engine's restore() in the page.
    assert.deepEqual(r.restore.result.errors, []);
    assert.deepEqual(r.restore.result, { files: 4, dirs: 1, others: 1, bytes: 525288 + 13 + 12, errors: [] });
    assert.deepEqual(r.restore.files, {
      'dir/nested.txt': { size: 12, sha256: sha('nested file\n'), closed: true },
      empty: { size: 0, sha256: sha(''), closed: true },
      'hello.txt': { size: 13, sha256: sha('hello restic\n'), closed: true },
      'zeros.bin': { size: 525288, sha256: sha(Buffer.alloc(525288)), closed: true },
    });
    assert.deepEqual(r.restore.specials, [{ path: 'link', type: 'symlink', linktarget: 'hello.txt' }]);

    // A wrong password, in the page.
    assert.deepEqual({ ...r.wrong, message: undefined }, { isCofferError: true, name: 'CofferError', code: 'wrong-password', message: undefined });
    t.diagnostic(`scrypt N=32768 r=8 p=9 + open in the page: ${Math.round(r.openMs)} ms`);
  });
}

/** A small source folder: a multi-chunk random file, a compressible multi-chunk file, small files. */
function makeSource(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>([
    ['hello.txt', Buffer.from('hello from coffer\n')],
    ['docs/ünïcode notes.txt', Buffer.from('grüße — 日本語 ✓\n')],
    // Above the chunker's 8 MiB maximum, so each file has at least two chunks whatever the polynomial.
    ['big/random.bin', prng('browser-proof', 8 * 1024 * 1024 + 4321)],
    ['big/log.txt', Buffer.from(Array.from({ length: 240_000 }, (_, i) => `line ${i}: the quick brown fox ${i % 97}\n`).join(''))],
    ['empty', Buffer.alloc(0)],
  ]);
  for (const [rel, data] of files) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), data);
  }
  fs.symlinkSync('hello.txt', path.join(root, 'link'));
  return files;
}

for (const version of ['2', '1'] as const) {
  test(`browser: opens a version ${version} repository Coffer wrote and restores multi-chunk files`, { timeout: 180_000 }, async (t) => {
    if (!requireBrowser(t)) return;
    const tmp = tempDir('coffer-browser-proof-');
    const src = path.join(tmp, 'src');
    const repoDir = path.join(tmp, 'repo');
    const source = makeSource(src);
    const env = testEnv({ COFFER_PASSWORD: 'browser-secret' });
    const init = await runCoffer(['-r', repoDir, 'init', '--repository-version', version], { env });
    assert.equal(init.code, 0, init.stderr);
    const backup = await runCoffer(['-r', repoDir, 'backup', src], { env });
    assert.equal(backup.code, 0, backup.stderr);

    const wanted = ['big/random.bin', 'big/log.txt', 'hello.txt', 'docs/ünïcode notes.txt'];
    const r = await browse(repoDir, { password: 'browser-secret', files: wanted });
    assert.equal(r.version, Number(version));
    assert.equal(r.snapshots.length, 1);
    assert.deepEqual(r.snapshots[0]!.paths, [src]);

    for (const rel of wanted) {
      const f = r.files[rel]!;
      const data = source.get(rel)!;
      assert.equal(f.found, true, `${rel} found in the snapshot`);
      assert.equal(f.size, data.length, rel);
      assert.equal(f.nodeSize, data.length, rel);
      assert.equal(f.sha256, sha(data), `${rel}: SHA-256 of the file restored in the page`);
      assert.equal(f.subtleSha256, f.sha256, rel);
    }
    assert.ok(r.files['big/random.bin']!.blobs >= 2, `random.bin has several chunks (${r.files['big/random.bin']!.blobs})`);
    assert.ok(r.files['big/log.txt']!.blobs >= 2, `log.txt has several chunks (${r.files['big/log.txt']!.blobs})`);
    // Version 2 compresses the text's chunks (zstd WebAssembly in the page); version 1 cannot.
    if (version === '2') assert.equal(r.files['big/log.txt']!.compressedBlobs, r.files['big/log.txt']!.blobs);
    else assert.equal(r.files['big/log.txt']!.compressedBlobs, 0);
    assert.equal(r.files['hello.txt']!.text, 'hello from coffer\n');
    assert.equal(r.files['docs/ünïcode notes.txt']!.text, 'grüße — 日本語 ✓\n');

    // restore() of the whole folder in the page matches the source.
    assert.deepEqual(r.restore.result.errors, []);
    const expected = Object.fromEntries([...source].map(([rel, data]) => [rel, { size: data.length, sha256: sha(data), closed: true }]));
    assert.deepEqual(r.restore.files, expected);
    assert.deepEqual(r.restore.specials, [{ path: 'link', type: 'symlink', linktarget: 'hello.txt' }]);
    assert.deepEqual(r.restore.dirs.sort(), ['big', 'docs']);
  });
}
