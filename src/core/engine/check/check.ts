/**
 * @module engine/check/check
 * `check` (spec §18): everything a valid repository must satisfy, reported problem by problem
 * instead of stopping at the first. Phases, in restic's order: key files, index files, packs
 * (existence and size implied by the index), snapshots and every reachable tree, and optionally
 * the packs' contents (--read-data / --read-data-subset).
 *
 * Every message names the file or blob and what is wrong. Hints (unreferenced packs, packs listed
 * twice) are not errors.
 */
import { forEachLimit } from '../../async.js';
import type { CallOpts } from '../../backend/backend.js';
import { utf8Decode } from '../../bytes.js';
import { CofferError, isCofferError } from '../../errors.js';
import { decodeIndex } from '../../format/index-file.js';
import { decodeKeyFile } from '../../format/key-file.js';
import { expectedPackSize } from '../../format/pack-header.js';
import { decodeSnapshot } from '../../format/snapshot.js';
import type { Id, IndexPack, PackedBlob } from '../../format/types.js';
import { IndexReadAhead, MasterIndex } from '../../repository/master-index.js';
import type { Repository } from '../../repository/repository.js';
import { TreeLoader } from '../walk/tree-walker.js';
import { verifyPack } from './pack-file.js';
import { selectPacks, type Subset } from './subset.js';

export type CheckPhase = 'keys' | 'index' | 'packs' | 'snapshots' | 'read-data';

export interface CheckOptions {
  /** Read every pack (or the subset) completely. */
  readonly readData?: boolean;
  readonly subset?: Subset;
  /** Report index blobs no snapshot uses, each as an error (restic --check-unused). */
  readonly checkUnused?: boolean;
  /** Float in [0, 1) for random subsets. */
  readonly random?: () => number;
  readonly signal?: AbortSignal;
  /**
   * Verifies one whole pack (default: `verifyPack` on the calling thread). The Node edge passes a
   * worker pool (node/pack-verify-workers.ts) so every core verifies; the bytes are handed over.
   */
  readonly verifyPack?: PackVerifier;
  /**
   * Reads and verifies one whole pack itself (the Node edge's workers reading a local
   * repository's files); replaces the backend read and `verifyPack`. A failed read rejects with
   * the backend's error, as `backend.get` would.
   */
  readonly verifyStoredPack?: StoredPackVerifier;
  /** Packs read at once (default: the backend's connections, at least 2). */
  readonly readConcurrency?: number;
  /**
   * The index files, read ahead while the caller's lock settled (`checkIndexAhead`, its `start`
   * given to the lock as `onWritten`); kept only if the same files are listed at the index phase.
   */
  readonly indexAhead?: IndexReadAhead<CheckIndexFiles>;
}

/** The index files as the index phase needs them: decoded ones (sorted by ID) and the findings of the others. */
export interface CheckIndexFiles {
  readonly loaded: readonly { readonly id: Id; readonly packs: readonly IndexPack[] }[];
  readonly failed: readonly string[];
}

/** Returns every problem of a pack (empty when sound); may take ownership of `bytes`. */
export type PackVerifier = (packId: Id, bytes: Uint8Array, indexed: readonly PackedBlob[]) => Promise<string[]>;
/** Reads the pack from storage and returns every problem of it, as `PackVerifier`. */
export type StoredPackVerifier = (packId: Id, indexed: readonly PackedBlob[]) => Promise<string[]>;

export interface CheckEvents {
  onPhase?(phase: CheckPhase): void;
  onError?(message: string): void;
  onHint?(message: string): void;
  /** Units done of a phase (snapshots, packs read). */
  onProgress?(phase: CheckPhase, done: number, total: number): void;
}

export interface CheckResult {
  readonly errors: string[];
  readonly hints: string[];
  /** Packs whose content is damaged (found by reading them). */
  readonly brokenPacks: Id[];
  readonly suggestRepairIndex: boolean;
  readonly suggestPrune: boolean;
  readonly snapshots: number;
  readonly packsRead: number;
}

