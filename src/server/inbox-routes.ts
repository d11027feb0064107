/**
 * @module server/inbox-routes
 * The inbox's server routes (design web-gallery.md §2, §6) for `coffer web`: the public inbox
 * key, sealed staged items for the signed-in page (list, read, delete with the decision logged),
 * resumable chunked uploads for the phone page `/u/<upload token>`, and the phone page itself.
 *
 * The server only ever holds sealed bytes: items are sealed in the phone's browser (or by the
 * CLI) to the inbox public key and opened in the page's worker, which has the private key from
 * the repository. No name, size of a file's plaintext or thumbnail passes here in clear, and the
 * request log holds only random stage ids.
 *
 * The upload token only adds: with it a client can PUT parts of a NEW item and commit it, never
 * list, read, overwrite or delete. Uploads are appended at an offset the server checks (so a
 * phone that lost its connection resumes where the server stopped), each request carries at
 * most MAX_PUT bytes, and each part has a size limit.
 */
import { timingSafeEqual } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pageShellHtml, type WebAssets } from './web-assets.js';
import type { WebRoute, WebUser } from './web-app.js';

export type StagedPart = 'meta' | 'thumb' | 'data' | 'dedup';
/** `dedup` (unsealed keyed digest, inbox-core's dedupDigest) lets a scanner skip pending content. */
const PARTS: readonly StagedPart[] = ['meta', 'thumb', 'data', 'dedup'];

/** One decision as the store logs it (inbox-core's DecisionEntry). */
export interface DecisionLogEntry {
  readonly sha256: string;
  readonly decision: 'approve' | 'private' | 'reject';
  readonly time: string;
  readonly snapshot?: string;
}

/**
 * What the routes need of the staging store (`items/<id>/{meta,thumb,data}`, partial uploads in
 * `items/.<id>.part/`): inbox-core's InboxStore (src/node/inbox-store.ts) has this shape.
 */
export interface StagingStore {
  /** The store's folder (holds `items/`). */
  readonly dir: string;
  listStaged(): readonly { id: string; mtimeMs: number }[];
  stagedPath(id: string, part: StagedPart): string;
  /** `items/.<id>.part/<part>` (the folder is made). */
  pendingPartPath(id: string, part: StagedPart): string;
  hasStaged(id: string): boolean;
  commitStaged(id: string): void;
  deleteStaged(id: string): void;
  logDecisions(entries: readonly DecisionLogEntry[]): void;
  withLock<T>(fn: () => Promise<T>): Promise<T>;
}

export interface InboxCopy {
  readonly name: string;
  readonly excludeTags: readonly string[];
  readonly onlyTags: readonly string[];
}

export interface InboxRouteOptions {
  readonly assets: WebAssets;
  /** The token of `/u/<token>` (base64url); PUT only. */
  readonly uploadToken: string;
  /** The store, or undefined while the repository has no inbox key yet (then uploads are refused). */
  store(): StagingStore | undefined;
  /** The inbox public key (32 bytes), undefined until `coffer inbox` or the page made the pair. */
  publicKey(): Uint8Array | undefined;
  /**
   * Remembers the public key the signed-in page's worker read from (or made in) the repository,
   * for this repository id (`POST /api/inbox/key`); only while none is known.
   */
  rememberKey?(repoId: string, publicKey: Uint8Array): void;
  /** Addresses a phone on the same network may open (`http://host:port`), best first. */
  origins(): readonly string[];
  /** Host name and user the page's worker writes into approved snapshots. */
  readonly hostname?: string;
  readonly username?: string;
  /** The copies and their tag policies (from the local config). */
  copies(): readonly InboxCopy[];
  /** Draws a QR code of `text` as an SVG document. */
  qrSvg(text: string): string;
  /** Free space kept on the staging disk (default MIN_FREE_BYTES). */
  readonly minFreeBytes?: number;
  /** Size limits (bytes) of each sealed part; defaults below. */
  readonly limits?: Partial<Record<StagedPart, number>>;
}

