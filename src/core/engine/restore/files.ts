/**
 * @module engine/restore/files
 * The regular files of a restore as compact records (columns of numbers, the name as a short
 * string, content as indexes into one table of the restore's distinct data blobs), from which
 * each file's TreeNode is rebuilt, equal to the decoded one, only while a sink needs it.
 *
 * Why: the restorer keeps every file from the walk to its completion. As decoded nodes (name
 * bytes, three time objects, bigints, content ID strings sliced from the tree text, which keeps
 * each whole tree text alive) 69k files were ~120 MiB of the main thread's heap for the whole
 * restore; as these records they are ~15 MiB. A node with anything the columns do not hold
 * (extended attributes, generic attributes, huge numbers, ...) is kept whole instead.
 */
import { utf8Decode } from '../../bytes.js';
import type { GoTime, Id, TreeNode } from '../../format/types.js';
import type { BlobLocation, MasterIndex } from '../../repository/master-index.js';
import type { RelPath } from './sink.js';

/** A copy of `s` that shares no memory with a larger string it was sliced from (V8 keeps the parent of a slice alive). */
export function detachString(s: string): string {
  return (' ' + s).slice(1);
}

/** A node of a folder or special file with its strings detached from the tree text. */
export function detachNode(n: TreeNode): TreeNode {
  const out: { -readonly [K in keyof TreeNode]: TreeNode[K] } = { ...n };
  if (n.subtree !== undefined) out.subtree = detachString(n.subtree);
  if (n.user !== undefined) out.user = detachString(n.user);
  if (n.group !== undefined) out.group = detachString(n.group);
  if (n.content) out.content = n.content.map(detachString);
  return out;
}

/** The distinct data blobs of a restore: ID (detached) and index location, by table number. */
export class BlobTable {
  readonly ids: Id[] = [];
  readonly locs: (BlobLocation | undefined)[] = [];
  private byId: Map<Id, number> | undefined = new Map();
  constructor(private readonly index: MasterIndex) {}

  /** The table number of `id` (looked up in the index once per distinct blob). */
  add(id: Id): number {
    let k = this.byId!.get(id);
    if (k === undefined) {
      k = this.ids.length;
      const own = detachString(id);
      this.byId!.set(own, k);
      this.ids.push(own);
      this.locs.push(this.index.lookup('data', own));
    }
    return k;
  }

  /** No more blobs: the ID map is dropped. */
  seal(): void {
    this.byId = undefined;
  }
}

/** A folder of the walk: display path and raw path, shared by the records of its files. */
export interface DirRef {
  readonly path: string;
  readonly rawPath: RelPath;
}

// Columns per file, row after row: numbers that need a double, and 32-bit ones.
const MTIME_SEC = 0, ATIME_SEC = 1, CTIME_SEC = 2, INODE = 3, DEVICE_ID = 4, SIZE = 5;
const WIDE = 6;
const MTIME_NS = 0, ATIME_NS = 2, CTIME_NS = 4, // each followed by the zone offset
  MODE = 6, UID = 7, GID = 8, LINKS = 9, USER = 10, GROUP = 11, DIR = 12, CONTENT_AT = 13, CONTENT_N = 14;
const NARROW = 15;

type MutableNode = { -readonly [K in keyof TreeNode]: TreeNode[K] };

