import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readVector } from '../helpers/paths.js';
import { decodeTree, encodeTree, EMPTY_TREE_ID, sortNodes } from '../../src/core/format/tree.js';
import { isCofferError } from '../../src/core/errors.js';
import { INVALID_UTF8_MARK, goStringFromBytes } from '../../src/core/format/json.js';
import { utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import type { TreeNode } from '../../src/core/format/types.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const enc = (s: string): Uint8Array => utf8Encode(s);

interface VecTree { label: string; id: string; length: number; plaintext_utf8: string }

test('every tree in tree-json.json decodes and re-encodes byte for byte', () => {
  const v = readVector<{ trees: VecTree[] }>('tree-json.json');
  assert.ok(v.trees.length >= 5);
  for (const t of v.trees) {
    const bytes = enc(t.plaintext_utf8);
    assert.equal(bytes.length, t.length, t.label);
    assert.equal(sha256(bytes), t.id, t.label);
    const tree = decodeTree(bytes, t.label);
    const again = encodeTree(tree);
    assert.equal(utf8Decode(again), t.plaintext_utf8, t.label);
    assert.equal(sha256(again), t.id);
  }
});

test('tree-json.json: decoded values', () => {
  const v = readVector<{ trees: VecTree[] }>('tree-json.json');
  const big = v.trees.find((t) => t.id.startsWith('2a1b822b'))!;
  const tree = decodeTree(enc(big.plaintext_utf8), 'big');
  const byName = new Map(tree.nodes.map((n) => [utf8Decode(n.name), n]));
  const chardev = byName.get('chardev')!;
  assert.equal(chardev.type, 'chardev');
  assert.equal(chardev.device, 259n);
  assert.equal(chardev.deviceId, 65024n);
  assert.equal(chardev.inode, 2507356n);
  assert.equal(chardev.content, null);
  const empty = byName.get('empty.txt')!;
  assert.equal(empty.mode, undefined);
  assert.deepEqual(empty.content, []);
  const small = byName.get('small.txt')!;
  assert.equal(small.size, 12);
  assert.equal(small.links, 2n);
  assert.equal(small.extendedAttributes![0]!.name, 'user.comment');
  assert.equal(utf8Decode(small.extendedAttributes![0]!.value), 'hello xattr');
  assert.equal(byName.get('emptydir')!.subtree, EMPTY_TREE_ID);
  // restic wrote `\ufffd` for the invalid byte: kept as a mark so that re-encoding matches
  const bad = byName.get('link-bad-utf8')!.linktarget!;
  assert.equal(bad, 'bad' + INVALID_UTF8_MARK + 'utf8');
  assert.equal(utf8Decode(utf8Encode(bad)), 'bad\ufffdutf8');
  const sub = v.trees.find((t) => t.id.startsWith('301b8ef8'))!;
  const weird = decodeTree(enc(sub.plaintext_utf8), 'sub').nodes[1]!;
  assert.equal(utf8Decode(weird.name), 'we"ird\\name <&> ü.txt');
  const deeper = v.trees.find((t) => t.id.startsWith('c3d376af'))!;
  const d = decodeTree(enc(deeper.plaintext_utf8), 'deeper').nodes[0]!;
  assert.equal(d.mtime.nsec, 123456789);
  assert.equal(d.mode, 8389101);
});

test('trees from tiny-repos.json round-trip and hash to their IDs', () => {
  const v = readVector<{ repos: { packs: { blobs: { type: string; id: string; plaintext_utf8?: string }[] }[] }[] }>('tiny-repos.json');
  let n = 0;
  for (const r of v.repos) {
    for (const p of r.packs) {
      for (const b of p.blobs) {
        if (b.type !== 'tree') continue;
        const bytes = enc(b.plaintext_utf8!);
        assert.equal(sha256(bytes), b.id);
        assert.equal(sha256(encodeTree(decodeTree(bytes, b.id))), b.id);
        n++;
      }
    }
  }
  assert.equal(n, 8);
});

test('empty tree', () => {
  const b = encodeTree({ nodes: [] });
  assert.equal(utf8Decode(b), '{"nodes":[]}\n');
  assert.equal(sha256(b), EMPTY_TREE_ID);
});

const T = { sec: 1704164645, nsec: 500_000_000, offsetSec: 0 };
function node(name: Uint8Array | string, extra: Partial<TreeNode> = {}): TreeNode {
  return { name: typeof name === 'string' ? enc(name) : name, type: 'file', mtime: T, atime: T, ctime: T, uid: 0, gid: 0, content: [], ...extra };
}

test('encode sorts by raw bytes and rejects duplicate names', () => {
  // U+FF5E (EF BD 9E) sorts before U+1F600 (F0 9F 98 80) in bytes, after it in UTF-16.
  const a = node('\u{1F600}');
  const b = node('\uFF5E');
  const c = node(new Uint8Array([0x61, 0xff]));
  const tree = decodeTree(encodeTree({ nodes: [a, c, b] }), 't');
  assert.deepEqual(tree.nodes.map((x) => [...x.name]), [[0x61, 0xff], [0xef, 0xbd, 0x9e], [0xf0, 0x9f, 0x98, 0x80]]);
  assert.deepEqual(sortNodes([a, b]).map((x) => x.name), [b.name, a.name]);
  assert.throws(() => encodeTree({ nodes: [node('x'), node('x')] }), (e) => isCofferError(e, 'internal'));
});

test('encode: omitempty, bigints, raw link target, generic attributes, escaping', () => {
  const n = node('a<b', {
    type: 'symlink',
    mode: 0x08000000 | 0o777,
    content: null,
    inode: 18446744073709551615n,
    deviceId: 9007199254740993n,
    linktarget: 'x\u2028&',
    linktargetRaw: new Uint8Array([0x62, 0xff]),
    genericAttributes: { 'z.b': '{ "x" : "<" }', 'a.a': '7' },
    error: 'e\u0001',
    user: '',
  });
  const s = utf8Decode(encodeTree({ nodes: [n] }));
  assert.equal(
    s,
    '{"nodes":[{"name":"a\\u003cb","type":"symlink","mode":134218239,"mtime":"2024-01-02T03:04:05.5Z","atime":"2024-01-02T03:04:05.5Z","ctime":"2024-01-02T03:04:05.5Z","uid":0,"gid":0,"inode":18446744073709551615,"device_id":9007199254740993,"linktarget":"x\\u2028\\u0026","linktarget_raw":"Yv8=","generic_attributes":{"a.a":7,"z.b":{"x":"\\u003c"}},"content":null,"error":"e\\u0001"}]}\n',
  );
  const back = decodeTree(enc(s), 't').nodes[0]!;
  assert.equal(back.inode, 18446744073709551615n);
  assert.equal(back.deviceId, 9007199254740993n);
  assert.deepEqual([...back.linktargetRaw!], [0x62, 0xff]);
  assert.deepEqual(back.genericAttributes, { 'a.a': '7', 'z.b': '{"x":"\\u003c"}' });
  assert.equal(back.user, undefined);
  assert.equal(utf8Decode(encodeTree({ nodes: [back] })), s);
});

test('decode tolerates extra keys, old modes, case-insensitive keys, nulls', () => {
  const s =
    '{"extra":[1,{"a":null}],"nodes":[{"Name":"d","type":"dir","mode":493,"mtime":"2014-12-22T14:47:59.912418701+01:00",' +
    '"atime":null,"ctime":"2014-12-22T14:47:59.912418701+01:00","uid":1000,"gid":100,"user":null,"unknown":{"x":[]},' +
    '"content":null,"subtree":"AC08CE34BA4F8123618661BEF2425F7028FFB9AC740578A3EE88684D2523FEE8"}],"after":true}';
  const t = decodeTree(enc(s), 'old');
  const d = t.nodes[0]!;
  assert.equal(utf8Decode(d.name), 'd');
  assert.equal(d.mode, 493);
  assert.equal(d.subtree, EMPTY_TREE_ID);
  assert.equal(d.atime.sec, -62135596800);
  assert.equal(d.mtime.offsetSec, 3600);
});

test('decode rejects malformed trees with corrupt', () => {
  const bad = [
    'not json',
    '{"nodes":[',
    '[]',
    '{}',
    '{"nodes":[{"name":"a","type":"weird","content":null}]}',
    '{"nodes":[{"name":"a","content":null}]}',
    '{"nodes":[{"name":"a","type":"file","content":["abc"]}]}',
    '{"nodes":[{"name":"a","type":"file","size":-1,"content":[]}]}',
    '{"nodes":[{"name":"a","type":"file","size":1.5,"content":[]}]}',
    '{"nodes":[{"name":"a","type":"file","size":18446744073709551615,"content":[]}]}',
    '{"nodes":[{"name":"a","type":"file","inode":18446744073709551616,"content":[]}]}',
    '{"nodes":[{"name":"a","type":"file","uid":4294967296,"content":[]}]}',
    '{"nodes":[{"name":"a","type":"file","mtime":"yesterday","content":[]}]}',
    '{"nodes":[{"name":"a\\\\q","type":"file","content":[]}]}',
    '{"nodes":[{"name":"a","type":"symlink","linktarget_raw":"!!","content":null}]}',
    '{"nodes":[{"name":"a","type":"file","content":[]}]} x',
    '{"nodes":[{"name":1,"type":"file","content":[]}]}',
  ];
  for (const s of bad) assert.throws(() => decodeTree(enc(s), 'bad tree'), (e) => isCofferError(e, 'corrupt') && /bad tree/.test((e as Error).message), s);
});

// Correctness at size only: speed is measured by `npm run bench`, never asserted in tests.
test('encodes and decodes a tree of 100k nodes', () => {
  const nodes: TreeNode[] = [];
  for (let i = 0; i < 100_000; i++) {
    nodes.push(node(`file-${String(i).padStart(6, '0')}.txt`, { mode: 420, inode: BigInt(i + 1), deviceId: 65024n, size: i + 1, links: 1n, user: 'root', group: 'root', content: ['07854d2fef297a06ba81685e660c332de36d5d18d546927d30daad6d7fda1541'] }));
  }
  const back = decodeTree(encodeTree({ nodes }), 'big');
  assert.equal(back.nodes.length, 100_000);
  assert.equal(back.nodes[99_999]!.inode, 100_000n);
  assert.equal(back.nodes[12_345]!.size, 12_346);
});

test('a link target with invalid UTF-8 encodes like restic 0.14 (\\ufffd per byte), a real U+FFFD raw', () => {
  const n = node('l', { type: 'symlink', content: null, linktarget: goStringFromBytes(new Uint8Array([0x62, 0xff, 0xfe, 0x63])) + '\ufffd' });
  assert.match(utf8Decode(encodeTree({ nodes: [n] })), /"linktarget":"b\\ufffd\\ufffdc\ufffd"/);
});

test('a restic 0.14 tree with hard-to-quote names re-encodes byte for byte', async () => {
  const { readFileSync } = await import('node:fs');
  const fx = JSON.parse(readFileSync('test/format/fixtures/restic-quoting-tree.json', 'utf8')) as { id: string; base64: string };
  const bytes = new Uint8Array(Buffer.from(fx.base64, 'base64'));
  assert.equal(sha256(bytes), fx.id);
  const tree = decodeTree(bytes, 'quoting');
  const names = tree.nodes.map((n) => Buffer.from(n.name).toString('hex'));
  assert.ok(names.includes(Buffer.from('inv\xff\xfe', 'latin1').toString('hex')));
  assert.ok(names.includes(Buffer.from('ctl\x01\x07\x08\t\n\x0b\x0c\r\x1b\x7f', 'latin1').toString('hex')));
  assert.ok(names.includes(Buffer.from('surr\xed\xa0\x80', 'latin1').toString('hex')));
  // re-encoding from the decoded raw names reproduces restic's quoting exactly
  assert.equal(sha256(encodeTree(tree)), fx.id);
  assert.equal(sha256(encodeTree({ nodes: [...tree.nodes].reverse() })), fx.id);
});
