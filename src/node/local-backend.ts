/**
 * @module node/local-backend
 * The Backend on a local folder in restic's layout (spec §2), behaving like restic's local
 * backend: folders 0700, files made read-only (0400, or 0440 when the repository's config is
 * group-readable, as restic derives its modes), atomic puts (temp file, fsync, rename, fsync of
 * the folder) so a crash or power loss never leaves a partial file under a final name.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../core/backend/backend.js';
import { describeHandle } from '../core/backend/backend.js';
import { checkHandle, dirPath, filePath, initDirs, isValidId } from '../core/backend/layout.js';
import { resolveRange } from '../core/backend/range.js';
import { CofferError, isCofferError } from '../core/errors.js';

/** restic's default modes; the group-accessible variant applies when config is group-readable. */
const MODES = { private: { file: 0o600, dir: 0o700 }, group: { file: 0o640, dir: 0o750 } } as const;
type Modes = { readonly file: number; readonly dir: number };

/** Prefix of in-flight uploads: never a valid ID, so `list` skips them and leftovers are recognisable. */
export const TEMP_PREFIX = '.tmp-';

/** Parallel stats per folder while listing (sizes come from stat). */
const STAT_PARALLEL = 32;

/** Chunk size of streamed reads: large enough that per-chunk costs vanish, small enough to start fast. */
const READ_CHUNK = 1024 * 1024;

export class LocalBackend implements Backend {
  readonly location: string;
  readonly connections = 2;
  private modes: Promise<Modes> | undefined;

  constructor(readonly root: string) {
    this.location = root;
  }

  async create(o?: CallOpts): Promise<void> {
    checkAbort(o);
    const config = this.abs({ type: 'config', name: '' });
    try {
      await fsp.lstat(config);
      throw new CofferError('already-exists', `${config} already exists: there is a repository at ${this.root}`);
    } catch (e) {
      if (isCofferError(e)) throw e;
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw mapError(e, config);
    }
    const mode = MODES.private.dir;
    for (const d of ['', ...initDirs()]) {
      const p = d ? path.join(this.root, d) : this.root;
      try {
        await fsp.mkdir(p, { recursive: true, mode });
      } catch (e) {
        throw mapError(e, p);
      }
    }
    this.modes = Promise.resolve(MODES.private);
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    checkAbort(o);
    const p = this.abs(h);
    try {
      const st = await fsp.stat(p);
      return { name: h.name, size: st.size };
    } catch (e) {
      throw mapError(e, p);
    }
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    checkAbort(o);
    const p = this.abs(h);
    let fh: fsp.FileHandle | undefined;
    try {
      fh = await fsp.open(p, 'r');
      const size = (await fh.stat()).size;
      const { start, end } = range ? resolveRange(range, size, describeHandle(h)) : { start: 0, end: size };
      const out = new Uint8Array(end - start);
      let done = 0;
      while (done < out.length) {
        checkAbort(o);
        const { bytesRead } = await fh.read(out, done, out.length - done, start + done);
        if (bytesRead === 0) throw new CofferError('range', `${describeHandle(h)}: file ended at ${start + done} bytes while reading (it shrank)`);
        done += bytesRead;
      }
      return out;
    } catch (e) {
      throw mapError(e, p);
    } finally {
      await fh?.close().catch(() => undefined);
    }
  }

