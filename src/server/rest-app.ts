/**
 * @module server/rest-app
 * restic's REST protocol (v1 and v2) as a pure web-standard handler `(Request) => Response`
 * over any Backend, for one repository at a path prefix. Behaves like rest-server (see
 * shared/spec/restic-rest-protocol.md §3, §5, §7): create-only uploads (403 if present), SHA-256
 * of the body checked against the name for every type but `config` (400), idempotent DELETE,
 * append-only mode refusing every DELETE but `locks/`, single-range reads (206/416), v1/v2
 * listings by exact Accept match. Optional Basic authentication with one user.
 *
 * The handler never touches node:*, so it can sit behind node:http (node-listener.ts) or any
 * other host of web Requests, and the Backend can be a local disk, memory, or S3.
 */
import type { Backend, ByteRange, CallOpts, FileType, Handle } from '../core/backend/backend.js';
import { CofferError, isCofferError } from '../core/errors.js';
import { concatBytes, constantTimeEqual, fromBase64, toHex, utf8Encode } from '../core/bytes.js';

export const REST_V1 = 'application/vnd.x.restic.rest.v1';
export const REST_V2 = 'application/vnd.x.restic.rest.v2';

export interface RestAppOptions {
  backend: Backend;
  /** URL path of the repository, e.g. '/' or '/repo/'. Default '/'. */
  prefix?: string;
  /** Refuse every DELETE except of locks (rest-server --append-only). */
  appendOnly?: boolean;
  /** Check that an upload's SHA-256 equals its name (default true; rest-server --no-verify-upload turns it off). */
  verifyUpload?: boolean;
  /** Require HTTP Basic authentication with these credentials. */
  auth?: { username: string; password: string };
  /** Largest accepted upload in bytes (one file is buffered in memory). Default 256 MiB. */
  maxUploadBytes?: number;
}

export type RestApp = (req: Request) => Promise<Response>;

const TYPES: readonly FileType[] = ['data', 'keys', 'locks', 'snapshots', 'index'];
const ID = /^[0-9a-f]{64}$/;

export function createRestApp(opts: RestAppOptions): RestApp {
  const backend = opts.backend;
  let prefix = opts.prefix ?? '/';
  if (!prefix.startsWith('/')) prefix = '/' + prefix;
  if (!prefix.endsWith('/')) prefix += '/';
  const verify = opts.verifyUpload ?? true;
  const maxUpload = opts.maxUploadBytes ?? 256 * 1024 * 1024;
  const expectedAuth = opts.auth ? utf8Encode(`${opts.auth.username}:${opts.auth.password}`) : undefined;

  return async function restApp(req: Request): Promise<Response> {
    try {
      if (expectedAuth && !authorized(req, expectedAuth)) return text(401, 'Unauthorized');
      const url = new URL(req.url);
      let path: string;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        return text(404, 'Not Found');
      }
      if (path.includes('\0')) return text(404, 'Not Found');
      // The repository itself: only `POST ?create=true`.
      if (path === prefix || path + '/' === prefix) {
        if (req.method !== 'POST') return methodNotAllowed('POST');
        if (url.search !== '?create=true') return text(400, 'Bad Request');
        try {
          await backend.create({ signal: req.signal });
        } catch (e) {
          // Idempotent, as rest-server: creating over an existing repository's folders is fine.
          if (!isCofferError(e, 'already-exists')) throw e;
        }
        return empty(200);
      }
      if (!path.startsWith(prefix)) return text(404, 'Not Found');
      const rest = path.slice(prefix.length);
      if (rest === 'config') return await object(req, { type: 'config', name: '' });
      const m = /^(data|keys|locks|snapshots|index)\/(.*)$/.exec(rest);
      if (!m) return text(404, 'Not Found');
      const type = m[1] as FileType;
      const name = m[2]!;
      if (name === '') {
        if (req.method !== 'GET') return methodNotAllowed('GET');
        return await listing(req, type);
      }
      if (!ID.test(name)) return text(404, 'Not Found');
      return await object(req, { type, name });
    } catch (e) {
      return errorResponse(e);
    }
  };

  async function listing(req: Request, type: FileType): Promise<Response> {
    const v2 = req.headers.get('accept') === REST_V2;
    const entries: { name: string; size: number }[] = [];
    for await (const f of backend.list(type, { signal: req.signal })) entries.push({ name: f.name, size: f.size });
    const body = v2 ? entries : entries.map((e) => e.name);
    return new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': v2 ? REST_V2 : REST_V1 } });
  }

  async function object(req: Request, h: Handle): Promise<Response> {
    const o = { signal: req.signal };
    switch (req.method) {
      case 'HEAD': {
        const { size } = await backend.stat(h, o);
        return new Response(null, { status: 200, headers: { 'Content-Length': String(size), 'Accept-Ranges': 'bytes' } });
      }
      case 'GET':
        return read(req, h);
      case 'POST':
        return write(req, h);
      case 'DELETE': {
        if (opts.appendOnly && h.type !== 'locks') return text(403, 'Forbidden');
        try {
          await backend.delete(h, o);
        } catch (e) {
          // Idempotent, as rest-server: retries of a delete that happened must succeed.
          if (!isCofferError(e, 'not-found')) throw e;
        }
        return empty(200);
      }
      default:
        return methodNotAllowed('DELETE, GET, HEAD, POST');
    }
  }

  async function read(req: Request, h: Handle): Promise<Response> {
    const o = { signal: req.signal };
    const { size } = await backend.stat(h, o);
    const r = parseRange(req.headers.get('range'), size);
    if (r === 'unsatisfiable') {
      return new Response('Requested Range Not Satisfiable', { status: 416, headers: { 'Content-Range': `bytes */${size}`, 'Content-Type': 'text/plain; charset=utf-8' } });
    }
    const range = r === undefined ? undefined : { offset: r.start, length: r.end - r.start + 1 };
    const length = range ? range.length : size;
    const headers = binaryHeaders(length);
    if (r !== undefined) headers['Content-Range'] = `bytes ${r.start}-${r.end}/${size}`;
    const status = r === undefined ? 200 : 206;
    if (streams(backend)) {
      // Streamed from the storage: Content-Length is the stat's; a file that changes size while
      // read (never, for restic's content-addressed files) errors the stream and the listener
      // cuts the connection rather than send a short body as complete.
      const body = await backend.openReadStream(h, range, o);
      return new Response(body, { status, headers });
    }
    const data = await backend.get(h, range, o);
    headers['Content-Length'] = String(data.length);
    return new Response(data as Uint8Array<ArrayBuffer>, { status, headers });
  }

  async function write(req: Request, h: Handle): Promise<Response> {
    const declared = req.headers.get('content-length');
    if (declared !== null && !/^\d+$/.test(declared)) return text(411, 'Length Required');
    if (declared !== null && Number(declared) > maxUpload) return text(507, 'Insufficient Storage');
    // Create-only in every mode: an existing file is never overwritten.
    if (await exists(h, req.signal)) return text(403, 'Forbidden');
    let body: Uint8Array;
    try {
      body = await readBody(req, maxUpload);
    } catch (e) {
      if (e instanceof TooLarge) return text(507, 'Insufficient Storage');
      return text(400, 'Bad Request'); // truncated upload (unexpected EOF)
    }
    if (declared !== null && body.length !== Number(declared)) return text(400, 'Bad Request');
    if (verify && h.type !== 'config') {
      const digest = toHex(new Uint8Array(await crypto.subtle.digest('SHA-256', body as Uint8Array<ArrayBuffer>)));
      if (digest !== h.name) return text(400, 'Bad Request');
    }
    // Re-check right before writing, narrowing the window for a concurrent upload of the same name.
    if (await exists(h, req.signal)) return text(403, 'Forbidden');
    await backend.put(h, body, { signal: req.signal });
    return empty(200);
  }

  async function exists(h: Handle, signal: AbortSignal): Promise<boolean> {
    try {
      await backend.stat(h, { signal });
      return true;
    } catch (e) {
      if (isCofferError(e, 'not-found')) return false;
      throw e;
    }
  }
}

