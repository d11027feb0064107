/**
 * @module web/worker/session
 * An unlocked repository inside the worker: the core's Repository over the fetch-based
 * RestBackend, its index and a tree cache, and what the page may ask of it (snapshots, folder
 * listings, file bytes, diffs, name search, streams of a file or a zip of a folder). Keys stay
 * here; results are plain data.
 */
import { RestBackend } from '../../core/backend/rest.js';
import { utf8Decode, utf8Encode } from '../../core/bytes.js';
import { open as openSealed } from '../../core/crypto/sealed-box.js';
import { diffTrees } from '../../core/engine/diff/diff.js';
import { INTERNAL_TAG } from '../../core/engine/records/records.js';
import { TreeLoader, resolveSubfolder } from '../../core/engine/walk/tree-walker.js';
import { CofferError, isCofferError } from '../../core/errors.js';
import { decodeConfig } from '../../core/format/config.js';
import { formatGoTime } from '../../core/format/go-time.js';
import { posixFromGoMode } from '../../core/format/mode.js';
import type { CryptoKey as MasterKey, GoTime, Id, TreeNode } from '../../core/format/types.js';
import { webPlatform } from '../../core/platform-web.js';
import { loadBlob } from '../../core/repository/blob-loader.js';
import { loadMasterIndex, plaintextSize, type BlobLocation, type MasterIndex } from '../../core/repository/master-index.js';
import { openRepository, unlockMasterKey } from '../../core/repository/open.js';
import { Repository } from '../../core/repository/repository.js';
import { loadSnapshots, type SnapshotEntry } from '../../core/repository/snapshots.js';
import { secondsLeft, steam, totp } from '../../core/otp/codes.js';
import { loadOtpVault } from '../../core/otp/store.js';
import { vaultItems, type VaultItem } from '../../core/otp/vault.js';
import type { DiffInfo, EntryInfo, OtpCodeInfo, SnapshotInfo } from '../protocol.js';
import { ZipWriter } from '../zip.js';
import { canOpenGroups, openGroup, preparedPlatform } from './open-group.js';
import { OpenPool, PoolDown } from './open-pool.js';
import { fetchRange } from './range-fetch.js';

const ms = (t: GoTime): number => t.sec * 1000 + Math.floor(t.nsec / 1e6);

const platform = preparedPlatform;

function backendFor(repo: string): RestBackend {
  return new RestBackend(new URL(repo, self.location.href).href);
}

export class Session {
  private indexP: Promise<MasterIndex> | undefined;
  private loaderP: Promise<TreeLoader> | undefined;
  private snaps: SnapshotEntry[] | undefined;
  private otp: VaultItem[] | undefined;
  /** The download's openers (open-pool.ts); undefined until the first read, null: open inline. */
  private pool: OpenPool | null | undefined;

  private constructor(readonly repo: Repository) {}

  static async unlock(repoPath: string, password: string): Promise<Session> {
    return new Session(await openRepository(backendFor(repoPath), await platform(), { password }));
  }

  /** Opens with a master key recalled from this device. */
  static async withKey(repoPath: string, key: MasterKey, keyId: string): Promise<Session> {
    const p = await platform();
    const backend = backendFor(repoPath);
    const sealed = await backend.get({ type: 'config', name: '' });
    const config = decodeConfig(openSealed(p.crypto, key, sealed, 'config'), 'config');
    return new Session(new Repository(backend, p, key, keyId, config));
  }

  /** Checks a password without keeping anything (for re-entering it). */
  static async checkPassword(repoPath: string, password: string): Promise<void> {
    await unlockMasterKey(backendFor(repoPath), await webPlatform(), password);
  }

  /** Ends the openers (and their key copies); the session worker itself is the page's to end. */
  close(): void {
    this.pool?.close();
    this.pool = null;
  }