function sameBlobs(a: readonly PackedBlob[], b: readonly PackedBlob[]): boolean {
  if (a.length !== b.length) return false;
  const key = (x: PackedBlob) => `${x.type}/${x.id}/${x.offset}/${x.length}/${x.uncompressedLength}`;
  const set = new Set(a.map(key));
  return b.every((x) => set.has(key(x)));
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Only storage and integrity failures are findings; anything else (a bug, cancellation) propagates. */
function isFinding(e: unknown): e is CofferError {
  return isCofferError(e) && ['corrupt', 'not-found', 'range', 'unsupported'].includes(e.code);
}

/** Reads and decodes the given index files; storage and integrity failures become findings, anything else throws. */
async function readIndexFiles(repo: Repository, ids: readonly Id[], o: CallOpts | undefined): Promise<CheckIndexFiles> {
  const loaded: { id: Id; packs: readonly IndexPack[] }[] = [];
  const failed: string[] = [];
  await forEachLimit(ids, Math.max(2, repo.backend.connections * 2), async (id) => {
    try {
      const file = decodeIndex(await repo.loadUnpacked('index', id, o), `index/${id}`);
      loaded.push({ id, packs: file.packs });
    } catch (e) {
      if (!isFinding(e)) throw e;
      failed.push(`index file ${messageOf(e)}`);
    }
  });
  loaded.sort((a, b) => (a.id < b.id ? -1 : 1));
  return { loaded, failed };
}

/** check's index files read ahead while its lock settles (see IndexReadAhead). */
export function checkIndexAhead(repo: Repository, o?: CallOpts): IndexReadAhead<CheckIndexFiles> {
  return new IndexReadAhead(repo, (ids) => readIndexFiles(repo, ids, o), o);
}

export async function checkRepository(repo: Repository, opts: CheckOptions = {}, events: CheckEvents = {}): Promise<CheckResult> {
  const o: CallOpts | undefined = opts.signal ? { signal: opts.signal } : undefined;
  const errors: string[] = [];
  const hints: string[] = [];
  const brokenPacks: Id[] = [];
  let suggestRepairIndex = false;
  let suggestPrune = false;
  const error = (m: string) => {
    errors.push(m);
    events.onError?.(m);
  };
  const hint = (m: string) => {
    hints.push(m);
    events.onHint?.(m);
  };
  const cancelled = () => {
    if (opts.signal?.aborted) throw new CofferError('cancelled', 'interrupted');
  };
  const limit = Math.max(2, repo.backend.connections * 2);

  // ---- key files: each must be named by its hash and parse (only one is needed to open).
  events.onPhase?.('keys');
  for (const id of await repo.listIds('keys', o)) {
    try {
      const bytes = await repo.backend.get({ type: 'keys', name: id }, undefined, o);
      if (repo.sha256Hex(bytes) !== id) throw new CofferError('corrupt', `key file keys/${id}: content does not match its name (SHA-256 mismatch)`);
      decodeKeyFile(bytes, `key file keys/${id}`);
    } catch (e) {
      if (!isFinding(e)) throw e;
      error(messageOf(e));
    }
  }

  // ---- index files: each decrypts and parses; a pack listed twice must be listed identically.
  events.onPhase?.('index');
  const index = new MasterIndex();
  const packOwner = new Map<Id, { file: Id; pack: IndexPack }>();
  const { loaded, failed } = await (opts.indexAhead ?? checkIndexAhead(repo, o)).get();
  for (const m of failed) {
    error(m);
    suggestRepairIndex = true;
  }
  for (const { id, packs } of loaded) {
    for (const p of packs) {
      const prev = packOwner.get(p.id);
      if (prev) {
        if (sameBlobs(prev.pack.blobs, p.blobs)) hint(`pack ${p.id}: listed in more than one index file (index/${prev.file}, index/${id})`);
        else {
          error(`pack ${p.id}: listed with different blobs in index/${prev.file} and index/${id}`);
          suggestRepairIndex = true;
        }
        continue;
      }
      packOwner.set(p.id, { file: id, pack: p });
      if (p.blobs.some((b) => b.type === 'data') && p.blobs.some((b) => b.type === 'tree')) hint(`pack ${p.id}: contains both data and tree blobs`);
    }
    index.addIndexFile(id, { packs });
  }

  // ---- packs: everything the index names exists, with the size the index implies.
  events.onPhase?.('packs');
  const stored = new Map<Id, number>();
  let packsMissing = 0;
  for await (const f of repo.list('data', o)) stored.set(f.name, f.size);
  for (const [packId, { pack }] of packOwner) {
    const size = stored.get(packId);
    if (size === undefined) {
      packsMissing++;
      error(`pack ${packId}: does not exist (listed in index/${packOwner.get(packId)!.file})`);
      suggestRepairIndex = true;
      continue;
    }
    const want = expectedPackSize(pack.blobs);
    if (size !== want) {
      error(`pack ${packId}: unexpected file size: got ${size} bytes, the index implies ${want}`);
      suggestRepairIndex = true;
    }
    const sorted = [...pack.blobs].sort((a, b) => a.offset - b.offset);
    let at = 0;
    for (const b of sorted) {
      if (b.offset !== at) {
        error(`pack ${packId}: index entry for ${b.type} blob ${b.id} has offset ${b.offset}, expected ${at} (entries must be contiguous)`);
        suggestRepairIndex = true;
        break;
      }
      at += b.length;
    }
    const beyond = sorted.filter((b) => b.offset + b.length > size);
    for (const b of beyond) error(`pack ${packId}: index entry for ${b.type} blob ${b.id} (offset ${b.offset}, length ${b.length}) reaches past the end of the pack (${size} bytes)`);
  }
  for (const packId of stored.keys()) {
    if (!packOwner.has(packId)) {
      hint(`pack ${packId}: not referenced in any index`);
      suggestPrune = true;
    }
  }

  const seenTrees = new Set<Id>();
  // Data blobs the snapshots use: only --check-unused needs them.
  const usedData = opts.checkUnused ? new Set<Id>() : undefined;
  let snapshotIds: Id[] = [];

  // ---- read data: download packs completely and verify them against the index. Started before
  // the tree walk so the verifiers (worker threads) run while this thread walks the trees; its
  // findings are held back until its phase begins, so the report reads in the usual order.
  let packsRead = 0;
  let dataRun: { total: number; done: Promise<void>; open(): void; stop(): void } | undefined;
  if (opts.readData || opts.subset) {
    const candidates = new Map<Id, number>();
    for (const packId of packOwner.keys()) {
      const size = stored.get(packId);
      if (size !== undefined) candidates.set(packId, size);
    }
    const chosen = opts.subset ? selectPacks(candidates, opts.subset, opts.random) : [...candidates.keys()];
    chosen.sort();
    const verify: PackVerifier = opts.verifyPack ?? (async (id, bytes, indexed) => verifyPack(repo, id, bytes, indexed));
    let reporting = false;
    let stopped = false;
    const held: { packId: Id; problems: string[] }[] = [];
    const report = (packId: Id, problems: string[]) => {
      if (problems.length > 0) {
        brokenPacks.push(packId);
        for (const m of problems) error(m);
      }
      packsRead++; // not inside the optional call: it would be skipped without a listener
      events.onProgress?.('read-data', packsRead, chosen.length);
    };
    const done = forEachLimit(chosen, opts.readConcurrency ?? Math.max(2, repo.backend.connections), async (packId) => {
      if (stopped) return;
      cancelled();
      let problems: string[];
      try {
        const indexed = packOwner.get(packId)!.pack.blobs;
        if (opts.verifyStoredPack) problems = await opts.verifyStoredPack(packId, indexed);
        else problems = await verify(packId, await repo.backend.get({ type: 'data', name: packId }, undefined, o), indexed);
      } catch (e) {
        if (!isFinding(e)) throw e;
        problems = [`pack ${packId}: cannot be read: ${messageOf(e)}`];
      }
      if (reporting) report(packId, problems);
      else held.push({ packId, problems });
    });
    done.catch(() => undefined); // awaited in its phase (or on the way out)
    dataRun = {
      total: chosen.length,
      done,
      open() {
        reporting = true;
        for (const h of held.splice(0)) report(h.packId, h.problems);
      },
      stop() {
        stopped = true;
      },
    };
  }

  try {
    await checkTrees();
  } catch (e) {
    // No verification may outlive the check.
    dataRun?.stop();
    await dataRun?.done.catch(() => undefined);
    throw e;
  }

  async function checkTrees(): Promise<void> {
    // ---- snapshots and trees: every reachable tree loads; file contents are indexed data blobs.
    events.onPhase?.('snapshots');
    snapshotIds = await repo.listIds('snapshots', o);
    const roots: { id: Id; path: string }[] = [];
    let snapsDone = 0;
    await forEachLimit(snapshotIds, limit, async (id) => {
      try {
        const s = decodeSnapshot(await repo.loadUnpacked('snapshots', id, o), `snapshots/${id}`);
        roots.push({ id: s.tree, path: '/' });
      } catch (e) {
        if (!isFinding(e)) throw e;
        error(`snapshot ${messageOf(e)}`);
      }
      snapsDone++;
      events.onProgress?.('snapshots', snapsDone, snapshotIds.length);
    });
    // Released after the walk: its cached tree packs (up to 64 MiB) must not stay alive while
    // the read-data phase reads every pack.
    let loader: TreeLoader | undefined = new TreeLoader(repo, index, 64);
    
    let level = roots.filter((r) => !seenTrees.has(r.id) && seenTrees.add(r.id));
    while (level.length > 0) {
      cancelled();
      const next: { id: Id; path: string }[] = [];
      await forEachLimit(level, 8, async ({ id, path }) => {
        let tree;
        try {
          tree = await loader!.load(id);
        } catch (e) {
          if (!isFinding(e)) throw e;
          const m = messageOf(e);
          error(m.includes(id) ? `tree at ${path}: ${m}` : `tree ${id} at ${path}: ${m}`);
          return;
        }
        // A node's path is only built for a message or a subfolder (most nodes are sound files).
        const pathOf = (node: { name: Uint8Array }) => (path === '/' ? '' : path) + '/' + utf8Decode(node.name);
        for (const node of tree.nodes) {
          if (node.name.length === 0) error(`tree ${id}: a node at ${path} has an empty name`);
          if (node.type === 'file') {
            if (node.content === null) {
              error(`tree ${id}: file "${pathOf(node)}" has no content list`);
              continue;
            }
            for (const b of node.content) {
              usedData?.add(b);
              // With every indexed pack stored, being indexed is enough (no location objects).
              if (packsMissing === 0 && index.has('data', b)) continue;
              const locs = index.lookupAll('data', b);
              if (locs.length === 0) error(`tree ${id}: file "${pathOf(node)}" blob ${b} not found in index`);
              else if (!locs.some((l) => stored.has(l.packId))) error(`tree ${id}: file "${pathOf(node)}" blob ${b} is in missing pack ${locs[0]!.packId}`);
            }
          } else if (node.type === 'dir') {
            const p = pathOf(node);
            if (!node.subtree || /^0+$/.test(node.subtree)) {
              error(`tree ${id}: dir "${p}" has no subtree`);
              continue;
            }
            if (!seenTrees.has(node.subtree)) {
              seenTrees.add(node.subtree);
              next.push({ id: node.subtree, path: p });
            }
          }
        }
      });
      level = next;
    }
    loader = undefined;
  }

  if (opts.checkUnused) {
    for (const packId of index.packIds()) {
      for (const b of index.packBlobs(packId) ?? []) {
        const used = b.type === 'data' ? usedData!.has(b.id) : seenTrees.has(b.id);
        if (!used) error(`${b.type} blob ${b.id} (pack ${packId}) is not used by any snapshot`);
      }
    }
  }

  // ---- read data (started above): its findings are reported from here on, in its own phase.
  if (dataRun) {
    events.onPhase?.('read-data');
    events.onProgress?.('read-data', 0, dataRun.total);
    dataRun.open();
    await dataRun.done;
    brokenPacks.sort();
  }

  return { errors, hints, brokenPacks, suggestRepairIndex, suggestPrune, snapshots: snapshotIds.length, packsRead };
}
