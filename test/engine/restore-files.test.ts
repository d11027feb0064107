/**
 * The restorer's compact file records (engine/restore/files.ts): every node rebuilt from the
 * columns equals the node the tree decoder gave (names with any bytes, times with zones and
 * nanoseconds, owners, 32-bit extremes, inodes, content null / empty / shared), nodes the columns
 * cannot hold come back whole, paths match the tree walker's, content numbers point at the right
 * IDs and each distinct blob is looked up once; and the planner over blob numbers gives the same
 * plan as over content lists.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8Encode } from '../../src/core/bytes.js';
import { BlobTable, FileTable } from '../../src/core/engine/restore/files.js';
import { planRestore, planRestoreBlobs } from '../../src/core/engine/restore/plan.js';
import { joinPath } from '../../src/core/engine/walk/tree-walker.js';
import { decodeTree, encodeTree } from '../../src/core/format/tree.js';
import type { GoTime, Id, TreeNode } from '../../src/core/format/types.js';
import type { BlobLocation, MasterIndex } from '../../src/core/repository/master-index.js';

const id = (n: number): Id => n.toString(16).padStart(64, '0');

/** An index stand-in: blob n lives at offset n of pack n % 3 (blob 999 is missing); lookups counted. */
function fakeIndex(): { index: MasterIndex; lookups: Id[] } {
  const lookups: Id[] = [];
  const index = {
    lookup(type: string, blobId: Id): BlobLocation | undefined {
      lookups.push(blobId);
      const n = parseInt(blobId, 16);
      if (type !== 'data' || n === 999) return undefined;
      return { packId: id(1000 + (n % 3)), offset: n * 100, length: 82, uncompressedLength: 0 } as BlobLocation;
    },
  } as unknown as MasterIndex;
  return { index, lookups };
}

const time = (sec: number, nsec: number, offsetSec: number): GoTime => ({ sec, nsec, offsetSec });

/** Nodes through the real encoder and decoder, as a restore gets them. */
function decoded(nodes: TreeNode[]): readonly TreeNode[] {
  return decodeTree(encodeTree({ nodes }), 'test tree').nodes;
}

const base = (name: string | Uint8Array, extra: Partial<TreeNode> = {}): TreeNode => ({
  name: typeof name === 'string' ? utf8Encode(name) : name,
  type: 'file',
  mtime: time(1_700_000_000, 123_456_789, 3600),
  atime: time(1_700_000_001, 0, 0),
  ctime: time(-62_135_596_800, 0, 0),
  uid: 1000,
  gid: 1000,
  content: [id(1), id(2)],
  ...extra,
});

test('rebuilt nodes equal the decoded ones; odd nodes are kept whole; paths and content numbers', () => {
  const nodes = decoded([
    base('a.txt', { mode: 0o644, user: 'ann', group: 'staff', inode: 12345n, deviceId: 66306n, size: 164, links: 1n }),
    base('b', { content: null }),
    base('c-empty', { content: [], mode: 0o4755 }),
    base(new Uint8Array([0xff, 0xfe, 0x2e, 0x80]), { uid: 0xffffffff, gid: 0x80000000, mode: 0xffffffff }),
    base('d-far', { mtime: time(253_402_300_799, 999_999_999, -43200), inode: 2n ** 53n - 1n, links: 2n }),
    base('e-xattr', { extendedAttributes: [{ name: 'user.x', value: utf8Encode('1') }], content: [id(2), id(3)] }),
    base('f-huge-inode', { inode: 2n ** 60n, user: 'ann' }),
    base('g-huge-links', { links: 2n ** 40n }),
    base('h-generic', { genericAttributes: { windows_attributes: '{"a":1}' } }),
    base('i-shared', { content: [id(1), id(999), id(1)] }),
  ]);
  const { index, lookups } = fakeIndex();
  const table = new FileTable(new BlobTable(index));
  table.dirs.push({ path: '/', rawPath: [] });
  const dirRaw = [utf8Encode('top'), new Uint8Array([0xc3, 0x28])];
  table.dirs.push({ path: joinPath(joinPath('/', dirRaw[0]!), dirRaw[1]!), rawPath: dirRaw });
  const nos = nodes.map((n, i) => table.add(n, i % 2));
  table.seal();
  assert.deepEqual(nos, nodes.map((_, i) => i));
  nodes.forEach((n, i) => {
    assert.deepEqual(table.node(i), n, `node ${i}`);
    const dir = table.dirs[i % 2]!;
    assert.deepEqual(table.rawPath(i), [...dir.rawPath, n.name]);
    assert.equal(table.path(i), joinPath(dir.path, n.name));
    const ids = [...table.contentOf(i)].map((k) => table.blobs.ids[k]);
    assert.deepEqual(ids, n.content ?? []);
  });
  // Distinct blobs looked up once each: 1, 2, 3, 999.
  assert.deepEqual([...lookups].sort(), [id(1), id(2), id(3), id(999)].sort());
  // The rebuilt node is a fresh object each time (not kept), except the whole ones.
  assert.notEqual(table.node(0), table.node(0));
  assert.equal(table.node(5), table.node(5));
});

test('rebuilt nodes equal the decoded ones for generated file nodes', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });
  const goTime = fc.record({ sec: fc.integer({ min: -62_135_596_800, max: 253_402_300_799 }), nsec: fc.integer({ min: 0, max: 999_999_999 }), offsetSec: fc.integer({ min: -50_400, max: 50_400 }).map((m) => m - (m % 60)) });
  const node = fc.record({
    name: fc.uint8Array({ minLength: 1, maxLength: 40 }).filter((b) => !b.includes(0x2f)),
    mode: u32,
    mtime: goTime,
    atime: goTime,
    ctime: goTime,
    uid: u32,
    gid: u32,
    user: fc.option(fc.string({ maxLength: 8 }), { nil: undefined }),
    inode: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
    size: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
    links: fc.bigInt({ min: 0n, max: 2n ** 33n }),
    content: fc.option(fc.array(fc.integer({ min: 1, max: 20 }).map(id), { maxLength: 4 }), { nil: null }),
  });
  fc.assert(
    fc.property(fc.uniqueArray(node, { selector: (n) => Buffer.from(n.name).toString('hex'), minLength: 1, maxLength: 20 }), (raw) => {
      const nodes = decoded(raw.map((r) => ({ ...r, type: 'file' as const, ...(r.user ? {} : { user: undefined }) })));
      const table = new FileTable(new BlobTable(fakeIndex().index));
      table.dirs.push({ path: '/', rawPath: [] });
      for (const n of nodes) table.add(n, 0);
      table.seal();
      nodes.forEach((n, i) => assert.deepEqual(table.node(i), n));
    }),
    { numRuns: 200 },
  );
});

test('planRestoreBlobs over blob numbers plans what planRestore plans over content lists', () => {
  const contents: (Id[] | null)[] = [[id(4), id(5)], null, [id(5), id(7), id(5)], [], [id(8), id(999)], [id(10), id(4)]];
  const { index } = fakeIndex();
  const byLists = planRestore(index, contents);
  const blobs = new BlobTable(index);
  const numbered = contents.map((c) => (c ?? []).map((x) => blobs.add(x)));
  const byNumbers = planRestoreBlobs(blobs, numbered.length, (f) => numbered[f]!);
  assert.deepEqual(byNumbers, byLists);
  assert.equal(byLists.files[4]!.missing, id(999));
  assert.equal(byLists.reads.flatMap((r) => r.blobs).find((b) => b.id === id(5))!.targets.length, 3);
});