  /**
   * The bytes of `get(h, range)` as a stream read in chunks, for the REST server (rest-app.ts):
   * a whole pack is never held in memory and the first bytes leave before the last are read.
   * The file is opened (and the range checked) before this resolves, so a missing file or a bad
   * range fails here, not mid-stream; a file that shrinks while read errors the stream.
   */
  async openReadStream(h: Handle, range?: ByteRange, o?: CallOpts): Promise<ReadableStream<Uint8Array>> {
    const p = this.abs(h);
    const { fh, start, end } = await openFileRange(p, describeHandle(h), range, o);
    let pos = start;
    let closed = false;
    const close = async (): Promise<void> => {
      if (closed) return;
      closed = true;
      await fh.close().catch(() => undefined);
    };
    // One chunk read ahead (the default high-water mark): the disk read overlaps the socket write,
    // and the consumer's pace (socket back-pressure) bounds what is held.
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        try {
          if (pos >= end) {
            await close();
            controller.close();
            return;
          }
          checkAbort(o);
          const buf = new Uint8Array(Math.min(READ_CHUNK, end - pos));
          let done = 0;
          while (done < buf.length) {
            const { bytesRead } = await fh.read(buf, done, buf.length - done, pos + done);
            if (bytesRead === 0) throw new CofferError('range', `${describeHandle(h)}: file ended at ${pos + done} bytes while reading (it shrank)`);
            done += bytesRead;
          }
          pos += done;
          controller.enqueue(buf);
        } catch (e) {
          await close();
          controller.error(mapError(e, p));
        }
      },
      cancel: close,
    });
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    checkHandle(h);
    checkAbort(o);
    const final = this.abs(h);
    const dir = path.dirname(final);
    const modes = await this.fileModes();
    const tmp = path.join(dir, TEMP_PREFIX + randomBytes(8).toString('hex'));
    let fh: fsp.FileHandle | undefined;
    try {
      try {
        fh = await fsp.open(tmp, 'wx', modes.file);
      } catch (e) {
        // A missing folder (a shard removed by hand, a repository made by another tool): create it.
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        await fsp.mkdir(dir, { recursive: true, mode: modes.dir });
        fh = await fsp.open(tmp, 'wx', modes.file);
      }
      let done = 0;
      while (done < data.length) {
        checkAbort(o);
        const { bytesWritten } = await fh.write(data, done, data.length - done);
        done += bytesWritten;
      }
      // Read-only like restic, set exactly (not through the umask) before the name becomes final.
      // Some file systems (exfat, some network mounts) refuse chmod: that is not an error.
      await fh.chmod(modes.file & ~0o222).catch(() => undefined);
      await syncIgnoringUnsupported(fh);
      await fh.close();
      fh = undefined;
      checkAbort(o);
      await fsp.rename(tmp, final);
    } catch (e) {
      await fh?.close().catch(() => undefined);
      await fsp.unlink(tmp).catch(() => undefined);
      throw mapError(e, final);
    }
    // Commit the rename itself: without this a power loss can lose a file already reported saved.
    await syncDir(dir).catch((e: unknown) => {
      throw mapError(e, dir);
    });
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    checkAbort(o);
    const p = this.abs(h);
    try {
      await fsp.unlink(p);
    } catch (e) {
      throw mapError(e, p);
    }
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    checkAbort(o);
    if (type === 'config') return;
    const base = path.join(this.root, dirPath(type));
    if (type !== 'data') {
      yield* this.listDir(base, o);
      return;
    }
    // data/ is sharded: list every subfolder; files directly in data/ are not packs.
    for (const shard of (await readDirTolerant(base)).sort()) {
      yield* this.listDir(path.join(base, shard), o);
    }
  }

  /** Absolute path of a handle's file. */
  pathOf(h: Handle): string {
    return this.abs(h);
  }

  private abs(h: Handle): string {
    return path.join(this.root, filePath(h));
  }

  private async *listDir(dir: string, o?: CallOpts): AsyncIterable<FileInfo> {
    const names = (await readDirTolerant(dir)).filter(isValidId).sort();
    for (let i = 0; i < names.length; i += STAT_PARALLEL) {
      checkAbort(o);
      const batch = names.slice(i, i + STAT_PARALLEL);
      const stats = await Promise.all(
        batch.map(async (name) => {
          const p = path.join(dir, name);
          try {
            const st = await fsp.stat(p);
            return st.isFile() ? { name, size: st.size } : undefined;
          } catch (e) {
            // Removed between readdir and stat (a concurrent prune): not there any more.
            if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
            throw mapError(e, p);
          }
        }),
      );
      for (const fi of stats) if (fi) yield fi;
    }
  }

  /** restic derives file and folder modes from the config file's mode (group-readable or not). */
  private fileModes(): Promise<Modes> {
    this.modes ??= fsp.stat(this.abs({ type: 'config', name: '' })).then(
      (st) => ((st.mode & 0o040) !== 0 ? MODES.group : MODES.private),
      () => MODES.private,
    );
    return this.modes;
  }
}

