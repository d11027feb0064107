/**
 * @module node/fs-restore
 * File system primitives of a restore on Node: folders, file content written at offsets as blobs
 * arrive (any order) under `<name>.coffer-partial` and renamed when complete, symlinks with raw target bytes, hard links, fifos and devices (through the
 * `mkfifo`/`mknod` tools: Node has no such calls), then metadata in restic's order (ownership,
 * then attributes, then mode, then times: chown clears setuid bits and a 0400 mode would forbid
 * setting user.* attributes). Folders get their metadata after their children (the caller's
 * walk decides when). All paths are Buffers so names need not be UTF-8.
 *
 * Times: Node's utimes takes seconds as a double and libuv cuts them to whole microseconds, so
 * restored times are exact to the microsecond (restic sets nanoseconds).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { GoTime, TreeNode } from '../core/format/types.js';
import { posixFromGoMode } from '../core/format/mode.js';
import { utf8Encode } from '../core/bytes.js';
import { CofferError } from '../core/errors.js';
import type { FileWriter, HandOverOutcome } from '../core/engine/restore/sink.js';
import { writeDirXattrs, xattrSupport } from './xattr.js';
import { withDirCwd } from './cwd.js';

/** Joins raw path components with '/'. */
export function joinBytes(...parts: readonly Uint8Array[]): Buffer {
  let n = parts.length > 0 ? parts.length - 1 : 0;
  for (const p of parts) n += p.length;
  const out = Buffer.allocUnsafe(n);
  let o = 0;
  parts.forEach((p, i) => {
    if (i > 0) out[o++] = 0x2f;
    out.set(p, o);
    o += p.length;
  });
  return out;
}

function splitParent(path: Buffer): { dir: Buffer; base: Buffer } {
  const i = path.lastIndexOf(0x2f);
  if (i < 0) return { dir: Buffer.from('.'), base: path };
  return { dir: i === 0 ? Buffer.from('/') : path.subarray(0, i), base: path.subarray(i + 1) };
}

/** Creates a folder (0700 until its metadata is applied, as restic); an existing folder is fine. */
export async function restoreDir(path: Buffer): Promise<void> {
  try {
    // The usual case (parent there, name free) synchronously: one mkdir, no trip through the
    // thread pool (a restore makes thousands); anything else as before.
    fs.mkdirSync(path, 0o700);
    return;
  } catch {
    // below
  }
  try {
    await fsp.mkdir(path, { mode: 0o700, recursive: true });
  } catch (e) {
    throw wrap(e, path, 'create folder');
  }
}

/** Writes up to this size are made synchronously. */
const SYNC_WRITE_MAX = 256 * 1024;

/** What a file's content is written under until it is complete (and left under if it never is). */
export const PARTIAL_SUFFIX = '.coffer-partial';

/**
 * Shared by the files of one restore: the real names completed so far (latin1 keys of the raw
 * paths), and whether any entry of the snapshot has a name ending in PARTIAL_SUFFIX, the only
 * way one file's partial name can be taken by another (set before such an entry is created).
 */
export interface PartialNames {
  /** Only names ending in PARTIAL_SUFFIX are kept: no other name can be a partial name. */
  readonly restored: Set<string>;
  clashPossible: boolean;
}

const SUFFIX_BYTES = Buffer.from(PARTIAL_SUFFIX);

/** Records a real name this restore completed, if it could be taken for a partial one. */
export function noteRestored(names: PartialNames, path: Buffer): void {
  if (path.length >= SUFFIX_BYTES.length && path.subarray(path.length - SUFFIX_BYTES.length).equals(SUFFIX_BYTES)) names.restored.add(path.toString('latin1'));
}

/** `<name>.coffer-partial`; a name too long for the suffix is cut so the result fits in 255 bytes. */
export function partialPath(path: Buffer): Buffer {
  const { dir, base } = splitParent(path);
  const room = 255 - PARTIAL_SUFFIX.length;
  const name = Buffer.concat([base.length > room ? base.subarray(0, room) : base, Buffer.from(PARTIAL_SUFFIX)]);
  return path.lastIndexOf(0x2f) < 0 ? name : joinBytes(dir, name);
}

/** partialPath on a raw path held as a latin1 string (one character per byte), as blob workers get it. */
export function partialName(path: string): string {
  const i = path.lastIndexOf('/');
  const room = 255 - PARTIAL_SUFFIX.length;
  const base = path.length - i - 1 > room ? path.slice(i + 1, i + 1 + room) : path.slice(i + 1);
  return path.slice(0, i + 1) + base + PARTIAL_SUFFIX;
}