  private openers(): OpenPool | null {
    if (this.pool === undefined) {
      const b = this.repo.backend;
      const r = this.repo;
      this.pool = (b instanceof RestBackend && b.location.startsWith('rest:') && OpenPool.start({ key: { encrypt: r.key.encrypt, macK: r.key.macK, macR: r.key.macR }, config: r.config, repo: b.location.slice(5) })) || null;
    }
    return this.pool;
  }

  /** Forgets the cached index and trees after this session wrote a snapshot (the inbox's decisions). */
  refresh(): void {
    this.indexP = undefined;
    this.loaderP = undefined;
    this.snaps = undefined;
  }

  /** The index is loaded once, in the background from unlock on. */
  index(): Promise<MasterIndex> {
    this.indexP ??= loadMasterIndex(this.repo);
    this.indexP.catch(() => (this.indexP = undefined));
    return this.indexP;
  }

  private loader(): Promise<TreeLoader> {
    this.loaderP ??= this.index().then((i) => new TreeLoader(this.repo, i, 2048));
    this.loaderP.catch(() => (this.loaderP = undefined));
    return this.loaderP;
  }

  async snapshots(): Promise<SnapshotInfo[]> {
    this.snaps = await loadSnapshots(this.repo);
    return this.snaps.map(({ id, snapshot: s }) => {
      const sum = s.summary;
      return {
        id,
        short: id.slice(0, 8),
        time: ms(s.time),
        timeText: formatGoTime(s.time),
        hostname: s.hostname ?? '',
        username: s.username ?? '',
        paths: [...s.paths],
        tags: [...(s.tags ?? [])],
        tree: s.tree,
        ...(s.parent ? { parent: s.parent } : {}),
        ...(sum ? { size: sum.totalBytesProcessed, files: sum.totalFilesProcessed, added: sum.dataAddedPacked, duration: Math.max(0, (ms(sum.backupEnd) - ms(sum.backupStart)) / 1000) } : {}),
        internal: (s.tags ?? []).includes(INTERNAL_TAG),
      };
    });
  }

  private async snapshot(id: string): Promise<SnapshotEntry> {
    if (!this.snaps) await this.snapshots();
    const hit = this.snaps!.find((e) => e.id === id);
    if (!hit) throw new CofferError('not-found-snapshot', `no snapshot ${id.slice(0, 8)}`);
    return hit;
  }

  private async treeOf(snapshot: string, path: string): Promise<Id> {
    const s = await this.snapshot(snapshot);
    return resolveSubfolder(await this.loader(), s.snapshot.tree, path);
  }

  async list(snapshot: string, path: string): Promise<EntryInfo[]> {
    const tree = await (await this.loader()).load(await this.treeOf(snapshot, path));
    return tree.nodes.map(entryInfo);
  }

  /** The node at `path` (a file, folder or anything else). */
  async node(snapshot: string, path: string): Promise<TreeNode> {
    const parts = path.split('/').filter((p) => p !== '');
    const name = parts.pop();
    if (name === undefined) throw new CofferError('usage', 'the snapshot root has no node');
    const tree = await (await this.loader()).load(await this.treeOf(snapshot, parts.join('/')));
    const want = utf8Encode(name);
    const node = tree.nodes.find((n) => n.name.length === want.length && n.name.every((b, i) => b === want[i]));
    if (!node) throw new CofferError('usage', `"${path}" is not in the snapshot`);
    return node;
  }

  async stat(snapshot: string, path: string): Promise<EntryInfo> {
    return entryInfo(await this.node(snapshot, path));
  }

