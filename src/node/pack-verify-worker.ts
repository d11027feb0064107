/**
 * @module node/pack-verify-worker
 * Worker thread body for PackVerifyPool: runs check's `verifyPack` (engine/check/pack-file.ts)
 * on one whole pack: its SHA-256, header, and every blob's MAC, decryption, decompression and ID.
 * The repository here has the key and config only; nothing in verification touches storage.
 */
import { parentPort } from 'node:worker_threads';
import type { Backend } from '../core/backend/backend.js';
import { verifyPack } from '../core/engine/check/pack-file.js';
import { CofferError } from '../core/errors.js';
import type { CryptoKey, Id, PackedBlob, RepoConfig } from '../core/format/types.js';
import { Repository } from '../core/repository/repository.js';
import { nodePlatform } from './platform.js';

export interface VerifyInit {
  readonly type: 'init';
  readonly key: CryptoKey;
  readonly keyId: Id;
  readonly config: RepoConfig;
}
export interface VerifyJob {
  readonly job: number;
  readonly packId: Id;
  readonly bytes: Uint8Array;
  readonly indexed: readonly PackedBlob[];
}
/** The pack's problems, or `failure` when verification itself threw (not a finding). */
export interface VerifyReply {
  readonly job: number;
  readonly problems: string[];
  readonly failure?: string;
}

/** Any use of storage from here is a programming error. */
const noBackend = new Proxy({} as Backend, {
  get(_t, prop) {
    throw new CofferError('internal', `pack verify worker: no storage (${String(prop)})`);
  },
});

let repo: Promise<Repository> | undefined;

parentPort!.on('message', (msg: VerifyInit | VerifyJob) => {
  if ('type' in msg) {
    repo = nodePlatform().then((p) => new Repository(noBackend, p, msg.key, msg.keyId, msg.config));
    return;
  }
  void repo!.then((r) => {
    let reply: VerifyReply;
    try {
      reply = { job: msg.job, problems: verifyPack(r, msg.packId, msg.bytes, msg.indexed) };
    } catch (e) {
      reply = { job: msg.job, problems: [], failure: (e as Error).message };
    }
    parentPort!.postMessage(reply);
  });
});
