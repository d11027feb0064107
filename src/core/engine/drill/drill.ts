/**
 * @module engine/drill
 * A drill (../shared/design/no-lockout.md §6): per copy, what a stranger with only the kit does —
 * reach the storage, open it with the recovery key, check its structure (every indexed pack
 * listed with the right size, every snapshot's tree loads), look at freshness, restore a sample
 * or everything into a scratch target, read every restored byte back and compare each blob-sized
 * piece with its blob ID, then record the result inside the copy.
 *
 * Browser-safe: storage, the scratch target and the clock come in as ports, so the web app can
 * run a sampled drill too. It never reads a config: the kit is the only input.
 */
import type { Backend } from '../../backend/backend.js';
import { toHex, utf8Encode } from '../../bytes.js';
import { CofferError, isCofferError } from '../../errors.js';
import { expectedPackSize } from '../../format/pack-header.js';
import { compareTime, formatGoTime } from '../../format/go-time.js';
import type { Id, TreeNode } from '../../format/types.js';
import type { KitCopy } from '../../kit/kit-text.js';
import { loadBlob } from '../../repository/blob-loader.js';
import type { LockOwner } from '../../repository/locks.js';
import { loadMasterIndex, type MasterIndex } from '../../repository/master-index.js';
import { openRepository } from '../../repository/open.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import type { Platform } from '../../platform.js';
import { isRecordSnapshot, recordKindOf, writeRecord } from '../records/records.js';
import { restore } from '../restore/restorer.js';
import type { RelPath, RestoreSink } from '../restore/sink.js';
import { verifyRestored, type RestoredFile } from '../restore/verify.js';
import { TreeLoader, walkTree, type WalkEntry } from '../walk/tree-walker.js';
import { readSettingsRecord } from '../settings/settings.js';
import { admits, type SyncPolicy } from '../sync/sync.js';

export const DRILL_KIND = 'drill';
export const DRILL_FILE = 'drill.json';
export const DEFAULT_SAMPLE = 20;

export type FailureCode =
  | 'unreachable'
  | 'key-rejected'
  | 'wrong-repository'
  | 'bad-repository'
  | 'missing-pack'
  | 'pack-size'
  | 'corrupt-data'
  | 'stale-copy'
  | 'no-snapshots';

export interface DrillFailure {
  readonly code: FailureCode;
  readonly detail: string;
}

export interface CopyDrill {
  name: string;
  url: string;
  verdict: 'pass' | 'fail';
  reason: string | null;
  failures: DrillFailure[];
  reachable: boolean;
  openMs: number | null;
  firstFileMs: number | null;
  restoreMs: number | null;
  snapshots: number;
  newestSnapshot: string | null;
  snapshotRestored: string | null;
  filesVerified: number;
  bytesVerified: number;
  packsChecked: number;
  recorded: boolean;
}

export interface DrillReport {
  kitId: string;
  startedAt: string;
  mode: 'full' | 'sample';
  sample: number | null;
  seed: string | null;
  verdict: 'pass' | 'fail';
  copies: CopyDrill[];
}

/** A scratch restore target that can also compare what it holds with the snapshot's metadata. */
export interface DrillSink extends RestoreSink {
  /** Mode, mtime, symlink target of `path` against `node`; a problem's description, or undefined. */
  checkMetadata?(path: RelPath, node: TreeNode): Promise<string | undefined>;
}

export interface DrillPorts {
  readonly platform: Platform;
  /** The storage of a copy (credentials from the drill's environment only). */
  backend(copy: KitCopy): Backend;
  /** A fresh, empty scratch target for one restore (label: copy and snapshot). */
  sink(label: string): Promise<DrillSink>;
  /** Milliseconds, monotonic. */
  now(): number;
  readonly owner: LockOwner;
  readonly signal?: AbortSignal;
  /** Progress lines for humans. */
  log?(line: string): void;
  /** Settings copies missing from the kit (`kit-stale`), a warning only. */
  warn?(line: string): void;
}