/** Names in a folder; a missing folder lists as empty (readers must tolerate missing folders). */
async function readDirTolerant(dir: string): Promise<string[]> {
  try {
    return await fsp.readdir(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw mapError(e, dir);
  }
}

async function syncIgnoringUnsupported(fh: fsp.FileHandle): Promise<void> {
  try {
    await fh.sync();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOTSUP' && code !== 'EINVAL' && code !== 'ENOTTY') throw e;
  }
}

async function syncDir(dir: string): Promise<void> {
  const fh = await fsp.open(dir, 'r');
  try {
    await syncIgnoringUnsupported(fh);
  } finally {
    await fh.close();
  }
}

/**
 * Opens `p` and resolves `range` against its size (errors mapped as the backend's, the file
 * closed again when the range is bad), so a stream over it fails before its first byte, not
 * mid-stream. The caller closes `fh`.
 */
export async function openFileRange(p: string, what: string, range: ByteRange | undefined, o?: CallOpts): Promise<{ fh: fsp.FileHandle; start: number; end: number }> {
  checkAbort(o);
  let fh: fsp.FileHandle;
  try {
    fh = await fsp.open(p, 'r');
  } catch (e) {
    throw mapError(e, p);
  }
  try {
    const size = (await fh.stat()).size;
    return { fh, ...(range ? resolveRange(range, size, what) : { start: 0, end: size }) };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw mapError(e, p);
  }
}

/**
 * The local folder behind `backend`, if it is one: the backend itself, or a wrapper (the CLI's
 * retries and limits) whose location is an absolute path (every other backend's location is a
 * URL-like `rest:`/`s3:`/`sftp:`/`rclone:` string). Direct file access for fast paths.
 */
export function localBackendOf(backend: Backend): LocalBackend | undefined {
  if (backend instanceof LocalBackend) return backend;
  return path.isAbsolute(backend.location) ? new LocalBackend(backend.location) : undefined;
}

export function checkAbort(o: CallOpts | undefined): void {
  if (o?.signal?.aborted) throw new CofferError('cancelled', 'operation cancelled', { cause: o.signal.reason });
}

const TRANSIENT = new Set(['EIO', 'EAGAIN', 'EBUSY', 'EINTR', 'ETIMEDOUT', 'ESTALE', 'EMFILE', 'ENFILE']);

/** Maps a Node file system error to the contract's codes; the message names the file. */
export function mapError(e: unknown, p: string): CofferError {
  if (isCofferError(e)) return e;
  const err = e as NodeJS.ErrnoException;
  const code = err?.code ?? '';
  const detail = err?.message ?? String(e);
  switch (code) {
    case 'ENOENT':
    case 'ENOTDIR': // a path below a file (e.g. a repository named like a file): not there either
      return new CofferError('not-found', `${p} does not exist`, { cause: e });
    case 'EACCES':
    case 'EPERM':
      return new CofferError('permission', `permission denied: ${p}`, { cause: e });
    case 'EROFS':
      return new CofferError('permission', `read-only file system: ${p}`, { cause: e });
    case 'ENOSPC':
    case 'EDQUOT':
      return new CofferError('no-space', `cannot write ${p}: the disk is full${code === 'EDQUOT' ? ' (quota exceeded)' : ''}`, { cause: e });
    case 'ABORT_ERR':
      return new CofferError('cancelled', 'operation cancelled', { cause: e });
  }
  if (TRANSIENT.has(code)) return new CofferError('transient', `${p}: ${detail}`, { cause: e });
  return new CofferError('internal', `${p}: ${detail}`, { cause: e });
}