  /** A file's first `max` bytes (previews). */
  async read(snapshot: string, path: string, max: number): Promise<{ size: number; bytes: Uint8Array }> {
    const node = await this.node(snapshot, path);
    if (node.type !== 'file') throw new CofferError('usage', `"${path}" is not a file`);
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const b of this.fileBlobs(node)) {
      parts.push(b);
      n += b.length;
      if (n >= max) break;
    }
    const out = new Uint8Array(Math.min(n, max));
    let o = 0;
    for (const p of parts) {
      const take = Math.min(p.length, out.length - o);
      out.set(p.subarray(0, take), o);
      o += take;
    }
    return { size: node.size ?? 0, bytes: out };
  }

  /**
   * A file's plaintext, blob by blob, in order. The reads come from readPlan: blobs back to back
   * in one pack share one ranged request even when the file's order interleaves several packs
   * (a backup fills packs in parallel). Reads run ahead of the consumer while what they hold
   * (read, not yet yielded) stays under `aheadBytes`.
   */
  async *fileBlobs(node: TreeNode, aheadBytes = AHEAD_BYTES): AsyncGenerator<Uint8Array> {
    const index = await this.index();
    const { groups, order } = readPlan(index, node.content ?? []);
    const reads: (Promise<Uint8Array[]> | undefined)[] = [];
    const left = groups.map((g) => g.blobs.length); // blobs of each read not yet yielded
    let next = 0;
    let held = 0;
    const start = (): void => {
      const g = groups[next]!;
      const p = this.readGroup(index, g);
      p.catch(() => undefined); // awaited below; avoid an unhandled rejection meanwhile
      reads[next++] = p;
      held += g.length;
    };
    for (const { group, blob } of order) {
      while (next < groups.length && (held === 0 || held + groups[next]!.length <= aheadBytes)) start();
      while (next <= group) start(); // the read this blob needs, whatever the budget
      const blobs = await reads[group]!;
      const b = blobs[blob]!;
      blobs[blob] = EMPTY; // the consumer may transfer it: hold no reference here
      if (--left[group]! === 0) {
        reads[group] = undefined;
        held -= groups[group]!.length;
      }
      yield b;
    }
  }

  /**
   * Random access to a file (media previews seek): `read(start, end)` gives bytes [start, end),
   * loading only the blobs that cover them, with the last few blobs kept.
   */
  async ranges(node: TreeNode): Promise<{ size: number; read(start: number, end: number): Promise<Uint8Array> }> {
    const index = await this.index();
    const ids = node.content ?? [];
    const starts: number[] = [];
    let size = 0;
    for (const id of ids) {
      const loc = index.lookup('data', id);
      if (!loc) throw new CofferError('corrupt', `data blob ${id} is not in the index (the repository is incomplete; try "check")`);
      starts.push(size);
      size += plaintextSize(loc);
    }
    const cache = new Map<number, Promise<Uint8Array>>();
    const blob = (i: number): Promise<Uint8Array> => {
      let p = cache.get(i);
      if (!p) {
        p = this.readGroup(index, readGroups(index, [ids[i]!])[0]!).then((b) => b[0]!);
        p.catch(() => cache.delete(i));
        cache.set(i, p);
        if (cache.size > 6) cache.delete(cache.keys().next().value!);
      }
      return p;
    };
    return {
      size,
      read: async (start, end) => {
        start = Math.max(0, start);
        end = Math.min(size, end);
        const out = new Uint8Array(Math.max(0, end - start));
        // The first blob holding `start` (starts[] ascends), then on until `end`.
        let lo = 0, hi = starts.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (starts[mid]! <= start) lo = mid;
          else hi = mid - 1;
        }
        for (let i = lo; i < ids.length && starts[i]! < end; i++) {
          const b = await blob(i);
          const from = Math.max(start, starts[i]!);
          const to = Math.min(end, starts[i]! + b.length);
          out.set(b.subarray(from - starts[i]!, to - starts[i]!), from - start);
        }
        return out;
      },
    };
  }

  /**
   * The blobs of one read: fetched together and opened by open-group.ts (WebCrypto ahead of the
   * core's `openBlob`, which verifies the MAC and the SHA-256 as always), in one of the openers
   * (open-pool.ts) so that reads open in parallel, or here where there are none. Any failure goes
   * to the core's own loader, blob by blob (other copies of a blob, its error messages).
   */
  private async readGroup(index: MasterIndex, g: ReadGroup): Promise<Uint8Array[]> {
    const slow = (): Promise<Uint8Array[]> => Promise.all(g.blobs.map((b) => loadBlob(this.repo, index, 'data', b.id)));
    if (g.packId === undefined || !canOpenGroups(this.repo)) return slow();
    const read = { packId: g.packId, offset: g.offset, length: g.length, blobs: g.blobs };
    try {
      const pool = this.openers();
      if (pool) {
        try {
          return await pool.open(read);
        } catch (e) {
          if (!(e instanceof PoolDown)) throw e;
          if (this.pool === pool) this.pool = null; // opening inline from now on
        }
      }
      return await openGroup(this.repo, read, (p, o, l) => this.readRange(p, o, l));
    } catch (e) {
      if (isCofferError(e)) return slow();
      throw e;
    }
  }

  /** Pack bytes for a download: the fast reader (range-fetch.ts), else the core's backend. */
  private async readRange(packId: string, offset: number, length: number): Promise<Uint8Array> {
    const b = this.repo.backend;
    if (b instanceof RestBackend && b.location.startsWith('rest:')) {
      try {
        return await fetchRange(`${b.location.slice(5)}data/${packId}`, offset, length);
      } catch (e) {
        if (!isCofferError(e)) throw e;
      }
    }
    return b.get({ type: 'data', name: packId }, { offset, length });
  }

  /** A folder as a store-only zip, entries named below the folder's own name. */
  async *zip(snapshot: string, path: string): AsyncGenerator<Uint8Array> {
    const loader = await this.loader();
    const top = path.split('/').filter(Boolean).pop() ?? 'snapshot';
    const z = new ZipWriter();
    const self = this;
    async function* walk(tree: Id, prefix: string): AsyncGenerator<Uint8Array> {
      for (const node of (await loader.load(tree)).nodes) {
        const name = prefix + utf8Decode(node.name);
        const common = { name, mode: posixFromGoMode(node.mode ?? 0, node.type) & 0o7777, mtime: ms(node.mtime) };
        if (node.type === 'dir') {
          yield z.start({ ...common, kind: 'dir' });
          yield z.end();
          if (node.subtree) yield* walk(node.subtree, name + '/');
        } else if (node.type === 'file') {
          yield z.start({ ...common, kind: 'file', size: node.size ?? 0 });
          for await (const b of self.fileBlobs(node)) {
            z.write(b);
            yield b;
          }
          yield z.end();
        } else if (node.type === 'symlink') {
          const target = node.linktargetRaw ?? utf8Encode(node.linktarget ?? '');
          yield z.start({ ...common, kind: 'symlink', size: target.length });
          z.write(target);
          yield target;
          yield z.end();
        }
        // Devices, FIFOs and sockets have no place in a zip.
      }
    }
    const root = await this.treeOf(snapshot, path);
    yield z.start({ name: top, kind: 'dir' });
    yield z.end();
    yield* walk(root, top + '/');
    yield z.finish();
  }

  async diff(a: string, b: string, limit: number): Promise<DiffInfo> {
    const [sa, sb] = [await this.snapshot(a), await this.snapshot(b)];
    const changes: { path: string; modifier: string }[] = [];
    let truncated = 0;
    const r = await diffTrees(await this.loader(), await this.index(), sa.snapshot.tree, sb.snapshot.tree, {
      onChange: (c) => {
        if (changes.length < limit) changes.push({ path: c.path, modifier: c.modifier });
        else truncated++;
      },
    });
    return {
      changes,
      truncated,
      added: { files: r.added.files, dirs: r.added.dirs, bytes: r.added.bytes },
      removed: { files: r.removed.files, dirs: r.removed.dirs, bytes: r.removed.bytes },
    };
  }

  /** Opens the OTP vault (the newest `coffer-otp` record) with the password typed again. */
  async otpOpen(password: string): Promise<{ entries: number; exists: boolean }> {
    const v = await loadOtpVault(this.repo, password);
    this.otp = vaultItems(v.db);
    return { entries: this.otp.length, exists: v.recordId !== undefined };
  }

  /** The codes now, or null while the vault is closed. Secrets stay here. */
  otpCodes(nowMs: number): OtpCodeInfo[] | null {
    return this.otp ? this.otp.map((i) => otpCode(i, nowMs)) : null;
  }

  /** Entries whose name contains `query` (case-insensitive), depth first, at most `limit`. */
  async search(snapshot: string, query: string, limit: number): Promise<{ path: string; entry: EntryInfo }[]> {
    const loader = await this.loader();
    const q = query.toLowerCase();
    const out: { path: string; entry: EntryInfo }[] = [];
    const walk = async (tree: Id, dir: string): Promise<void> => {
      for (const node of (await loader.load(tree)).nodes) {
        if (out.length >= limit) return;
        const name = utf8Decode(node.name);
        const p = dir + '/' + name;
        if (name.toLowerCase().includes(q)) out.push({ path: p, entry: entryInfo(node) });
        if (node.type === 'dir' && node.subtree) await walk(node.subtree, p);
      }
    };
    await walk((await this.snapshot(snapshot)).snapshot.tree, '');
    return out;
  }
}