export interface DrillOptions {
  readonly kitId: string;
  /** RFC 3339 creation time of the kit. */
  readonly kitCreated: string;
  readonly recoveryKey: string;
  readonly copies: readonly KitCopy[];
  readonly mode: 'full' | 'sample';
  readonly sample?: number;
  /** Hex seed for the sample; random when absent. */
  readonly seed?: string;
  readonly record?: boolean;
}

class Failed extends Error {
  constructor(readonly failure: DrillFailure) {
    super(failure.detail);
  }
}

function fail(code: FailureCode, detail: string): never {
  throw new Failed({ code, detail });
}

function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Deterministic choices from a printed seed (not secret: it only picks which files to read). */
class SeededPicker {
  private counter = 0;
  constructor(private readonly platform: Platform, private readonly seed: string) {}
  next(n: number): number {
    const h = this.platform.crypto.sha256(utf8Encode(`${this.seed}:${this.counter++}`));
    const v = ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
    return v % n;
  }
}

function isoOf(e: SnapshotEntry): string {
  return formatGoTime(e.snapshot.time);
}

/** Runs the drill over every copy given, one after another. */
export async function runDrill(opts: DrillOptions, ports: DrillPorts): Promise<DrillReport> {
  const startedAt = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  const seed = opts.mode === 'sample' ? (opts.seed ?? toHex(ports.platform.crypto.randomBytes(8))) : null;
  const report: DrillReport = {
    kitId: opts.kitId,
    startedAt,
    mode: opts.mode,
    sample: opts.mode === 'sample' ? (opts.sample ?? DEFAULT_SAMPLE) : null,
    seed,
    verdict: 'pass',
    copies: [],
  };
  const newest = new Map<string, SnapshotEntry[]>();
  /** Each copy's sync policy as the settings records say (a copy may exclude tags on purpose). */
  const policies = new Map<string, SyncPolicy>();
  for (const copy of opts.copies) {
    const r = await drillCopy(copy, opts, ports, report, (entries) => newest.set(copy.name, entries), (name, p) => policies.set(name, p));
    report.copies.push(r);
  }
  // Freshness across copies: a copy missing the newest user snapshot another copy has.
  const all = [...newest.values()].flat();
  for (const r of report.copies) {
    const mine = newest.get(r.name);
    if (!mine || r.verdict === 'fail') continue;
    const have = new Set(mine.flatMap((e) => [e.id, e.snapshot.original ?? e.id]));
    const policy = policies.get(r.name) ?? { excludeTags: [], onlyTags: [] };
    const missing = all.filter(
      (e) => admits(e.snapshot, policy) && !have.has(e.id) && !have.has(e.snapshot.original ?? e.id) && compareTime(e.snapshot.time, mine[mine.length - 1]?.snapshot.time ?? e.snapshot.time) > 0,
    );
    if (missing.length > 0) {
      r.failures.push({ code: 'stale-copy', detail: `${missing.length} newer snapshot(s) found in other copies are missing here (newest ${isoOf(missing[missing.length - 1]!)})` });
      r.verdict = 'fail';
      r.reason = r.failures[0]!.code;
    }
  }
  report.verdict = report.copies.every((c) => c.verdict === 'pass') ? 'pass' : 'fail';
  return report;
}

