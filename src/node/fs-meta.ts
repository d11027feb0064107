/**
 * @module node/fs-meta
 * Builds a tree node's metadata from an lstat result exactly as restic 0.14 does on Linux
 * (spec §12.2, restic's NodeFromFileInfo + the archiver's atime rule): Go mode bits, times with
 * nanoseconds in the host's local zone, atime := mtime unless asked otherwise, owner names from
 * /etc/passwd and /etc/group, inode and device_id for every node, size for files, links for
 * file/symlink/dev/chardev, rdev for devices, the link target (plus raw bytes when not UTF-8).
 * Also lists directories as raw byte names in tree order.
 */
import * as fsp from 'node:fs/promises';
import type { BigIntStats } from 'node:fs';
import type { ExtendedAttribute, GoTime, NodeType, TreeNode } from '../core/format/types.js';
import { goModeFromPosix, MODE_STORED_MASK, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../core/format/mode.js';
import { fromUnixNanos, localOffsetSec } from '../core/format/go-time.js';
import { utf8DecodeStrict } from '../core/bytes.js';
import { goStringFromBytes } from '../core/format/json.js';
import { systemUsers, type UserDb } from './users.js';

export type NodeMeta = Omit<TreeNode, 'content' | 'subtree'>;

export interface MetaOptions {
  /** Store the real atime (restic `--with-atime`); default: atime := mtime. */
  readonly withAtime?: boolean;
  /** Name lookups; default the cached system files. */
  readonly users?: UserDb;
  /** Attributes already read for this entry (see xattr.ts: one read per directory). */
  readonly xattrs?: readonly ExtendedAttribute[];
  /** Zone offset for a time; default the host's local zone at that instant (as Go's time.Local). */
  readonly offsetOf?: (epochMs: number) => number;
}

/** The restic node type of a POSIX st_mode (unknown file types are 'irregular'). */
export function nodeTypeOf(stMode: number): NodeType {
  switch (stMode & S_IFMT) {
    case S_IFREG: return 'file';
    case S_IFDIR: return 'dir';
    case S_IFLNK: return 'symlink';
    case S_IFBLK: return 'dev';
    case S_IFCHR: return 'chardev';
    case S_IFIFO: return 'fifo';
    case S_IFSOCK: return 'socket';
    default: return 'irregular';
  }
}

/** A stat time (ns since the epoch) as restic writes it: local zone of this host. */
export function goTimeFromNs(ns: bigint, offsetOf: (epochMs: number) => number = (ms) => localOffsetSec(new Date(ms))): GoTime {
  return fromUnixNanos(ns, offsetOf(Number(ns / 1_000_000n)));
}

/**
 * Node metadata from an lstat result (no I/O but the cached name lookups). `linkTarget` is the
 * raw readlink result for symlinks.
 */
export function metaFromStat(name: Uint8Array, st: BigIntStats, opts: MetaOptions & { linkTarget?: Uint8Array } = {}): NodeMeta {
  const stMode = Number(st.mode);
  const type = nodeTypeOf(stMode);
  const users = opts.users ?? systemUsers();
  const uid = Number(st.uid);
  const gid = Number(st.gid);
  const mtime = goTimeFromNs(st.mtimeNs, opts.offsetOf);
  const mode = goModeFromPosix(stMode) & MODE_STORED_MASK;
  const user = users.userName(uid);
  const group = users.groupName(gid);
  const node: { -readonly [K in keyof NodeMeta]: NodeMeta[K] } = {
    name,
    type,
    ...(mode !== 0 ? { mode: mode >>> 0 } : {}),
    mtime,
    atime: opts.withAtime ? goTimeFromNs(st.atimeNs, opts.offsetOf) : mtime,
    ctime: goTimeFromNs(st.ctimeNs, opts.offsetOf),
    uid,
    gid,
    ...(user ? { user } : {}),
    ...(group ? { group } : {}),
    ...(st.ino !== 0n ? { inode: st.ino } : {}),
    ...(st.dev !== 0n ? { deviceId: st.dev } : {}),
  };
  if (type === 'file' && st.size !== 0n) node.size = Number(st.size);
  if ((type === 'file' || type === 'symlink' || type === 'dev' || type === 'chardev') && st.nlink !== 0n) node.links = st.nlink;
  if (type === 'symlink' && opts.linkTarget) {
    // A Go string: invalid bytes kept as marks the tree encoder writes as `\ufffd`, exactly as Go.
    node.linktarget = goStringFromBytes(opts.linkTarget);
    if (utf8DecodeStrict(opts.linkTarget) === undefined) node.linktargetRaw = opts.linkTarget;
  }
  if ((type === 'dev' || type === 'chardev') && st.rdev !== 0n) node.device = st.rdev;
  // restic 0.14 records no attributes for symlinks (verified against the real binary).
  if (type !== 'symlink' && opts.xattrs && opts.xattrs.length > 0) node.extendedAttributes = opts.xattrs;
  return node;
}

/** Like metaFromStat, reading the link target of a symlink itself. */
export async function nodeFromStat(name: Uint8Array, path: Buffer | string, st: BigIntStats, opts: MetaOptions = {}): Promise<NodeMeta> {
  let linkTarget: Uint8Array | undefined;
  if ((Number(st.mode) & S_IFMT) === S_IFLNK) linkTarget = new Uint8Array(await fsp.readlink(path, { encoding: 'buffer' }));
  return metaFromStat(name, st, { ...opts, ...(linkTarget ? { linkTarget } : {}) });
}

/** lstat with nanosecond times (bigint), the form nodeFromStat takes. */
export function lstatBig(path: Buffer | string): Promise<BigIntStats> {
  return fsp.lstat(path, { bigint: true });
}

/** Entry names of a directory as raw bytes, sorted bytewise (restic's tree order). */
export async function readdirBytes(path: Buffer | string): Promise<Buffer[]> {
  const names = await fsp.readdir(path, { encoding: 'buffer' });
  return names.sort(Buffer.compare);
}
