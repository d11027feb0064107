/**
 * @module server/serve-app
 * The handler behind `coffer serve`: many repositories under one URL space, as rest-server.
 * A repository is any sub-path (`/`, `/repo/`, `/user/repo/`); the request's repository is what
 * comes before `config` or `<type>/[name]`, or the whole path for `POST /<repo>/?create=true`.
 * Each repository gets its own Backend (from `backendFor`) and REST app (rest-app.ts), cached.
 *
 * On top: HTTP Basic authentication through `verify` (htpasswd), `privateRepos` (a user reaches
 * only `/<user>/...`), `/health` (200 without authentication), and one log line per request
 * with the user name but never the Authorization header or a password.
 *
 * Path segments must be plain names (letters, digits, `._-`, not starting with a dot, at most
 * 255 characters, not a type folder name nor `config`), so a request can never reach outside the
 * storage root nor the htpasswd file stored beside the repositories, nor put a repository inside
 * another repository's folders.
 */
import type { Backend } from '../core/backend/backend.js';
import { createRestApp, type RestApp } from './rest-app.js';

export interface ServeAppOptions {
  /** The storage of the repository at `repo` ('' = the root; else 'a' or 'a/b'). */
  backendFor(repo: string): Backend;
  /** Checks a user's password; undefined = no authentication (--no-auth). */
  verify?: (user: string, password: string) => boolean | Promise<boolean>;
  privateRepos?: boolean;
  appendOnly?: boolean;
  verifyUpload?: boolean;
  /** Largest accepted upload in bytes. */
  maxUploadBytes?: number;
  /** Called once per request with a log line (no secrets). */
  log?: (line: string) => void;
  /** Realm named in WWW-Authenticate. */
  realm?: string;
}

export interface RequestInfo {
  readonly remoteAddress?: string;
  /** The user of a web session (`coffer serve --web`, server/web-serve.ts): already signed in. */
  readonly sessionUser?: string;
}

export type ServeApp = ((req: Request, info?: RequestInfo) => Promise<Response>) & { close(): Promise<void> };

const TYPE_DIRS = new Set(['data', 'keys', 'locks', 'snapshots', 'index']);
const SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;
const RESERVED = new Set([...TYPE_DIRS, 'config']);
/** Longest folder name file systems accept (NAME_MAX); longer ones would fail as a server error. */
const MAX_SEGMENT = 255;

/** The repository a request path addresses, or undefined when the path is not a protocol path. */
export function repoOf(pathname: string, isCreate: boolean): string | undefined {
  let p: string;
  try {
    p = decodeURIComponent(pathname);
  } catch {
    return undefined;
  }
  if (!p.startsWith('/')) return undefined;
  const segs = p.slice(1).split('/');
  let repoSegs: string[];
  const last = segs[segs.length - 1]!;
  if (isCreate) {
    repoSegs = last === '' ? segs.slice(0, -1) : segs;
  } else if (last === 'config') {
    repoSegs = segs.slice(0, -1);
  } else if (segs.length >= 2 && TYPE_DIRS.has(segs[segs.length - 2]!)) {
    repoSegs = segs.slice(0, -2); // <type>/ (listing) or <type>/<name>
  } else {
    return undefined;
  }
  // As rest-server, a repository's path never holds a type folder name or `config`: otherwise
  // `/data/config` or `/alice/data/keys/ID` would store a second repository inside another one's
  // folders, where restic would list its files as the outer repository's own.
  for (const s of repoSegs) if (!SEGMENT.test(s) || s.length > MAX_SEGMENT || RESERVED.has(s)) return undefined;
  return repoSegs.join('/');
}

export function createServeApp(opts: ServeAppOptions): ServeApp {
  const apps = new Map<string, { app: RestApp; backend: Backend }>();
  const realm = opts.realm ?? 'restic';

  function appFor(repo: string): RestApp {
    let a = apps.get(repo);
    if (!a) {
      const backend = opts.backendFor(repo);
      const app = createRestApp({
        backend,
        prefix: repo === '' ? '/' : `/${repo}/`,
        appendOnly: opts.appendOnly ?? false,
        verifyUpload: opts.verifyUpload ?? true,
        ...(opts.maxUploadBytes !== undefined ? { maxUploadBytes: opts.maxUploadBytes } : {}),
      });
      a = { app, backend };
      apps.set(repo, a);
    }
    return a.app;
  }

  async function handle(req: Request, user: { name?: string }, info?: RequestInfo): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === '/health') {
      if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'Method Not Allowed');
      return new Response('{"status":"ok"}\n', { status: 200, headers: { 'Content-Type': 'application/json' } });
    }
    if (info?.sessionUser !== undefined) {
      user.name = info.sessionUser;
    } else if (opts.verify) {
      const cred = basicCredentials(req.headers.get('authorization'));
      if (!cred || !(await opts.verify(cred.user, cred.password))) {
        return new Response('Unauthorized', { status: 401, headers: { 'WWW-Authenticate': `Basic realm="${realm}"`, 'Content-Type': 'text/plain; charset=utf-8' } });
      }
      user.name = cred.user;
    }
    const isCreate = req.method === 'POST' && url.search === '?create=true';
    const repo = repoOf(url.pathname, isCreate);
    if (repo === undefined) return text(404, 'Not Found');
    if (opts.privateRepos) {
      const first = repo.split('/')[0];
      if (user.name === undefined || first !== user.name) return text(403, 'Forbidden');
    }
    return appFor(repo)(req);
  }

  const app = async (req: Request, info?: RequestInfo): Promise<Response> => {
    const started = Date.now();
    const user: { name?: string } = {};
    let res: Response;
    try {
      res = await handle(req, user, info);
    } catch {
      res = text(500, 'Internal Server Error');
    }
    if (opts.log) {
      const url = new URL(req.url);
      const len = res.headers.get('content-length') ?? '-';
      opts.log(`${new Date(started).toISOString()} ${info?.remoteAddress ?? '-'} ${logSafe(user.name ?? '-')} "${req.method} ${logSafe(url.pathname + url.search)}" ${res.status} ${len} ${Date.now() - started}ms`);
    }
    return res;
  };
  return Object.assign(app, {
    async close(): Promise<void> {
      for (const { backend } of apps.values()) await backend.close?.().catch(() => undefined);
      apps.clear();
    },
  });
}

/** user:password from a Basic Authorization header (the password may contain ':'). */
export function basicCredentials(header: string | null): { user: string; password: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header) : null;
  if (!m) return undefined;
  let decoded: string;
  try {
    const bin = atob(m[1]!);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
  const i = decoded.indexOf(':');
  if (i < 0) return undefined;
  return { user: decoded.slice(0, i), password: decoded.slice(i + 1) };
}

/** Control characters and quotes escaped so a request cannot forge log lines. */
function logSafe(s: string): string {
  return s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}
