/**
 * Repositories for the check/repair tests: one written by Coffer, one by restic, each with two
 * snapshots (the second adds files, so its new data pack can be lost while the first stays whole),
 * and small tools to damage copies of them.
 */
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { openRepository } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { nodePlatform } from '../../src/node/platform.js';
import { tempDir } from '../helpers/paths.js';
import { runCoffer, runRestic, testEnv, type ResticBinary } from '../helpers/run.js';
import { makeSourceTree, prng } from '../helpers/tree.js';

export interface Fixture {
  readonly kind: 'coffer' | 'restic';
  readonly repo: string;
  readonly src1: string;
  readonly src2: string;
  /** Data packs written by the second backup only; first the one holding new1.bin (packs are made per chunk worker, so there may be several). */
  readonly secondDataPacks: string[];
  /** Tree packs written by the second backup only (they hold its root tree). */
  readonly secondTreePacks: string[];
  readonly snapshots: { id: string; paths: string[] }[];
}

export const PASSWORD = 'test-password';

export function envFor(repo: string): NodeJS.ProcessEnv {
  return testEnv({ COFFER_REPOSITORY: repo, RESTIC_REPOSITORY: repo });
}

export async function openCore(repo: string): Promise<Repository> {
  return openRepository(new LocalBackend(repo), await nodePlatform(), { password: PASSWORD });
}

export function files(repo: string, type: 'data' | 'index' | 'snapshots' | 'keys'): string[] {
  const dir = path.join(repo, type);
  if (type !== 'data') return fs.readdirSync(dir).sort();
  return fs.readdirSync(dir).flatMap((s) => fs.readdirSync(path.join(dir, s))).sort();
}

export function filePath(repo: string, type: 'data' | 'index' | 'snapshots' | 'keys', name: string): string {
  return type === 'data' ? path.join(repo, 'data', name.slice(0, 2), name) : path.join(repo, type, name);
}

/** XORs one byte of a file (restic stores files read-only). */
export function flipByte(file: string, at: number): void {
  fs.chmodSync(file, 0o644);
  const b = fs.readFileSync(file);
  const i = at < 0 ? b.length + at : at;
  b[i] = b[i]! ^ 0x55;
  fs.writeFileSync(file, b);
}

/** The sources: src2 shares sub/ with src1 (deduplicated) and adds two new files. */
function makeSources(dir: string): { src1: string; src2: string } {
  const src1 = path.join(dir, 'src1');
  const src2 = path.join(dir, 'src2');
  makeSourceTree(src1);
  fs.cpSync(path.join(src1, 'sub'), path.join(src2, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src2, 'new1.bin'), NEW1());
  fs.writeFileSync(path.join(src2, 'new2.txt'), 'only in the second snapshot\n');
  return { src1, src2 };
}

/** new1.bin's content: one blob (300 kB is below the chunker's minimum). */
const NEW1 = (): Uint8Array => prng('new1', 300_000);

async function packsHolding(repo: string, type: 'data' | 'tree', blob?: string): Promise<Set<string>> {
  const index = await loadMasterIndex(await openCore(repo));
  const out = new Set<string>();
  for (const id of index.packIds()) if (index.packBlobs(id)!.some((b) => b.type === type && (blob === undefined || b.id === blob))) out.add(id);
  return out;
}

export async function buildFixture(kind: 'coffer' | 'restic', restic: ResticBinary | undefined): Promise<Fixture> {
  const dir = tempDir(`coffer-check-${kind}-`);
  const { src1, src2 } = makeSources(dir);
  const repo = path.join(dir, 'repo');
  const env = envFor(repo);
  const run = async (args: string[]) => {
    const r = kind === 'coffer' ? await runCoffer(args, { env }) : await runRestic(restic!, args, { env });
    assert.equal(r.code, 0, `${kind} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  };
  await run(kind === 'coffer' ? ['init'] : ['init', '-q']);
  await run(['backup', '-q', src1]);
  const before = new Set([...(await packsHolding(repo, 'data')), ...(await packsHolding(repo, 'tree'))]);
  await run(['backup', '-q', src2]);
  const new1Pack = [...(await packsHolding(repo, 'data', createHash('sha256').update(NEW1()).digest('hex')))];
  assert.equal(new1Pack.length, 1, 'new1.bin is in one pack');
  const secondDataPacks = [...new1Pack, ...[...(await packsHolding(repo, 'data'))].filter((p) => !before.has(p) && p !== new1Pack[0])];
  const secondTreePacks = [...(await packsHolding(repo, 'tree'))].filter((p) => !before.has(p));
  assert.ok(secondDataPacks.length > 0, 'the second backup wrote a data pack');
  const snaps = await runCoffer(['snapshots', '--json'], { env });
  assert.equal(snaps.code, 0, snaps.stderr);
  const snapshots = (JSON.parse(snaps.stdout) as { id: string; paths: string[] }[]).map((s) => ({ id: s.id, paths: s.paths }));
  return { kind, repo, src1, src2, secondDataPacks, secondTreePacks, snapshots };
}

/** A fresh copy of a fixture's repository to damage. */
export function copyRepo(f: Fixture, label: string): string {
  const dst = path.join(path.dirname(f.repo), `copy-${label}`);
  fs.cpSync(f.repo, dst, { recursive: true });
  return dst;
}
