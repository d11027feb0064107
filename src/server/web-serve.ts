/**
 * @module server/web-serve
 * `coffer serve --web`: the web app in front of the multi-user REST server. The server's own
 * accounts sign in at `/login` (HTTP Basic against the htpasswd file, once) and get a session
 * cookie; the page's worker then reaches the user's repositories with that cookie, and the REST
 * server applies its usual rules (private repositories, append-only, quota) to the session's
 * user. restic and Coffer clients keep using Basic authentication as before.
 *
 * GET paths the app owns (`/`, `/index.html`, `/sw.js`, `/favicon.svg`, `/assets/…`, `/login`,
 * `/logout`, `/api/…`) cannot be repository names while the app is on.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../core/backend/backend.js';
import { describeHandle } from '../core/backend/backend.js';
import { checkHandle, filePath } from '../core/backend/layout.js';
import { CofferError } from '../core/errors.js';
import { PROGRAM_VERSION } from '../core/engine/backup/backup.js';
import type { TileTemplate } from '../core/gallery/tiles.js';
import { checkAbort, localBackendOf, mapError, openFileRange, type LocalBackend } from '../node/local-backend.js';
import type { StreamingReads } from './rest-app.js';
import type { ServeApp } from './serve-app.js';
import { createWebApp, type WebApp, type WebRoute } from './web-app.js';
import { loadWebAssets, type WebAssets } from './web-assets.js';

export interface ServeWebOptions {
  readonly serve: ServeApp;
  /** Checks an account's password (undefined with --no-auth: everyone is signed in). */
  readonly verify?: (user: string, password: string) => boolean | Promise<boolean>;
  /** Local storage root, to list the repositories a user can open (none for remote storage). */
  readonly dir?: string;
  readonly privateRepos: boolean;
  readonly allowedHosts: readonly string[] | 'any';
  readonly secure: boolean;
  readonly log?: (line: string) => void;
  /** Feature routes (share links, the inbox); a function gets the loaded assets (for page shells). */
  readonly routes?: readonly WebRoute[] | ((assets: WebAssets) => readonly WebRoute[]);
  /** The gallery map's tile server (`--map-tiles`), if the operator set one. */
  readonly mapTiles?: TileTemplate;
}

const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Repository paths (`/a/b/`) below `dir`: folders holding a `config` file, up to 3 levels. */
export function findRepositories(dir: string, under = ''): string[] {
  const out: string[] = [];
  const walk = (rel: string[], depth: number): void => {
    const abs = path.join(dir, ...rel);
    if (fs.existsSync(path.join(abs, 'config')) && fs.existsSync(path.join(abs, 'keys'))) {
      out.push('/' + rel.map((r) => r + '/').join(''));
      return;
    }
    if (depth >= 3) return;
    let names: string[];
    try {
      names = fs.readdirSync(abs, { withFileTypes: true }).filter((d) => d.isDirectory() && SEGMENT.test(d.name)).map((d) => d.name);
    } catch {
      return;
    }
    for (const n of names.sort()) walk([...rel, n], depth + 1);
  };
  if (under && !SEGMENT.test(under)) return out;
  walk(under ? [under] : [], under ? 1 : 0);
  return out;
}

export function createServeWeb(o: ServeWebOptions): WebApp {
  const assets = loadWebAssets();
  return createWebApp({
    assets,
    ...(o.routes ? { routes: typeof o.routes === 'function' ? o.routes(assets) : o.routes } : {}),
    ...(o.verify ? { verify: o.verify } : { anonymous: true }),
    protocol: (req, user, info) => o.serve(req, { ...(info?.remoteAddress ? { remoteAddress: info.remoteAddress } : {}), ...(user?.name !== undefined ? { sessionUser: user.name } : {}) }),
    protocolNeedsSession: false,
    info: (user) => {
      let repos: string[] = [];
      if (o.dir && !(o.privateRepos && user.name === undefined)) repos = findRepositories(o.dir, o.privateRepos ? user.name : '');
      return { version: PROGRAM_VERSION.split(' ')[1] ?? PROGRAM_VERSION, repo: repos[0] ?? null, repos, ...(user.name !== undefined ? { user: user.name } : {}), features: ['snapshots', 'files', 'download', 'zip', 'diff', 'remember', 'otp'] };
    },
    allowedHosts: o.allowedHosts,
    secure: o.secure,
    logProtocol: false,
    ...(o.log ? { log: o.log } : {}),
    ...(o.mapTiles ? { mapTiles: o.mapTiles } : {}),
  });
}

