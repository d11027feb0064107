/**
 * @module server/web-app
 * The web app's server side (design web-gallery.md §2), as a web-standard handler: static
 * assets from the package, the login (a one-time `?token=` for `coffer web`, HTTP Basic against
 * the htpasswd file at `/login` for `coffer serve --web`) that sets a session cookie, `/api/info`,
 * and everything else handed to the protocol handler (restic's REST protocol) with the session's
 * user. The server only ever sees ciphertext: it never gets the password or a key.
 *
 * Every response carries the security headers of §2 (strict CSP, nosniff, no referrer, COOP,
 * CORP, Permissions-Policy); `/repo/`, `/api/` and REST paths get `Cache-Control: no-store`.
 * `Host` must be a loopback name or a configured one (no DNS rebinding), and a request that
 * changes state must come from our own `Origin` when it names one (no cross-site writes).
 * One log line per request: method, path without the query, status, bytes, time.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { basicCredentials } from './serve-app.js';
import type { WebAssets } from './web-assets.js';
import type { TileTemplate } from '../core/gallery/tiles.js';

/** `'wasm-unsafe-eval'`: the core's zstd is the reference library compiled to WebAssembly. */
export const CSP = cspWithImages([]);

/** The CSP, with more origins allowed for images only (the user's map tile server, if set). */
export function cspWithImages(origins: readonly string[]): string {
  return (
    `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; img-src 'self' blob: data:${origins.map((o) => ' ' + o).join('')}; media-src 'self' blob:; ` +
    "connect-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
  );
}

export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), payment=(), usb=()',
  'X-Frame-Options': 'DENY',
};

export const SESSION_COOKIE = 'coffer_session';
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface WebUser {
  /** The account name (`coffer serve --web`), undefined for `coffer web`'s single user. */
  readonly name?: string;
}

export interface WebAppOptions {
  readonly assets: WebAssets;
  /** `coffer web`: the token of the printed URL (base64url). */
  readonly token?: string;
  /** `coffer serve --web`: checks an account's password for `/login`. */
  readonly verify?: (user: string, password: string) => boolean | Promise<boolean>;
  /** Everyone is signed in (`coffer serve --web --no-auth`). */
  readonly anonymous?: boolean;
  /** The protocol behind the app. `user` is undefined when the request has no session. */
  readonly protocol: (req: Request, user: WebUser | undefined, info?: { remoteAddress?: string }) => Promise<Response>;
  /** Paths the protocol serves only with a session (coffer web: everything but the app). */
  readonly protocolNeedsSession: boolean;
  /** More JSON routes for signed-in users: `GET /api/<name>` (the status, later the inbox and shares). */
  readonly api?: Readonly<Record<string, (user: WebUser) => Promise<unknown>>>;
  /** Feature routes (see WebRoute), tried in order before `/api/*` and the protocol. */
  readonly routes?: readonly WebRoute[];
  /** The body of `/api/info` for a signed-in user. */
  readonly info: (user: WebUser) => Promise<Record<string, unknown>> | Record<string, unknown>;
  /** Host names (no port) accepted besides loopback names; 'any' turns the check off. */
  readonly allowedHosts?: readonly string[] | 'any';
  /** The site is served over TLS: cookies get `Secure`. */
  readonly secure?: boolean;
  readonly log?: (line: string) => void;
  /** Also log requests handed to the protocol (default true; `coffer serve` logs those itself). */
  readonly logProtocol?: boolean;
  /** Session lifetime (default 12 h). */
  readonly sessionMs?: number;
  /** The user's map tile server (`--map-tiles`, checked): its origin is allowed for images and the page learns it from `/api/info`. */
  readonly mapTiles?: TileTemplate;
}

export type WebApp = (req: Request, info?: { remoteAddress?: string }) => Promise<Response>;

/**
 * A feature's own routes (share links, the inbox), tried in order before `/api/*` and the
 * protocol. The route does its own access check (`user` is undefined without a session: a share
 * page is public, an inbox upload carries its own token). Return undefined to pass the request on.
 */
export interface WebRoute {
  readonly name: string;
  handle(req: Request, url: URL, user: WebUser | undefined): Promise<Response | undefined> | Response | undefined;
}

export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: Request, name: string): string | undefined {
  const h = req.headers.get('cookie');
  if (!h) return undefined;
  for (const part of h.split(';')) {
    const i = part.indexOf('=');
    if (i > 0 && part.slice(0, i).trim() === name) return part.slice(i + 1).trim();
  }
  return undefined;
}

/** The host name of a Host header, without the port. */
export function hostName(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1).toLowerCase();
  const i = host.lastIndexOf(':');
  return (i >= 0 ? host.slice(0, i) : host).toLowerCase();
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...headers } });
}

function json(body: unknown): Response {
  return new Response(JSON.stringify(body) + '\n', { status: 200, headers: { 'Content-Type': 'application/json' } });
}

/** Paths whose second segment is a secret (the phone's upload token): logged as `/u/***`. */
const SECRET_PATH = /^\/u\/[^/]+/;

