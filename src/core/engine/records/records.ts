/**
 * @module engine/records
 * Coffer's own state that must travel with the data (settings, secrets, the OTP vault, drill
 * results) is stored as ordinary restic snapshots, so every copy carries it, `restic check`
 * stays clean and `restic dump latest --tag coffer-otp /vault.json` reads it
 * (../shared/design/no-lockout.md §3):
 *
 * - hostname `coffer`, paths `["/coffer/<kind>"]`, tags `coffer-internal` and `coffer-<kind>`;
 * - the record's files sit at the root of the snapshot's tree (as restic's `--stdin` backups);
 * - every record is complete, never a delta: the newest snapshot of a kind is the whole state,
 *   older ones are history.
 *
 * Writing follows the repository's crash rule (spec §20): packs and index first, the snapshot
 * file last, so a record is either wholly there or not at all.
 */
import { CofferError } from '../../errors.js';
import { chunkBoundaries } from '../../chunker/chunker.js';
import { compareTime, nowGoTime } from '../../format/go-time.js';
import { encodeSnapshot } from '../../format/snapshot.js';
import { decodeTree, encodeTree, sortNodes } from '../../format/tree.js';
import type { GoTime, Id, Snapshot, TreeNode } from '../../format/types.js';
import { utf8Decode, utf8Encode } from '../../bytes.js';
import { loadBlob } from '../../repository/blob-loader.js';
import { BlobSaver } from '../../repository/blob-saver.js';
import { RepositoryLock, type LockOwner } from '../../repository/locks.js';
import { loadMasterIndex, type MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../repository/snapshots.js';
import type { CallOpts } from '../../backend/backend.js';
import { PROGRAM_VERSION } from '../backup/backup.js';

export const RECORD_HOST = 'coffer';
export const INTERNAL_TAG = 'coffer-internal';
/** Largest file a record may hold: records are small state, read whole into memory. */
export const MAX_RECORD_FILE = 16 * 1024 * 1024;

/** `settings`, `secrets`, `otp`, `drill`, …: lower-case letters and dashes. */
export type RecordKind = string;

export interface RecordFile {
  readonly name: string;
  readonly data: Uint8Array;
  /** Permission bits; default 0600 (records often hold secrets, even if encrypted). */
  readonly mode?: number;
}

export interface LoadedRecord {
  readonly id: Id;
  readonly snapshot: Snapshot;
  readonly files: ReadonlyMap<string, Uint8Array>;
}

export interface WriteRecordOptions extends CallOpts {
  /** Who writes (for the lock and the snapshot's username). */
  readonly owner: LockOwner;
  readonly time?: GoTime;
  /** Extra tags beside `coffer-internal` and `coffer-<kind>`. */
  readonly tags?: readonly string[];
  /** Skip taking a lock (the caller already holds one). */
  readonly unlocked?: boolean;
}

const KIND_RE = /^[a-z][a-z0-9-]{0,31}$/;

function checkKind(kind: RecordKind): void {
  if (!KIND_RE.test(kind)) throw new CofferError('internal', `invalid record kind ${JSON.stringify(kind)}`);
}

export function recordPath(kind: RecordKind): string {
  return `/coffer/${kind}`;
}

export function recordTag(kind: RecordKind): string {
  return `coffer-${kind}`;
}

/** Whether a snapshot is one of Coffer's internal records (of any kind, or of `kind`). */
export function isRecordSnapshot(s: Snapshot, kind?: RecordKind): boolean {
  if (s.hostname !== RECORD_HOST || !(s.tags ?? []).includes(INTERNAL_TAG)) return false;
  if (kind === undefined) return true;
  return (s.tags ?? []).includes(recordTag(kind)) && s.paths.length === 1 && s.paths[0] === recordPath(kind);
}

/** The kind of a record snapshot, or undefined for user snapshots. */
export function recordKindOf(s: Snapshot): RecordKind | undefined {
  if (!isRecordSnapshot(s) || s.paths.length !== 1) return undefined;
  const m = /^\/coffer\/([a-z][a-z0-9-]{0,31})$/.exec(s.paths[0]!);
  return m && (s.tags ?? []).includes(recordTag(m[1]!)) ? m[1] : undefined;
}

function checkFiles(files: readonly RecordFile[]): void {
  const seen = new Set<string>();
  for (const f of files) {
    if (!f.name || f.name === '.' || f.name === '..' || f.name.includes('/') || f.name.includes('\0')) {
      throw new CofferError('internal', `invalid record file name ${JSON.stringify(f.name)}`);
    }
    if (seen.has(f.name)) throw new CofferError('internal', `record file ${f.name} given twice`);
    if (f.data.length > MAX_RECORD_FILE) throw new CofferError('usage', `${f.name} is too large for a record (${f.data.length} bytes)`);
    seen.add(f.name);
  }
}

/**
 * Writes a complete record of `kind` holding `files` and returns the new snapshot's ID.
 * The newest record of a kind becomes its parent, so `restic snapshots` shows a history.
 */
export async function writeRecord(repo: Repository, kind: RecordKind, files: readonly RecordFile[], opts: WriteRecordOptions): Promise<{ id: Id; snapshot: Snapshot }> {
  checkKind(kind);
  checkFiles(files);
  const o: CallOpts = opts.signal ? { signal: opts.signal } : {};
  const lock = opts.unlocked ? undefined : await RepositoryLock.acquire(repo, false, opts.owner, o);
  try {
    const time = opts.time ?? nowGoTime();
    const previous = await latestRecordEntry(repo, kind, o);
    const index = await loadMasterIndex(repo, o);
    const saver = new BlobSaver(repo, index, o);
    const nodes: TreeNode[] = [];
    for (const f of files) {
      const content: Id[] = [];
      let start = 0;
      for (const end of chunkBoundaries(repo.config.chunkerPolynomial, f.data)) {
        content.push((await saver.save('data', f.data.subarray(start, end))).id);
        start = end;
      }
      nodes.push({
        name: utf8Encode(f.name),
        type: 'file',
        mode: (f.mode ?? 0o600) & 0o777,
        mtime: time,
        atime: time,
        ctime: time,
        uid: opts.owner.uid ?? 0,
        gid: opts.owner.gid ?? 0,
        size: f.data.length,
        content,
      });
    }
    const tree = (await saver.save('tree', encodeTree({ nodes: sortNodes(nodes) }))).id;
    await saver.flush();
    const snapshot: Snapshot = {
      time,
      ...(previous ? { parent: previous.id } : {}),
      tree,
      paths: [recordPath(kind)],
      hostname: RECORD_HOST,
      username: opts.owner.username,
      ...(opts.owner.uid ? { uid: opts.owner.uid } : {}),
      ...(opts.owner.gid ? { gid: opts.owner.gid } : {}),
      tags: [INTERNAL_TAG, recordTag(kind), ...(opts.tags ?? [])],
      programVersion: PROGRAM_VERSION,
    };
    const id = await repo.saveUnpacked('snapshots', encodeSnapshot(snapshot), o);
    return { id, snapshot };
  } finally {
    await lock?.release();
  }
}

/** Every record of `kind`, oldest first. */
export async function listRecords(repo: Repository, kind: RecordKind, o?: CallOpts, entries?: readonly SnapshotEntry[]): Promise<SnapshotEntry[]> {
  checkKind(kind);
  const all = entries ?? (await loadSnapshots(repo, o));
  return all.filter((e) => isRecordSnapshot(e.snapshot, kind)).sort((a, b) => compareTime(a.snapshot.time, b.snapshot.time) || (a.id < b.id ? -1 : 1));
}

/** The newest record of `kind`, without loading its files. */
export async function latestRecordEntry(repo: Repository, kind: RecordKind, o?: CallOpts, entries?: readonly SnapshotEntry[]): Promise<SnapshotEntry | undefined> {
  const list = await listRecords(repo, kind, o, entries);
  return list[list.length - 1];
}

/** Loads the files of one record snapshot (every file at the root of its tree). */
export async function loadRecordFiles(repo: Repository, entry: SnapshotEntry, o?: CallOpts & { index?: MasterIndex }): Promise<LoadedRecord> {
  const index = o?.index ?? (await loadMasterIndex(repo, o));
  const tree = decodeTree(await loadBlob(repo, index, 'tree', entry.snapshot.tree, o), `tree ${entry.snapshot.tree.slice(0, 8)}`);
  const files = new Map<string, Uint8Array>();
  for (const node of tree.nodes) {
    if (node.type !== 'file') continue;
    const parts: Uint8Array[] = [];
    let total = 0;
    for (const id of node.content ?? []) {
      const blob = await loadBlob(repo, index, 'data', id, o);
      parts.push(blob);
      total += blob.length;
    }
    if (node.size !== undefined && total !== node.size) {
      throw new CofferError('corrupt', `record ${entry.id.slice(0, 8)}: ${utf8Decode(node.name)} has ${total} bytes, its tree says ${node.size}`);
    }
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of parts) {
      data.set(p, at);
      at += p.length;
    }
    files.set(utf8Decode(node.name), data);
  }
  return { id: entry.id, snapshot: entry.snapshot, files };
}

/** The newest record of `kind` with its files, or undefined when there is none. */
export async function readLatestRecord(repo: Repository, kind: RecordKind, o?: CallOpts & { index?: MasterIndex; entries?: readonly SnapshotEntry[] }): Promise<LoadedRecord | undefined> {
  const entry = await latestRecordEntry(repo, kind, o, o?.entries);
  return entry ? loadRecordFiles(repo, entry, o) : undefined;
}
