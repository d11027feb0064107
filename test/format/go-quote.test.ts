import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { goIsPrint, goQuote, goUnquote } from '../../src/core/format/go-quote.js';
import { goJsonString } from '../../src/core/format/json.js';
import { isCofferError } from '../../src/core/errors.js';
import { readVector } from '../helpers/paths.js';
import { utf8Encode } from '../../src/core/bytes.js';

const b = (...x: number[]): Uint8Array => new Uint8Array(x);

test('the spec example: quoting then JSON encoding', () => {
  const v = readVector<{ name_escaping_example: Record<string, string> }>('tree-json.json').name_escaping_example;
  const name = utf8Encode(v.filesystem_name_utf8!);
  assert.equal(goQuote(name), v.after_go_strconv_quote_without_outer_quotes);
  assert.equal(goJsonString(goQuote(name)), v.json_bytes_in_tree);
  assert.deepEqual(goUnquote(v.after_go_strconv_quote_without_outer_quotes!), name);
});

test('Go strconv.Quote escapes', () => {
  const cases: [Uint8Array, string][] = [
    [utf8Encode('plain.txt'), 'plain.txt'],
    [utf8Encode('ü 😀 日本'), 'ü 😀 日本'],
    [b(7, 8, 12, 10, 13, 9, 11), '\\a\\b\\f\\n\\r\\t\\v'],
    [b(0, 0x1b, 0x7f), '\\x00\\x1b\\x7f'],
    [b(0x61, 0xff, 0xfe), 'a\\xff\\xfe'],
    [b(0xc3), '\\xc3'], // truncated sequence
    [b(0xc0, 0xaf), '\\xc0\\xaf'], // overlong
    [b(0xed, 0xa0, 0x80), '\\xed\\xa0\\x80'], // encoded surrogate
    [b(0xf4, 0x90, 0x80, 0x80), '\\xf4\\x90\\x80\\x80'], // > U+10FFFF
    [utf8Encode('\u00a0\u00ad\u200b\u2028\ufeff'), '\\u00a0\\u00ad\\u200b\\u2028\\ufeff'],
    [utf8Encode('\u{e0001}'), '\\U000e0001'], // language tag: format char, non-printable
    [utf8Encode('\u{10ffff}'), '\\U0010ffff'],
    [utf8Encode('\ufffd'), '\ufffd'], // a real U+FFFD is printable
    [utf8Encode('a"b\\c'), 'a\\"b\\\\c'],
    [utf8Encode("it's"), "it's"],
    [new Uint8Array(0), ''],
  ];
  for (const [name, q] of cases) {
    assert.equal(goQuote(name), q, q);
    assert.deepEqual(goUnquote(q), name, q);
  }
  assert.ok(goIsPrint(0x20) && !goIsPrint(0x7f) && goIsPrint(0xe9) && !goIsPrint(0xa0) && goIsPrint(0x1f600));
});

test('goUnquote accepts every Go escape', () => {
  assert.deepEqual(goUnquote('\\101\\377\\000'), b(0x41, 0xff, 0));
  assert.deepEqual(goUnquote('\\x41\\X'.slice(0, 4)), b(0x41));
  assert.deepEqual(goUnquote('\\u00e9\\U0001F600'), utf8Encode('é😀'));
  assert.deepEqual(goUnquote("\\'"), b(0x27));
  assert.deepEqual(goUnquote('\\xC3\\xA9'), utf8Encode('é'));
});

test('goUnquote rejects what Go rejects', () => {
  for (const s of ['a"b', 'a\nb', '\\', '\\q', '\\x4', '\\xzz', '\\400', '\\12', '\\ud800', '\\U00110000', '\\u12']) {
    assert.throws(() => goUnquote(s, 'name'), (e) => isCofferError(e, 'corrupt'), JSON.stringify(s));
  }
});

test('round trip of random byte names', () => {
  for (let i = 0; i < 2000; i++) {
    const name = randomBytes(1 + (i % 40));
    const q = goQuote(name);
    assert.deepEqual(goUnquote(q), new Uint8Array(name));
    // the quoted form survives JSON unchanged
    assert.equal(JSON.parse(goJsonString(q)), q);
  }
});
