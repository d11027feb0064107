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
import { PROGRAM_VERSION } from '../core/engine/backup/backup.js';
import type { TileTemplate } from '../core/gallery/tiles.js';
import { LocalBackend } from '../node/local-backend.js';
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
  if (typeof (backend as Partial<StreamingReads>).openReadStream === 'function' || !path.isAbsolute(backend.location)) return backend;
  return new StreamedReads(backend, new LocalBackend(backend.location));
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
    return this.local.openReadStream(h, range, o);
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
