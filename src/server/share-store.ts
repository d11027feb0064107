/**
 * @module server/share-store
 * The share store (design web-gallery.md §7): one folder per share holding only ciphertext and
 * a `meta.json` in clear with what the server needs to enforce expiry and quotas (created,
 * expires, owner account, byte counts). `coffer web` keeps it in `$XDG_DATA_HOME/coffer/shares/`,
 * `coffer serve --web` in `<data dir>/.coffer-shares/`; `coffer share create` may write into a
 * local one directly.
 *
 *   <dir>/<id>/meta.json   {version, id, created, expires, owner?, files: {n: bytes}, manifest, bytes}
 *   <dir>/<id>/f/<n>       sealed file n
 *   <dir>/<id>/m           the sealed manifest, written last: a share is served only once it is there
 *
 * Every write goes to a temporary file renamed into place (a reader sees all or nothing). A share
 * is deleted at expiry (checked whenever it is looked up, and by a sweep every minute) and on
 * revoke; an unfinished upload is dropped after a day. Files are write-once.
 */
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { plainSizeOf } from '../core/crypto/chunked-gcm.js';
import { CofferError } from '../core/errors.js';
import { isShareId, MAX_EXPIRES_MS, MAX_ITEMS, newShareId } from '../core/share/format.js';

export interface ShareMeta {
  readonly version: 1;
  readonly id: string;
  /** Milliseconds since the epoch. */
  readonly created: number;
  readonly expires: number;
  /** The account that made it (`coffer serve --web`); absent for `coffer web`'s single user. */
  readonly owner?: string;
  /** Sealed bytes of each file, by file number. */
  readonly files: Readonly<Record<string, number>>;
  /** Sealed bytes of the manifest; absent until the upload is complete. */
  readonly manifest?: number;
  /** Sealed bytes in all. */
  readonly bytes: number;
}

export interface ShareLimits {
  /** Largest share, all files together (default 16 GiB). */
  readonly maxShareBytes?: number;
  /** Largest store, all shares together (default: no limit). */
  readonly maxStoreBytes?: number;
  /** Largest sealed manifest (default 16 MiB). */
  readonly maxManifestBytes?: number;
}

const INCOMPLETE_MS = 24 * 3600_000;
const MAX_FILES = MAX_ITEMS * 3;

export type ShareFileName = 'm' | number;

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException)?.code;
}

export class ShareStore {
  private queue: Promise<unknown> = Promise.resolve();
  private readonly maxShare: number;
  private readonly maxStore: number;
  private readonly maxManifest: number;

  constructor(
    readonly dir: string,
    limits: ShareLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.maxShare = limits.maxShareBytes ?? 16 * 1024 ** 3;
    this.maxStore = limits.maxStoreBytes ?? Number.MAX_SAFE_INTEGER;
    this.maxManifest = limits.maxManifestBytes ?? 16 * 1024 * 1024;
  }

  /** Runs meta.json read-modify-writes of this process one at a time. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private shareDir(id: string): string {
    if (!isShareId(id)) throw new CofferError('usage', 'not a share id');
    return path.join(this.dir, id);
  }

  private async writeAtomic(file: string, data: Uint8Array | AsyncIterable<Uint8Array>, limit: number): Promise<number> {
    const tmp = path.join(path.dirname(file), `.tmp-${randomBytes(8).toString('hex')}`);
    const fh = await fsp.open(tmp, 'wx', 0o600);
    let n = 0;
    try {
      const pieces = data instanceof Uint8Array ? [data] : data;
      for await (const p of pieces) {
        n += p.length;
        if (n > limit) throw new CofferError('no-space', 'the share is larger than this server accepts');
        await fh.write(p);
      }
      await fh.sync();
      await fh.close();
    } catch (e) {
      await fh.close().catch(() => undefined);
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    try {
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
    return n;
  }

  private async readMeta(id: string): Promise<ShareMeta | undefined> {
    try {
      const m = JSON.parse(await fsp.readFile(path.join(this.shareDir(id), 'meta.json'), 'utf8')) as ShareMeta;
      return m && m.id === id ? m : undefined;
    } catch (e) {
      if (errno(e) === 'ENOENT' || e instanceof SyntaxError) return undefined;
      throw e;
    }
  }

  private writeMeta(m: ShareMeta): Promise<number> {
    return this.writeAtomic(path.join(this.shareDir(m.id), 'meta.json'), new TextEncoder().encode(JSON.stringify(m) + '\n'), 1 << 20);
  }

  private expired(m: ShareMeta): boolean {
    const t = this.now();
    return m.expires <= t || (m.manifest === undefined && m.created + INCOMPLETE_MS <= t);
  }

  /** The share's meta when it exists and has not expired; an expired one is deleted now. */
  async meta(id: string): Promise<ShareMeta | undefined> {
    if (!isShareId(id)) return undefined;
    const m = await this.readMeta(id);
    if (!m) return undefined;
    if (this.expired(m)) {
      await this.remove(id);
      return undefined;
    }
    return m;
  }