const CREATE_FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;

/**
 * In a blob worker: creates a partial file (latin1 raw path) as RestoreFile.create does, a
 * leftover of an earlier run replaced (asked only when no file of the snapshot can have that
 * name: FsRestoreSink.handOverFile). -1 when it cannot: the restorer then creates it itself and
 * reports why.
 */
export function createPartialSync(partial: string): number {
  const p = Buffer.from(partial, 'latin1');
  try {
    return fs.openSync(p, CREATE_FLAGS, 0o600);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') return -1;
  }
  try {
    fs.rmSync(p, { force: true });
    return fs.openSync(p, CREATE_FLAGS, 0o600);
  } catch {
    return -1;
  }
}

/**
 * A file being restored: positional writes on one plain descriptor (no FileHandle objects).
 * The content goes to `<name>.coffer-partial` and is renamed to its real name only when
 * complete, so a file under its real name is always whole, even after a crash or kill -9; an
 * abandoned file stays under the partial name (the caller lists it). The rename also replaces
 * whatever was at the real name without following or truncating it (a symlink, a hard link).
 * open, close and rename are synchronous (metadata operations of microseconds; see applyMetadata).
 */
export class RestoreFile implements FileWriter {
  private constructor(
    private readonly path: Buffer,
    private readonly partial: Buffer,
    private fd: number | undefined,
    private readonly names: PartialNames | undefined,
    private readonly completion: RestoreFileCompletion | undefined,
    /** Created by a blob worker whose answer was lost: may exist under the partial name, no descriptor here. */
    private readonly lost = false,
  ) {}

  /**
   * A file a blob worker created (FsRestoreSink.adoptFile): its descriptor, now this writer's, or
   * undefined when the worker's answer was lost (the writer can only abandon it).
   */
  static adopt(path: Buffer, partial: Buffer, fd: number | undefined, names: PartialNames | undefined): RestoreFile {
    return new RestoreFile(path, partial, fd, names, undefined, fd === undefined);
  }

  /**
   * Creates `<path>.coffer-partial`, mode 0600 until metadata is applied. One left by an earlier
   * run is replaced, unless `names` says this restore put a real file of that very name there
   * (a snapshot may hold one), which must not be removed.
   */
  static async create(path: Buffer, names?: PartialNames, completion?: RestoreFileCompletion): Promise<RestoreFile> {
    const partial = partialPath(path);
    const flags = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL;
    try {
      return new RestoreFile(path, partial, fs.openSync(partial, flags, 0o600), names, completion);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw wrap(e, path, 'create file');
    }
    if (names?.restored.has(partial.toString('latin1'))) throw nameClash(path, partial);
    try {
      await fsp.rm(partial, { force: true }).catch(() => undefined);
      return new RestoreFile(path, partial, await fdOpen(partial, flags, 0o600), names, completion);
    } catch (e) {
      throw wrap(e, path, 'create file');
    }
  }

  /** Whether the partial name still holds this file (another file of the snapshot may have taken it). */
  private ownsPartial(fd: number): boolean {
    try {
      const mine = fs.fstatSync(fd);
      const there = fs.lstatSync(this.partial);
      return mine.ino === there.ino && mine.dev === there.dev;
    } catch {
      return false;
    }
  }

  /** The open descriptor (blob workers write to it directly; the restorer closes it only when no write is in flight). */
  descriptor(): number | undefined {
    return this.fd;
  }

  /**
   * Lets a blob worker complete the file (completeHandedOver): only when no other file of the
   * snapshot can take the partial name (no ownership check needed) and the metadata needs no
   * extended attributes (applied through a tool, on the main thread).
   */
  handOver(): HandOverSpec | undefined {
    const c = this.completion;
    if (this.fd === undefined || !c || !this.names || this.names.clashPossible) return undefined;
    if (c.node.type !== 'file' || (c.node.extendedAttributes && c.node.extendedAttributes.length > 0)) return undefined;
    return { partial: this.partial.toString('latin1'), path: this.path.toString('latin1'), meta: plainMetadata(c.node) };
  }

  /** The worker's outcome: closed either way; on success the real name is taken and the metadata set. */
  handedOver(outcome: HandOverOutcome): void {
    this.fd = undefined;
    noteHandedOver(this.path, outcome, this.names, this.completion?.warnings);
  }

