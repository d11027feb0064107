/**
 * fast-check arbitraries for the repository documents and binary structures, shared by the
 * property tests (test/property) and the fuzzers (test/fuzz, which also mutate their encodings).
 * Values are generated in the form the decoders return: zero values absent (Go omitempty), so
 * `decode(encode(x))` must deep-equal `x` (trees: nodes sorted by name, generic attributes compacted).
 */
import fc from 'fast-check';
import { utf8Encode } from '../../src/core/bytes.js';
import { daysFromCivil } from '../../src/core/format/go-time.js';
import { INVALID_UTF8_MARK } from '../../src/core/format/json.js';
import type {
  GoTime, IndexFile, IndexPack, KeyFile, Lock, NodeType, PackedBlob, RepoConfig, Snapshot, SnapshotSummary, Tree, TreeNode,
} from '../../src/core/format/types.js';
import { compareBytes } from '../../src/core/bytes.js';

/** Cases per property: a fast slice by default; COFFER_PROPERTY_RUNS raises it. */
export const RUNS = Number(process.env.COFFER_PROPERTY_RUNS ?? 150);

const DAY = 86400;
const NNP = { noNullPrototype: true } as const;
const MIN_WALL = daysFromCivil(0, 1, 1) * DAY;
const MAX_WALL = daysFromCivil(9999, 12, 31) * DAY + DAY - 1;

/** Times whose wall clock lies in years 0000-9999 (what the RFC 3339 text can hold), zones in whole minutes. */
export const goTime: fc.Arbitrary<GoTime> = fc
  .tuple(
    fc.oneof(fc.integer({ min: MIN_WALL, max: MAX_WALL }), fc.integer({ min: 0, max: 2_000_000_000 })),
    fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 999_999_999 })),
    fc.oneof(fc.constant(0), fc.integer({ min: -1439, max: 1439 }).map((m) => m * 60)),
  )
  .map(([wall, nsec, off]) => ({ sec: wall - off, nsec, offsetSec: off === 0 ? 0 : off }));

/** 64 lowercase hex digits. */
export const id: fc.Arbitrary<string> = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(''));

/**
 * Go strings as the JSON layer models them: well-formed text, plus the invalid-UTF-8 mark (a byte
 * of unknown value), which round-trips through `\ufffd`. Mixes ASCII, JSON/HTML specials and any code point.
 */
export const goString: fc.Arbitrary<string> = fc.string({
  unit: fc.oneof(
    { weight: 4, arbitrary: fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 1 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.constantFrom('"', '\\', '<', '>', '&', '\u2028', '\u2029', '\u007f', '\ufffd', INVALID_UTF8_MARK, '\n', '\t', '\b', '\f', '\0') },
  ),
  maxLength: 24,
});
const nonEmptyGoString = goString.filter((s) => s !== '');

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const nonZeroU32 = fc.integer({ min: 1, max: 0xffffffff });
const nonZeroU64 = fc.oneof(fc.bigInt({ min: 1n, max: 0xffffffffn }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }));
const safeUint = fc.oneof(fc.integer({ min: 0, max: 1 << 30 }), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
const NODE_TYPES: NodeType[] = ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular'];

/** A node name: any bytes (invalid UTF-8 and control characters included) or any text. */
export const nodeName: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ minLength: 1, maxLength: 24 }),
  nonEmptyGoString.filter((s) => !s.includes(INVALID_UTF8_MARK)).map((s) => utf8Encode(s)),
);

/** A JSON text for a generic attribute value (arbitrary JSON, possibly with whitespace). */
export const rawJson: fc.Arbitrary<string> = fc
  .tuple(fc.jsonValue({ maxDepth: 2 }), fc.boolean())
  .map(([v, pretty]) => JSON.stringify(v, null, pretty ? 1 : undefined));

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] };

const treeNode: fc.Arbitrary<TreeNode> = fc
  .record(
    {
      name: nodeName,
      type: fc.constantFrom(...NODE_TYPES),
      mode: nonZeroU32,
      mtime: goTime,
      atime: goTime,
      ctime: goTime,
      uid: u32,
      gid: u32,
      user: nonEmptyGoString,
      group: nonEmptyGoString,
      inode: nonZeroU64,
      deviceId: nonZeroU64,
      size: safeUint.filter((n) => n > 0),
      links: nonZeroU64,
      linktarget: nonEmptyGoString,
      linktargetRaw: fc.uint8Array({ minLength: 1, maxLength: 16 }),
      extendedAttributes: fc.array(fc.record({ name: goString, value: fc.uint8Array({ maxLength: 16 }) }, NNP), { minLength: 1, maxLength: 3 }),
      genericAttributes: fc.array(fc.tuple(goString.filter((s) => !s.includes(INVALID_UTF8_MARK)), rawJson), { minLength: 1, maxLength: 3 }),
      device: nonZeroU64,
      content: fc.option(fc.array(id, { maxLength: 4 }), { nil: null }),
      subtree: id,
      error: nonEmptyGoString,
    },
    { requiredKeys: ['name', 'type', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'content'], noNullPrototype: true },
  )
  .map((r) => {
    const n = { ...r } as unknown as MutableNode & { genericAttributes?: unknown };
    if (r.genericAttributes !== undefined) {
      const ga: Record<string, string> = {};
      for (const [k, v] of r.genericAttributes) Object.defineProperty(ga, k, { value: v, writable: true, enumerable: true, configurable: true });
      n.genericAttributes = ga;
    }
    return n as TreeNode;
  });