async function drillCopy(
  copy: KitCopy,
  opts: DrillOptions,
  ports: DrillPorts,
  report: DrillReport,
  onSnapshots: (e: SnapshotEntry[]) => void,
  onPolicy: (name: string, p: SyncPolicy) => void,
): Promise<CopyDrill> {
  const r: CopyDrill = {
    name: copy.name,
    url: copy.url.replace(/^([a-z0-9]+:[a-z]+:\/\/[^/@:]*):([^/@]*)@/i, '$1:***@'),
    verdict: 'pass',
    reason: null,
    failures: [],
    reachable: false,
    openMs: null,
    firstFileMs: null,
    restoreMs: null,
    snapshots: 0,
    newestSnapshot: null,
    snapshotRestored: null,
    filesVerified: 0,
    bytesVerified: 0,
    packsChecked: 0,
    recorded: false,
  };
  const log = (s: string) => ports.log?.(`${copy.name}: ${s}`);
  const o = ports.signal ? { signal: ports.signal } : {};
  let backend: Backend | undefined;
  let repo: Repository | undefined;
  try {
    const t0 = ports.now();
    // 2. Reach.
    backend = ports.backend(copy);
    const keyIds: Id[] = [];
    try {
      for await (const f of backend.list('keys', o)) keyIds.push(f.name);
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      fail('unreachable', describe(e));
    }
    r.reachable = true;
    log(`reachable (${keyIds.length} keys)`);
    // 3. Open with the recovery key, the kit's key file first.
    try {
      repo = await openRepository(backend, ports.platform, { password: opts.recoveryKey, ...(copy.keyId ? { keyHint: copy.keyId } : {}) }, o);
    } catch (e) {
      if (isCofferError(e, 'wrong-password')) {
        fail('key-rejected', keyIds.includes(copy.keyId) ? `key ${copy.keyId.slice(0, 8)} is there but does not open with the recovery key` : `no key file opens with the recovery key (the kit's key ${copy.keyId.slice(0, 8)} was removed, or the kit is for another repository)`);
      }
      if (isCofferError(e, 'no-repository')) fail('unreachable', describe(e));
      if (isCofferError(e, 'transient') || isCofferError(e, 'permission')) fail('unreachable', describe(e));
      if (isCofferError(e, 'cancelled')) throw e;
      fail('bad-repository', describe(e));
    }
    r.openMs = Math.round(ports.now() - t0);
    if (copy.repositoryId && repo.config.id !== copy.repositoryId) {
      fail('wrong-repository', `repository ID ${repo.config.id.slice(0, 8)} is not the kit's ${copy.repositoryId.slice(0, 8)}`);
    }
    log(`opened with the recovery key in ${r.openMs} ms`);

    // 4. Structure.
    const index = await loadMasterIndex(repo, o);
    const stored = new Map<Id, number>();
    for await (const f of repo.list('data', o)) stored.set(f.name, f.size);
    for (const packId of index.packIds()) {
      r.packsChecked++;
      const size = stored.get(packId);
      const want = expectedPackSize(index.packBlobs(packId)!);
      if (size === undefined) r.failures.push({ code: 'missing-pack', detail: `data/${packId.slice(0, 2)}/${packId} listed in index, absent` });
      else if (size !== want) r.failures.push({ code: 'pack-size', detail: `data/${packId.slice(0, 2)}/${packId} has ${size} bytes, the index implies ${want}` });
    }
    const entries = await loadSnapshots(repo, o);
    const loader = new TreeLoader(repo, index);
    for (const e of entries) {
      try {
        await loader.load(e.snapshot.tree);
      } catch (err) {
        r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: tree ${e.snapshot.tree.slice(0, 8)} does not load: ${describe(err)}` });
      }
    }
    if (r.failures.length > 0) throw new Failed(r.failures[0]!);
    log(`structure: ${r.packsChecked} packs listed with the right sizes, ${entries.length} snapshot trees load`);

    // 5. Freshness.
    const user = entries.filter((e) => !isRecordSnapshot(e.snapshot));
    r.snapshots = user.length;
    r.newestSnapshot = user.length ? isoOf(user[user.length - 1]!) : null;
    onSnapshots(user);
    if (user.length === 0) fail('no-snapshots', 'the copy holds no snapshots of your files');

    // 8 (early, it is only a read). Settings: copies missing from the kit.
    try {
      const s = await readSettingsRecord(repo, { ...o, index, entries });
      for (const c of s?.settings.copies ?? []) onPolicy(c.name, c.policy);
      const inKit = new Set(report.copies.map((c) => c.name).concat(opts.copies.map((c) => c.name)));
      const missing = s?.settings.copies.filter((c) => !inKit.has(c.name)).map((c) => c.name) ?? [];
      if (missing.length) ports.warn?.(`kit-stale: copy ${copy.name}'s settings list ${missing.join(', ')}, which the kit does not name: print a new kit`);
    } catch (e) {
      ports.warn?.(`${copy.name}: the settings record could not be read: ${describe(e)}`);
    }

    // 6 + 7. Restore and verify.
    const tRestore = ports.now();
    const onFirst = () => {
      if (r.firstFileMs === null) r.firstFileMs = Math.round(ports.now() - tRestore);
    };
    if (opts.mode === 'full') {
      for (const e of newestPerGroup(entries)) await restoreWhole(repo, index, e, ports, r, onFirst);
      r.snapshotRestored = user[user.length - 1]!.id.slice(0, 8);
    } else {
      const target = user[user.length - 1]!;
      r.snapshotRestored = target.id.slice(0, 8);
      await restoreSample(repo, index, target, opts.sample ?? DEFAULT_SAMPLE, report.seed!, ports, r, onFirst);
      for (const kind of ['settings', 'secrets', 'otp']) {
        const rec = [...entries].reverse().find((e) => recordKindOf(e.snapshot) === kind);
        if (rec) await restoreWhole(repo, index, rec, ports, r, onFirst);
      }
    }
    r.restoreMs = Math.round(ports.now() - tRestore);
    if (r.failures.length > 0) throw new Failed(r.failures[0]!);
    log(`restored and verified ${r.filesVerified} files, ${r.bytesVerified} bytes in ${r.restoreMs} ms`);
  } catch (e) {
    if (!(e instanceof Failed)) {
      if (isCofferError(e, 'cancelled')) throw e;
      if (!r.failures.length) r.failures.push({ code: isCofferError(e, 'corrupt') || isCofferError(e, 'not-found') ? 'corrupt-data' : 'unreachable', detail: describe(e) });
    } else if (!r.failures.includes(e.failure)) r.failures.unshift(e.failure);
    r.verdict = 'fail';
    r.reason = r.failures[0]!.code;
  }
  // 9. Record the result inside the copy.
  if (repo && opts.record !== false) {
    try {
      const copyReport = { ...report, verdict: r.verdict, copies: [{ ...r, recorded: true }] };
      await writeRecord(repo, DRILL_KIND, [{ name: DRILL_FILE, data: utf8Encode(JSON.stringify(copyReport, null, 2) + '\n'), mode: 0o644 }], { ...o, owner: ports.owner });
      r.recorded = true;
    } catch (e) {
      ports.warn?.(`${copy.name}: the drill result could not be recorded in the copy: ${describe(e)}`);
    }
  }
  await backend?.close?.().catch(() => undefined);
  return r;
}

/** The newest snapshot of every host+paths group (records are groups of their own). */
function newestPerGroup(entries: readonly SnapshotEntry[]): SnapshotEntry[] {
  const m = new Map<string, SnapshotEntry>();
  for (const e of entries) m.set(JSON.stringify([e.snapshot.hostname ?? '', [...e.snapshot.paths].sort()]), e); // entries are oldest first
  return [...m.values()];
}

async function restoreWhole(repo: Repository, index: MasterIndex, e: SnapshotEntry, ports: DrillPorts, r: CopyDrill, onFirst: () => void): Promise<void> {
  const sink = await ports.sink(`${r.name}-${e.id.slice(0, 8)}`);
  const res = await restore(repo, index, e.snapshot.tree, sink, { ...(ports.signal ? { signal: ports.signal } : {}), events: { onFileDone: onFirst } });
  for (const err of res.errors) r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: ${err.path}: ${err.message}` });
  await verify(repo, index, res.restoredFiles, sink, r, e);
  if (sink.checkMetadata) {
    await walkTree(new TreeLoader(repo, index), e.snapshot.tree, async (w) => {
      if (w.node.type !== 'file' && w.node.type !== 'symlink') return;
      const problem = await sink.checkMetadata!(w.rawPath, w.node);
      if (problem) r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: ${w.path}: ${problem}` });
    });
  }
}

