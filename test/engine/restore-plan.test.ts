/**
 * The restore planner (engine/restore/plan.ts) and the pack-wise restorer built on it: reads
 * grouped per pack in first-use order, neighbours merged, gaps and sizes bounded, a blob shared
 * by several files or used twice in one file read once; end to end on a MemBackend repository
 * (shared blobs, empty files, hard links, a tampered blob abandoning exactly the files that need
 * it, a blob missing from the index) with each blob's read counted.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import { MemBackend } from '../../src/core/backend/mem.js';
import type { Backend, ByteRange, CallOpts, Handle } from '../../src/core/backend/backend.js';
import { concatBytes, utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { planRestore } from '../../src/core/engine/restore/plan.js';
import { restore } from '../../src/core/engine/restore/restorer.js';
import type { FileWriter, RelPath, RestoreSink } from '../../src/core/engine/restore/sink.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import { MODE_DIR } from '../../src/core/format/mode.js';
import { encodeTree } from '../../src/core/format/tree.js';
import type { Id, PackedBlob, TreeNode } from '../../src/core/format/types.js';
import { BlobSaver } from '../../src/core/repository/blob-saver.js';
import { MasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { nodePlatform } from '../../src/node/platform.js';
import { randomBytes } from '../helpers/mem-repo.js';

const id = (n: number): Id => n.toString(16).padStart(64, '0');
const blob = (n: number, offset: number, length: number): PackedBlob => ({ type: 'data', id: id(n), offset, length, uncompressedLength: 0 });

describe('planRestore', () => {
  const index = new MasterIndex();
  // pack A: blobs 1..4 back to back (100 sealed bytes = 68 plaintext each), blob 5 far away
  index.addPack('a'.repeat(64), [blob(1, 0, 100), blob(2, 100, 100), blob(3, 200, 100), blob(4, 300, 100), blob(5, 10_000, 100)]);
  // pack B: blob 6
  index.addPack('b'.repeat(64), [blob(6, 0, 1000)]);

  it('groups by pack in first-use order, merges neighbours, splits at large gaps', () => {
    const plan = planRestore(index, [[id(6)], [id(3), id(1)], [id(5), id(2)]], { maxGap: 1000 });
    assert.deepEqual(
      plan.reads.map((r) => [r.packId[0], r.offset, r.length, r.blobs.map((b) => Number.parseInt(b.id, 16))]),
      [
        ['b', 0, 1000, [6]],
        ['a', 0, 300, [1, 2, 3]], // 4 is not needed, nothing else in between
        ['a', 10_000, 100, [5]], // 9.7 KB gap > maxGap
      ],
    );
    assert.deepEqual(plan.files, [
      { blobs: 1, size: 968 },
      { blobs: 2, size: 136 },
      { blobs: 2, size: 136 },
    ]);
    // file offsets follow the content order, not the pack order
    const b1 = plan.reads[1]!.blobs[0]!;
    assert.deepEqual(b1.targets, [{ file: 1, offset: 68 }]);
    assert.equal(plan.bytesRead, 1400);
  });

  it('reads an unneeded blob inside a small gap rather than making two requests', () => {
    const plan = planRestore(index, [[id(1), id(3)]], { maxGap: 100 });
    assert.deepEqual(plan.reads.map((r) => [r.offset, r.length, r.blobs.length]), [[0, 300, 2]]);
    const tight = planRestore(index, [[id(1), id(3)]], { maxGap: 99 });
    assert.equal(tight.reads.length, 2);
  });

  it('bounds each read (a single larger blob is read alone)', () => {
    const plan = planRestore(index, [[id(1), id(2), id(3), id(4), id(6)]], { maxRead: 250 });
    assert.deepEqual(plan.reads.map((r) => [r.packId[0], r.offset, r.length]), [['a', 0, 200], ['a', 200, 200], ['b', 0, 1000]]);
  });

  it('reads a blob once for every file and offset that needs it', () => {
    const plan = planRestore(index, [[id(1), id(1), id(2)], [id(1)], []]);
    assert.equal(plan.reads.length, 1);
    const [b1, b2] = plan.reads[0]!.blobs;
    assert.deepEqual(b1!.targets, [{ file: 0, offset: 0 }, { file: 0, offset: 68 }, { file: 1, offset: 0 }]);
    assert.deepEqual(b2!.targets, [{ file: 0, offset: 136 }]);
    assert.deepEqual(plan.files.map((f) => f.blobs), [3, 1, 0]);
  });

  it('marks a file with a blob missing from the index and plans none of its reads', () => {
    const plan = planRestore(index, [[id(1), id(99), id(6)], [id(2)]]);
    assert.equal(plan.files[0]!.missing, id(99));
    assert.deepEqual(plan.reads.map((r) => r.blobs.map((b) => Number.parseInt(b.id, 16))), [[2]]);
  });
});

/** Counts ranged reads of data packs. */
class CountingBackend extends MemBackend {
  dataReads = 0;
  override async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    if (h.type === 'data') this.dataReads++;
    return super.get(h, range, o);
  }
}