function bytesToLatin1(b: Uint8Array): string {
  if (b.length <= 4096) return String.fromCharCode.apply(null, b as unknown as number[]);
  let s = '';
  for (let i = 0; i < b.length; i += 4096) s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const safe = (x: bigint | undefined): boolean => x === undefined || x <= MAX_SAFE;
const u32 = (x: number): boolean => Number.isInteger(x) && x >= 0 && x <= 0xffffffff;
const i32 = (x: number): boolean => (x | 0) === x;
const timeFits = (t: GoTime): boolean => i32(t.nsec) && i32(t.offsetSec) && !Object.is(t.offsetSec, -0);

/** Whether the columns hold every field of a file node (else it is kept whole). */
function columnar(n: TreeNode): boolean {
  return (
    n.type === 'file' &&
    n.linktarget === undefined &&
    n.linktargetRaw === undefined &&
    n.extendedAttributes === undefined &&
    n.genericAttributes === undefined &&
    n.device === undefined &&
    n.subtree === undefined &&
    n.error === undefined &&
    safe(n.inode) &&
    safe(n.deviceId) &&
    (n.links === undefined || n.links <= 0x7fffffffn) &&
    u32(n.mode ?? 0) &&
    u32(n.uid) &&
    u32(n.gid) &&
    timeFits(n.mtime) &&
    timeFits(n.atime) &&
    timeFits(n.ctime)
  );
}

export class FileTable {
  private wide = new Float64Array(1024 * WIDE);
  private narrow = new Int32Array(1024 * NARROW);
  private readonly names: string[] = [];
  /** Blob table numbers of every file's content, one after another. */
  private content = new Int32Array(4096);
  private contentEnd = 0;
  /** user and group names, by number. */
  private readonly strings: string[] = [];
  private readonly stringNo = new Map<string, number>();
  /** Nodes the columns cannot hold, by file number. */
  private readonly whole = new Map<number, TreeNode>();
  readonly dirs: DirRef[] = [];
  length = 0;

  constructor(readonly blobs: BlobTable) {}

  private stringNumber(s: string | undefined): number {
    if (s === undefined) return -1;
    let k = this.stringNo.get(s);
    if (k === undefined) {
      k = this.strings.length;
      const own = detachString(s);
      this.strings.push(own);
      this.stringNo.set(own, k);
    }
    return k;
  }

  /** Adds a regular file in folder `dir` (a number from `dirs`); returns its number. */
  add(n: TreeNode, dir: number): number {
    const i = this.length++;
    if ((i + 1) * NARROW > this.narrow.length) this.resize(2 * (i + 1));
    const w = this.wide;
    const c = this.narrow;
    const o = i * NARROW;
    const wo = i * WIDE;
    c[DIR + o] = dir;
    const ids = n.content;
    c[CONTENT_AT + o] = this.contentEnd;
    c[CONTENT_N + o] = ids === null ? -1 : ids.length;
    if (ids !== null && ids.length > 0) {
      if (this.contentEnd + ids.length > this.content.length) {
        const grown = new Int32Array(Math.max(this.content.length * 2, this.contentEnd + ids.length));
        grown.set(this.content);
        this.content = grown;
      }
      for (const id of ids) this.content[this.contentEnd++] = this.blobs.add(id);
    }
    if (!columnar(n)) {
      this.whole.set(i, detachNode(n));
      this.names.push('');
      return i;
    }
    this.names.push(bytesToLatin1(n.name));
    w[MTIME_SEC + wo] = n.mtime.sec;
    w[ATIME_SEC + wo] = n.atime.sec;
    w[CTIME_SEC + wo] = n.ctime.sec;
    w[INODE + wo] = Number(n.inode ?? 0n);
    w[DEVICE_ID + wo] = Number(n.deviceId ?? 0n);
    w[SIZE + wo] = n.size ?? 0;
    c[MTIME_NS + o] = n.mtime.nsec;
    c[MTIME_NS + 1 + o] = n.mtime.offsetSec;
    c[ATIME_NS + o] = n.atime.nsec;
    c[ATIME_NS + 1 + o] = n.atime.offsetSec;
    c[CTIME_NS + o] = n.ctime.nsec;
    c[CTIME_NS + 1 + o] = n.ctime.offsetSec;
    c[MODE + o] = n.mode ?? 0; // stored as int32, read back with >>> 0
    c[UID + o] = n.uid;
    c[GID + o] = n.gid;
    c[LINKS + o] = Number(n.links ?? 0n);
    c[USER + o] = this.stringNumber(n.user);
    c[GROUP + o] = this.stringNumber(n.group);
    return i;
  }

  private resize(rows: number): void {
    const wide = new Float64Array(rows * WIDE);
    wide.set(this.wide.subarray(0, Math.min(this.wide.length, wide.length)));
    const narrow = new Int32Array(rows * NARROW);
    narrow.set(this.narrow.subarray(0, Math.min(this.narrow.length, narrow.length)));
    this.wide = wide;
    this.narrow = narrow;
  }

  /** No more files: the columns shrink to what they hold (they doubled as they grew). */
  seal(): void {
    this.resize(this.length);
    this.content = this.content.slice(0, this.contentEnd);
    this.stringNo.clear();
    this.blobs.seal();
  }

  /** The content of file `i` as blob table numbers (a view: not to be kept). */
  contentOf(i: number): Int32Array {
    const o = i * NARROW;
    const at = this.narrow[CONTENT_AT + o]!;
    return this.content.subarray(at, at + Math.max(0, this.narrow[CONTENT_N + o]!));
  }

  private nameBytes(i: number): Uint8Array {
    return this.whole.get(i)?.name ?? latin1ToBytes(this.names[i]!);
  }

  /** Display path ("/a/b"), as the tree walker joins it. */
  path(i: number): string {
    const dir = this.dirs[this.narrow[DIR + i * NARROW]!]!;
    return (dir.path === '/' ? '' : dir.path) + '/' + utf8Decode(this.nameBytes(i));
  }

  /** Raw path components (a new array per call). */
  rawPath(i: number): RelPath {
    const dir = this.dirs[this.narrow[DIR + i * NARROW]!]!;
    const out = dir.rawPath.slice();
    out.push(this.nameBytes(i));
    return out;
  }

  /** The file's node, equal to the decoded one (rebuilt per call, except for nodes kept whole). */
  node(i: number): TreeNode {
    const whole = this.whole.get(i);
    if (whole) return whole;
    const w = this.wide;
    const c = this.narrow;
    const o = i * NARROW;
    const wo = i * WIDE;
    const count = c[CONTENT_N + o]!;
    let content: Id[] | null = null;
    if (count >= 0) {
      const at = c[CONTENT_AT + o]!;
      content = new Array<Id>(count);
      for (let k = 0; k < count; k++) content[k] = this.blobs.ids[this.content[at + k]!]!;
    }
    // Fields in the decoder's order (format/tree.ts nodeFromFields), zero values absent.
    const n: MutableNode = {
      name: latin1ToBytes(this.names[i]!),
      type: 'file',
      mtime: { sec: w[MTIME_SEC + wo]!, nsec: c[MTIME_NS + o]!, offsetSec: c[MTIME_NS + 1 + o]! },
      atime: { sec: w[ATIME_SEC + wo]!, nsec: c[ATIME_NS + o]!, offsetSec: c[ATIME_NS + 1 + o]! },
      ctime: { sec: w[CTIME_SEC + wo]!, nsec: c[CTIME_NS + o]!, offsetSec: c[CTIME_NS + 1 + o]! },
      uid: c[UID + o]! >>> 0,
      gid: c[GID + o]! >>> 0,
      content,
    };
    if (c[MODE + o]) n.mode = c[MODE + o]! >>> 0;
    if (c[USER + o]! >= 0) n.user = this.strings[c[USER + o]!]!;
    if (c[GROUP + o]! >= 0) n.group = this.strings[c[GROUP + o]!]!;
    if (w[INODE + wo]) n.inode = BigInt(w[INODE + wo]!);
    if (w[DEVICE_ID + wo]) n.deviceId = BigInt(w[DEVICE_ID + wo]!);
    if (w[SIZE + wo]) n.size = w[SIZE + wo]!;
    if (c[LINKS + o]) n.links = BigInt(c[LINKS + o]!);
    return n;
  }
}