/** Trees with unique names, nodes in the required (byte) order. */
export const tree: fc.Arbitrary<Tree> = fc
  .uniqueArray(treeNode, { maxLength: 6, selector: (n) => Array.from(n.name).join(',') })
  .map((nodes) => ({ nodes: [...nodes].sort((a, b) => compareBytes(a.name, b.name)) }));

const summary: fc.Arbitrary<SnapshotSummary> = fc.record({
  backupStart: goTime,
  backupEnd: goTime,
  filesNew: safeUint,
  filesChanged: safeUint,
  filesUnmodified: safeUint,
  dirsNew: safeUint,
  dirsChanged: safeUint,
  dirsUnmodified: safeUint,
  dataBlobs: safeUint,
  treeBlobs: safeUint,
  dataAdded: safeUint,
  dataAddedPacked: safeUint,
  totalFilesProcessed: safeUint,
  totalBytesProcessed: safeUint,
}, NNP);

export const snapshot: fc.Arbitrary<Snapshot> = fc.record(
  {
    time: goTime,
    parent: id,
    tree: id,
    paths: fc.array(goString, { maxLength: 3 }),
    hostname: nonEmptyGoString,
    username: nonEmptyGoString,
    uid: nonZeroU32,
    gid: nonZeroU32,
    excludes: fc.array(goString, { minLength: 1, maxLength: 3 }),
    tags: fc.array(goString, { minLength: 1, maxLength: 3 }),
    original: id,
    programVersion: nonEmptyGoString,
    summary,
  },
  { requiredKeys: ['time', 'tree', 'paths'], noNullPrototype: true },
);

export const lock: fc.Arbitrary<Lock> = fc.record(
  {
    time: goTime,
    exclusive: fc.boolean(),
    hostname: goString,
    username: goString,
    pid: fc.oneof(fc.integer({ min: -1, max: 1 << 22 }), fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER })),
    uid: nonZeroU32,
    gid: nonZeroU32,
  },
  { requiredKeys: ['time', 'exclusive', 'hostname', 'username', 'pid'], noNullPrototype: true },
);

export const config: fc.Arbitrary<RepoConfig> = fc.record({
  version: fc.constantFrom(1 as const, 2 as const),
  id,
  chunkerPolynomial: fc.oneof(fc.bigInt({ min: 1n << 53n, max: (1n << 54n) - 1n }), fc.bigInt({ min: 1n, max: (1n << 64n) - 1n })),
}, NNP);

/** Key files with parameters the decoder accepts (N a power of two, 128·N·r ≤ 4 GiB). */
export const keyFile: fc.Arbitrary<KeyFile> = fc
  .record({
    created: goTime,
    username: goString,
    hostname: goString,
    logN: fc.integer({ min: 1, max: 24 }),
    r: fc.integer({ min: 1, max: 1024 }),
    p: fc.integer({ min: 1, max: 1024 }),
    salt: fc.uint8Array({ minLength: 64, maxLength: 64 }),
    data: fc.uint8Array({ minLength: 32, maxLength: 160 }),
  })
  .map(({ logN, r, ...k }) => {
    const N = 2 ** logN;
    const rr = Math.max(1, Math.min(r, Math.floor(2 ** 32 / (128 * N))));
    return { ...k, kdf: 'scrypt' as const, N, r: rr };
  })
  .map((k) => ({ created: k.created, username: k.username, hostname: k.hostname, kdf: k.kdf, N: k.N, r: k.r, p: k.p, salt: k.salt, data: k.data }));

const packedBlob = (offset: fc.Arbitrary<number>): fc.Arbitrary<PackedBlob> =>
  fc.record({
    type: fc.constantFrom('data' as const, 'tree' as const),
    id,
    offset,
    length: fc.integer({ min: 32, max: 0xffffffff }),
    uncompressedLength: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })),
  }, NNP);

export const indexFile: fc.Arbitrary<IndexFile> = fc.record({
  packs: fc.array(
    fc.record({ id, blobs: fc.array(packedBlob(safeUint), { maxLength: 4 }) }, NNP) as fc.Arbitrary<IndexPack>,
    { maxLength: 4 },
  ),
}, NNP);

/** Pack header entries with cumulative offsets, as `decodePackHeader` returns them. */
export const packHeaderEntries: fc.Arbitrary<PackedBlob[]> = fc.array(packedBlob(fc.constant(0)), { maxLength: 8 }).map((bs) => {
  let offset = 0;
  return bs.map((b) => {
    const e = { ...b, offset };
    offset += b.length;
    return e;
  });
});