class MemSink implements RestoreSink {
  readonly files = new Map<string, { chunks: Map<number, Uint8Array>; state: 'open' | 'closed' | 'abandoned' }>();
  readonly links: [string, string][] = [];
  readonly order: string[] = [];
  private key = (p: RelPath) => p.map((n) => utf8Decode(n)).join('/');
  async mkdir(): Promise<void> {}
  async createFile(p: RelPath): Promise<FileWriter> {
    const f = { chunks: new Map<number, Uint8Array>(), state: 'open' as 'open' | 'closed' | 'abandoned' };
    this.files.set(this.key(p), f);
    return {
      write: async (offset, data) => {
        assert.equal(f.state, 'open');
        f.chunks.set(offset, new Uint8Array(data));
      },
      close: async () => void (f.state = 'closed'),
      abandon: async () => {
        f.state = 'abandoned';
        return undefined;
      },
    };
  }
  async createSpecial(): Promise<void> {}
  async hardlink(p: RelPath, existing: RelPath): Promise<void> {
    this.links.push([this.key(p), this.key(existing)]);
  }
  async setMetadata(p: RelPath): Promise<void> {
    this.order.push(this.key(p));
  }
  content(name: string): Uint8Array {
    const f = this.files.get(name)!;
    return concatBytes(...[...f.chunks.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]));
  }
}


const T = fromUnixNanos(1_700_000_000_000_000_000n, 0);
const fileNode = (name: string, content: Id[], extra: Partial<TreeNode> = {}): TreeNode => ({
  name: utf8Encode(name), type: 'file', mode: 0o644, mtime: T, atime: T, ctime: T, uid: 0, gid: 0, content, ...extra,
});

async function fixture(): Promise<{ backend: CountingBackend; repo: Repository; index: MasterIndex; tree: Id; blobs: Uint8Array[]; ids: Id[] }> {
  const platform = await nodePlatform();
  const backend = new CountingBackend();
  const repo = await initRepository(backend, platform, { password: 'pw', kdf: { N: 1024, r: 8, p: 1 }, username: 'u', hostname: 'h' });
  const index = new MasterIndex();
  const saver = new BlobSaver(repo, index);
  const blobs = [0, 1, 2, 3, 4].map((i) => randomBytes(i + 1, 3000 + i * 1000));
  const ids: Id[] = [];
  for (const b of blobs) ids.push((await saver.save('data', b)).id);
  const sub = (await saver.save('tree', encodeTree({ nodes: [fileNode('deep', [ids[4]!, ids[0]!])] }))).id;
  const root = encodeTree({
    nodes: [
      fileNode('a', [ids[0]!, ids[1]!, ids[0]!]),
      fileNode('b', [ids[1]!]),
      fileNode('bad', [ids[2]!, ids[3]!]),
      fileNode('empty', []),
      fileNode('h1', [ids[3]!], { links: 2n, inode: 7n }),
      fileNode('h2', [ids[3]!], { links: 2n, inode: 7n }),
      fileNode('missing', [ids[1]!, id(12345)]),
      { name: utf8Encode('sub'), type: 'dir', mode: MODE_DIR | 0o755, mtime: T, atime: T, ctime: T, uid: 0, gid: 0, content: null, subtree: sub },
    ],
  });
  const tree = (await saver.save('tree', root)).id;
  await saver.flush();
  return { backend, repo, index, tree, blobs, ids };
}

