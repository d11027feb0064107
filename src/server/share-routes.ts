/**
 * @module server/share-routes
 * The share routes of the web server (design web-gallery.md §2, §7), as a WebRoute:
 *
 *   GET  /s/<id>            the share page shell (public; the key stays in the fragment)
 *   GET  /s/<id>/m          the sealed manifest        (public, 404 once gone)
 *   GET  /s/<id>/f/<n>      sealed file n, with Range  (public, 404 once gone)
 *   POST   /api/shares             {expires} -> 201 {id, created, expires}      (session)
 *   PUT    /api/shares/<id>/f/<n>  sealed file body; PUT /api/shares/<id>/m last (session, owner)
 *   DELETE /api/shares/<id>        revoke                                       (session, owner)
 *   GET    /api/shares             {shares:[{id, created, expires, files, bytes, complete}]}
 *
 * Unknown, expired, revoked and unfinished shares answer the same 404. The server sees ids,
 * sizes and dates only: names and contents are sealed under the link's key, which it never gets.
 */
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { isCofferError } from '../core/errors.js';
import { DEFAULT_EXPIRES_MS, isShareId, MAX_EXPIRES_MS } from '../core/share/format.js';
import type { ShareMeta, ShareStore } from './share-store.js';
import type { WebRoute, WebUser } from './web-app.js';
import { pageShellHtml } from './web-assets.js';

export interface ShareRoutesOptions {
  readonly store: ShareStore;
  /** `/assets/<build>/`: where the share page's script and style are served. */
  readonly assetPrefix: string;
}

const SHARE_PATH = /^\/s\/([A-Za-z0-9_-]{22})(?:\/(m|f\/(\d{1,6})))?\/?$/;
const API_PATH = /^\/api\/shares(?:\/([A-Za-z0-9_-]{22})(?:\/(m|f\/(\d{1,6})))?)?\/?$/;

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' } });
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body) + '\n', { status, headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' } });
}

/** The page shell: no data of the share in it, so it is the same for every id. */
export function sharePageHtml(assetPrefix: string): string {
  return pageShellHtml(assetPrefix, {
    title: 'Shared with Coffer',
    css: 'src/web/share/share.css',
    script: 'dist/src/web/share/main.js',
    main: '<main id="share" aria-live="polite"><p class="share-status">Opening the shared files…</p></main>',
  });
}

/** One `bytes=a-b` range (or `a-`, `-n`) of a file of `size` bytes; null when unsatisfiable. */
export function parseRange(h: string | null, size: number): { start: number; end: number } | undefined | null {
  if (!h) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const n = Number(m[2]);
    if (n === 0) return null;
    start = Math.max(0, size - n);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) return null;
  return { start, end };
}

function serveFile(req: Request, file: { path: string; size: number }): Response {
  const range = parseRange(req.headers.get('range'), file.size);
  const base = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes', 'Cache-Control': 'no-store' };
  if (range === null) return new Response(null, { status: 416, headers: { ...base, 'Content-Range': `bytes */${file.size}` } });
  const start = range?.start ?? 0;
  const end = range?.end ?? file.size - 1;
  const length = Math.max(0, end - start + 1);
  const headers: Record<string, string> = { ...base, 'Content-Length': String(length) };
  if (range) headers['Content-Range'] = `bytes ${start}-${end}/${file.size}`;
  const status = range ? 206 : 200;
  if (req.method === 'HEAD' || length === 0) return new Response(null, { status, headers });
  const stream = Readable.toWeb(fs.createReadStream(file.path, { start, end })) as ReadableStream<Uint8Array>;
  return new Response(stream, { status, headers });
}

function listing(m: ShareMeta): Record<string, unknown> {
  return { id: m.id, created: new Date(m.created).toISOString(), expires: new Date(m.expires).toISOString(), files: Object.keys(m.files).length, bytes: m.bytes, complete: m.manifest !== undefined };
}

async function* bodyOf(req: Request): AsyncGenerator<Uint8Array> {
  if (!req.body) return;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}

async function api(req: Request, m: RegExpExecArray, user: WebUser, store: ShareStore): Promise<Response> {
  const [, id, what, n] = m;
  const owner = user.name;
  if (!id) {
    if (req.method === 'GET') return json(200, { shares: (await store.list(owner)).map(listing) });
    if (req.method === 'POST') {
      let body: { expires?: unknown; expiresIn?: unknown };
      try {
        body = (await req.json()) as typeof body;
      } catch {
        return json(400, { error: 'expected a JSON body' });
      }
      const now = Date.now();
      const lifetime = body.expiresIn === undefined ? DEFAULT_EXPIRES_MS : Number(body.expiresIn);
      if (!Number.isSafeInteger(lifetime) || lifetime <= 0 || lifetime > MAX_EXPIRES_MS) return json(400, { error: 'expiresIn: milliseconds, at most a year' });
      const meta = await store.create({ expires: now + lifetime, ...(owner !== undefined ? { owner } : {}) });
      return json(201, listing(meta));
    }
    return text(405, 'Method Not Allowed');
  }
  if (!what) {
    if (req.method === 'DELETE') return (await store.revoke(id, owner)) ? new Response(null, { status: 204 }) : text(404, 'Not Found');
    if (req.method === 'GET') {
      const meta = await store.meta(id);
      return meta && meta.owner === owner ? json(200, listing(meta)) : text(404, 'Not Found');
    }
    return text(405, 'Method Not Allowed');
  }
  if (req.method !== 'PUT') return text(405, 'Method Not Allowed');
  try {
    const bytes = await store.put(id, what === 'm' ? 'm' : Number(n), bodyOf(req), owner);
    return json(201, { bytes });
  } catch (e) {
    if (isCofferError(e, 'not-found')) return text(404, 'Not Found');
    if (isCofferError(e, 'already-exists')) return text(409, e.message);
    if (isCofferError(e, 'no-space')) return text(413, e.message);
    if (isCofferError(e, 'usage')) return text(400, e.message);
    throw e;
  }
}

export function createShareRoutes(o: ShareRoutesOptions): WebRoute {
  const html = new TextEncoder().encode(sharePageHtml(o.assetPrefix));
  return {
    name: 'shares',
    async handle(req, url, user) {
      const p = url.pathname;
      if (p.startsWith('/s/')) {
        const m = SHARE_PATH.exec(p);
        // Not ours (a repository named "s" under `coffer serve`): pass it on.
        if (!m || !isShareId(m[1]!)) return undefined;
        if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'Method Not Allowed');
        const [, id, what, n] = m;
        if (!what) {
          // The shell also comes with a 404 for a gone share: the page then says so (share-error).
          const alive = (await o.store.file(id!, 'm')) !== undefined;
          return new Response(req.method === 'HEAD' ? null : html, {
            status: alive ? 200 : 404,
            headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(html.length), 'Cache-Control': 'no-store', 'Referrer-Policy': 'no-referrer' },
          });
        }
        const file = await o.store.file(id!, what === 'm' ? 'm' : Number(n));
        return file ? serveFile(req, file) : text(404, 'Not Found');
      }
      if (p === '/api/shares' || p.startsWith('/api/shares/')) {
        const m = API_PATH.exec(p);
        if (!user) return undefined; // the app answers 401 for /api/* without a session
        if (!m || (m[1] && !isShareId(m[1]))) return text(404, 'Not Found');
        return api(req, m, user, o.store);
      }
      return undefined;
    },
  };
}
