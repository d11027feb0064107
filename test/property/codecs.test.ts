/**
 * Round-trip properties of every codec in src/core/format: for generated values,
 * decode(encode(x)) equals x, and encoding is stable (encode(decode(bytes)) == bytes).
 * Runs a fast slice; `COFFER_PROPERTY_RUNS` raises the number of cases per property.
 */
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8Encode } from '../../src/core/bytes.js';
import { decodeConfig, encodeConfig } from '../../src/core/format/config.js';
import { formatGoTime, parseGoTime } from '../../src/core/format/go-time.js';
import { goQuote, goUnquote } from '../../src/core/format/go-quote.js';
import { decodeIndex, encodeIndex } from '../../src/core/format/index-file.js';
import {
  bytesFromGoString, decodeRuneAt, goCompactJson, goJsonString, goStringFromBytes, INVALID_UTF8_MARK, JsonNumber, parseJson, parseJsonBytes, type JsonValue,
} from '../../src/core/format/json.js';
import { decodeKeyFile, encodeKeyFile } from '../../src/core/format/key-file.js';
import { decodeLock, encodeLock } from '../../src/core/format/lock.js';
import {
  goModeFromPosix, goModeTypeBits, MODE_STORED_MASK, nodeTypeFromGoMode, posixFromGoMode,
  S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFREG, S_IFSOCK,
} from '../../src/core/format/mode.js';
import { decodePackHeader, encodePackHeader, expectedPackSize } from '../../src/core/format/pack-header.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { decodeTree, encodeTree } from '../../src/core/format/tree.js';
import type { NodeType, Tree } from '../../src/core/format/types.js';
import * as arb from './arbitraries.js';
import { RUNS } from './arbitraries.js';

const opts = { numRuns: RUNS };

/** Plain JS value of parsed JSON (numbers as JS numbers) to compare with JSON.parse. */
function plain(v: JsonValue): unknown {
  if (v instanceof JsonNumber) return Number(v.text);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: plain((v as Record<string, JsonValue>)[k]!), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}

test('json: parseJson agrees with JSON.parse on any JSON text', () => {
  fc.assert(
    fc.property(fc.jsonValue(), fc.constantFrom(undefined, 1, '\t'), (v, space) => {
      const text = JSON.stringify(v, null, space);
      assert.deepEqual(plain(parseJson(text, 'p')), JSON.parse(text));
      assert.deepEqual(plain(parseJson(goCompactJson(text, 'p'), 'p')), JSON.parse(text));
    }),
    opts,
  );
});

test('json: goJsonString round-trips every Go string; lone surrogates become the invalid-UTF-8 mark', () => {
  fc.assert(
    fc.property(arb.goString, (s) => {
      assert.equal(parseJson(goJsonString(s), 's'), s);
    }),
    opts,
  );
  fc.assert(
    fc.property(fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 16 }), (s) => {
      const back = parseJson(goJsonString(s), 's') as string;
      // Only well-formed pairs survive; every lone surrogate becomes the mark.
      const expected = s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, INVALID_UTF8_MARK);
      assert.equal(back, expected);
      // Go's encoder output is always valid UTF-8 once encoded.
      assert.ok(!/[\ud800-\udfff]/.test(goJsonString(s).replace(/[\ud800-\udbff][\udc00-\udfff]/g, '')));
    }),
    opts,
  );
});

test('json: goStringFromBytes / bytesFromGoString are inverse on any bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
      assert.deepEqual(bytesFromGoString(goStringFromBytes(b)), b);
    }),
    opts,
  );
});

/** Go's decoding of raw bytes inside a JSON string: one U+FFFD per invalid byte. */
function goDecodedString(b: Uint8Array): string {
  let out = '';
  for (let i = 0; i < b.length; ) {
    const [r, w] = decodeRuneAt(b, i);
    out += r < 0 ? '\ufffd' : String.fromCodePoint(r);
    i += w;
  }
  return out;
}

