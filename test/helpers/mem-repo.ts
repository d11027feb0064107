/**
 * In-memory fixtures for repository and engine unit tests: a MemBackend repository with a cheap
 * KDF, a fake FileSource (a tree of dirs/files/symlinks with metadata, counting `open` calls and
 * able to fail on chosen paths), and a RestoreSink that records everything in memory.
 */
import * as path from 'node:path';
import { MemBackend } from '../../src/core/backend/mem.js';
import { compareBytes, concatBytes, utf8Decode, utf8Encode } from '../../src/core/bytes.js';
import type { FileSource, SourceError, SourceFile, SourceItem, SourceMeta } from '../../src/core/engine/backup/source.js';
import type { FileWriter, RelPath, RestoreSink } from '../../src/core/engine/restore/sink.js';
import { CofferError } from '../../src/core/errors.js';
import { fromUnixNanos } from '../../src/core/format/go-time.js';
import { MODE_DIR, MODE_SYMLINK } from '../../src/core/format/mode.js';
import type { GoTime, Id, TreeNode } from '../../src/core/format/types.js';
import { loadMasterIndex } from '../../src/core/repository/master-index.js';
import { initRepository, openRepository, type InitOptions } from '../../src/core/repository/open.js';
import type { Repository } from '../../src/core/repository/repository.js';
import type { Platform } from '../../src/core/platform.js';
import { nodePlatform } from '../../src/node/platform.js';

export const CHEAP_KDF = { N: 1024, r: 8, p: 1 } as const;
export const PASSWORD = 'correct horse';
export const OWNER = { username: 'tester', hostname: 'testhost' } as const;
export const LOCK_OWNER = { hostname: 'testhost', username: 'tester', pid: process.pid } as const;

let platformPromise: Promise<Platform> | undefined;
export function platform(): Promise<Platform> {
  return (platformPromise ??= nodePlatform());
}

export interface MemRepo {
  backend: MemBackend;
  repo: Repository;
  platform: Platform;
}

/** A new repository on a fresh MemBackend. */
export async function newMemRepo(opts: Partial<InitOptions> = {}): Promise<MemRepo> {
  const p = await platform();
  const backend = new MemBackend();
  const repo = await initRepository(backend, p, { password: PASSWORD, kdf: CHEAP_KDF, ...OWNER, ...opts });
  return { backend, repo, platform: p };
}

export async function reopen(m: MemRepo, opts: { packSize?: number } = {}): Promise<Repository> {
  return openRepository(m.backend, m.platform, { password: PASSWORD, ...opts });
}

/** Flips one byte inside a stored data blob (its first copy), so opening it fails its MAC. */
export async function damageBlob(m: MemRepo, blobId: Id): Promise<void> {
  const loc = (await loadMasterIndex(m.repo)).lookup('data', blobId)!;
  const h = { type: 'data' as const, name: loc.packId };
  const bytes = new Uint8Array(await m.backend.get(h));
  bytes[loc.offset + 20] ^= 0xff;
  m.backend.corrupt(h, bytes);
}

/** Deterministic pseudo-random bytes (xorshift), incompressible enough for pack-size tests. */
export function randomBytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

// ---- fake source ---------------------------------------------------------------------------

export const T0: GoTime = fromUnixNanos(1_700_000_000_123_456_789n, 0);

export function time(secOffset: number): GoTime {
  return fromUnixNanos(1_700_000_000_000_000_000n + BigInt(secOffset) * 1_000_000_000n, 0);
}

interface Common {
  meta?: Partial<SourceMeta>;
  /** stat/readDir report this entry as unreadable (CofferError 'source'). */
  statError?: boolean;
}
export interface FakeDir extends Common {
  type: 'dir';
  children: Record<string, FakeEntry>;
  /** readDir of this folder fails. */
  listError?: boolean;
}
export interface FakeFile extends Common {
  type: 'file';
  data: Uint8Array;
  /** open fails. */
  openError?: boolean;
  /** reading fails after this many bytes. */
  readErrorAfter?: number;
}
export interface FakeSymlink extends Common {
  type: 'symlink';
  target: string;
}
export type FakeEntry = FakeDir | FakeFile | FakeSymlink;

