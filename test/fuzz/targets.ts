/**
 * Fuzz targets: every parser that takes untrusted bytes. Each target's `check(input)` runs the
 * parser and enforces its contract:
 *   - it returns a value or throws CofferError 'corrupt' ('unsupported' too for config), nothing
 *     else (no TypeError/RangeError, no hang, no crash);
 *   - what it accepts is stable: re-encoding and decoding again gives the same value (and for
 *     the binary formats, the canonical bytes back);
 *   - differential checks where two implementations exist (wasm vs native zstd; our JSON
 *     parser vs JSON.parse on acceptance).
 * A violated contract throws a plain Error naming the target, which fast-check reports and shrinks.
 */
import * as assert from 'node:assert/strict';
import fc from 'fast-check';
import { utf8Decode } from '../../src/core/bytes.js';
import type { Compressor } from '../../src/core/compress/compressor.js';
import { createWasmZstd } from '../../src/core/compress/zstd-wasm.js';
import { decodeMasterKeyJson, encodeMasterKeyJson } from '../../src/core/crypto/keys.js';
import { CofferError, type ErrorCode } from '../../src/core/errors.js';
import { decodeConfig, encodeConfig } from '../../src/core/format/config.js';
import { formatGoTime, parseGoTime } from '../../src/core/format/go-time.js';
import { goQuote, goUnquote } from '../../src/core/format/go-quote.js';
import { decodeIndex, encodeIndex } from '../../src/core/format/index-file.js';
import { parseJsonBytes } from '../../src/core/format/json.js';
import { decodeKeyFile, encodeKeyFile } from '../../src/core/format/key-file.js';
import { decodeLock, encodeLock } from '../../src/core/format/lock.js';
import { decodePackHeader, encodePackHeader, parsePackTrailer, PACK_EAGER_TRAILER_BYTES } from '../../src/core/format/pack-header.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { decodeTree, encodeTree } from '../../src/core/format/tree.js';
import { decodeUnpacked } from '../../src/core/format/unpacked.js';
import { compareBytes } from '../../src/core/bytes.js';
import { createNativeZstd } from '../../src/node/zstd-native.js';
import { corpus, type CorpusName } from './corpus.js';
import { fuzzInput } from './mutate.js';

export interface FuzzTarget {
  readonly name: string;
  readonly input: fc.Arbitrary<Uint8Array>;
  /** Throws a plain Error when the parser breaks its contract. */
  check(input: Uint8Array): void;
}

/** Runs `fn`; returns its value, or undefined when it threw an allowed CofferError. */
function decodes<T>(target: string, fn: () => T, allowed: readonly ErrorCode[] = ['corrupt']): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof CofferError && allowed.includes(e.code)) {
      if (typeof e.message !== 'string' || e.message === '') throw new Error(`${target}: CofferError without a message`);
      return undefined;
    }
    const what = e instanceof CofferError ? `CofferError '${e.code}': ${e.message}` : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    throw new Error(`${target}: threw ${what} (allowed: CofferError ${allowed.join('/')})`, { cause: e });
  }
}

/** JSON nesting depth of a text (to skip the documented depth limit in the differential check). */
function depthOf(text: string): number {
  let d = 0;
  let max = 0;
  let inStr = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inStr) {
      if (c === '\\') i++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === '{' || c === '[') max = Math.max(max, ++d);
    else if (c === '}' || c === ']') d--;
  }
  return max;
}

let zstds: Compressor[] | undefined;

/**
 * Frames one zstd implementation accepts and another refuses. Not a contract violation (both
 * outcomes are allowed, and zstd only ever sees authenticated plaintext), but counted and reported:
 * the wasm build (an older libzstd) refuses some damaged frames that libzstd 1.5.4+ decodes.
 */
export const divergences: { target: string; accepted: string[]; refused: string[]; hex: string }[] = [];
/** All divergences seen (`divergences` keeps the first 20 as examples). */
export const divergenceStats = { count: 0 };

/** Compares the outcomes of several implementations: equal outputs when all accept; divergences recorded. */
function agree(target: string, zs: readonly Compressor[], outs: (Uint8Array | undefined)[], input: Uint8Array): void {
  const accepted = zs.filter((_, i) => outs[i] !== undefined).map((z) => z.name);
  if (accepted.length !== 0 && accepted.length !== zs.length) {
    divergenceStats.count++;
    if (divergences.length < 20) divergences.push({ target, accepted, refused: zs.filter((_, i) => outs[i] === undefined).map((z) => z.name), hex: Buffer.from(input.subarray(0, 4096)).toString('hex') });
    return;
  }
  for (const o of outs.slice(1)) assert.deepEqual(o, outs[0], `${target}: zstd implementations decode to different bytes`);
}