export function otpCode(item: VaultItem, nowMs: number): OtpCodeInfo {
  const e = item.entry;
  const base = { index: item.index, issuer: e.issuer, name: e.name, type: e.type };
  const at = BigInt(Math.floor(nowMs / 1000));
  if (e.type === 'totp' && e.algorithm !== 'MD5') return { ...base, code: totp(e.secret, at, e.algorithm, e.digits, e.period!), period: e.period!, secondsLeft: secondsLeft(at, e.period!) };
  if (e.type === 'steam') return { ...base, code: steam(e.secret, at, e.period), period: e.period ?? 30, secondsLeft: secondsLeft(at, e.period ?? 30) };
  if (e.type === 'hotp') return { ...base, note: 'HOTP: run "coffer otp code" (each code advances the stored counter)' };
  return { ...base, note: `Coffer does not compute ${e.type} codes yet` };
}

export function entryInfo(n: TreeNode): EntryInfo {
  return {
    name: utf8Decode(n.name),
    type: n.type,
    size: n.size ?? 0,
    mtime: ms(n.mtime),
    mtimeText: formatGoTime(n.mtime),
    mode: posixFromGoMode(n.mode ?? 0, n.type),
    uid: n.uid,
    gid: n.gid,
    ...(n.user ? { user: n.user } : {}),
    ...(n.group ? { group: n.group } : {}),
    ...(n.linktarget !== undefined ? { linktarget: n.linktarget } : {}),
    ...(n.type === 'file' ? { blobs: n.content?.length ?? 0 } : {}),
  };
}

