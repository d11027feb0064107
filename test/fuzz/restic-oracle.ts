/**
 * restic as the oracle for the snapshot decoder: mutated snapshot documents are sealed into a
 * copy of the tiny-v2 test repository (its master key is in the vectors), one `restic snapshots
 * --json` reads them all, and Coffer's decoder must agree with restic on which documents are
 * snapshots and on every field of those it reads (compared through Coffer's encoder, which writes
 * restic's JSON). One documented difference: a snapshot without `tree` restic lists (tree null),
 * Coffer refuses.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { fromHex, toHex } from '../../src/core/bytes.js';
import { seal } from '../../src/core/crypto/sealed-box.js';
import { CofferError } from '../../src/core/errors.js';
import { decodeSnapshot, encodeSnapshot } from '../../src/core/format/snapshot.js';
import { encodeUnpacked } from '../../src/core/format/unpacked.js';
import type { CryptoKey } from '../../src/core/format/types.js';
import { nodeCrypto } from '../../src/node/crypto-node.js';
import { readVector, tempDir, VECTORS } from '../helpers/paths.js';
import { runRestic, type ResticBinary } from '../helpers/run.js';
import { corpus } from './corpus.js';
import { fuzzInput } from './mutate.js';
import { compressors } from './targets.js';

interface Outcome {
  restic?: Record<string, unknown>;
  coffer?: Record<string, unknown>;
  cofferError?: string;
}

/** Fields restic 0.14 does not know (it neither reads nor writes them). */
const NEWER_FIELDS = ['program_version', 'summary'];

/**
 * Whether a JSON text repeats a key inside one object (Go decodes every occurrence, an invalid
 * earlier one failing the document; so does Coffer since the oracle found it did not).
 */
export function hasDuplicateKeys(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') stack.push(new Set());
    else if (c === '[') stack.push(null);
    else if (c === '}' || c === ']') stack.pop();
    else if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      const str = text.slice(i + 1, j);
      i = j;
      let k = j + 1;
      while (/\s/.test(text[k] ?? '')) k++;
      const top = stack[stack.length - 1];
      if (text[k] === ':' && top) {
        let key = str;
        try {
          key = JSON.parse(`"${str}"`) as string;
        } catch { /* compare raw */ }
        if (top.has(key)) return true;
        top.add(key);
      }
    }
  }
  return false;
}

export interface OracleResult {
  tried: number;
  failures: string[];
  /** Documented differences seen (allowed): a summary counter above 2^53; restic 0.14's zone offsets. */
  known: Record<string, number>;
}

export async function snapshotOracle(restic: ResticBinary, inputs: readonly Uint8Array[]): Promise<OracleResult> {
  const v = readVector<{ repos: { repository_dir: string; password: string; key_file: { master: { encrypt_hex: string; mac_k_hex: string; mac_r_hex: string } } }[] }>('tiny-repos.json').repos[1]!;
  const key: CryptoKey = { encrypt: fromHex(v.key_file.master.encrypt_hex), macK: fromHex(v.key_file.master.mac_k_hex), macR: fromHex(v.key_file.master.mac_r_hex) };
  const dir = path.join(tempDir('coffer-oracle-'), 'repo');
  fs.cpSync(path.join(VECTORS, v.repository_dir), dir, { recursive: true });
  fs.chmodSync(dir, 0o700);
  for (const d of fs.readdirSync(dir, { recursive: true }) as string[]) fs.chmodSync(path.join(dir, d), fs.statSync(path.join(dir, d)).isDirectory() ? 0o700 : 0o600);
  const existing = new Set(fs.readdirSync(path.join(dir, 'snapshots')));
  const zstd = (await compressors())[0]!;
  const byId = new Map<string, Uint8Array>();
  for (const json of inputs) {
    const sealed = seal(nodeCrypto, key, encodeUnpacked(json, 2, zstd));
    const id = toHex(nodeCrypto.sha256(sealed));
    byId.set(id, json);
    fs.writeFileSync(path.join(dir, 'snapshots', id), sealed);
  }
  const r = await runRestic(restic, ['-r', dir, '--no-lock', 'snapshots', '--json'], { env: { ...process.env, RESTIC_PASSWORD: v.password } });
  if (r.code !== 0 && r.code !== 3 && !r.stdout.trim().startsWith('[')) return { tried: 0, failures: [`restic snapshots failed (${r.code}): ${r.stderr.slice(0, 300)}`], known: {} };
  const listed = new Map<string, Record<string, unknown>>();
  for (const s of JSON.parse(r.stdout) as Record<string, unknown>[]) {
    const { id, short_id: _s, ...rest } = s;
    listed.set(String(id), rest);
  }
  const failures: string[] = [];
  const known: Record<string, number> = {};
  const allow = (what: string): void => {
    known[what] = (known[what] ?? 0) + 1;
  };
  for (const [id, json] of byId) {
    if (existing.has(id)) continue;
    const o: Outcome = {};
    o.restic = listed.get(id);
    try {
      o.coffer = JSON.parse(new TextDecoder().decode(encodeSnapshot(decodeSnapshot(json, 'snapshot')))) as Record<string, unknown>;
    } catch (e) {
      if (!(e instanceof CofferError)) throw e;
      o.cofferError = e.message;
    }
    const doc = JSON.stringify(new TextDecoder().decode(json).slice(0, 300));
    if (o.restic && o.coffer) {
      const a = { ...o.restic };
      const b = { ...o.coffer };
      if (restic.name.includes('0.14')) for (const k of NEWER_FIELDS) delete b[k];
      // A missing `paths` is Go's nil slice (restic writes null); Coffer writes [].
      if (a.paths === null) a.paths = [];
      // `restic snapshots` prints each snapshot's paths sorted; the order stored is Coffer's.
      for (const x of [a, b]) if (Array.isArray(x.paths)) x.paths = [...(x.paths as string[])].sort();
      const diff = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((k) => JSON.stringify(sortKeys(a[k])) !== JSON.stringify(sortKeys(b[k])));
      if (diff.length) failures.push(`snapshot ${doc}: ${diff.map((k) => `${k}: restic ${JSON.stringify(a[k])}, Coffer ${JSON.stringify(b[k])}`).join('; ')}`);
    } else if (o.restic && !o.coffer) {
      if (restic.name.includes('0.14') && NEWER_FIELDS.some((f) => o.cofferError?.includes(`"${f}`))) continue; // fields 0.14 ignores
      if (restic.name.includes('0.14') && /zone offset out of range/.test(o.cofferError ?? '')) {
        allow('zone offset hour above 23 (read by go1.19, refused by newer Go and Coffer)');
        continue;
      }
      if (/^snapshot: field "summary\.[a-z_]+" is out of range/.test(o.cofferError ?? '')) {
        allow('summary counter above 2^53');
        continue;
      }
      if (!(o.restic.tree === null || o.restic.tree === undefined) || !/no tree/.test(o.cofferError ?? '')) failures.push(`snapshot ${doc}: restic reads it, Coffer refuses (${o.cofferError})`);
    } else if (!o.restic && o.coffer) {
      failures.push(`snapshot ${doc}: Coffer reads it, restic does not list it (${r.stderr.split('\n').find((l) => l.includes(id.slice(0, 8))) ?? ''})`);
    }
  }
  return { tried: byId.size, failures, known };
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Generated snapshot documents: mutations of restic's and of freshly encoded snapshots. */
export function snapshotInputs(n: number, seed: number): Uint8Array[] {
  return fc.sample(fuzzInput(corpus().get('snapshot') ?? []), { numRuns: n, seed });
}