  async write(offset: number, data: Uint8Array): Promise<void> {
    const fd = this.fd;
    if (fd === undefined) throw new CofferError('internal', `${show(this.path)}: write after close`);
    let done = 0;
    try {
      // Small writes synchronously (cheaper than a trip through the thread pool); big ones in
      // the pool, so copying them into the page cache overlaps with decrypting the next blobs.
      if (data.length <= SYNC_WRITE_MAX) while (done < data.length) done += fs.writeSync(fd, data, done, data.length - done, offset + done);
      while (done < data.length) done += await fdWrite(fd, data, done, data.length - done, offset + done);
    } catch (e) {
      throw wrap(e, this.path, 'write');
    }
  }

  /** Content complete: close and give the file its real name. */
  async close(): Promise<void> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return;
    try {
      // Never rename someone else's bytes to this file's real name (checked only when a name
      // like ours was seen: two stat calls per file otherwise).
      const owned = this.names && !this.names.clashPossible ? true : this.ownsPartial(fd);
      fs.closeSync(fd);
      if (!owned) throw nameClash(this.path, this.partial);
      fs.renameSync(this.partial, this.path);
      if (this.names) noteRestored(this.names, this.path);
    } catch (e) {
      throw wrap(e, this.path, 'close');
    }
  }

  /** Incomplete content: close and keep it under the partial name, which is returned (undefined if that name is not this file's any more). */
  async abandon(): Promise<string | undefined> {
    const fd = this.fd;
    this.fd = undefined;
    if (fd === undefined) return this.lost && fs.existsSync(this.partial) ? show(this.partial) : undefined;
    const owned = this.names && !this.names.clashPossible ? true : this.ownsPartial(fd);
    await fdClose(fd).catch(() => undefined);
    return owned ? show(this.partial) : undefined;
  }
}

/** What RestoreFile.handOver needs to know: the node (metadata) and where metadata warnings go. */
export interface RestoreFileCompletion {
  readonly node: TreeNode;
  readonly warnings: string[];
}

/**
 * A file a blob worker completes: its partial and real names and its metadata. The names are raw
 * bytes as latin1 strings: a string is cloned by value, while a Buffer view of Node's shared pool
 * would carry its whole 8 KiB slab across threads.
 */
export interface HandOverSpec {
  readonly partial: string;
  readonly path: string;
  readonly meta: PlainMetadata;
}

/** A file a blob worker completed (RestoreFile.handedOver, FsRestoreSink.handedOverFile): its error thrown as close() would throw it, or its real name noted and its metadata warnings kept. */
export function noteHandedOver(path: Buffer, outcome: HandOverOutcome, names: PartialNames | undefined, warnings: string[] | undefined): void {
  if (!outcome.done) throw wrap(Object.assign(new Error(outcome.error), outcome.code ? { code: outcome.code } : {}), path, 'close');
  if (names) noteRestored(names, path);
  if (outcome.warnings.length > 0) warnings?.push(...outcome.warnings);
}

/**
 * In a blob worker, after the last blob of the file is written to `fd`: ownership, mode and times
 * on the open descriptor (restic's order; no extended attributes: such files are not handed
 * over), then close and rename to the real name. Through the descriptor, not the path: three
 * path lookups less per file, and the times survive the close and the rename unchanged.
 */
export function completeHandedOver(fd: number, spec: HandOverSpec): HandOverOutcome {
  const path = Buffer.from(spec.path, 'latin1');
  const warnings = applyPlainMetadataFd(fd, path, spec.meta);
  try {
    fs.closeSync(fd);
    fs.renameSync(Buffer.from(spec.partial, 'latin1'), path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { done: false, error: (e as Error).message, ...(code ? { code } : {}) };
  }
  return { done: true, warnings };
}

function nameClash(path: Buffer, partial: Buffer): CofferError {
  return new CofferError(
    'already-exists',
    `${show(path)}: cannot restore it through ${show(partial)}: the snapshot has another file of that name (restore that one separately with --exclude '*${PARTIAL_SUFFIX}')`,
  );
}

function fdOpen(path: Buffer, flags: number, mode: number): Promise<number> {
  return new Promise((resolve, reject) => fs.open(path, flags, mode, (err, fd) => (err ? reject(err) : resolve(fd))));
}

function fdWrite(fd: number, data: Uint8Array, off: number, len: number, pos: number): Promise<number> {
  return new Promise((resolve, reject) => fs.write(fd, data, off, len, pos, (err, n) => (err ? reject(err) : resolve(n))));
}

function fdClose(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fs.close(fd, (err) => (err ? reject(err) : resolve())));
}