interface ReadGroup {
  /** undefined: a blob missing from the index (the core's loader reports it). */
  readonly packId: string | undefined;
  readonly offset: number;
  readonly length: number;
  readonly blobs: { id: Id; loc: BlobLocation }[];
}

const GROUP_MAX = 8 * 1024 * 1024;
/** Blobs planned together (readPlan), in sealed bytes: the span of the file whose reads are merged. */
const WINDOW = 32 * 1024 * 1024;
/** readPlan's largest read: about a pack (16 MiB), so a pack is one or two requests, not a dozen. */
const PLAN_GROUP_MAX = 16 * 1024 * 1024;
/** Sealed bytes fileBlobs keeps read or being read ahead of its consumer. */
const AHEAD_BYTES = 48 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

/** Consecutive blobs of a file that lie back to back in one pack, in file order. */
export function readGroups(index: MasterIndex, ids: readonly Id[]): ReadGroup[] {
  const out: ReadGroup[] = [];
  let cur: { packId: string; offset: number; length: number; blobs: { id: Id; loc: BlobLocation }[] } | undefined;
  for (const id of ids) {
    const loc = index.lookup('data', id);
    if (!loc) {
      cur = undefined;
      out.push({ packId: undefined, offset: 0, length: 0, blobs: [{ id, loc: { packId: '', offset: 0, length: 0, uncompressedLength: 0 } }] });
      continue;
    }
    if (cur && cur.packId === loc.packId && cur.offset + cur.length === loc.offset && cur.length + loc.length <= GROUP_MAX) {
      cur.length += loc.length;
      cur.blobs.push({ id, loc });
    } else {
      cur = { packId: loc.packId, offset: loc.offset, length: loc.length, blobs: [{ id, loc }] };
      out.push(cur);
    }
  }
  return out;
}

