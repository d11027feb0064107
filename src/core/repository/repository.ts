/**
 * @module repository/repository
 * An open repository: the backend, the master key, the config, and the operations every other
 * part builds on: loading and saving "unpacked" files (index, snapshots, locks; spec §7) with
 * their storage-ID check. Blob storage, the index and locks live in their own modules and take a
 * Repository; this class deliberately stays small.
 */
import type { Backend, CallOpts, FileInfo, FileType, Handle } from '../backend/backend.js';
import { describeHandle } from '../backend/backend.js';
import { toHex } from '../bytes.js';
import type { CompressionMode } from '../compress/compressor.js';
import { COMPRESSION_LEVELS } from '../compress/compressor.js';
import { open as openSealed, seal } from '../crypto/sealed-box.js';
import { corrupt } from '../errors.js';
import type { CryptoKey, Id, RepoConfig } from '../format/types.js';
import { decodeUnpacked, encodeUnpacked } from '../format/unpacked.js';
import type { Platform } from '../platform.js';

export interface RepositoryOptions {
  /** Data blob compression (v2 only); trees and unpacked files are always compressed in v2. */
  readonly compression?: CompressionMode;
  /** Target pack size in bytes (restic: 16 MiB, allowed 4..128 MiB). */
  readonly packSize?: number;
}

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

export class Repository {
  readonly compression: CompressionMode;
  readonly packSize: number;

  constructor(
    readonly backend: Backend,
    readonly platform: Platform,
    readonly key: CryptoKey,
    /** Storage ID of the key file that opened the repository. */
    readonly keyId: Id,
    readonly config: RepoConfig,
    opts: RepositoryOptions = {},
  ) {
    this.compression = config.version === 1 ? 'off' : (opts.compression ?? 'auto');
    this.packSize = opts.packSize ?? DEFAULT_PACK_SIZE;
  }

  get version(): 1 | 2 {
    return this.config.version;
  }

  /** zstd level for data blobs, or undefined when they are stored uncompressed. */
  get dataCompressionLevel(): number | undefined {
    return this.compression === 'off' ? undefined : COMPRESSION_LEVELS[this.compression];
  }

  /** zstd level for tree blobs and unpacked files: always compressed in v2 (§8). */
  get metadataCompressionLevel(): number | undefined {
    return this.version === 1 ? undefined : COMPRESSION_LEVELS[this.compression === 'off' ? 'auto' : this.compression];
  }

  seal(plaintext: Uint8Array): Uint8Array {
    return seal(this.platform.crypto, this.key, plaintext);
  }

  open(sealed: Uint8Array, what: string): Uint8Array {
    return openSealed(this.platform.crypto, this.key, sealed, what);
  }

  sha256Hex(data: Uint8Array): Id {
    return toHex(this.platform.crypto.sha256(data));
  }

  /**
   * Reads a whole file and checks that its SHA-256 matches its name (every file but config is
   * named by the hash of its stored bytes), so a swapped or truncated file is caught before any
   * decryption. A mismatch is read once more before it counts as damage (as restic, PR #3521):
   * one bit flipped in transit must not stop a command.
   */
  async loadVerified(h: Handle, o?: CallOpts): Promise<Uint8Array> {
    return getVerified(this.backend, this.platform, h, o);
  }

  /** Loads, verifies, decrypts and unframes an index, snapshot or lock file: returns JSON bytes. */
  async loadUnpacked(type: FileType, id: Id, o?: CallOpts): Promise<Uint8Array> {
    const h = { type, name: id };
    const what = describeHandle(h);
    const sealed = await this.loadVerified(h, o);
    return decodeUnpacked(this.open(sealed, what), this.version, this.platform.zstd, what);
  }

  /** Frames, encrypts and stores JSON as an unpacked file; returns its storage ID. */
  async saveUnpacked(type: FileType, json: Uint8Array, o?: CallOpts): Promise<Id> {
    const sealed = this.seal(encodeUnpacked(json, this.version, this.platform.zstd));
    const id = this.sha256Hex(sealed);
    await this.backend.put({ type, name: id }, sealed, o);
    return id;
  }

  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    return this.backend.list(type, o);
  }

  async listIds(type: FileType, o?: CallOpts): Promise<Id[]> {
    const out: Id[] = [];
    for await (const f of this.backend.list(type, o)) out.push(f.name);
    return out;
  }
}

/**
 * Reads a whole file and checks its SHA-256 against its name (config: no check), reading it a
 * second time on a mismatch; only a second mismatch is reported 'corrupt'.
 */
export async function getVerified(backend: Backend, platform: Platform, h: Handle, o?: CallOpts): Promise<Uint8Array> {
  const matches = (b: Uint8Array) => h.type === 'config' || toHex(platform.crypto.sha256(b)) === h.name;
  const bytes = await backend.get(h, undefined, o);
  if (matches(bytes)) return bytes;
  const again = await backend.get(h, undefined, o);
  if (matches(again)) return again;
  throw corrupt(describeHandle(h), 'content does not match its name (SHA-256 mismatch, read twice): the file is damaged or was replaced');
}