describe('restore (pack-wise)', () => {
  it('restores every file with one read per pack range, shared blobs read once', async () => {
    const { backend, repo, index, tree, blobs, ids } = await fixture();
    const sink = new MemSink();
    backend.dataReads = 0;
    const r = await restore(repo, index, tree, sink, {});
    const dataPacks = [...index.packIds()].filter((p) => index.packBlobs(p)!.some((b) => b.type === 'data'));
    // tree packs are read by the walk; data packs at most twice (blobs randomly split over two packs each read once)
    const treeReads = backend.dataReads - dataPacks.length;
    assert.ok(treeReads >= 0 && treeReads <= 2, `data reads ${backend.dataReads} for ${dataPacks.length} data packs`);
    assert.deepEqual(Buffer.from(sink.content('a')), Buffer.from(concatBytes(blobs[0]!, blobs[1]!, blobs[0]!)));
    assert.deepEqual(Buffer.from(sink.content('b')), Buffer.from(blobs[1]!));
    assert.deepEqual(Buffer.from(sink.content('bad')), Buffer.from(concatBytes(blobs[2]!, blobs[3]!)));
    assert.deepEqual(Buffer.from(sink.content('sub/deep')), Buffer.from(concatBytes(blobs[4]!, blobs[0]!)));
    assert.equal(sink.files.get('empty')!.state, 'closed');
    assert.equal(sink.files.get('missing')!.state, 'abandoned');
    assert.deepEqual(r.errors.map((e) => e.path), ['/missing']);
    assert.deepEqual(sink.links, [['h2', 'h1']]);
    assert.equal(r.files, 7); // a b bad empty h1 h2 sub/deep
    assert.equal(r.bytes, 3000 + 4000 + 3000 + 4000 + 5000 + 6000 + 6000 + 7000 + 3000);
    // folders get their metadata last, after all files
    assert.equal(sink.order.at(-1), 'sub');
    assert.ok(sink.order.indexOf('sub') > sink.order.indexOf('sub/deep'));
    assert.ok(sink.order.indexOf('h1') < sink.order.indexOf('sub'));
    void ids;
  });

  it('abandons exactly the files that need a tampered blob, and their hard links', async () => {
    const { backend, repo, index, tree, ids } = await fixture();
    const loc = index.lookup('data', ids[3]!)!;
    const pack = await backend.get({ type: 'data', name: loc.packId });
    pack[loc.offset + 40]! ^= 1;
    await backend.put({ type: 'data', name: loc.packId }, pack);
    const sink = new MemSink();
    const r = await restore(repo, index, tree, sink, { maxRead: 4096 });
    assert.deepEqual(r.errors.map((e) => e.path).sort(), ['/bad', '/h1', '/h2', '/missing']);
    assert.match(r.errors.find((e) => e.path === '/bad')!.message, new RegExp(ids[3]!));
    assert.equal(sink.files.get('bad')!.state, 'abandoned');
    assert.equal(sink.files.get('h1')!.state, 'abandoned');
    assert.deepEqual(sink.links, []);
    for (const ok of ['a', 'b', 'empty', 'sub/deep']) assert.equal(sink.files.get(ok)!.state, 'closed', ok);
  });

  it('stops on cancellation and leaves no open file looking complete', async () => {
    const { repo, index, tree } = await fixture();
    const sink = new MemSink();
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(restore(repo, index, tree, sink, { signal: ac.signal }), /interrupted/);
    for (const [, f] of sink.files) assert.notEqual(f.state, 'open');
  });
});

void (null as unknown as Backend);