/** Bytes one PUT may carry: a few sealed 1 MiB chunks. */
export const MAX_PUT = 8 * 1024 * 1024 + 4096;
export const DEFAULT_LIMITS: Readonly<Record<StagedPart, number>> = {
  meta: 64 * 1024,
  thumb: 4 * 1024 * 1024,
  data: 64 * 1024 * 1024 * 1024,
  dedup: 256,
};
/** Uploads stop while the staging disk has less free space than this (the device's other work needs it). */
export const MIN_FREE_BYTES = 512 * 1024 * 1024;
/** Unfinished uploads older than this are removed when the page lists the inbox. */
const STALE_PART_MS = 2 * 24 * 3600_000;

const STAGE_ID_RE = /^[0-9a-f]{32}$/;
const ITEMS = '/api/inbox/items';

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body) + '\n', { status, headers: { 'Content-Type': 'application/json' } });
}

function fail(status: number, error: string, extra: Record<string, unknown> = {}): Response {
  return json({ error, ...extra }, status);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function bearer(req: Request): string | undefined {
  const h = req.headers.get('authorization');
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m?.[1];
}

function fileSize(p: string): number {
  try {
    return fs.statSync(p).size;
  } catch {
    return 0;
  }
}

function exists(p: string): boolean {
  try {
    fs.statSync(p);
    return true;
  } catch {
    return false;
  }
}

/** Reads a request body, refusing more than `max` bytes (whatever Content-Length says). */
async function readBody(req: Request, max: number): Promise<Uint8Array | undefined> {
  const declared = Number(req.headers.get('content-length') ?? '0');
  if (declared > max) return undefined;
  if (!req.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let n = 0;
  const reader = req.body.getReader();
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    n += r.value.length;
    if (n > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    parts.push(r.value);
  }
  return Buffer.concat(parts);
}

/** The LAN addresses of this machine (IPv4, not loopback), for the phone's QR code. */
export function lanAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(os.networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) out.push(a.address);
  }
  return out;
}

/** Free bytes for an unprivileged writer on the file system holding `dir`, or Infinity when unknown. */
function freeBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return Number(s.bavail) * Number(s.bsize);
  } catch {
    return Infinity;
  }
}

function partDir(store: StagingStore, id: string): string {
  return path.join(store.dir, 'items', `.${id}.part`);
}

/** Removes unfinished uploads nobody resumed (a phone that went away). */
function sweepStale(store: StagingStore, now = Date.now()): void {
  const items = path.join(store.dir, 'items');
  let names: string[];
  try {
    names = fs.readdirSync(items);
  } catch {
    return;
  }
  for (const n of names) {
    if (!/^\.[0-9a-f]{32}\.part$/.test(n)) continue;
    try {
      if (now - fs.statSync(path.join(items, n)).mtimeMs > STALE_PART_MS) fs.rmSync(path.join(items, n), { recursive: true, force: true });
    } catch {
      // gone meanwhile
    }
  }
}

/** The phone page's HTML shell: its script reads the token from the address. */
function uploadPage(assets: WebAssets): string {
  return pageShellHtml(assets.prefix, {
    title: 'Send to Coffer',
    css: 'src/web/static/style.css',
    script: 'dist/src/web/inbox/upload.js',
    main: '<main id="upload" class="card"><h1>Send to Coffer</h1><p>Loading…</p></main>',
    bodyClass: 'upload-page',
  });
}