export const dir = (children: Record<string, FakeEntry>, extra: Partial<FakeDir> = {}): FakeDir => ({ type: 'dir', children, ...extra });
export const file = (data: Uint8Array | string, extra: Partial<FakeFile> = {}): FakeFile => ({
  type: 'file',
  data: typeof data === 'string' ? utf8Encode(data) : data,
  ...extra,
});
export const symlink = (target: string, extra: Partial<FakeSymlink> = {}): FakeSymlink => ({ type: 'symlink', target, ...extra });

function srcError(p: string, what: string): CofferError {
  return new CofferError('source', `${what} ${p}: permission denied (fake)`);
}

/**
 * A FileSource over a tree of FakeEntry objects. The root entry is "/". Relative targets are
 * resolved against `cwd`. Inodes are assigned per entry object (stable across runs), unless the
 * entry's meta gives one. `opens` counts `open` calls per absolute path.
 */
export class FakeSource implements FileSource {
  readonly opens = new Map<string, number>();
  private readonly inodes = new Map<FakeEntry, bigint>();
  private nextInode = 100n;

  constructor(
    public root: FakeDir,
    readonly cwd = '/',
  ) {}

  get totalOpens(): number {
    let n = 0;
    for (const v of this.opens.values()) n += v;
    return n;
  }

  absolute(p: string): string {
    return path.posix.resolve(this.cwd, p);
  }

  private find(abs: string): FakeEntry | undefined {
    let e: FakeEntry = this.root;
    for (const part of abs.split('/').filter(Boolean)) {
      if (e.type !== 'dir') return undefined;
      const next: FakeEntry | undefined = e.children[part];
      if (!next) return undefined;
      e = next;
    }
    return e;
  }

  private inodeOf(e: FakeEntry): bigint {
    let i = this.inodes.get(e);
    if (i === undefined) this.inodes.set(e, (i = this.nextInode++));
    return i;
  }

  private item(abs: string, e: FakeEntry): SourceItem {
    const name = utf8Encode(abs === '/' ? '' : path.posix.basename(abs));
    const base: SourceMeta = {
      name,
      type: e.type,
      mode: e.type === 'dir' ? (MODE_DIR | 0o755) >>> 0 : e.type === 'symlink' ? (MODE_SYMLINK | 0o777) >>> 0 : 0o644,
      mtime: T0,
      atime: T0,
      ctime: T0,
      uid: 1000,
      gid: 1000,
      user: 'tester',
      group: 'tester',
      inode: this.inodeOf(e),
      deviceId: 42n,
      links: e.type === 'dir' ? 2n : 1n,
      ...(e.type === 'file' ? { size: e.data.length } : {}),
      ...(e.type === 'symlink' ? { linktarget: e.target } : {}),
    };
    return { name, meta: { ...base, ...e.meta, name }, path: abs, rawPath: utf8Encode(abs) };
  }

  async stat(p: string): Promise<SourceItem> {
    const abs = this.absolute(p);
    const e = this.find(abs);
    if (!e) throw new CofferError('source', `lstat ${abs}: no such file (fake)`);
    if (e.statError) throw srcError(abs, 'lstat');
    return this.item(abs, e);
  }

  async readDir(d: SourceItem): Promise<{ items: SourceItem[]; errors: SourceError[] }> {
    const e = this.find(d.path);
    if (!e || e.type !== 'dir') throw new CofferError('source', `readdir ${d.path}: not a folder (fake)`);
    if (e.listError) throw srcError(d.path, 'readdir');
    const items: SourceItem[] = [];
    const errors: SourceError[] = [];
    const names = Object.keys(e.children).sort((a, b) => compareBytes(utf8Encode(a), utf8Encode(b)));
    for (const n of names) {
      const child = e.children[n]!;
      const abs = (d.path === '/' ? '' : d.path) + '/' + n;
      if (child.statError) errors.push({ path: abs, error: srcError(abs, 'lstat') });
      else items.push(this.item(abs, child));
    }
    return { items, errors };
  }

  async open(f: SourceItem): Promise<SourceFile> {
    this.opens.set(f.path, (this.opens.get(f.path) ?? 0) + 1);
    const e = this.find(f.path);
    if (!e || e.type !== 'file') throw new CofferError('source', `open ${f.path}: vanished (fake)`);
    if (e.openError) throw srcError(f.path, 'open');
    const data = e.data;
    let pos = 0;
    return {
      read: async (buf, offset, length) => {
        if (e.readErrorAfter !== undefined && pos >= e.readErrorAfter) throw srcError(f.path, 'read');
        let n = Math.min(length, data.length - pos);
        if (e.readErrorAfter !== undefined) n = Math.min(n, e.readErrorAfter - pos);
        buf.set(data.subarray(pos, pos + n), offset);
        pos += n;
        return n;
      },
      close: async () => undefined,
    };
  }
}

