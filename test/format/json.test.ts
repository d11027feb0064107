import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { bytesFromGoString, goStringFromBytes, INVALID_UTF8_MARK, goCompactJson, goJsonString, JsonNumber, JsonRaw, parseJson, parseJsonBytes, fieldUint, fieldUint64, fieldId, fieldMatcher, type JsonObject } from '../../src/core/format/json.js';
import { isCofferError } from '../../src/core/errors.js';
import { utf8Encode } from '../../src/core/bytes.js';

test('numbers: exact JS numbers for short integers, source text otherwise', () => {
  const v = parseJson('{"a":18446744073709551615,"b":-1.5e+10,"c":[0,1,-7,999999999999999],"d":-0,"e":1.0}', 'x') as JsonObject;
  assert.deepEqual(v.c, [0, 1, -7, 999999999999999]);
  assert.ok(v.d instanceof JsonNumber && v.e instanceof JsonNumber);
  assert.throws(() => fieldUint(v.d!, 'x', 'd'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => fieldUint(-7, 'x', 'c'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => fieldUint64(-7, 'x', 'c'), (e) => isCofferError(e, 'corrupt'));
  assert.equal(fieldUint(new JsonNumber('9007199254740991'), 'x', 'n'), 9007199254740991);
  assert.throws(() => fieldUint(new JsonNumber('9007199254740992'), 'x', 'n'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => fieldUint(4294967296, 'x', 'n', 0xffffffff), (e) => isCofferError(e, 'corrupt'));
  assert.ok(v.a instanceof JsonNumber);
  assert.equal((v.a as JsonNumber).text, '18446744073709551615');
  assert.equal((v.b as JsonNumber).text, '-1.5e+10');
  assert.equal(fieldUint64(v.a!, 'x', 'a'), 18446744073709551615n);
  assert.throws(() => fieldUint(v.a!, 'x', 'a'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => fieldUint(v.b!, 'x', 'b'), (e) => isCofferError(e, 'corrupt'));
});

test('strings: escapes, surrogates, lone surrogates become U+FFFD', () => {
  assert.equal(parseJson('"a\\n\\u00e9\\ud83d\\ude00\\/\\"\\\\"', 'x'), 'a\né😀/"\\');
  assert.equal(parseJson('"\\ud83d x"', 'x'), '\ufffd x');
  assert.equal(parseJson('"\\ude00"', 'x'), '\ufffd');
  assert.equal(parseJson('"\\ud83d\\u0041"', 'x'), '\ufffdA');
  // invalid UTF-8 inside a string becomes U+FFFD, as in Go
  assert.equal(parseJsonBytes(new Uint8Array([0x22, 0x61, 0xff, 0x22]), 'x'), 'a\ufffd');
});

test('syntax errors are corrupt', () => {
  for (const s of ['', '{', '{"a"}', '{"a":1,}', '[1,]', '01', '1.', '-', '"\\x41"', '"a\nb"', 'tru', '{"a":1}}', '\ufeff{}', 'NaN', '{a:1}']) {
    assert.throws(() => parseJson(s, 'doc'), (e) => isCofferError(e, 'corrupt') && (e as Error).message.startsWith('doc:'), JSON.stringify(s));
  }
  assert.throws(() => parseJson('['.repeat(5000) + ']'.repeat(5000), 'deep'), (e) => isCofferError(e, 'corrupt'));
});

test('duplicate keys keep the last value; __proto__ is an ordinary key', () => {
  const v = parseJson('{"a":1,"a":2,"__proto__":{"x":1}}', 'x') as JsonObject;
  assert.equal(v.a, 2);
  assert.ok(Object.prototype.hasOwnProperty.call(v, '__proto__'));
});

test('raw members', () => {
  const v = parseJson('{"g":{"k": [1, 2] ,"s":"<"},"h":{"k":1}}', 'x', { rawMembersOf: new Set(['g']) }) as JsonObject;
  const g = v.g as JsonObject;
  assert.ok(g.k instanceof JsonRaw);
  assert.equal((g.k as JsonRaw).text, '[1, 2]');
  assert.equal((g.s as JsonRaw).text, '"<"');
  assert.equal((v.h as JsonObject).k, 1);
  assert.equal(goCompactJson('{ "a" : [ 1 , "x <&> \\u00e9" ] }', 'x'), '{"a":[1,"x \\u003c\\u0026\\u003e \\u00e9"]}');
  assert.throws(() => goCompactJson('{', 'x'), (e) => isCofferError(e, 'corrupt'));
});

test('goJsonString matches Go encoding/json (go1.19)', () => {
  assert.equal(goJsonString('plain ü 😀'), '"plain ü 😀"');
  assert.equal(goJsonString('<&>'), '"\\u003c\\u0026\\u003e"');
  assert.equal(goJsonString('"\\\n\r\t\b\f\u0000\u001f\u007f'), '"\\"\\\\\\n\\r\\t\\u0008\\u000c\\u0000\\u001f\u007f"');
  assert.equal(goJsonString('\u2028\u2029'), '"\\u2028\\u2029"');
  assert.equal(goJsonString('a\ud800b\udc00'), '"a\\ufffdb\\ufffd"');
  assert.equal(goJsonString('\ud83d\ude00<'), '"😀\\u003c"');
  // JSON.parse agrees with the escapes we emit
  const s = 'x\u0001<>&\u2028"\\\n';
  assert.equal(JSON.parse(goJsonString(s)), s);
});

test('ids and field matching', () => {
  assert.equal(fieldId('AC08CE34BA4F8123618661BEF2425F7028FFB9AC740578A3EE88684D2523FEE8', 'x', 'id'), 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8');
  assert.throws(() => fieldId('ac08', 'x', 'id'), (e) => isCofferError(e, 'corrupt'));
  assert.throws(() => fieldId(null, 'x', 'id'), (e) => isCofferError(e, 'corrupt'));
  const m = fieldMatcher(['N', 'r', 'device_id'] as const);
  assert.equal(m('N'), 'N');
  assert.equal(m('n'), 'N');
  assert.equal(m('R'), 'r');
  assert.equal(m('Device_ID'), 'device_id');
  assert.equal(m('x'), undefined);
  assert.ok(utf8Encode('x').length === 1);
});

test('Go strings with invalid UTF-8: lossless bytes <-> string, Go escaping', () => {
  const raw = new Uint8Array([0x61, 0xff, 0xc3, 0xa9, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98, 0x80, 0xc3]);
  const s = goStringFromBytes(raw);
  assert.deepEqual(bytesFromGoString(s), raw);
  assert.equal(goJsonString(s), '"a\\ufffdé\\ufffd\\ufffd\\ufffd😀\\ufffd"');
  // `\ufffd` on input is an invalid byte of unknown value; a raw U+FFFD stays a character
  assert.equal(parseJson('"x\\ufffd\ufffd"', 'x'), 'x' + INVALID_UTF8_MARK + '\ufffd');
  assert.equal(goJsonString(parseJson('"x\\ufffd\ufffd"', 'x') as string), '"x\\ufffd\ufffd"');
  assert.deepEqual([...bytesFromGoString(INVALID_UTF8_MARK)], [0xef, 0xbf, 0xbd]);
});
