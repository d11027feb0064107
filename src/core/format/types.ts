/**
 * @module format/types
 * The repository's data model (restic format, ../shared/spec/restic-format.md), as TypeScript values.
 * Codecs in this folder turn these into bytes and back; nothing here does I/O.
 *
 * Representation rules:
 * - IDs are 64-char lowercase hex strings (`Id`).
 * - File names and raw link targets are bytes (`Uint8Array`), because on Unix they need not be
 *   UTF-8; display with `utf8Decode` (lossy).
 * - uint64 fields that can exceed 2^53 (inode, device_id, device) are `bigint`. `size` is a
 *   `number`: a decoder rejects sizes above Number.MAX_SAFE_INTEGER as corrupt.
 * - Times keep nanoseconds and the zone offset (`GoTime`), as Go's time.Time JSON does.
 */

/** 64 lowercase hex characters: a SHA-256. */
export type Id = string;

export type BlobType = 'data' | 'tree';

/** An instant with nanosecond precision and the zone offset it was written in. */
export interface GoTime {
  /** Seconds since the Unix epoch (UTC). Safe integer (years 0000-9999). */
  readonly sec: number;
  /** 0..999_999_999 */
  readonly nsec: number;
  /** Zone offset east of UTC in seconds (0 is written as `Z`). */
  readonly offsetSec: number;
}

// ---- crypto keys -------------------------------------------------------------------------

/** The three parts of a restic crypto key (§4.1). `macR` may be stored clamped or not. */
export interface CryptoKey {
  readonly encrypt: Uint8Array; // 32 bytes, AES-256-CTR
  readonly macK: Uint8Array; // 16 bytes, AES-128 key deriving Poly1305's s
  readonly macR: Uint8Array; // 16 bytes, Poly1305 r (clamped on use)
}

/** Key file (`keys/<id>`, §5.1), plain JSON. */
export interface KeyFile {
  readonly created: GoTime;
  readonly username: string;
  readonly hostname: string;
  readonly kdf: 'scrypt';
  readonly N: number;
  readonly r: number;
  readonly p: number;
  readonly salt: Uint8Array; // 64 bytes
  readonly data: Uint8Array; // sealed master key JSON
}

/** `config` plaintext (§6.1). */
export interface RepoConfig {
  readonly version: 1 | 2;
  readonly id: Id;
  /** Degree-53 irreducible polynomial over GF(2), bit i = coefficient of x^i. */
  readonly chunkerPolynomial: bigint;
}

// ---- packs and index ---------------------------------------------------------------------

/** One entry of a pack header or index (§10.2, §11.1). */
export interface PackedBlob {
  readonly type: BlobType;
  readonly id: Id;
  /** Byte offset of the sealed blob within its pack. */
  readonly offset: number;
  /** Sealed length (plaintext-or-compressed length + 32). */
  readonly length: number;
  /** Plaintext length for compressed blobs; 0 (or absent) when stored uncompressed. */
  readonly uncompressedLength: number;
}

export interface IndexPack {
  readonly id: Id;
  readonly blobs: readonly PackedBlob[];
}

export interface IndexFile {
  /** Legacy; read but never written. */
  readonly supersedes?: readonly Id[];
  readonly packs: readonly IndexPack[];
}

// ---- trees -------------------------------------------------------------------------------

export type NodeType = 'file' | 'dir' | 'symlink' | 'dev' | 'chardev' | 'fifo' | 'socket' | 'irregular';

export interface ExtendedAttribute {
  readonly name: string;
  readonly value: Uint8Array;
}

/**
 * A tree node (§12.2). Optional fields mirror Go's `omitempty`: absent means zero/empty.
 * `content` is `null` for everything but files (files: `[]` when empty).
 */
export interface TreeNode {
  readonly name: Uint8Array;
  readonly type: NodeType;
  /** Go os.FileMode bits (§12.4); 0 when absent. */
  readonly mode?: number;
  readonly mtime: GoTime;
  readonly atime: GoTime;
  readonly ctime: GoTime;
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
  readonly group?: string;
  readonly inode?: bigint;
  readonly deviceId?: bigint;
  readonly size?: number;
  readonly links?: bigint;
  readonly linktarget?: string;
  /** Raw symlink target when it is not valid UTF-8 (restic 0.16+); overrides `linktarget` on read. */
  readonly linktargetRaw?: Uint8Array;
  readonly extendedAttributes?: readonly ExtendedAttribute[];
  /** Opaque JSON texts by key (restic 0.17+ generic_attributes); preserved, never interpreted. */
  readonly genericAttributes?: Readonly<Record<string, string>>;
  readonly device?: bigint;
  readonly content: readonly Id[] | null;
  readonly subtree?: Id;
  readonly error?: string;
}

export interface Tree {
  /** Sorted by raw name bytes, names unique. */
  readonly nodes: readonly TreeNode[];
}

// ---- snapshots and locks -----------------------------------------------------------------

export interface SnapshotSummary {
  readonly backupStart: GoTime;
  readonly backupEnd: GoTime;
  readonly filesNew: number;
  readonly filesChanged: number;
  readonly filesUnmodified: number;
  readonly dirsNew: number;
  readonly dirsChanged: number;
  readonly dirsUnmodified: number;
  readonly dataBlobs: number;
  readonly treeBlobs: number;
  readonly dataAdded: number;
  readonly dataAddedPacked: number;
  readonly totalFilesProcessed: number;
  readonly totalBytesProcessed: number;
}

export interface Snapshot {
  readonly time: GoTime;
  readonly parent?: Id;
  readonly tree: Id;
  readonly paths: readonly string[];
  readonly hostname?: string;
  readonly username?: string;
  readonly uid?: number;
  readonly gid?: number;
  readonly excludes?: readonly string[];
  readonly tags?: readonly string[];
  readonly original?: Id;
  readonly programVersion?: string;
  readonly summary?: SnapshotSummary;
}

export interface Lock {
  readonly time: GoTime;
  readonly exclusive: boolean;
  readonly hostname: string;
  readonly username: string;
  readonly pid: number;
  readonly uid?: number;
  readonly gid?: number;
}
