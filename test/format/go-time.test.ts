import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { compareTime, formatGoTime, fromUnixNanos, GO_ZERO_TIME, localOffsetSec, parseGoTime, timeEqual, toUnixNanos } from '../../src/core/format/go-time.js';
import { isCofferError } from '../../src/core/errors.js';

test('round trips of restic time strings', () => {
  for (const s of [
    '2024-01-02T03:04:05.5Z',
    '2026-11-28T18:00:07.086441523Z',
    '2021-02-03T04:05:06.123456789Z',
    '2014-12-22T14:47:59.912418701+01:00',
    '2020-06-30T23:59:59-07:30',
    '0001-01-01T00:00:00Z',
    '9999-12-31T23:59:59.999999999Z',
    '0000-01-01T00:00:00+14:00',
    '2000-02-29T12:00:00.01Z',
  ]) {
    assert.equal(formatGoTime(parseGoTime(s, 't')), s);
  }
});

test('parse values and leniency', () => {
  const t = parseGoTime('2024-01-02T03:04:05.5Z', 't');
  assert.deepEqual(t, { sec: 1704164645, nsec: 500_000_000, offsetSec: 0 });
  const o = parseGoTime('2014-12-22T14:47:59.912418701+01:00', 't');
  assert.equal(o.sec, Date.UTC(2014, 11, 22, 13, 47, 59) / 1000);
  assert.equal(o.offsetSec, 3600);
  // more than nine digits are truncated, trailing zeros trimmed on output, comma accepted
  assert.equal(formatGoTime(parseGoTime('2024-01-02T03:04:05.1234567899Z', 't')), '2024-01-02T03:04:05.123456789Z');
  assert.equal(formatGoTime(parseGoTime('2024-01-02T03:04:05.000Z', 't')), '2024-01-02T03:04:05Z');
  assert.equal(formatGoTime(parseGoTime('2024-01-02T03:04:05,25+00:00', 't')), '2024-01-02T03:04:05.25Z');
  assert.equal(GO_ZERO_TIME.sec, -62135596800);
});

test('invalid times are corrupt', () => {
  for (const s of ['', '2024-01-02', '2024-13-01T00:00:00Z', '2023-02-29T00:00:00Z', '2024-01-02T24:00:00Z', '2024-01-02T03:04:60Z', '2024-01-02T03:04:05', '2024-01-02 03:04:05Z', '2024-01-02T03:04:05.Z', '2024-01-02T03:04:05+1:00', '2024-01-02T03:04:05+24:00', '+2024-01-02T03:04:05Z']) {
    assert.throws(() => parseGoTime(s, 'when'), (e) => isCofferError(e, 'corrupt'), s);
  }
});

test('equality is by instant, not by text', () => {
  const a = parseGoTime('2024-01-02T03:04:05.5Z', 't');
  const b = parseGoTime('2024-01-02T04:04:05.5+01:00', 't');
  assert.ok(timeEqual(a, b));
  assert.equal(compareTime(a, b), 0);
  assert.ok(!timeEqual(a, parseGoTime('2024-01-02T03:04:05.500000001Z', 't')));
  assert.ok(compareTime(a, parseGoTime('2024-01-02T03:04:05.500000001Z', 't')) < 0);
});

test('unix nanos conversions, including before 1970', () => {
  const t = fromUnixNanos(1704164645_500_000_000n, 3600);
  assert.equal(formatGoTime(t), '2024-01-02T04:04:05.5+01:00');
  assert.equal(toUnixNanos(t), 1704164645_500_000_000n);
  const neg = fromUnixNanos(-1n, 0);
  assert.deepEqual(neg, { sec: -1, nsec: 999_999_999, offsetSec: 0 });
  assert.equal(formatGoTime(neg), '1969-12-31T23:59:59.999999999Z');
  assert.equal(toUnixNanos(neg), -1n);
});

test('years are clamped to 0000-9999 on write', () => {
  // 10000-02-29 (leap year) -> 9999-03-01 as Go's AddDate normalizes
  const y10000 = fromUnixNanos(BigInt(Date.UTC(10000, 1, 29, 1, 2, 3) / 1000) * 1_000_000_000n, 0);
  assert.equal(formatGoTime(y10000), '9999-03-01T01:02:03Z');
  const early = fromUnixNanos(BigInt(Date.UTC(-5, 5, 6, 0, 0, 0) / 1000) * 1_000_000_000n, 0);
  assert.equal(formatGoTime(early), '0000-06-06T00:00:00Z');
});

test('local offset helper follows Date#getTimezoneOffset', () => {
  const d = new Date(Date.UTC(2024, 0, 1));
  assert.equal(localOffsetSec(d), -d.getTimezoneOffset() * 60 || 0);
  assert.ok(!Object.is(localOffsetSec(d), -0));
});