async function verify(repo: Repository, index: MasterIndex, files: readonly RestoredFile[], sink: RestoreSink, r: CopyDrill, e: SnapshotEntry): Promise<void> {
  const v = await verifyRestored(repo, index, files, sink);
  const bad = new Set(v.mismatches.map((m) => m.path));
  for (const m of v.mismatches) r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: ${m.path}: ${m.message}` });
  for (const f of files) {
    if (bad.has(f.path)) continue;
    r.filesVerified++;
    r.bytesVerified += f.node.size ?? 0;
  }
}

/**
 * The sample: the largest file, the newest file, one from each top-level folder, the rest at
 * random (seeded). Every pack they touch is downloaded whole and its SHA-256 compared with its
 * name; then the files are written and read back like a restore.
 */
async function restoreSample(repo: Repository, index: MasterIndex, e: SnapshotEntry, n: number, seed: string, ports: DrillPorts, r: CopyDrill, onFirst: () => void): Promise<void> {
  const files: WalkEntry[] = [];
  await walkTree(new TreeLoader(repo, index), e.snapshot.tree, (w) => {
    if (w.node.type === 'file') files.push(w);
  });
  const chosen = new Map<string, WalkEntry>();
  const pick = (w: WalkEntry | undefined) => w && chosen.size < n && chosen.set(w.path, w);
  if (files.length > 0) {
    pick(files.reduce((a, b) => ((b.node.size ?? 0) > (a.node.size ?? 0) ? b : a)));
    pick(files.reduce((a, b) => (b.node.mtime && a.node.mtime && compareTime(b.node.mtime, a.node.mtime) > 0 ? b : a)));
    const tops = new Map<string, WalkEntry[]>();
    for (const f of files) {
      const top = f.path.split('/').slice(0, -1).slice(0, 4).join('/');
      tops.set(top, [...(tops.get(top) ?? []), f]);
    }
    const picker = new SeededPicker(ports.platform, seed);
    for (const group of tops.values()) pick(group[picker.next(group.length)]);
    const rest = files.filter((f) => !chosen.has(f.path));
    while (chosen.size < Math.min(n, files.length) && rest.length) pick(rest.splice(picker.next(rest.length), 1)[0]);
  }
  // Whole packs, hash-checked.
  const packs = new Set<Id>();
  for (const w of chosen.values()) for (const id of w.node.content ?? []) {
    const loc = index.lookup('data', id);
    if (loc) packs.add(loc.packId);
  }
  for (const packId of packs) {
    const bytes = await repo.backend.get({ type: 'data', name: packId }, undefined, ports.signal ? { signal: ports.signal } : undefined);
    if (toHex(repo.platform.crypto.sha256(bytes)) !== packId) r.failures.push({ code: 'corrupt-data', detail: `data/${packId.slice(0, 2)}/${packId}: content does not match its name (SHA-256)` });
  }
  const sink = await ports.sink(`${r.name}-${e.id.slice(0, 8)}-sample`);
  const restored: RestoredFile[] = [];
  let i = 0;
  for (const w of chosen.values()) {
    const rawPath = [utf8Encode(`${String(++i).padStart(4, '0')}-${w.path.split('/').pop() || 'file'}`)];
    const node: TreeNode = { ...w.node, name: rawPath[0]! };
    try {
      const writer = await sink.createFile(rawPath, node);
      let at = 0;
      for (const id of w.node.content ?? []) {
        const blob = await loadBlob(repo, index, 'data', id, ports.signal ? { signal: ports.signal } : undefined);
        await writer.write(at, blob);
        at += blob.length;
      }
      await writer.close();
      await sink.setMetadata(rawPath, node);
      onFirst();
      restored.push({ path: w.path, rawPath, node });
    } catch (err) {
      if (isCofferError(err, 'cancelled')) throw err;
      r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: ${w.path}: ${describe(err)}` });
    }
  }
  await verify(repo, index, restored, sink, r, e);
  for (const f of restored) {
    const problem = await sink.checkMetadata?.(f.rawPath, f.node);
    if (problem) r.failures.push({ code: 'corrupt-data', detail: `snapshot ${e.id.slice(0, 8)}: ${f.path}: ${problem}` });
  }
  if (chosen.size === 0 && files.length > 0) throw new CofferError('internal', 'sample selection chose nothing');
}