/** Both zstd implementations (native only when its addon is installed). */
export async function compressors(): Promise<Compressor[]> {
  if (!zstds) {
    const native = createNativeZstd();
    zstds = [await createWasmZstd(), ...(native ? [native] : [])];
  }
  return zstds;
}

export async function parserTargets(): Promise<FuzzTarget[]> {
  const c = corpus();
  const zs = await compressors();
  const zstd = zs[0]!;
  const seeds = (k: CorpusName): Uint8Array[] => c.get(k) ?? [];
  // Fresh frames at several levels, with the JSON seeds as content.
  const frames = [...seeds('zstd'), ...seeds('json').slice(0, 12).flatMap((j) => [zstd.compress(j, 1), zstd.compress(j, 11)])];
  const unpacked = [...seeds('unpacked'), ...frames.map((f) => Uint8Array.of(2, ...f)), ...seeds('index').slice(0, 4)];

  const targets: FuzzTarget[] = [
    {
      name: 'pack-header',
      input: fuzzInput(seeds('pack-header')),
      check(b) {
        const entries = decodes('pack-header', () => decodePackHeader(b, 'pack'));
        if (entries) assert.deepEqual(encodePackHeader(entries), b, 'pack-header: accepted bytes are not canonical');
      },
    },
    {
      name: 'pack-trailer',
      // LE32(file size) + the tail of a real pack file (what restic's first ranged read returns).
      input: fuzzInput(
        seeds('pack-file').map((f) => {
          const tail = f.subarray(Math.max(0, f.length - PACK_EAGER_TRAILER_BYTES));
          const b = new Uint8Array(4 + tail.length);
          new DataView(b.buffer).setUint32(0, f.length, true);
          b.set(tail, 4);
          return b;
        }),
      ),
      check(b) {
        if (b.length < 4) return;
        const fileSize = new DataView(b.buffer, b.byteOffset).getUint32(0, true);
        const tail = b.subarray(4).subarray(Math.max(0, b.length - 4 - PACK_EAGER_TRAILER_BYTES));
        const t = decodes('pack-trailer', () => parsePackTrailer(tail, fileSize, 'pack'));
        if (!t) return;
        assert.equal(t.headerOffset + t.headerLength + 4, fileSize, 'pack-trailer: header does not end at the length field');
        assert.ok(t.headerLength >= 32 && t.headerOffset >= 0, 'pack-trailer: header length out of range');
        if (t.sealedHeader) assert.equal(t.sealedHeader.length, t.headerLength, 'pack-trailer: sealed header slice has the wrong length');
      },
    },
    {
      name: 'index',
      input: fuzzInput(seeds('index')),
      check(b) {
        const idx = decodes('index', () => decodeIndex(b, 'index'));
        if (!idx) return;
        const again = decodes('index (re-encoded)', () => decodeIndex(encodeIndex(idx), 'index'));
        assert.deepEqual(again, { packs: idx.packs }, 'index: re-encoding changed the document');
      },
    },
    {
      name: 'tree',
      input: fuzzInput(seeds('tree')),
      check(b) {
        const t = decodes('tree', () => decodeTree(b, 'tree'));
        if (!t) return;
        const sorted = [...t.nodes].sort((x, y) => compareBytes(x.name, y.name));
        if (sorted.some((n, i) => i > 0 && compareBytes(sorted[i - 1]!.name, n.name) === 0)) return; // duplicates cannot be written
        const once = encodeTree(t);
        const back = decodes('tree (re-encoded)', () => decodeTree(once, 'tree'));
        assert.ok(back, 'tree: its own encoding is refused');
        assert.deepEqual(encodeTree(back), once, 'tree: encoding is not stable');
        assert.equal(back.nodes.length, t.nodes.length);
      },
    },
    {
      name: 'snapshot',
      input: fuzzInput(seeds('snapshot')),
      check(b) {
        const s = decodes('snapshot', () => decodeSnapshot(b, 'snapshot'));
        if (!s) return;
        const back = decodes('snapshot (re-encoded)', () => decodeSnapshot(encodeSnapshot(s), 'snapshot'));
        assert.deepEqual(back, s, 'snapshot: re-encoding changed it');
      },
    },
    {
      name: 'key-file',
      input: fuzzInput(seeds('key-file')),
      check(b) {
        const k = decodes('key-file', () => decodeKeyFile(b, 'key'));
        if (!k) return;
        assert.ok(k.salt.length === 64 && k.data.length >= 32 && k.N >= 2 && k.r >= 1 && k.p >= 1, 'key-file: accepted invalid parameters');
        assert.deepEqual(decodes('key-file (re-encoded)', () => decodeKeyFile(encodeKeyFile(k), 'key')), k, 'key-file: re-encoding changed it');
      },
    },
    {
      name: 'config',
      input: fuzzInput(seeds('config')),
      check(b) {
        const cfg = decodes('config', () => decodeConfig(b, 'config'), ['corrupt', 'unsupported']);
        if (!cfg) return;
        assert.ok(cfg.chunkerPolynomial > 0n && cfg.chunkerPolynomial < 1n << 64n, 'config: polynomial out of range');
        assert.match(cfg.id, /^[0-9a-f]{64}$/);
        assert.deepEqual(decodes('config (re-encoded)', () => decodeConfig(encodeConfig(cfg), 'config')), cfg, 'config: re-encoding changed it');
      },
    },
    {
      name: 'lock',
      input: fuzzInput(seeds('lock')),
      check(b) {
        const l = decodes('lock', () => decodeLock(b, 'lock'));
        if (!l) return;
        assert.deepEqual(decodes('lock (re-encoded)', () => decodeLock(encodeLock(l), 'lock')), l, 'lock: re-encoding changed it');
      },
    },
    {
      name: 'master-key',
      input: fuzzInput(seeds('master-key')),
      check(b) {
        const k = decodes('master-key', () => decodeMasterKeyJson(b, 'key'));
        if (!k) return;
        assert.deepEqual(decodeMasterKeyJson(encodeMasterKeyJson(k)), k, 'master-key: re-encoding changed it');
      },
    },
    {
      name: 'unpacked-v2',
      input: fuzzInput(unpacked),
      check(b) {
        const outs = zs.map((z) => decodes('unpacked-v2', () => decodeUnpacked(b, 2, z, 'index')));
        agree('unpacked-v2', zs, outs, b);
      },
    },
    {
      name: 'zstd',
      input: fuzzInput(frames),
      check(b) {
        const outs = zs.map((z) => decodes(`zstd (${z.name})`, () => z.decompress(b, { maxSize: 1 << 24 })));
        agree('zstd', zs, outs, b);
        const o = outs.find((x) => x !== undefined);
        if (o) {
          // Told the true size, an implementation that accepts still accepts; told another, all refuse.
          for (const z of zs.filter((_, i) => outs[i] !== undefined)) {
            assert.deepEqual(decodes('zstd (expected size)', () => z.decompress(b, { expectedSize: o.length })), o, 'zstd: refused with its own size');
            assert.equal(decodes('zstd (wrong size)', () => z.decompress(b, { expectedSize: o.length + 1 })), undefined, 'zstd: accepted a wrong expected size');
          }
        }
      },
    },
    {
      name: 'json',
      input: fuzzInput(seeds('json')),
      check(b) {
        const v = decodes('json', () => parseJsonBytes(b, 'doc'));
        const text = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true }).decode(b);
        let native = true;
        try {
          JSON.parse(text);
        } catch {
          native = false;
        }
        if (depthOf(text) < 1000) assert.equal(v !== undefined, native, `json: accepts ${v !== undefined} but JSON.parse accepts ${native}`);
      },
    },
    {
      name: 'quoted-name',
      input: fuzzInput(seeds('quoted-name')),
      check(b) {
        const s = utf8Decode(b);
        const name = decodes('quoted-name', () => goUnquote(s, 'name'));
        if (name) assert.deepEqual(goUnquote(goQuote(name)), name, 'quoted-name: quote/unquote is not the identity');
      },
    },
    {
      name: 'time',
      input: fuzzInput(seeds('time')),
      check(b) {
        const t = decodes('time', () => parseGoTime(utf8Decode(b), 'time'));
        if (t) assert.deepEqual(parseGoTime(formatGoTime(t), 'time'), t, 'time: format/parse is not the identity');
      },
    },
  ];
  return targets;
}

/** Runs one target for `numRuns` inputs; returns the failure report or undefined. */
export function runTarget(t: FuzzTarget, numRuns: number, seed?: number): { tried: number; failure?: string } {
  let tried = 0;
  const details = fc.check(
    fc.property(t.input, (b) => {
      tried++;
      t.check(b);
    }),
    { numRuns, ...(seed !== undefined ? { seed } : {}) },
  );
  if (!details.failed) return { tried };
  const ex = details.counterexample?.[0] as Uint8Array | undefined;
  const shown = ex ? `${ex.length} bytes: ${JSON.stringify(utf8Decode(ex.subarray(0, 200)))}` : '?';
  const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  return { tried, failure: `${t.name}: ${err.split('\n')[0]} (seed ${details.seed}, path ${details.counterexamplePath}, input ${shown})` };
}