  /** Starts a share; its files and then its manifest are uploaded with `put`. */
  async create(o: { expires: number; owner?: string }): Promise<ShareMeta> {
    const created = this.now();
    if (!Number.isSafeInteger(o.expires) || o.expires <= created || o.expires > created + MAX_EXPIRES_MS) {
      throw new CofferError('usage', 'a share expires between now and a year from now');
    }
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
    for (;;) {
      const id = newShareId();
      try {
        await fsp.mkdir(path.join(this.dir, id), { mode: 0o700 });
      } catch (e) {
        if (errno(e) === 'EEXIST') continue;
        throw e;
      }
      await fsp.mkdir(path.join(this.dir, id, 'f'), { mode: 0o700 });
      const m: ShareMeta = { version: 1, id, created, expires: o.expires, ...(o.owner !== undefined ? { owner: o.owner } : {}), files: {}, bytes: 0 };
      await this.writeMeta(m);
      return m;
    }
  }

  /**
   * Stores a sealed file (`n`) or the manifest (`'m'`, last: it completes the share). Write-once;
   * refused for another owner, after completion, or past the limits. The length must be one a
   * sealed stream can have.
   */
  async put(id: string, name: ShareFileName, data: Uint8Array | AsyncIterable<Uint8Array>, owner?: string): Promise<number> {
    const m = await this.meta(id);
    if (!m || m.owner !== owner) throw new CofferError('not-found', 'no such share');
    if (m.manifest !== undefined) throw new CofferError('already-exists', 'the share is complete: its files cannot change');
    if (name !== 'm' && (!Number.isSafeInteger(name) || name < 0 || name >= MAX_FILES)) throw new CofferError('usage', 'bad file number');
    if (name !== 'm' && m.files[String(name)] !== undefined) throw new CofferError('already-exists', `file ${name} is already uploaded`);
    const room = Math.min(this.maxShare - m.bytes, this.maxStore - (await this.totalBytes()));
    const limit = name === 'm' ? Math.min(this.maxManifest, room) : room;
    const target = name === 'm' ? path.join(this.shareDir(id), 'm') : path.join(this.shareDir(id), 'f', String(name));
    // Staged beside the target, then checked, then renamed.
    const staged = `${target}.part-${randomBytes(6).toString('hex')}`;
    const n = await this.writeAtomic(staged, data, Math.max(0, limit));
    try {
      plainSizeOf(n, 'upload');
    } catch {
      await fsp.rm(staged, { force: true });
      throw new CofferError('usage', 'the upload is not a sealed stream (bad length)');
    }
    return this.serial(async () => {
      const now = await this.meta(id);
      if (!now || now.manifest !== undefined || (name !== 'm' && now.files[String(name)] !== undefined)) {
        await fsp.rm(staged, { force: true });
        throw new CofferError(now ? 'already-exists' : 'not-found', now ? 'uploaded twice' : 'no such share');
      }
      await fsp.rename(staged, target);
      const next: ShareMeta = name === 'm' ? { ...now, manifest: n, bytes: now.bytes + n } : { ...now, files: { ...now.files, [String(name)]: n }, bytes: now.bytes + n };
      await this.writeMeta(next);
      return n;
    });
  }