test('json: raw invalid UTF-8 inside a string reads as Go reads it (one U+FFFD per byte; found by the restic oracle)', () => {
  const raw = fc.uint8Array({ maxLength: 24 }).map((b) => b.filter((x) => x !== 0x22 && x !== 0x5c && x >= 0x20));
  fc.assert(
    fc.property(fc.oneof(raw, fc.constantFrom(Uint8Array.of(0xf0, 0x9f, 0x98), Uint8Array.of(0xe2, 0x82), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0xc0, 0xaf))), (b) => {
      const doc = Uint8Array.of(0x5b, 0x22, ...b, 0x22, 0x5d); // ["<bytes>"]
      assert.deepEqual(parseJsonBytes(doc, 'doc'), [goDecodedString(b)]);
    }),
    opts,
  );
  // A truncated 4-byte sequence is three invalid bytes for Go (TextDecoder alone would give one U+FFFD).
  assert.deepEqual(parseJsonBytes(Uint8Array.of(0x22, 0xf0, 0x9f, 0x98, 0x22), 'doc'), '\ufffd\ufffd\ufffd');
});

test('repeated keys: every occurrence is decoded, as Go does (an invalid earlier one fails; found by the restic oracle)', () => {
  const id = 'c863fc75a7146a42db4df219824917da974ebea1820bc67eed3462c4499693c1';
  const enc = (s: string) => new TextEncoder().encode(s);
  const isCorrupt = (e: unknown) => e instanceof Error && (e as { code?: string }).code === 'corrupt';
  assert.throws(() => decodeSnapshot(enc(`{"time":"2024-01-01T00:00:00Z","tree":"bad","tree":"${id}","paths":[]}`), 's'), isCorrupt);
  assert.equal(decodeSnapshot(enc(`{"time":"2024-01-01T00:00:00Z","tree":"${'0'.repeat(64)}","Tree":"${id}","paths":[]}`), 's').tree, id);
  assert.throws(() => decodeLock(enc('{"pid":"x","pid":1}'), 'l'), isCorrupt);
  assert.throws(() => decodeIndex(enc(`{"packs":[{"id":"${id}","blobs":[{"id":"${id}","type":"blob","type":"data"}]}]}`), 'i'), isCorrupt);
  assert.throws(() => decodeTree(enc('{"nodes":[{"name":"a"}],"nodes":[]}'), 't'), isCorrupt);
  assert.deepEqual(decodeTree(enc('{"nodes":null,"nodes":[]}'), 't'), { nodes: [] });
  assert.throws(() => decodeConfig(enc(`{"version":2,"id":"${id}","chunker_polynomial":"zz","chunker_polynomial":"2a24233fdc57b3"}`), 'c'), isCorrupt);
  assert.throws(() => decodeKeyFile(enc('{"kdf":1,"kdf":"scrypt"}'), 'k'), isCorrupt);
  // A repeated struct is decoded into the same value (Go merges it).
  const merged = decodeSnapshot(enc(`{"tree":"${id}","summary":{"files_new":3,"data_added":7},"SUMMARY":{"files_new":4}}`), 's').summary!;
  assert.equal(merged.filesNew, 4);
  assert.equal(merged.dataAdded, 7);
  // data_blobs and tree_blobs are Go ints in restic (signed); the other counters unsigned.
  const signed = decodeSnapshot(enc(`{"tree":"${id}","summary":{"data_blobs":-1,"tree_blobs":-2147483648}}`), 's').summary!;
  assert.deepEqual([signed.dataBlobs, signed.treeBlobs], [-1, -2147483648]);
  assert.throws(() => decodeSnapshot(enc(`{"tree":"${id}","summary":{"files_new":-1}}`), 's'), isCorrupt);
  // The parsed object itself shows each key once.
  assert.deepEqual(Object.keys(parseJson('{"a":1,"a":2}', 'j') as object), ['a']);
});

test('go-time: format/parse round trip (instant, nanoseconds and zone)', () => {
  fc.assert(
    fc.property(arb.goTime, (t) => {
      const text = formatGoTime(t);
      assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
      assert.deepEqual(parseGoTime(text, 't'), t);
    }),
    opts,
  );
});

