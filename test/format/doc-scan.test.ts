/**
 * The fast decoders of tree and index documents (format/tree.ts `scanTree`, format/index-file.ts
 * `scanIndex`) read restic's canonical layout without a generic value tree, and give up on
 * anything else so the generic decoders decide. They must never disagree with the generic ones:
 * same values for every document both accept, and `decodeTree`/`decodeIndex` must throw exactly
 * when (and what) the generic decoders throw, also for mutated documents.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual as deepEqual } from 'node:util';
import fc from 'fast-check';
import { decodeTree, decodeTreeGeneric, encodeTree, scanTree } from '../../src/core/format/tree.js';
import { decodeIndex, decodeIndexGeneric, encodeIndex, scanIndex } from '../../src/core/format/index-file.js';
import { utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import { RUNS, indexFile, tree } from '../property/arbitraries.js';
import { readVector } from '../helpers/paths.js';

/** The outcome of a decoder: its value or its error message. */
function outcome<T>(f: () => T): { ok: true; v: T } | { ok: false; msg: string } {
  try {
    return { ok: true, v: f() };
  } catch (e) {
    return { ok: false, msg: (e as Error).message };
  }
}

/** Small edits that leave or break the canonical layout (and often the JSON itself). */
const mutation = fc.record({
  kind: fc.constantFrom('ws', 'upper-key', 'dup-key', 'unknown-key', 'null', 'upper-hex', 'delete', 'insert', 'escape', 'number', 'reorder'),
  at: fc.nat(),
  ch: fc.constantFrom(' ', '\n', '"', ',', '{', '}', '[', ']', ':', '0', '-', 'e', '.', '\\', 'a', 'A', 'n', '\u00e9'),
});

function mutate(text: string, m: { kind: string; at: number; ch: string }): string {
  const at = text.length === 0 ? 0 : m.at % text.length;
  // Positions of keys ("key":) and of 64-hex IDs, for the targeted edits.
  const keys = [...text.matchAll(/"([a-z_]+)":/g)];
  const ids = [...text.matchAll(/"[0-9a-f]{64}"/g)];
  const k = keys.length ? keys[m.at % keys.length]! : undefined;
  const idm = ids.length ? ids[m.at % ids.length]! : undefined;
  switch (m.kind) {
    case 'ws': return text.slice(0, at) + m.ch.replace(/[^ \n]/, '\t') + text.slice(at);
    case 'upper-key': return k ? text.slice(0, k.index) + k[0].toUpperCase() + text.slice(k.index! + k[0].length) : text;
    case 'dup-key': {
      // Repeat the member that starts at this key (its value up to the next comma at the same level is hard
      // to find; a number or string member is enough): `"size":5,` -> `"size":5,"size":7,`.
      if (!k) return text;
      return text.slice(0, k.index) + `${k[0]}7,` + text.slice(k.index);
    }
    case 'unknown-key': return k ? text.slice(0, k.index) + '"zzz":[1,{"a":null}],' + text.slice(k.index) : text;
    case 'null': {
      if (!k) return text;
      const from = k.index! + k[0].length;
      const end = text.slice(from).search(/[,}]/);
      return end < 0 ? text : text.slice(0, from) + 'null' + text.slice(from + end);
    }
    case 'upper-hex': return idm ? text.slice(0, idm.index) + idm[0].toUpperCase() + text.slice(idm.index! + idm[0].length) : text;
    case 'delete': return text.slice(0, at) + text.slice(at + 1);
    case 'insert': return text.slice(0, at) + m.ch + text.slice(at);
    case 'escape': {
      // A character of a string written as \u00XX: same value, other layout.
      const c = text.charCodeAt(at);
      return c >= 0x61 && c <= 0x7a ? text.slice(0, at) + '\\u00' + c.toString(16) + text.slice(at + 1) : text;
    }
    case 'number': {
      const num = /[0-9]+/g;
      num.lastIndex = at;
      const hit = num.exec(text);
      if (!hit) return text;
      const variants = [hit[0] + '.0', hit[0] + 'e0', '0' + hit[0], '-' + hit[0], '1234567890123456789', '9007199254740993'];
      return text.slice(0, hit.index) + variants[m.at % variants.length] + text.slice(hit.index + hit[0].length);
    }
    case 'reorder': {
      // Swap two neighbouring members of one object: `"a":1,"b":2` -> `"b":2,"a":1` (scalars only).
      const pair = /"([a-z_]+)":("[^"\\]*"|[0-9]+),"([a-z_]+)":("[^"\\]*"|[0-9]+)/g;
      pair.lastIndex = at;
      const hit = pair.exec(text);
      if (!hit) return text;
      return text.slice(0, hit.index) + `"${hit[3]}":${hit[4]},"${hit[1]}":${hit[2]}` + text.slice(hit.index + hit[0].length);
    }
    default: return text;
  }
}