/**
 * `coffer web`'s backend for the REST app: the CLI's (retries, timeouts, at most `connections`
 * calls at once) plus, for a repository on a local disk, reads streamed straight from the files
 * (rest-app.ts then sends a range while reading it, outside the call limit: the page's worker
 * reads several ranges at once). Any other storage is returned as it is.
 */
export function withStreamedReads(backend: Backend): Backend {
  if (typeof (backend as Partial<StreamingReads>).openReadStream === 'function') return backend;
  const local = localBackendOf(backend);
  return local ? new StreamedReads(backend, local) : backend;
}

class StreamedReads implements Backend, StreamingReads {
  readonly location: string;
  readonly connections: number;
  constructor(
    private readonly inner: Backend,
    private readonly local: LocalBackend,
  ) {
    this.location = inner.location;
    this.connections = inner.connections;
  }
  openReadStream(h: Handle, range: ByteRange | undefined, o?: CallOpts): Promise<ReadableStream<Uint8Array>> {
    if (h.type !== 'data') return this.local.openReadStream(h, range, o);
    checkHandle(h);
    return streamPack(path.join(this.location, filePath(h)), describeHandle(h), range, o);
  }
  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.inner.stat(h, o);
  }
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.inner.get(h, range, o);
  }
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.inner.put(h, data, o);
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.inner.delete(h, o);
  }
  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    return this.inner.list(type, o);
  }
  create(o?: CallOpts): Promise<void> {
    return this.inner.create(o);
  }
  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}

/**
 * Pack reads for the page's downloads, without a fresh buffer per chunk: chunks are read into
 * buffers from a small shared pool (a fresh 1 MiB buffer per chunk cost the server more, in GC
 * and first-touch page faults, than the reads themselves: 1.7 -> 0.7 CPU s per GiB downloaded).
 * A buffer goes back to the pool only when it cannot still be queued for the socket. The stream
 * never reads ahead (high-water mark 0: a pull only answers a read), and its one consumer,
 * node-listener.ts's writeWebResponse, reads again only once `res.write` returned true or
 * 'drain' came. Node counts a chunk not yet fully written in `writableLength` until it is, so
 * a full chunk (1 MiB, far above the socket's high-water mark) written with `true` went out at
 * once, and with it everything queued before it. Hence: asked for more after a full chunk k+1,
 * chunk k is out and its buffer is free. The last two chunks of a stream (the last may be
 * short) and a canceled stream's are left to the GC.
 */
const SLOT = 1024 * 1024;
const pool: Buffer[] = [];
const POOL_MAX = 16;

async function streamPack(p: string, what: string, range: ByteRange | undefined, o?: CallOpts): Promise<ReadableStream<Uint8Array>> {
  const { fh, start, end } = await openFileRange(p, what, range, o);
  let pos = start;
  const lent: { buf: Buffer; n: number }[] = []; // chunks handed out, oldest first, not known to be written
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await fh.close().catch(() => undefined);
  };
  return new ReadableStream<Uint8Array>(
    {
      pull: async (controller) => {
        // Asked again after a full chunk k+1: chunk k is out (see above).
        while (lent.length > 1 && lent[lent.length - 1]!.n === SLOT) {
          const free = lent.shift()!.buf;
          if (pool.length < POOL_MAX) pool.push(free);
        }
        try {
          if (pos >= end) {
            await close();
            controller.close();
            return;
          }
          checkAbort(o);
          const buf = pool.pop() ?? Buffer.allocUnsafeSlow(SLOT);
          const n = Math.min(SLOT, end - pos);
          let done = 0;
          while (done < n) {
            const { bytesRead } = await fh.read(buf, done, n - done, pos + done);
            if (bytesRead === 0) throw new CofferError('range', `${what}: file ended at ${pos + done} bytes while reading (it shrank)`);
            done += bytesRead;
          }
          pos += n;
          lent.push({ buf, n });
          controller.enqueue(new Uint8Array(buf.buffer, buf.byteOffset, n));
        } catch (e) {
          await close();
          controller.error(mapError(e, p));
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
}