test('go-quote: goUnquote(goQuote(name)) is the identity on any bytes, and the quoted text has no raw quote or newline', () => {
  fc.assert(
    fc.property(arb.nodeName, fc.uint8Array({ maxLength: 40 }), (a, b) => {
      for (const name of [a, b]) {
        const q = goQuote(name);
        assert.ok(!/(^|[^\\])(\\\\)*"/.test(q) && !q.includes('\n'));
        assert.deepEqual(goUnquote(q), name);
      }
    }),
    opts,
  );
});

test('mode: POSIX <-> Go FileMode round trip for every file type and permission bits', () => {
  const types = [S_IFREG, S_IFDIR, S_IFLNK, S_IFBLK, S_IFCHR, S_IFIFO, S_IFSOCK];
  fc.assert(
    fc.property(fc.constantFrom(...types), fc.integer({ min: 0, max: 0o7777 }), (t, perm) => {
      const st = t | perm;
      const go = goModeFromPosix(st);
      assert.equal(go & ~MODE_STORED_MASK, 0, 'only stored bits');
      assert.equal(posixFromGoMode(go), st);
      assert.equal(goModeFromPosix(posixFromGoMode(go)), go);
      const type = nodeTypeFromGoMode(go);
      assert.equal(goModeTypeBits(type) >>> 0, (go & ~0o7777 & ~0x00800000 & ~0x00400000 & ~0x00100000) >>> 0);
    }),
    opts,
  );
  for (const type of ['file', 'dir', 'symlink', 'dev', 'chardev', 'fifo', 'socket', 'irregular'] as NodeType[]) {
    assert.equal(nodeTypeFromGoMode(goModeTypeBits(type)), type);
  }
});

/** What decodeTree returns for a generated tree: generic attribute values compacted as Go writes them. */
function normalTree(t: Tree): Tree {
  return {
    nodes: t.nodes.map((n) => {
      if (!n.genericAttributes) return n;
      const ga: Record<string, string> = {};
      for (const k of Object.keys(n.genericAttributes)) {
        Object.defineProperty(ga, k, { value: goCompactJson(n.genericAttributes[k]!, 'g'), enumerable: true, writable: true, configurable: true });
      }
      return { ...n, genericAttributes: ga };
    }),
  };
}

test('tree: decode(encode(tree)) == tree and re-encoding is byte-identical', () => {
  fc.assert(
    fc.property(arb.tree, (t) => {
      const bytes = encodeTree(t);
      const back = decodeTree(bytes, 'tree');
      assert.deepEqual(back, normalTree(t));
      assert.deepEqual(encodeTree(back), bytes);
    }),
    opts,
  );
});

test('snapshot: round trip and stable bytes', () => {
  fc.assert(
    fc.property(arb.snapshot, (s) => {
      const bytes = encodeSnapshot(s);
      const back = decodeSnapshot(bytes, 'snapshot');
      assert.deepEqual(back, s);
      assert.deepEqual(encodeSnapshot(back), bytes);
    }),
    opts,
  );
});

test('lock: round trip and stable bytes', () => {
  fc.assert(
    fc.property(arb.lock, (l) => {
      const bytes = encodeLock(l);
      assert.deepEqual(decodeLock(bytes, 'lock'), l);
    }),
    opts,
  );
});

test('config: round trip, polynomial written as bare lowercase hex', () => {
  fc.assert(
    fc.property(arb.config, (c) => {
      const bytes = encodeConfig(c);
      assert.deepEqual(decodeConfig(bytes, 'config'), c);
      assert.match(new TextDecoder().decode(bytes), /"chunker_polynomial":"[1-9a-f][0-9a-f]*"}$/);
    }),
    opts,
  );
});

test('key file: round trip', () => {
  fc.assert(
    fc.property(arb.keyFile, (k) => {
      assert.deepEqual(decodeKeyFile(encodeKeyFile(k), 'key'), k);
    }),
    opts,
  );
});

test('index: round trip (blob order kept) and stable bytes', () => {
  fc.assert(
    fc.property(arb.indexFile, (idx) => {
      const bytes = encodeIndex(idx);
      assert.deepEqual(decodeIndex(bytes, 'index'), idx);
      // The legacy array form decodes to the same packs.
      const legacy = utf8Encode(JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)).packs));
      assert.deepEqual(decodeIndex(legacy, 'index'), idx);
    }),
    opts,
  );
});

test('pack header: round trip with cumulative offsets; size accounting', () => {
  fc.assert(
    fc.property(arb.packHeaderEntries, (entries) => {
      const plainHeader = encodePackHeader(entries);
      assert.deepEqual(decodePackHeader(plainHeader, 'pack'), entries);
      const blobs = entries.reduce((n, e) => n + e.length, 0);
      assert.equal(expectedPackSize(entries), blobs + plainHeader.length + 32 + 4);
    }),
    opts,
  );
});