/** The raw target of a symlink node (`linktarget_raw` wins, as restic 0.16+). */
export function linkTargetBytes(node: TreeNode): Buffer {
  if (node.linktargetRaw) return Buffer.from(node.linktargetRaw);
  return Buffer.from(utf8Encode(node.linktarget ?? ''));
}

export async function restoreSymlink(path: Buffer, node: TreeNode): Promise<void> {
  try {
    await fsp.symlink(linkTargetBytes(node), path);
  } catch (e) {
    throw wrap(e, path, 'create symlink');
  }
}

export async function restoreHardlink(path: Buffer, existing: Buffer): Promise<void> {
  try {
    await fsp.link(existing, path);
  } catch (e) {
    throw wrap(e, path, 'create hard link');
  }
}

/** Linux/glibc dev_t split (spec §12.5). */
export function devMajorMinor(dev: bigint): { major: bigint; minor: bigint } {
  // glibc's masks are 32-bit; BigInt's ~ would keep every higher bit
  const major = ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & 0xfffff000n);
  const minor = (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n);
  return { major, minor };
}

/** A fifo (`mkfifo`) or a block/char device (`mknod`, root only), created under a temporary ASCII name and renamed (tools take only text names). */
export async function restoreSpecialFile(path: Buffer, node: TreeNode): Promise<void> {
  const { dir } = splitParent(path);
  const tmpName = `.coffer-special-${randomBytes(6).toString('hex')}`;
  const tmp = Buffer.concat([dir, Buffer.from('/' + tmpName)]);
  let cmd: string;
  let args: string[];
  if (node.type === 'fifo') [cmd, args] = ['mkfifo', ['-m', '600', '--', tmpName]];
  else if (node.type === 'dev' || node.type === 'chardev') {
    const { major, minor } = devMajorMinor(node.device ?? 0n);
    [cmd, args] = ['mknod', ['-m', '600', '--', tmpName, node.type === 'dev' ? 'b' : 'c', String(major), String(minor)]];
  } else throw new CofferError('unsupported', `${show(path)}: cannot create a ${node.type}`);
  try {
    await withDirCwd(dir, (cwd) => runTool(cmd, args, cwd));
    await fsp.rename(tmp, path);
  } catch (e) {
    await fsp.unlink(tmp).catch(() => undefined);
    throw wrap(e, path, `create ${node.type}`);
  }
}

/** Seconds as the double utimes takes, aimed at the middle of the target microsecond so float error cannot drop it to the one before. */
export function utimesSeconds(t: GoTime): number {
  const us = Math.floor(t.nsec / 1000);
  return t.sec + (us * 1000 + 500) / 1e9;
}

let euidIsRoot: boolean | undefined;
/** Cached: a restore asks once per file. */
function isRoot(): boolean {
  return (euidIsRoot ??= process.geteuid?.() === 0);
}

export interface MetadataOptions {
  /** lchown to the node's uid/gid; default: when running as root (restic ignores EPERM otherwise). */
  readonly chown?: boolean;
  /** Restore extended attributes (via setfattr); default true. */
  readonly xattrs?: boolean;
}

/**
 * The metadata of one entry as plain numbers (structured-clonable: a blob worker applies it to the
 * files it completes). `chown` is set when ownership is to be restored; `mode` is absent for a
 * symlink (its mode cannot be set on Linux).
 */
export interface PlainMetadata {
  readonly chown: { readonly uid: number; readonly gid: number; readonly asRoot: boolean } | undefined;
  readonly mode: number | undefined;
  readonly symlink: boolean;
  readonly atime: number;
  readonly mtime: number;
}

export function plainMetadata(node: TreeNode, opts: MetadataOptions = {}): PlainMetadata {
  const asRoot = isRoot();
  const symlink = node.type === 'symlink';
  // One object shape for every entry (no spreads: this runs once per restored file).
  return {
    chown: (opts.chown ?? asRoot) ? { uid: node.uid, gid: node.gid, asRoot } : undefined,
    mode: symlink ? undefined : posixFromGoMode(node.mode ?? 0, node.type) & 0o7777,
    symlink,
    atime: utimesSeconds(node.atime),
    mtime: utimesSeconds(node.mtime),
  };
}