export function createInboxRoute(opts: InboxRouteOptions): WebRoute {
  const limits = { ...DEFAULT_LIMITS, ...opts.limits };
  const page = new TextEncoder().encode(uploadPage(opts.assets));

  const uploadUrls = (): string[] => opts.origins().map((o) => `${o}/u/${opts.uploadToken}`);

  async function put(req: Request, store: StagingStore, id: string, part: string | undefined, url: URL): Promise<Response> {
    if (store.hasStaged(id) || exists(path.join(store.dir, 'items', id))) return fail(409, 'this item exists already', { committed: true });
    const dir = partDir(store, id);
    if (part === undefined) {
      // Commit: meta and data must be complete (the thumbnail is optional: some videos have none).
      if (!exists(path.join(dir, 'meta')) || !exists(path.join(dir, 'data'))) return fail(409, 'the item is not complete');
      for (const p of PARTS) fs.rmSync(path.join(dir, `${p}.up`), { force: true });
      await store.withLock(async () => store.commitStaged(id));
      return json({ id, committed: true }, 201);
    }
    if (!(PARTS as readonly string[]).includes(part)) return fail(404, 'unknown part');
    const offset = Number(url.searchParams.get('offset') ?? 'NaN');
    if (!Number.isSafeInteger(offset) || offset < 0) return fail(400, 'offset missing');
    const last = url.searchParams.get('last') === '1';
    const final = store.pendingPartPath(id, part as StagedPart);
    // With its size, so a phone whose last answer was lost sees its piece arrived.
    if (exists(final)) return fail(409, 'this part is complete already', { size: fileSize(final), complete: true });
    const up = `${final}.up`;
    const have = fileSize(up);
    if (offset !== have) return fail(409, 'wrong offset', { size: have });
    const body = await readBody(req, MAX_PUT);
    if (!body) return fail(413, `at most ${MAX_PUT} bytes per request`);
    if (have + body.length > limits[part as StagedPart]) return fail(413, `the ${part} part is too large`);
    if (freeBytes(path.dirname(final)) < body.length + (opts.minFreeBytes ?? MIN_FREE_BYTES)) return fail(507, 'the inbox disk is full');
    const fd = fs.openSync(up, 'a', 0o600);
    try {
      fs.writeSync(fd, body);
      if (last) fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (last) fs.renameSync(up, final);
    return json({ size: have + body.length, complete: last });
  }

  function read(req: Request, store: StagingStore, id: string, part: string): Response {
    if (!(PARTS as readonly string[]).includes(part)) return fail(404, 'unknown part');
    const file = store.stagedPath(id, part as StagedPart);
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      return fail(404, 'no such part');
    }
    const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream', 'Accept-Ranges': 'bytes' };
    let start = 0;
    let end = size; // exclusive
    let status = 200;
    const range = req.headers.get('range');
    if (range) {
      const m = /^bytes=(\d+)-(\d*)$/.exec(range.trim());
      if (!m || Number(m[1]) >= size) return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
      start = Number(m[1]);
      end = m[2] ? Math.min(size, Number(m[2]) + 1) : size;
      status = 206;
      headers['Content-Range'] = `bytes ${start}-${end - 1}/${size}`;
    }
    headers['Content-Length'] = String(end - start);
    if (req.method === 'HEAD' || end === start) return new Response(null, { status, headers });
    const stream = fs.createReadStream(file, { start, end: end - 1 });
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        stream.on('data', (b) => c.enqueue(new Uint8Array(b as Buffer)));
        stream.on('end', () => c.close());
        stream.on('error', (e) => c.error(e));
      },
      cancel() {
        stream.destroy();
      },
    });
    return new Response(body, { status, headers });
  }

  async function remove(store: StagingStore, id: string, url: URL): Promise<Response> {
    if (!store.hasStaged(id)) return fail(404, 'no such item');
    const decision = url.searchParams.get('decision');
    const sha256 = url.searchParams.get('sha256') ?? '';
    const snapshot = url.searchParams.get('snapshot') ?? '';
    if (decision !== null) {
      if (decision !== 'approve' && decision !== 'private' && decision !== 'reject') return fail(400, 'unknown decision');
      if (!/^[0-9a-f]{64}$/.test(sha256)) return fail(400, 'sha256 missing');
      if (snapshot && !/^[0-9a-f]{64}$/.test(snapshot)) return fail(400, 'bad snapshot id');
      if (decision !== 'reject' && !snapshot) return fail(400, 'a stored item needs its snapshot');
    }
    await store.withLock(async () => {
      // Logged first: a crash between the two leaves a decided item that is never offered again.
      if (decision !== null) store.logDecisions([{ sha256, decision: decision as DecisionLogEntry['decision'], time: new Date().toISOString(), ...(snapshot ? { snapshot } : {}) }]);
      store.deleteStaged(id);
    });
    return new Response(null, { status: 204 });
  }

  async function setKey(req: Request): Promise<Response> {
    if (!opts.rememberKey) return fail(405, 'method not allowed');
    const body = await readBody(req, 4096);
    let o: { publicKey?: unknown; repoId?: unknown };
    try {
      o = JSON.parse(Buffer.from(body ?? new Uint8Array(0)).toString('utf8')) as typeof o;
    } catch {
      return fail(400, 'not JSON');
    }
    const pk = typeof o.publicKey === 'string' && /^[A-Za-z0-9_-]{43}$/.test(o.publicKey) ? Buffer.from(o.publicKey, 'base64url') : undefined;
    if (!pk || pk.length !== 32 || typeof o.repoId !== 'string' || !/^[0-9a-f]{64}$/.test(o.repoId)) return fail(400, 'publicKey (base64url, 32 bytes) and repoId (64 hex) expected');
    const have = opts.publicKey();
    // Never replaced from the web: items staged for the known key would become unreadable.
    if (have) return Buffer.from(have).equals(pk) ? json({ remembered: false }) : fail(409, 'this device knows another inbox key for the repository');
    opts.rememberKey(o.repoId, new Uint8Array(pk));
    return json({ remembered: true }, 201);
  }

  return {
    name: 'inbox',
    async handle(req: Request, url: URL, user: WebUser | undefined): Promise<Response | undefined> {
      const p = url.pathname;
      const isGet = req.method === 'GET' || req.method === 'HEAD';

      if (p.startsWith('/u/')) {
        if (!isGet) return fail(405, 'method not allowed');
        // Any other token gets the same page: it then fails its first upload with 403 (one code path).
        if (!sameSecret(p.slice(3), opts.uploadToken)) return new Response('This upload address is not valid: scan the code that "coffer web" shows again.\n', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } });
        return new Response(page as Uint8Array<ArrayBuffer>, { status: 200, headers: { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': String(page.length) } });
      }
      if (p === '/api/inbox/key') {
        if (req.method === 'POST') return user ? setKey(req) : fail(401, 'not signed in');
        if (!isGet) return fail(405, 'method not allowed');
        const pk = opts.publicKey();
        if (!pk) return fail(404, 'this repository has no inbox key yet: run "coffer inbox list" once on the device that runs coffer web');
        return json({ publicKey: Buffer.from(pk).toString('base64url') });
      }
      if (p === '/api/inbox/setup') {
        if (!user) return undefined; // the generic 401
        if (!isGet) return fail(405, 'method not allowed');
        const urls = uploadUrls();
        return json({
          hasKey: opts.publicKey() !== undefined,
          uploadUrls: urls,
          qrSvg: urls[0] ? opts.qrSvg(urls[0]) : null,
          hostname: opts.hostname ?? os.hostname(),
          username: opts.username ?? os.userInfo().username,
          copies: opts.copies(),
        });
      }
      if (p !== ITEMS && !p.startsWith(ITEMS + '/')) return undefined;

      const rest = p.slice(ITEMS.length + 1).split('/').filter((s) => s !== '');
      const store = opts.store();
      const uploader = !user && bearer(req) !== undefined && sameSecret(bearer(req)!, opts.uploadToken);
      if (req.method === 'PUT') {
        if (!user && !uploader) return fail(bearer(req) ? 403 : 401, 'an upload needs the upload address or a session');
        if (!store) return fail(409, 'this repository has no inbox key yet');
        const [id, part, ...more] = rest;
        if (!id || !STAGE_ID_RE.test(id) || more.length) return fail(404, 'not found');
        return put(req, store, id, part, url);
      }
      // Everything else (list, read, delete) needs the signed-in page; the upload token is refused.
      if (!user) return fail(uploader || bearer(req) ? 403 : 401, uploader ? 'the upload address can only add items' : 'not signed in');
      if (!store) return isGet && rest.length === 0 ? json({ items: [] }) : fail(404, 'no such item');
      if (rest.length === 0) {
        if (!isGet) return fail(405, 'method not allowed');
        sweepStale(store);
        const items = store.listStaged().map(({ id, mtimeMs }) => ({
          id,
          added: new Date(mtimeMs).toISOString(),
          sizes: Object.fromEntries(PARTS.map((part) => [part, fileSize(store.stagedPath(id, part))])),
        }));
        return json({ items });
      }
      const [id, part, ...more] = rest;
      if (!id || !STAGE_ID_RE.test(id) || more.length) return fail(404, 'not found');
      if (isGet && part) return read(req, store, id, part);
      if (req.method === 'DELETE' && !part) return remove(store, id, url);
      return fail(405, 'method not allowed');
    },
  };
}
