/**
 * Files that change or vanish while they are backed up.
 *
 * In process (deterministic): a real NodeFileSource whose listing is followed by changes before
 * the files are read: a file vanishes, one shrinks, one grows, one is replaced by a folder, a
 * subfolder vanishes. With both file processors (in-process and the worker pool) the backup
 * completes, reports exactly the vanished/replaced entries, and stores what it actually read:
 * the shrunk file's shorter content, the grown file's whole content, sizes matching content.
 *
 * Through the CLI: a churning process creates, appends to and deletes files while `coffer backup`
 * runs. The backup ends with 0 or 3 (only vanished files listed), restic check --read-data
 * passes, stable files restore exactly, and every churned file restores as a prefix of the bytes
 * that were written to it (appends are never torn or mixed).
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { concatBytes } from '../../src/core/bytes.js';
import { backup } from '../../src/core/engine/backup/backup.js';
import type { FileSource, SourceItem } from '../../src/core/engine/backup/source.js';
import { decodeTree } from '../../src/core/format/tree.js';
import type { Id, TreeNode } from '../../src/core/format/types.js';
import { loadBlob } from '../../src/core/repository/blob-loader.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { ChunkWorkerPool } from '../../src/node/chunk-workers.js';
import { NodeFileSource } from '../../src/node/fs-source.js';
import { MiB, seededBytes, waitFor } from '../helpers/crash.js';
import { LOCK_OWNER, newMemRepo } from '../helpers/mem-repo.js';
import { tempDir } from '../helpers/paths.js';
import { resticBinaries, runCoffer, runRestic, testEnv } from '../helpers/run.js';
import { describeTree, diffTrees } from '../helpers/tree.js';

const restic = resticBinaries().find((r) => r.name === 'restic-0.14');

/** Delegates to the real source, calling `afterList` once a folder has been listed. */
class RacingSource implements FileSource {
  constructor(
    private readonly inner: FileSource,
    private readonly afterList: (dir: SourceItem) => void,
  ) {}
  absolute(p: string): string {
    return this.inner.absolute(p);
  }
  stat(p: string) {
    return this.inner.stat(p);
  }
  async readDir(dir: SourceItem) {
    const r = await this.inner.readDir(dir);
    this.afterList(dir);
    return r;
  }
  open(f: SourceItem) {
    return this.inner.open(f);
  }
}

async function subtree(repo: Repository, tree: Id, absPath: string): Promise<readonly TreeNode[]> {
  const index = await loadMasterIndex(repo);
  let nodes = decodeTree(await loadBlob(repo, index, 'tree', tree), 'root').nodes;
  for (const name of absPath.split('/').filter(Boolean)) {
    const n = nodes.find((x) => Buffer.from(x.name).toString() === name);
    assert.ok(n?.subtree, `no folder ${name}`);
    nodes = decodeTree(await loadBlob(repo, index, 'tree', n.subtree), name).nodes;
  }
  return nodes;
}

async function content(repo: Repository, node: TreeNode): Promise<Buffer> {
  const index = await loadMasterIndex(repo);
  const parts: Uint8Array[] = [];
  for (const id of node.content ?? []) parts.push(await loadBlob(repo, index, 'data', id));
  return Buffer.from(concatBytes(...parts));
}