function logSafe(s: string): string {
  return s.replace(/[\x00-\x1f\x7f"\\]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

const STATE_CHANGING = new Set(['POST', 'PUT', 'DELETE', 'PATCH']);

export function createWebApp(opts: WebAppOptions): WebApp {
  const securityHeaders = opts.mapTiles ? { ...SECURITY_HEADERS, 'Content-Security-Policy': cspWithImages([opts.mapTiles.origin]) } : SECURITY_HEADERS;
  const sessions = new Map<string, { user: WebUser; expires: number }>();
  const lifetime = opts.sessionMs ?? 12 * 3600_000;
  const allowed = opts.allowedHosts === 'any' ? 'any' : new Set((opts.allowedHosts ?? []).map((h) => h.toLowerCase()));

  const sessionOf = (req: Request): WebUser | undefined => {
    if (opts.anonymous) return {};
    const id = cookieOf(req, SESSION_COOKIE);
    if (!id) return undefined;
    const s = sessions.get(id);
    if (!s) return undefined;
    if (s.expires < Date.now()) {
      sessions.delete(id);
      return undefined;
    }
    return s.user;
  };

  const startSession = (user: WebUser): Response => {
    const id = randomBytes(32).toString('base64url');
    sessions.set(id, { user, expires: Date.now() + lifetime });
    const cookie = `${SESSION_COOKIE}=${id}; HttpOnly; SameSite=Strict; Path=/${opts.secure ? '; Secure' : ''}`;
    return new Response(null, { status: 303, headers: { Location: '/', 'Set-Cookie': cookie } });
  };

  async function handle(req: Request, url: URL, info: { remoteAddress?: string } | undefined, mark: { delegated: boolean }): Promise<Response> {
    const p = url.pathname;
    const user = sessionOf(req);
    const isGet = req.method === 'GET' || req.method === 'HEAD';

    if (p === '/' && isGet && url.searchParams.has('token')) {
      if (!opts.token || !sameSecret(url.searchParams.get('token')!, opts.token)) return text(403, 'This link is not valid: open the address "coffer web" printed.');
      return startSession({});
    }
    if (isGet && !url.search) {
      const asset = opts.assets.get(p);
      if (asset) {
        const immutable = p.startsWith('/assets/');
        const headers: Record<string, string> = {
          'Content-Type': asset.type,
          ETag: asset.etag,
          'Cache-Control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
        };
        if (p === '/sw.js') headers['Service-Worker-Allowed'] = '/';
        if (req.headers.get('if-none-match') === asset.etag) return new Response(null, { status: 304, headers });
        return new Response(asset.body as Uint8Array<ArrayBuffer>, { status: 200, headers: { ...headers, 'Content-Length': String(asset.body.length) } });
      }
      if (p.startsWith('/assets/')) return text(404, 'Not Found');
    }
    if (p === '/login' && opts.verify) {
      if (!isGet) return text(405, 'Method Not Allowed');
      const cred = basicCredentials(req.headers.get('authorization'));
      if (!cred || !(await opts.verify(cred.user, cred.password))) {
        return text(401, 'Sign in with your account of this server.', { 'WWW-Authenticate': 'Basic realm="coffer", charset="UTF-8"' });
      }
      return startSession({ name: cred.user });
    }
    if (p === '/logout') {
      if (req.method !== 'POST') return text(405, 'Method Not Allowed');
      const id = cookieOf(req, SESSION_COOKIE);
      if (id) sessions.delete(id);
      return new Response(null, { status: 204, headers: { 'Set-Cookie': `${SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0` } });
    }
    for (const route of opts.routes ?? []) {
      const res = await route.handle(req, url, user);
      if (res) return res;
    }
    if (p === '/api' || p.startsWith('/api/')) {
      if (!user) return new Response(JSON.stringify({ error: 'not signed in', login: opts.verify ? '/login' : null }) + '\n', { status: 401, headers: { 'Content-Type': 'application/json' } });
      if (p === '/api/info' && isGet) return json({ ...(await opts.info(user)), ...(opts.mapTiles ? { mapTiles: opts.mapTiles.template } : {}) });
      const extra = opts.api?.[p.slice('/api/'.length)];
      if (extra && isGet && Object.hasOwn(opts.api!, p.slice('/api/'.length))) return json(await extra(user));
      return text(404, 'Not Found');
    }
    if (opts.protocolNeedsSession && !user) return text(401, 'Not signed in');
    mark.delegated = true;
    return opts.protocol(req, user, info);
  }

  return async function webApp(req: Request, info?: { remoteAddress?: string }): Promise<Response> {
    const started = Date.now();
    const url = new URL(req.url);
    let res: Response;
    const host = req.headers.get('host') ?? '';
    const origin = req.headers.get('origin');
    const mark = { delegated: false };
    try {
      if (allowed !== 'any' && !LOOPBACK.has(hostName(host)) && !allowed.has(hostName(host))) {
        res = text(421, 'Misdirected Request: unknown Host');
      } else if (STATE_CHANGING.has(req.method) && origin !== null && origin !== `${url.protocol}//${host}`) {
        res = text(403, 'Forbidden: cross-origin request');
      } else {
        res = await handle(req, url, info, mark);
      }
    } catch {
      res = text(500, 'Internal Server Error');
    }
    const headers = new Headers(res.headers);
    for (const [k, v] of Object.entries(securityHeaders)) headers.set(k, v);
    // Assets say how they may be cached; everything else (data, API, login) is never stored.
    if (!res.headers.has('cache-control') || mark.delegated) headers.set('Cache-Control', 'no-store');
    const out = new Response(res.body, { status: res.status, statusText: res.statusText, headers });
    if (opts.log && (!mark.delegated || opts.logProtocol !== false)) {
      // Never the query (it holds the login token), an upload token in the path, nor any header.
      opts.log(`${new Date(started).toISOString()} ${req.method} ${logSafe(url.pathname.replace(SECRET_PATH, '/u/***'))} ${res.status} ${res.headers.get('content-length') ?? '-'} ${Date.now() - started}ms`);
    }
    return out;
  };
}
