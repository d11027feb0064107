/**
 * Seed inputs for the fuzzers: real encodings written by restic 0.14 (shared/spec/vectors) and
 * fresh encodings of generated values (a fixed fast-check seed, so the corpus is stable).
 * Mutations of these reach deep into the decoders, where random bytes alone rarely get.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { fromHex, utf8Encode } from '../../src/core/bytes.js';
import { open } from '../../src/core/crypto/sealed-box.js';
import { encodeMasterKeyJson, newMasterKey } from '../../src/core/crypto/keys.js';
import { encodeConfig } from '../../src/core/format/config.js';
import { formatGoTime } from '../../src/core/format/go-time.js';
import { goQuote } from '../../src/core/format/go-quote.js';
import { encodeIndex } from '../../src/core/format/index-file.js';
import { encodeKeyFile } from '../../src/core/format/key-file.js';
import { encodeLock } from '../../src/core/format/lock.js';
import { encodePackHeader } from '../../src/core/format/pack-header.js';
import { encodeSnapshot } from '../../src/core/format/snapshot.js';
import { encodeTree } from '../../src/core/format/tree.js';
import type { CryptoKey } from '../../src/core/format/types.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { readVector, ROOT, VECTORS } from '../helpers/paths.js';
import * as arb from '../property/arbitraries.js';

export type CorpusName =
  | 'pack-header' | 'pack-file' | 'index' | 'tree' | 'snapshot' | 'key-file' | 'config' | 'lock'
  | 'master-key' | 'unpacked' | 'zstd' | 'json' | 'quoted-name' | 'time';

interface VecRepo {
  repository_dir: string;
  key_file: { raw_json: string; decrypted_data_master_key_json: string; master: { encrypt_hex: string; mac_k_hex: string; mac_r_hex: string } };
  config: { plaintext: string };
  index: { name: string; json_text: string }[];
  snapshots: { name: string; json_text: string }[];
  packs: { name: string; header_plaintext_hex: string; blobs: { type: string; compressed: boolean; plaintext_hex?: string }[] }[];
}

let cached: Map<CorpusName, Uint8Array[]> | undefined;

function sample<T>(a: fc.Arbitrary<T>, n: number, seed: number): T[] {
  return fc.sample(a, { numRuns: n, seed });
}

/** Seeds per parser (built once per process). */
export function corpus(): Map<CorpusName, Uint8Array[]> {
  if (cached) return cached;
  const c = new Map<CorpusName, Uint8Array[]>();
  const add = (k: CorpusName, ...b: Uint8Array[]): void => {
    c.set(k, [...(c.get(k) ?? []), ...b]);
  };
  const repos = readVector<{ repos: VecRepo[] }>('tiny-repos.json').repos;
  for (const r of repos) {
    add('key-file', utf8Encode(r.key_file.raw_json));
    add('master-key', utf8Encode(r.key_file.decrypted_data_master_key_json));
    add('config', utf8Encode(r.config.plaintext));
    for (const i of r.index) add('index', utf8Encode(i.json_text));
    for (const s of r.snapshots) add('snapshot', utf8Encode(s.json_text));
    const key: CryptoKey = { encrypt: fromHex(r.key_file.master.encrypt_hex), macK: fromHex(r.key_file.master.mac_k_hex), macR: fromHex(r.key_file.master.mac_r_hex) };
    for (const p of r.packs) {
      add('pack-header', fromHex(p.header_plaintext_hex));
      const file = path.join(VECTORS, r.repository_dir, 'data', p.name.slice(0, 2), p.name);
      if (fs.existsSync(file)) add('pack-file', new Uint8Array(fs.readFileSync(file)));
      for (const b of p.blobs) {
        if (b.type === 'tree' && b.plaintext_hex && !b.compressed) add('tree', fromHex(b.plaintext_hex));
      }
    }
    // Real unpacked plaintexts (v2: 0x02 + zstd frame), decrypted from the repository's files.
    for (const [dir, list] of [['index', r.index], ['snapshots', r.snapshots]] as const) {
      for (const f of list) {
        const file = path.join(VECTORS, r.repository_dir, dir, f.name);
        if (!fs.existsSync(file)) continue;
        const plain = open(nodeCrypto, key, new Uint8Array(fs.readFileSync(file)), f.name);
        add('unpacked', plain);
        if (plain[0] === 2) add('zstd', plain.subarray(1));
      }
    }
  }
  const trees = readVector<{ trees: { plaintext_utf8: string }[] }>('tree-json.json').trees;
  for (const t of trees) add('tree', utf8Encode(t.plaintext_utf8));
  const quoting = path.join(ROOT, 'test', 'format', 'fixtures', 'restic-quoting-tree.json');
  if (fs.existsSync(quoting)) {
    const q = JSON.parse(fs.readFileSync(quoting, 'utf8')) as { base64: string };
    add('tree', new Uint8Array(Buffer.from(q.base64, 'base64')));
  }

  // Fresh encodings of generated values.
  const N = 12;
  for (const t of sample(arb.tree, N, 1)) add('tree', encodeTree(t));
  for (const s of sample(arb.snapshot, N, 2)) add('snapshot', encodeSnapshot(s));
  for (const l of sample(arb.lock, N, 3)) add('lock', encodeLock(l));
  for (const k of sample(arb.config, N, 4)) add('config', encodeConfig(k));
  for (const k of sample(arb.keyFile, N, 5)) add('key-file', encodeKeyFile(k));
  for (const i of sample(arb.indexFile, N, 6)) add('index', encodeIndex(i));
  for (const h of sample(arb.packHeaderEntries, N, 7)) add('pack-header', encodePackHeader(h));
  for (const t of sample(arb.goTime, N, 8)) add('time', utf8Encode(formatGoTime(t)));
  for (const n of sample(arb.nodeName, N * 2, 9)) add('quoted-name', utf8Encode(goQuote(n)));
  for (let i = 0; i < 4; i++) add('master-key', encodeMasterKeyJson(newMasterKey(nodeCrypto)));
  // Every JSON document is also a seed for the bare JSON parser.
  for (const k of ['tree', 'snapshot', 'lock', 'config', 'key-file', 'index'] as const) add('json', ...(c.get(k) ?? []));
  cached = c;
  return c;
}