/**
 * A Backend that can also stream a file (node/local-backend.ts does): the server then sends
 * responses while reading instead of holding each file or range whole. Optional: any other
 * Backend is served through `get`.
 */
export interface StreamingReads {
  openReadStream(h: Handle, range: ByteRange | undefined, o?: CallOpts): Promise<ReadableStream<Uint8Array>>;
}

function streams(b: Backend): b is Backend & StreamingReads {
  return typeof (b as Partial<StreamingReads>).openReadStream === 'function';
}

class TooLarge extends Error {}

/** Reads a request body into one buffer, stopping at `max` bytes. */
async function readBody(req: Request, max: number): Promise<Uint8Array> {
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let n = 0;
  const reader = req.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => undefined);
      throw new TooLarge();
    }
    chunks.push(value);
  }
  return chunks.length === 1 ? chunks[0]! : concatBytes(...chunks);
}

/**
 * Single-range semantics of Go's http.ServeContent: undefined = serve the whole file (no or
 * unparsable or multi-range header), 'unsatisfiable' = 416, else inclusive [start, end] truncated
 * to the file.
 */
export function parseRange(header: string | null, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  if (header === null) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  if (m[1] === '') {
    // Suffix range: the last N bytes.
    const n = Number(m[2]);
    if (n === 0) return 'unsatisfiable';
    return size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== '' && Number(m[2]) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}

function authorized(req: Request, expected: Uint8Array): boolean {
  const h = req.headers.get('authorization');
  const m = h ? /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h) : null;
  if (!m) return false;
  let got: Uint8Array;
  try {
    got = fromBase64(m[1]!);
  } catch {
    return false;
  }
  return constantTimeEqual(got, expected);
}

function binaryHeaders(length: number): Record<string, string> {
  return { 'Content-Type': 'application/octet-stream', 'Content-Length': String(length), 'Accept-Ranges': 'bytes' };
}

function empty(status: number): Response {
  return new Response(null, { status, headers: { 'Content-Length': '0' } });
}

function text(status: number, body: string): Response {
  return new Response(body, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
}

function methodNotAllowed(allow: string): Response {
  return new Response('Method Not Allowed', { status: 405, headers: { Allow: allow, 'Content-Type': 'text/plain; charset=utf-8' } });
}

/** Backend errors to statuses; messages stay server-side generic (they may name paths). */
function errorResponse(e: unknown): Response {
  if (e instanceof CofferError) {
    switch (e.code) {
      case 'not-found':
        return text(404, 'Not Found');
      case 'range':
        return text(416, 'Requested Range Not Satisfiable');
      case 'permission':
        return text(403, 'Forbidden');
      case 'no-space':
        return text(507, 'Insufficient Storage');
      case 'already-exists':
        return text(403, 'Forbidden');
      case 'cancelled':
        return text(499, 'Client Closed Request');
    }
  }
  if (e instanceof Error && e.name === 'AbortError') return text(499, 'Client Closed Request');
  return text(500, 'Internal Server Error');
}
