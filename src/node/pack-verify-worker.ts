/**
 * @module node/pack-verify-worker
 * Worker thread body for PackVerifyPool: runs check's `verifyPack` (engine/check/pack-file.ts)
 * on one whole pack: its SHA-256, header, and every blob's MAC, decryption, decompression and ID.
 * The pack comes either with the job (read by the main thread from any backend) or, for a local
 * repository, as a path the worker reads itself into one reused buffer: no pack crosses threads
 * and none is allocated per pack. Plaintexts are decoded into a reused buffer too
 * (pack-verify-worker-zstd.ts). The repository here has the key and config only.
 */
import * as nodeCrypto from 'node:crypto';
import * as fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import type { Backend } from '../core/backend/backend.js';
import type { CryptoSuite } from '../core/crypto/suite.js';
import { verifyPack } from '../core/engine/check/pack-file.js';
import { CofferError, isCofferError, type ErrorCode } from '../core/errors.js';
import type { CryptoKey, Id, PackedBlob, RepoConfig } from '../core/format/types.js';
import type { Platform } from '../core/platform.js';
import { Repository } from '../core/repository/repository.js';
import { mapError } from './local-backend.js';
import { type FlatEntries, unflattenEntries } from './pack-verify-worker-entries.js';
import { createScratchZstd } from './pack-verify-worker-zstd.js';
import { nodePlatform } from './platform.js';

export interface VerifyInit {
  readonly type: 'init';
  readonly key: CryptoKey;
  readonly keyId: Id;
  readonly config: RepoConfig;
}
/** A pack to verify: its bytes, or the path of its file for the worker to read. */
export interface VerifyJob {
  readonly job: number;
  readonly packId: Id;
  readonly bytes?: Uint8Array;
  /** The pack's file (local repositories); `what` names it in a read error (as the backend would). */
  readonly file?: { readonly path: string; readonly what: string };
  /** The index's entries for the pack, flat when they could be (pack-verify-worker-entries.ts). */
  readonly indexed: readonly PackedBlob[] | FlatEntries;
}
/** The pack's problems; `readError` when its file could not be read; `failure` when verification itself threw (not a finding). */
export interface VerifyReply {
  readonly job: number;
  readonly problems: string[];
  readonly readError?: { readonly code: ErrorCode; readonly message: string };
  readonly failure?: string;
}

/** Any use of storage from here is a programming error. */
const noBackend = new Proxy({} as Backend, {
  get(_t, prop) {
    throw new CofferError('internal', `pack verify worker: no storage (${String(prop)})`);
  },
});

let repo: Promise<Repository> | undefined;
/** The reused pack buffer (grown to the largest pack read). */
let packBuf = new Uint8Array(0);

/** Reads a whole file into `packBuf`, with the local backend's errors (local-backend.ts `get`). */
function readWhole(file: { path: string; what: string }): Uint8Array {
  let fd: number | undefined;
  try {
    fd = fs.openSync(file.path, 'r');
    const size = fs.fstatSync(fd).size;
    if (packBuf.length < size) packBuf = new Uint8Array(Math.ceil(size / (1 << 20)) * (1 << 20));
    let done = 0;
    while (done < size) {
      const n = fs.readSync(fd, packBuf, done, size - done, done);
      if (n === 0) throw new CofferError('range', `${file.what}: file ended at ${done} bytes while reading (it shrank)`);
      done += n;
    }
    return packBuf.subarray(0, size);
  } catch (e) {
    throw mapError(e, file.path);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/**
 * The platform with this worker's cheaper parts: SHA-256 in one call (`crypto.hash`, Node ≥ 20.12:
 * no Hash object per blob; the digest is only compared, never kept or transferred) and zstd into a
 * reused buffer. The forced variants (COFFER_CRYPTO=web, COFFER_ZSTD=wasm) stay as they are.
 */
function verifyPlatform(p: Platform): Platform {
  const oneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Uint8Array }).hash;
  const crypto: CryptoSuite = p.crypto.name === 'node' && oneShot ? { ...p.crypto, sha256: (d) => oneShot('sha256', d, 'buffer') } : p.crypto;
  const zstd = process.env.COFFER_ZSTD === 'wasm' ? undefined : createScratchZstd();
  return { crypto, zstd: zstd ?? p.zstd };
}

function run(r: Repository, msg: VerifyJob): VerifyReply {
  let bytes: Uint8Array;
  try {
    bytes = msg.bytes ?? readWhole(msg.file!);
  } catch (e) {
    if (!isCofferError(e)) throw e;
    return { job: msg.job, problems: [], readError: { code: e.code, message: e.message } };
  }
  const indexed = Array.isArray(msg.indexed) ? msg.indexed : unflattenEntries(msg.indexed as FlatEntries);
  return { job: msg.job, problems: verifyPack(r, msg.packId, bytes, indexed) };
}

parentPort!.on('message', (msg: VerifyInit | VerifyJob) => {
  if ('type' in msg) {
    repo = nodePlatform().then((p) => new Repository(noBackend, verifyPlatform(p), msg.key, msg.keyId, msg.config));
    return;
  }
  void repo!.then((r) => {
    let reply: VerifyReply;
    try {
      reply = run(r, msg);
    } catch (e) {
      reply = { job: msg.job, problems: [], failure: (e as Error).message };
    }
    parentPort!.postMessage(reply);
  });
});