describe('files that change or vanish during a backup', () => {
  for (const processor of ['in-process', 'worker pool'] as const) {
    it(`after the listing, before the reads (${processor}): vanished and replaced entries reported, the rest stored as read`, async () => {
      const src = path.join(tempDir('coffer-awk-race-'), 'src');
      fs.mkdirSync(path.join(src, 'gone-dir'), { recursive: true });
      const w = (n: string, data: Buffer) => fs.writeFileSync(path.join(src, n), data);
      w('stable.bin', seededBytes('stable', 3 * MiB));
      w('vanish.txt', Buffer.from('here a moment\n'));
      w('shrink.bin', seededBytes('shrink', 2 * MiB));
      w('grow.bin', seededBytes('grow', MiB));
      w('replaced.txt', Buffer.from('a file, then a folder\n'));
      w('gone-dir/x.txt', Buffer.from('x\n'));
      let done = false;
      const source = new RacingSource(new NodeFileSource({ xattrs: false }), (dir) => {
        if (done || dir.path !== src) return;
        done = true;
        fs.rmSync(path.join(src, 'vanish.txt'));
        fs.truncateSync(path.join(src, 'shrink.bin'), MiB + 7);
        fs.appendFileSync(path.join(src, 'grow.bin'), seededBytes('grow', 2 * MiB).subarray(MiB));
        fs.rmSync(path.join(src, 'replaced.txt'));
        fs.mkdirSync(path.join(src, 'replaced.txt'));
        fs.rmSync(path.join(src, 'gone-dir'), { recursive: true });
      });
      const m = await newMemRepo();
      const pool = processor === 'worker pool' ? new ChunkWorkerPool(m.repo, 2) : undefined;
      const errors: { path: string; message: string }[] = [];
      let r;
      try {
        r = await backup(m.repo, source, {
          targets: [src],
          hostname: 'h',
          owner: LOCK_OWNER,
          ...(pool ? { processor: pool } : {}),
          events: { onError: (p, e) => errors.push({ path: p, message: e.message }) },
        });
      } finally {
        await pool?.close();
      }
      assert.ok(done, 'the source was changed after its listing');
      assert.deepEqual(errors.map((e) => path.basename(e.path)).sort(), ['gone-dir', 'replaced.txt', 'vanish.txt']);
      assert.match(errors.find((e) => e.path.endsWith('vanish.txt'))!.message, /vanished|ENOENT|no such file/);
      assert.equal(r.counts.errors, 3);
      const nodes = await subtree(m.repo, r.snapshot.tree, src);
      const byName = new Map(nodes.map((n) => [Buffer.from(n.name).toString(), n]));
      assert.deepEqual([...byName.keys()].sort(), ['grow.bin', 'shrink.bin', 'stable.bin']);
      const expect: Record<string, Buffer> = {
        'stable.bin': seededBytes('stable', 3 * MiB),
        'shrink.bin': seededBytes('shrink', MiB + 7),
        'grow.bin': seededBytes('grow', 2 * MiB),
      };
      for (const [name, want] of Object.entries(expect)) {
        const node = byName.get(name)!;
        const got = await content(m.repo, node);
        assert.equal(node.size, got.length, `${name}: the recorded size is the size read`);
        assert.ok(got.equals(want), `${name}: stored content is what the file held when read`);
      }
    });
  }

  it('a churning folder during `coffer backup`: exit 0 or 3, restic check passes, appends never torn', { skip: !restic && 'restic 0.14 not installed' }, async (t) => {
    const dir = tempDir('coffer-awk-churn-');
    const src = path.join(dir, 'src');
    const repo = path.join(dir, 'repo');
    const env = testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
    fs.mkdirSync(path.join(src, 'stable'), { recursive: true });
    fs.mkdirSync(path.join(src, 'churn'), { recursive: true });
    for (let i = 0; i < 8; i++) fs.writeFileSync(path.join(src, 'stable', `${i}.bin`), seededBytes(`stable${i}`, 3 * MiB + i));
    const stable = describeTree(path.join(src, 'stable'));
    assert.equal((await runCoffer(['init'], { env })).code, 0);
    // The churner: each file's bytes are a prefix of one AES-CTR stream named after the file.
    const script = `
      import { createCipheriv, createHash } from 'node:crypto';
      import * as fs from 'node:fs';
      const dir = process.argv[1];
      const stream = (label, n) => { const c = createCipheriv('aes-256-ctr', createHash('sha256').update(label).digest(), Buffer.alloc(16)); return Buffer.concat([c.update(Buffer.alloc(n)), c.final()]); };
      const full = new Map();
      let i = 0;
      for (;;) {
        const name = 'c' + (i % 40) + '.bin', p = dir + '/' + name;
        if (!full.has(name)) full.set(name, stream(name, 2 * 1024 * 1024));
        if (i % 7 === 3) { try { fs.rmSync(p); } catch {} }
        else {
          let size = 0; try { size = fs.statSync(p).size; } catch {}
          const add = full.get(name).subarray(size, Math.min(size + 65536, 2 * 1024 * 1024));
          fs.appendFileSync(p, add);
        }
        i++;
        if (i % 200 === 0) fs.writeFileSync(dir + '/../churn-count', String(i));
      }`;
    const churner = spawn(process.execPath, ['--input-type=module', '-e', script, path.join(src, 'churn')], { stdio: 'ignore' });
    try {
      assert.ok(await waitFor(() => fs.existsSync(path.join(src, 'churn-count')), 10_000), 'the churner started');
      const b = await runCoffer(['backup', '--json', src], { env });
      t.diagnostic(`backup exit ${b.code} after ${fs.readFileSync(path.join(src, 'churn-count'), 'utf8')} churn steps`);
      assert.ok(b.code === 0 || b.code === 3, `exit ${b.code}: ${b.stderr}`);
      const errors = b.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((m) => m.message_type === 'error');
      for (const e of errors) {
        assert.match(e.item, /\/churn\//, 'only churned files may fail');
        assert.match(e.error.message, /vanished|ENOENT|no such file/);
      }
      t.diagnostic(`${errors.length} vanished files listed`);
    } finally {
      churner.kill('SIGKILL');
    }
    const c = await runRestic(restic!, ['check', '--read-data'], { env });
    assert.equal(c.code, 0, c.stdout + c.stderr);
    const target = path.join(dir, 'restore');
    const r = await runCoffer(['restore', 'latest', '--target', target], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(diffTrees(stable, describeTree(path.join(target, src, 'stable'))), []);
    const churned = fs.readdirSync(path.join(target, src, 'churn'));
    assert.ok(churned.length > 0, 'some churned files were stored');
    for (const name of churned) {
      const got = fs.readFileSync(path.join(target, src, 'churn', name));
      assert.ok(got.equals(seededBytes(name, got.length)), `${name}: ${got.length} bytes that are not a prefix of what was written`);
    }
  });
});