test('trees: the fast decoder takes every canonical tree and agrees with the generic decoder', () => {
  fc.assert(
    fc.property(tree, (t) => {
      const bytes = encodeTree(t);
      const text = utf8Decode(bytes);
      const fast = scanTree(text, 't');
      assert.ok(fast !== undefined, 'a tree as restic writes it takes the fast path');
      const generic = decodeTreeGeneric(text, 't');
      assert.deepStrictEqual(fast, generic);
      assert.deepStrictEqual(encodeTree(fast), bytes, 're-encodes byte for byte');
    }),
    { numRuns: RUNS * 2 },
  );
});

test('trees: mutated documents decode (or fail) exactly as with the generic decoder', () => {
  let fastTaken = 0;
  let fellBack = 0;
  fc.assert(
    fc.property(tree, fc.array(mutation, { minLength: 1, maxLength: 3 }), (t, ms) => {
      let text = utf8Decode(encodeTree(t));
      for (const m of ms) text = mutate(text, m);
      // Through bytes and back: a mutation may split a surrogate pair, which UTF-8 cannot hold.
      const bytes = utf8Encode(text);
      text = utf8Decode(bytes);
      const got = outcome(() => decodeTree(bytes, 'm'));
      const want = outcome(() => decodeTreeGeneric(text, 'm'));
      assert.deepStrictEqual(got, want, `document: ${text.slice(0, 400)}`);
      const fast = outcome(() => scanTree(text, 'm'));
      if (fast.ok && fast.v !== undefined) {
        fastTaken++;
        assert.deepStrictEqual(fast.v, (want as { v: unknown }).v, 'the fast path accepted something the generic decoder reads otherwise');
      } else fellBack++;
    }),
    { numRuns: RUNS * 6 },
  );
  assert.ok(fastTaken > 0 && fellBack > 0, `both paths exercised (${fastTaken} fast, ${fellBack} generic)`);
});

test('trees: the vectors (restic-written trees) take the fast path', () => {
  const v = readVector<{ trees: { label: string; plaintext_utf8: string }[] }>('tree-json.json');
  for (const t of v.trees) {
    const fast = scanTree(t.plaintext_utf8, t.label);
    assert.ok(fast, t.label);
    assert.deepStrictEqual(fast, decodeTreeGeneric(t.plaintext_utf8, t.label), t.label);
  }
});

test('trees: layouts the fast path leaves to the generic decoder still decode the same', () => {
  const id = 'ab'.repeat(32);
  const cases = [
    // keys spelled otherwise, out of order, repeated, unknown; null values; uppercase IDs; escapes
    `{"nodes":[{"Name":"a","type":"file","mtime":"2024-01-02T03:04:05Z","atime":"2024-01-02T03:04:05Z","ctime":"2024-01-02T03:04:05Z","uid":1,"gid":2,"content":["${id}"]}]}`,
    `{"nodes":[{"type":"file","name":"a","mtime":"2024-01-02T03:04:05Z","uid":1,"gid":2,"content":null}]}`,
    `{"nodes":[{"name":"a","type":"file","size":5,"size":7,"content":null}]}`,
    `{"nodes":[{"name":"a","type":"file","extra":{"x":[1,2]},"content":null}]}`,
    `{"nodes":[{"name":"a","type":"file","uid":null,"mtime":null,"content":null}]}`,
    `{"nodes":[{"name":"a","type":"dir","content":null,"subtree":"${id.toUpperCase()}"}]}`,
    `{"nodes":[{"name":"\\u0061\\u003c","type":"file","user":"\\u00e9","content":null}]}`,
    `{"nodes":[{"name":"a","type":"file","content":null}],"nodes":[]}`,
    `  {"nodes" : [ { "name" : "a" , "type" : "file" , "content" : [ "${id}" ] } ] }\n\n`,
  ];
  let fast = 0;
  for (const c of cases) {
    const got = outcome(() => decodeTree(utf8Encode(c), 'c'));
    const want = outcome(() => decodeTreeGeneric(c, 'c'));
    assert.deepStrictEqual(got, want, c);
    assert.ok(got.ok, c);
    if (scanTree(c, 'c')) fast++;
  }
  assert.equal(fast, 2, 'only escapes in strings and whitespace stay on the fast path');
  // Errors are the generic decoder's, word for word.
  const bad = `{"nodes":[{"name":"a","type":"bogus","content":null}]}`;
  assert.throws(() => decodeTree(utf8Encode(bad), 'tree x'), /unknown node type "bogus"/);
});