function applyOwnership(path: Buffer, m: PlainMetadata, warnings: string[]): void {
  if (!m.chown) return;
  try {
    fs.lchownSync(path, m.chown.uid, m.chown.gid);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (m.chown.asRoot || (code !== 'EPERM' && code !== 'EACCES')) warnings.push(`${show(path)}: lchown: ${(e as Error).message}`);
  }
}

function applyModeAndTimes(path: Buffer, m: PlainMetadata, warnings: string[]): void {
  if (m.mode !== undefined) {
    try {
      fs.chmodSync(path, m.mode);
    } catch (e) {
      warnings.push(`${show(path)}: chmod: ${(e as Error).message}`);
    }
  }
  try {
    if (m.symlink) fs.lutimesSync(path, m.atime, m.mtime);
    else fs.utimesSync(path, m.atime, m.mtime);
  } catch (e) {
    warnings.push(`${show(path)}: set times: ${(e as Error).message}`);
  }
}

/** applyPlainMetadata on an open regular file's descriptor (`path` names it in warnings), with the same warnings. */
export function applyPlainMetadataFd(fd: number, path: Buffer, m: PlainMetadata): string[] {
  const warnings: string[] = [];
  if (m.chown) {
    try {
      fs.fchownSync(fd, m.chown.uid, m.chown.gid);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (m.chown.asRoot || (code !== 'EPERM' && code !== 'EACCES')) warnings.push(`${show(path)}: lchown: ${(e as Error).message}`);
    }
  }
  if (m.mode !== undefined) {
    try {
      fs.fchmodSync(fd, m.mode);
    } catch (e) {
      warnings.push(`${show(path)}: chmod: ${(e as Error).message}`);
    }
  }
  try {
    fs.futimesSync(fd, m.atime, m.mtime);
  } catch (e) {
    warnings.push(`${show(path)}: set times: ${(e as Error).message}`);
  }
  return warnings;
}

/** Ownership, mode and times (no extended attributes), synchronously; returns the warnings. */
export function applyPlainMetadata(path: Buffer, m: PlainMetadata): string[] {
  const warnings: string[] = [];
  applyOwnership(path, m, warnings);
  applyModeAndTimes(path, m, warnings);
  return warnings;
}

/**
 * Applies ownership, attributes, mode and times to a restored entry. The calls are synchronous:
 * each is a few microseconds of metadata work in the kernel, while a promise through libuv's
 * thread pool costs the main thread several times that (and garbage), and a restore of many
 * small files makes them by the hundred thousand (docs/performance.md). Call after its content and,
 * for a folder, after all its children. Returns warnings for what could not be applied (restic
 * reports those and carries on).
 */
export async function applyMetadata(path: Buffer, node: TreeNode, opts: MetadataOptions = {}): Promise<string[]> {
  const warnings: string[] = [];
  const m = plainMetadata(node, opts);
  applyOwnership(path, m, warnings);
  if ((opts.xattrs ?? true) && node.extendedAttributes && node.extendedAttributes.length > 0) {
    if (!xattrSupport()) warnings.push(`${show(path)}: extended attributes not restored (getfattr/setfattr not installed)`);
    else {
      const { dir, base } = splitParent(path);
      try {
        await writeDirXattrs(dir, [{ name: base, attrs: node.extendedAttributes }]);
      } catch (e) {
        warnings.push(`${show(path)}: extended attributes: ${(e as Error).message}`);
      }
    }
  }
  applyModeAndTimes(path, m, warnings);
  return warnings;
}

function show(path: Buffer): string {
  return path.toString('utf8');
}

function wrap(e: unknown, path: Buffer, what: string): CofferError {
  if (e instanceof CofferError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  const msg = `${what} ${show(path)}: ${(e as Error).message}`;
  if (code === 'ENOSPC' || code === 'EDQUOT') return new CofferError('no-space', `${what} ${show(path)}: the disk is full`, { cause: e });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new CofferError('permission', msg, { cause: e });
  if (code === 'ENOENT') return new CofferError('not-found', msg, { cause: e });
  if (code === 'EEXIST') return new CofferError('already-exists', msg, { cause: e });
  return new CofferError('internal', msg, { cause: e });
}


function runTool(cmd: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
    const err: Buffer[] = [];
    child.stderr!.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else {
        const text = Buffer.concat(err).toString().trim();
        reject(Object.assign(new Error(`${cmd}: ${text}`), /Operation not permitted/.test(text) ? { code: 'EPERM' } : {}));
      }
    });
  });
}
