import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { readVector } from '../helpers/paths.js';
import { utf8Decode, utf8Encode, toHex } from '../../src/core/bytes.js';
import { isCofferError } from '../../src/core/errors.js';
import { decodeConfig, encodeConfig } from '../../src/core/format/config.js';
import { decodeKeyFile, encodeKeyFile } from '../../src/core/format/key-file.js';
import { decodeIndex, encodeIndex } from '../../src/core/format/index-file.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { decodeLock, encodeLock } from '../../src/core/format/lock.js';
import { parseGoTime } from '../../src/core/format/go-time.js';
import type { Snapshot } from '../../src/core/format/types.js';

const enc = utf8Encode;
const dec = utf8Decode;
const isCorrupt = (e: unknown): boolean => isCofferError(e, 'corrupt');

interface Repo {
  key_file: { raw_json: string };
  config: { plaintext: string };
  index: { json_text: string }[];
  snapshots: { json_text: string }[];
}
const repos = (): Repo[] => readVector<{ repos: Repo[] }>('tiny-repos.json').repos;

test('config: restic bytes round-trip', () => {
  for (const r of repos()) {
    const c = decodeConfig(enc(r.config.plaintext), 'config');
    assert.ok(c.version === 1 || c.version === 2);
    assert.equal(c.chunkerPolynomial.toString(16).length, 14);
    assert.equal(dec(encodeConfig(c)), r.config.plaintext);
  }
  const c = decodeConfig(enc('{"version":2,"id":"fd59f15560919c116e8bc12e6b696d258283358016b0217d24b71decc6e8dfc8","chunker_polynomial":"2a24233fdc57b3"}'), 'c');
  assert.equal(c.chunkerPolynomial, 0x2a24233fdc57b3n);
});

test('config: validation', () => {
  const id = 'fd59f15560919c116e8bc12e6b696d258283358016b0217d24b71decc6e8dfc8';
  assert.throws(() => decodeConfig(enc(`{"version":3,"id":"${id}","chunker_polynomial":"2a24233fdc57b3"}`), 'config'), (e) => isCofferError(e, 'unsupported'));
  assert.throws(() => decodeConfig(enc(`{"version":0,"id":"${id}","chunker_polynomial":"2a24233fdc57b3"}`), 'config'), (e) => isCofferError(e, 'unsupported'));
  for (const s of [
    `{"version":"2","id":"${id}","chunker_polynomial":"2a24233fdc57b3"}`,
    `{"id":"${id}","chunker_polynomial":"2a24233fdc57b3"}`,
    `{"version":2,"id":"xyz","chunker_polynomial":"2a24233fdc57b3"}`,
    `{"version":2,"id":"${id}","chunker_polynomial":"0x2a24233fdc57b3"}`,
    `{"version":2,"id":"${id}","chunker_polynomial":"12345678901234567"}`,
    `{"version":2,"id":"${id}","chunker_polynomial":2}`,
    `{"version":2,"id":"${id}"}`,
    `[]`,
  ]) assert.throws(() => decodeConfig(enc(s), 'config'), isCorrupt, s);
});

test('key files: restic bytes round-trip; validation', () => {
  for (const r of repos()) {
    const k = decodeKeyFile(enc(r.key_file.raw_json), 'key');
    assert.equal(k.salt.length, 64);
    assert.equal(k.N, 32768);
    assert.equal(k.p, 9);
    assert.equal(dec(encodeKeyFile(k)), r.key_file.raw_json);
  }
  const good = JSON.parse(repos()[0]!.key_file.raw_json) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>): Uint8Array => enc(JSON.stringify({ ...good, ...patch }));
  // Go matches keys case-insensitively
  const { N, r, p, ...rest } = good;
  assert.equal(decodeKeyFile(enc(JSON.stringify({ ...rest, n: N, R: r, P: p })), 'k').N, 32768);
  for (const patch of [
    { kdf: 'argon2' },
    { salt: 'AAAA' },
    { salt: '!!!!' },
    { N: 1000 },
    { N: 1 },
    { r: 0 },
    { p: -1 },
    { N: 32768.5 },
    { data: null },
    { created: 'now' },
  ]) assert.throws(() => decodeKeyFile(variant(patch), 'key'), isCorrupt, JSON.stringify(patch));
});

test('index: restic bytes round-trip (hash-map order kept)', () => {
  for (const r of repos()) {
    for (const i of r.index) {
      const idx = decodeIndex(enc(i.json_text), 'index');
      assert.equal(idx.packs.length, 2);
      assert.equal(dec(encodeIndex(idx)), i.json_text);
    }
  }
  const v2 = decodeIndex(enc(repos()[1]!.index[0]!.json_text), 'index');
  const blob = v2.packs[0]!.blobs[0]!;
  assert.deepEqual(blob, { type: 'data', id: '541b3e9daa09b20bf85fa273e5cbd3e80185aa4ec298e765db87742b70138a53', offset: 203, length: 52, uncompressedLength: 1000 });
});

