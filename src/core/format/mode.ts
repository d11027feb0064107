/**
 * @module format/mode
 * Node `mode` values (spec §12.4): Go `os.FileMode` bits, not POSIX `st_mode`.
 *
 *   bit 31 ModeDir  27 ModeSymlink  26 ModeDevice  25 ModeNamedPipe  24 ModeSocket
 *   bit 23 ModeSetuid  22 ModeSetgid  21 ModeCharDevice  20 ModeSticky  19 ModeIrregular
 *   bits 0-8 permissions (0o777)
 *
 * Stored mode = FileMode & (ModePerm | ModeType | ModeSetuid | ModeSetgid | ModeSticky).
 * Bit 31 does not fit JS's signed 32-bit operators, so results are normalised with `>>> 0`.
 */
import type { NodeType } from './types.js';

export const MODE_DIR = 0x80000000;
export const MODE_APPEND = 0x40000000;
export const MODE_EXCLUSIVE = 0x20000000;
export const MODE_TEMPORARY = 0x10000000;
export const MODE_SYMLINK = 0x08000000;
export const MODE_DEVICE = 0x04000000;
export const MODE_NAMED_PIPE = 0x02000000;
export const MODE_SOCKET = 0x01000000;
export const MODE_SETUID = 0x00800000;
export const MODE_SETGID = 0x00400000;
export const MODE_CHAR_DEVICE = 0x00200000;
export const MODE_STICKY = 0x00100000;
export const MODE_IRREGULAR = 0x00080000;
export const MODE_PERM = 0o777;
export const MODE_TYPE =
  (MODE_DIR | MODE_SYMLINK | MODE_NAMED_PIPE | MODE_SOCKET | MODE_DEVICE | MODE_CHAR_DEVICE | MODE_IRREGULAR) >>> 0;
/** Bits restic keeps in a node's `mode`. */
export const MODE_STORED_MASK = (MODE_PERM | MODE_TYPE | MODE_SETUID | MODE_SETGID | MODE_STICKY) >>> 0;

// POSIX st_mode
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;
export const S_ISVTX = 0o1000;

/** Go FileMode (as restic stores it) for a POSIX `st_mode` (Go's os.fillFileStatFromSys). */
export function goModeFromPosix(stMode: number): number {
  let m = stMode & MODE_PERM;
  switch (stMode & S_IFMT) {
    case S_IFBLK: m |= MODE_DEVICE; break;
    case S_IFCHR: m |= MODE_DEVICE | MODE_CHAR_DEVICE; break;
    case S_IFDIR: m |= MODE_DIR; break;
    case S_IFIFO: m |= MODE_NAMED_PIPE; break;
    case S_IFLNK: m |= MODE_SYMLINK; break;
    case S_IFSOCK: m |= MODE_SOCKET; break;
  }
  if (stMode & S_ISUID) m |= MODE_SETUID;
  if (stMode & S_ISGID) m |= MODE_SETGID;
  if (stMode & S_ISVTX) m |= MODE_STICKY;
  return m >>> 0;
}

const POSIX_TYPE: Readonly<Record<NodeType, number>> = {
  file: S_IFREG,
  dir: S_IFDIR,
  symlink: S_IFLNK,
  dev: S_IFBLK,
  chardev: S_IFCHR,
  fifo: S_IFIFO,
  socket: S_IFSOCK,
  irregular: 0,
};

/** The node type a Go mode's type bits describe ('file' when none are set). */
export function nodeTypeFromGoMode(mode: number): NodeType {
  if (mode & MODE_DIR) return 'dir';
  if (mode & MODE_SYMLINK) return 'symlink';
  if (mode & MODE_DEVICE) return mode & MODE_CHAR_DEVICE ? 'chardev' : 'dev';
  if (mode & MODE_NAMED_PIPE) return 'fifo';
  if (mode & MODE_SOCKET) return 'socket';
  if (mode & MODE_IRREGULAR) return 'irregular';
  return 'file';
}

/**
 * POSIX `st_mode` for a node. The file type comes from `type` when given (old trees store
 * directories without ModeDir), else from the mode's type bits; `irregular` has no POSIX type.
 */
export function posixFromGoMode(mode: number, type?: NodeType): number {
  let m = POSIX_TYPE[type ?? nodeTypeFromGoMode(mode)] | (mode & MODE_PERM);
  if (mode & MODE_SETUID) m |= S_ISUID;
  if (mode & MODE_SETGID) m |= S_ISGID;
  if (mode & MODE_STICKY) m |= S_ISVTX;
  return m;
}

/** Go FileMode type bits a node of `type` carries (restic on Linux, §12.2). */
export function goModeTypeBits(type: NodeType): number {
  switch (type) {
    case 'dir': return MODE_DIR;
    case 'symlink': return MODE_SYMLINK;
    case 'dev': return MODE_DEVICE;
    case 'chardev': return (MODE_DEVICE | MODE_CHAR_DEVICE) >>> 0;
    case 'fifo': return MODE_NAMED_PIPE;
    case 'socket': return MODE_SOCKET;
    case 'irregular': return MODE_IRREGULAR;
    default: return 0;
  }
}