// ---- memory sink ---------------------------------------------------------------------------

export interface SinkEntry {
  type: string;
  node: TreeNode;
  data?: Uint8Array;
  linkTo?: string;
  metadataSet: number;
}

export function relKey(p: RelPath): string {
  return '/' + p.map((n) => utf8Decode(n)).join('/');
}

/** A RestoreSink keeping the restored tree in a map keyed by "/a/b" paths. */
export class MemSink implements RestoreSink {
  readonly entries = new Map<string, SinkEntry>();
  readonly abandoned: string[] = [];
  readonly hardlinks: { path: string; existing: string }[] = [];
  /** Order of setMetadata calls (to check folders come after their children). */
  readonly metadataOrder: string[] = [];

  async mkdir(p: RelPath, node: TreeNode): Promise<void> {
    this.entries.set(relKey(p), { type: 'dir', node, metadataSet: 0 });
  }

  async createFile(p: RelPath, node: TreeNode): Promise<FileWriter> {
    const key = relKey(p);
    const parts = new Map<number, Uint8Array>();
    const entry: SinkEntry = { type: 'file', node, metadataSet: 0 };
    this.entries.set(key, entry);
    return {
      write: async (offset, data) => {
        parts.set(offset, new Uint8Array(data));
      },
      close: async () => {
        const sorted = [...parts.entries()].sort((a, b) => a[0] - b[0]);
        let o = 0;
        for (const [off, d] of sorted) {
          if (off !== o) throw new Error(`gap in ${key} at ${o}`);
          o += d.length;
        }
        entry.data = concatBytes(...sorted.map((x) => x[1]));
      },
      abandon: async () => {
        this.entries.delete(key);
        this.abandoned.push(key);
        return undefined;
      },
    };
  }

  async createSpecial(p: RelPath, node: TreeNode): Promise<void> {
    this.entries.set(relKey(p), { type: node.type, node, metadataSet: 0 });
  }

  async hardlink(p: RelPath, existing: RelPath): Promise<void> {
    const key = relKey(p);
    const ex = relKey(existing);
    const target = this.entries.get(ex);
    if (!target) throw new Error(`hardlink ${key}: ${ex} does not exist`);
    this.hardlinks.push({ path: key, existing: ex });
    this.entries.set(key, { ...target, linkTo: ex });
  }

  async setMetadata(p: RelPath, _node: TreeNode): Promise<void> {
    const key = relKey(p);
    this.metadataOrder.push(key);
    const e = this.entries.get(key);
    if (e) e.metadataSet++;
  }

  async *readFile(p: RelPath): AsyncIterable<Uint8Array> {
    const d = this.entries.get(relKey(p))?.data ?? new Uint8Array();
    // Uneven pieces, to exercise the verifier's re-assembly.
    for (let o = 0; o < d.length; o += 777) yield d.subarray(o, Math.min(d.length, o + 777));
  }
}

/** Flattens a fake tree below `prefix` into "/a/b" -> description, to compare with a MemSink. */
export function describeFake(e: FakeEntry, prefix = ''): Map<string, { type: string; data?: string; target?: string }> {
  const out = new Map<string, { type: string; data?: string; target?: string }>();
  const walk = (x: FakeEntry, p: string) => {
    if (p !== '') {
      if (x.type === 'file') out.set(p, { type: 'file', data: Buffer.from(x.data).toString('hex') });
      else if (x.type === 'symlink') out.set(p, { type: 'symlink', target: x.target });
      else out.set(p, { type: 'dir' });
    }
    if (x.type === 'dir') for (const [n, c] of Object.entries(x.children)) walk(c, p + '/' + n);
  };
  walk(e, prefix);
  return out;
}

export function describeSink(s: MemSink): Map<string, { type: string; data?: string; target?: string }> {
  const out = new Map<string, { type: string; data?: string; target?: string }>();
  for (const [k, e] of s.entries) {
    if (e.type === 'file') out.set(k, { type: 'file', data: Buffer.from(e.data ?? new Uint8Array()).toString('hex') });
    else if (e.type === 'symlink') out.set(k, { type: 'symlink', target: e.node.linktarget ?? '' });
    else out.set(k, { type: e.type });
  }
  return out;
}