test('index: legacy array form, supersedes, validation', () => {
  const id = 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8';
  const pack = `{"id":"${id}","blobs":[{"id":"${id}","type":"tree","offset":0,"length":45}]}`;
  const legacy = decodeIndex(enc(`[${pack}]`), 'index');
  assert.equal(legacy.packs[0]!.blobs[0]!.type, 'tree');
  assert.equal(legacy.packs[0]!.blobs[0]!.uncompressedLength, 0);
  const sup = decodeIndex(enc(`{"supersedes":["${id}"],"packs":[${pack}]}`), 'index');
  assert.deepEqual(sup.supersedes, [id]);
  assert.equal(dec(encodeIndex(sup)), `{"packs":[${pack}]}\n`);
  assert.equal(dec(encodeIndex({ packs: [] })), '{"packs":[]}\n');
  const blob = (b: string): string => `{"packs":[{"id":"${id}","blobs":[${b}]}]}`;
  for (const s of [
    blob(`{"id":"${id}","type":"index","offset":0,"length":45}`),
    blob(`{"id":"${id}","offset":0,"length":45}`),
    blob(`{"id":"${id}","type":"data","offset":-1,"length":45}`),
    blob(`{"id":"${id}","type":"data","offset":0,"length":9007199254740993}`),
    blob(`{"id":"${id}","type":"data","offset":"0","length":45}`),
    blob(`{"id":"zz","type":"data","offset":0,"length":45}`),
    blob(`{"type":"data","offset":0,"length":45}`),
    `{"packs":{}}`,
    `{"packs":[{"blobs":[]}]}`,
    `"x"`,
  ]) assert.throws(() => decodeIndex(enc(s), 'index'), isCorrupt, s);
});

test('snapshots: restic bytes round-trip', () => {
  const texts = repos().flatMap((r) => r.snapshots.map((s) => s.json_text));
  texts.push('{"time":"2026-11-28T18:01:15.782740398Z","parent":"3d62533974f315f21118ed24cf4baedf624cb27b1e374d869097f5668448663e","tree":"2e82dce3661497f9b5fbd04a1a5e7ee37f03a6197ec463c0e624127121264073","paths":["/home/user/src"],"hostname":"testhost","username":"root"}');
  for (const t of texts) assert.equal(dec(encodeSnapshot(decodeSnapshot(enc(t), 'snapshot'))), t);
  const s = decodeSnapshot(enc(texts[0]!), 'snapshot');
  assert.deepEqual(s.tags, ['vec']);
  assert.deepEqual(s.paths, ['/src/tiny']);
  assert.equal(s.hostname, 'vectorhost');
});

test('snapshots: every field, summary, validation', () => {
  const t = parseGoTime('2024-05-06T07:08:09.1+02:00', 't');
  const id = 'ac08ce34ba4f8123618661bef2425f7028ffb9ac740578a3ee88684d2523fee8';
  const full: Snapshot = {
    time: t, parent: id, tree: id, paths: ['/a<b>', '/c'], hostname: 'h', username: 'u', uid: 1000, gid: 100,
    excludes: ['*.tmp'], tags: ['x', 'y'], original: id, programVersion: 'coffer 0.1.0',
    summary: {
      backupStart: t, backupEnd: t, filesNew: 1, filesChanged: 2, filesUnmodified: 3, dirsNew: 4, dirsChanged: 5,
      dirsUnmodified: 6, dataBlobs: 7, treeBlobs: 8, dataAdded: 9, dataAddedPacked: 10, totalFilesProcessed: 11, totalBytesProcessed: 12,
    },
  };
  const text = dec(encodeSnapshot(full));
  assert.equal(
    text,
    `{"time":"2024-05-06T07:08:09.1+02:00","parent":"${id}","tree":"${id}","paths":["/a\\u003cb\\u003e","/c"],"hostname":"h","username":"u","uid":1000,"gid":100,"excludes":["*.tmp"],"tags":["x","y"],"original":"${id}","program_version":"coffer 0.1.0","summary":{"backup_start":"2024-05-06T07:08:09.1+02:00","backup_end":"2024-05-06T07:08:09.1+02:00","files_new":1,"files_changed":2,"files_unmodified":3,"dirs_new":4,"dirs_changed":5,"dirs_unmodified":6,"data_blobs":7,"tree_blobs":8,"data_added":9,"data_added_packed":10,"total_files_processed":11,"total_bytes_processed":12}}`,
  );
  assert.deepEqual(decodeSnapshot(enc(text), 's'), full);
  assert.equal(dec(encodeSnapshot({ time: t, tree: id, paths: [] })), `{"time":"2024-05-06T07:08:09.1+02:00","tree":"${id}","paths":[]}`);
  for (const s of [`{"time":"2024-05-06T07:08:09Z","paths":[]}`, `{"time":"2024-05-06T07:08:09Z","tree":null}`, `{"time":5,"tree":"${id}"}`, `{"tree":"${id}","paths":"x"}`, `{"tree":"${id}","tags":[1]}`]) {
    assert.throws(() => decodeSnapshot(enc(s), 'snapshot'), isCorrupt, s);
  }
});

test('locks: exact bytes and round trip', () => {
  const t = parseGoTime('2026-11-28T18:06:19.175717574Z', 't');
  const l = { time: t, exclusive: false, hostname: 'vm', username: 'root', pid: 4242, uid: 0, gid: 0 };
  const text = dec(encodeLock(l));
  assert.equal(text, '{"time":"2026-11-28T18:06:19.175717574Z","exclusive":false,"hostname":"vm","username":"root","pid":4242}');
  assert.deepEqual(decodeLock(enc(text), 'lock'), { time: t, exclusive: false, hostname: 'vm', username: 'root', pid: 4242 });
  const x = { time: t, exclusive: true, hostname: 'h', username: 'u', pid: 1, uid: 1000, gid: 1000 };
  assert.deepEqual(decodeLock(encodeLock(x), 'lock'), x);
  assert.match(dec(encodeLock(x)), /"exclusive":true,.*"pid":1,"uid":1000,"gid":1000}$/);
  for (const s of ['{"time":"x"}', '{"exclusive":"yes"}', '{"pid":1.5}', '{"uid":-1}', 'null']) {
    assert.throws(() => decodeLock(enc(s), 'lock'), isCorrupt, s);
  }
  assert.equal(toHex(enc('')), '');
});