  /** A complete, live share's file (or manifest) for reading, or undefined (404 alike). */
  async file(id: string, name: ShareFileName): Promise<{ path: string; size: number } | undefined> {
    const m = await this.meta(id);
    if (!m || m.manifest === undefined) return undefined;
    const size = name === 'm' ? m.manifest : m.files[String(name)];
    if (size === undefined) return undefined;
    return { path: name === 'm' ? path.join(this.shareDir(id), 'm') : path.join(this.shareDir(id), 'f', String(name)), size };
  }

  /** Deletes a share of `owner`; false when there is none (or another account's). */
  async revoke(id: string, owner?: string): Promise<boolean> {
    const m = await this.meta(id);
    if (!m || m.owner !== owner) return false;
    await this.remove(id);
    return true;
  }

  private async remove(id: string): Promise<void> {
    const d = this.shareDir(id);
    // Renamed away first, so no reader finds a half-deleted share.
    const gone = path.join(this.dir, `.gone-${id}-${randomBytes(4).toString('hex')}`);
    try {
      await fsp.rename(d, gone);
    } catch (e) {
      if (errno(e) === 'ENOENT') return;
      throw e;
    }
    await fsp.rm(gone, { recursive: true, force: true });
  }

  private async ids(): Promise<string[]> {
    try {
      return (await fsp.readdir(this.dir)).filter(isShareId);
    } catch (e) {
      if (errno(e) === 'ENOENT') return [];
      throw e;
    }
  }

  /** Live shares of `owner` (all owners with 'all'), newest first. */
  async list(owner?: string | { all: true }): Promise<ShareMeta[]> {
    const out: ShareMeta[] = [];
    for (const id of await this.ids()) {
      const m = await this.meta(id);
      if (m && (typeof owner === 'object' || m.owner === owner)) out.push(m);
    }
    return out.sort((a, b) => b.created - a.created);
  }

  private async totalBytes(): Promise<number> {
    if (this.maxStore === Number.MAX_SAFE_INTEGER) return 0;
    let t = 0;
    for (const m of await this.list({ all: true })) t += m.bytes;
    return t;
  }

  /** Deletes what has expired (and leftovers of interrupted deletes); returns how many shares. */
  async sweep(): Promise<number> {
    let n = 0;
    for (const id of await this.ids()) {
      const m = await this.readMeta(id);
      if (m && this.expired(m)) {
        await this.remove(id);
        n++;
      }
    }
    try {
      for (const f of await fsp.readdir(this.dir)) if (f.startsWith('.gone-')) await fsp.rm(path.join(this.dir, f), { recursive: true, force: true });
    } catch {
      // No store yet.
    }
    return n;
  }

  /** Sweeps every `ms` (default a minute) until the returned function is called. */
  startSweeper(ms = 60_000): () => void {
    const t = setInterval(() => void this.sweep().catch(() => undefined), ms);
    t.unref();
    void this.sweep().catch(() => undefined);
    return () => clearInterval(t);
  }
}

/** `$XDG_DATA_HOME/coffer/shares` (`~/.local/share/coffer/shares`): `coffer web`'s store. */
export function localShareDir(env: NodeJS.ProcessEnv, home: string): string {
  const data = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(home, '.local', 'share');
  return path.join(data, 'coffer', 'shares');
}

/** `<data dir>/.coffer-shares`: `coffer serve`'s store. */
export function serveShareDir(dataDir: string): string {
  return path.join(dataDir, '.coffer-shares');
}

/** A store with its minute sweeper running for the life of the process. */
export function startShareStore(dir: string, limits?: ShareLimits): ShareStore {
  const s = new ShareStore(dir, limits);
  s.startSweeper();
  return s;
}