test('index: the fast decoder takes every canonical index and agrees with the generic decoder', () => {
  let taken = 0;
  fc.assert(
    fc.property(indexFile, (idx) => {
      const bytes = encodeIndex(idx);
      const text = utf8Decode(bytes);
      const fast = scanIndex(text);
      const generic = decodeIndexGeneric(text, 'i');
      // Integers of more than 15 digits (beyond any pack) are left to the generic decoder.
      if (/[0-9]{16}/.test(text.replace(/"[0-9a-f]{64}"/g, ''))) return assert.ok(fast === undefined || deepEqual(fast, generic));
      assert.ok(fast !== undefined, 'an index as restic writes it takes the fast path');
      taken++;
      assert.deepStrictEqual(fast, generic);
      assert.deepStrictEqual(encodeIndex(fast), bytes);
    }),
    { numRuns: RUNS * 2 },
  );
  assert.ok(taken >= RUNS / 4, `the fast path was taken ${taken} times`);
});

test('index: mutated documents decode (or fail) exactly as with the generic decoder', () => {
  let fastTaken = 0;
  let fellBack = 0;
  fc.assert(
    fc.property(indexFile, fc.array(mutation, { minLength: 1, maxLength: 3 }), (idx, ms) => {
      let text = utf8Decode(encodeIndex(idx));
      for (const m of ms) text = mutate(text, m);
      const bytes = utf8Encode(text);
      text = utf8Decode(bytes);
      const got = outcome(() => decodeIndex(bytes, 'm'));
      const want = outcome(() => decodeIndexGeneric(text, 'm'));
      assert.deepStrictEqual(got, want, `document: ${text.slice(0, 400)}`);
      const fast = scanIndex(text);
      if (fast !== undefined) {
        fastTaken++;
        assert.deepStrictEqual(fast, (want as { v: unknown }).v);
      } else fellBack++;
    }),
    { numRuns: RUNS * 6 },
  );
  assert.ok(fastTaken > 0 && fellBack > 0, `both paths exercised (${fastTaken} fast, ${fellBack} generic)`);
});

test('index: legacy and unusual layouts go to the generic decoder', () => {
  const id = 'cd'.repeat(32);
  const blob = `{"id":"${id}","type":"data","offset":0,"length":40}`;
  const cases = [
    `[{"id":"${id}","blobs":[${blob}]}]`, // legacy array form
    `{"supersedes":["${id}"],"packs":[{"id":"${id}","blobs":[${blob}]}]}`,
    `{"packs":[{"blobs":[${blob}],"id":"${id}"}]}`,
    `{"packs":[{"id":"${id}","blobs":[{"id":"${id}","type":"data","offset":0,"length":40,"uncompressed_length":0}]}]}`,
  ];
  for (const c of cases) {

    const got = outcome(() => decodeIndex(utf8Encode(c), 'c'));
    assert.deepStrictEqual(got, outcome(() => decodeIndexGeneric(c, 'c')), c);
    assert.ok(got.ok, c);
  }
  assert.equal(scanIndex(cases[0]!), undefined);
  assert.equal(scanIndex(cases[1]!), undefined);
  assert.equal(scanIndex(cases[2]!), undefined);
  assert.deepStrictEqual(scanIndex(cases[3]!), decodeIndexGeneric(cases[3]!, 'c'));
  assert.throws(() => decodeIndex(utf8Encode(`{"packs":[{"id":"${id}","blobs":[{"id":"${id}","type":"blob","offset":0,"length":1}]}]}`), 'index x'), /unknown blob type "blob"/);
});