/**
 * The reads for a file's blobs: the file is cut into windows of about WINDOW sealed bytes, and
 * within a window the blobs that lie back to back in one pack share one read (up to `groupMax`),
 * whatever their order in the file. Reads come in the order of the first file position each
 * serves; `order` gives, for each blob of the file in turn, its read and its place in it. A blob
 * the file holds twice is read twice (each position gets its own buffer). A blob missing from
 * the index gets a read of its own with no pack (the core's loader reports it).
 */
export function readPlan(index: MasterIndex, ids: readonly Id[], window = WINDOW, groupMax = PLAN_GROUP_MAX): { groups: ReadGroup[]; order: { group: number; blob: number }[] } {
  const groups: ReadGroup[] = [];
  const order: { group: number; blob: number }[] = new Array(ids.length);
  let from = 0;
  while (from < ids.length) {
    // One window: [from, to).
    const entries: { pos: number; id: Id; loc: BlobLocation | undefined }[] = [];
    let bytes = 0;
    let to = from;
    while (to < ids.length && (to === from || bytes < window)) {
      const loc = index.lookup('data', ids[to]!);
      entries.push({ pos: to, id: ids[to]!, loc });
      bytes += loc?.length ?? 0;
      to++;
    }
    const sorted = entries.filter((e) => e.loc).sort((x, y) => (x.loc!.packId < y.loc!.packId ? -1 : x.loc!.packId > y.loc!.packId ? 1 : x.loc!.offset - y.loc!.offset || x.pos - y.pos));
    const made: { first: number; g: { packId: string | undefined; offset: number; length: number; blobs: { id: Id; loc: BlobLocation }[] }; pos: number[] }[] = [];
    let cur: (typeof made)[number] | undefined;
    const again: typeof entries = [];
    for (const e of sorted) {
      const loc = e.loc!;
      // The same blob again (a file holding it twice): read on its own, not merged.
      if (cur && cur.g.packId === loc.packId && loc.offset < cur.g.offset + cur.g.length) {
        again.push(e);
        continue;
      }
      if (cur && cur.g.packId === loc.packId && cur.g.offset + cur.g.length === loc.offset && cur.g.length + loc.length <= groupMax) {
        cur.g.length += loc.length;
        cur.g.blobs.push({ id: e.id, loc });
        cur.pos.push(e.pos);
        cur.first = Math.min(cur.first, e.pos);
      } else {
        cur = { first: e.pos, g: { packId: loc.packId, offset: loc.offset, length: loc.length, blobs: [{ id: e.id, loc }] }, pos: [e.pos] };
        made.push(cur);
      }
    }
    for (const e of again) made.push({ first: e.pos, g: { packId: e.loc!.packId, offset: e.loc!.offset, length: e.loc!.length, blobs: [{ id: e.id, loc: e.loc! }] }, pos: [e.pos] });
    for (const e of entries) if (!e.loc) made.push({ first: e.pos, g: { packId: undefined, offset: 0, length: 0, blobs: [{ id: e.id, loc: { packId: '', offset: 0, length: 0, uncompressedLength: 0 } }] }, pos: [e.pos] });
    made.sort((x, y) => x.first - y.first);
    for (const m of made) {
      m.pos.forEach((pos, blob) => (order[pos] = { group: groups.length, blob }));
      groups.push(m.g);
    }
    from = to;
  }
  return { groups, order };
}
