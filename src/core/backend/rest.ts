/**
 * @module backend/rest
 * A Backend over restic's REST protocol (v2 listings, v1 understood), using only `fetch`, so the
 * same code runs in Node 20 and in browsers. See shared/spec/restic-rest-protocol.md.
 *
 * Credentials in the URL's userinfo are moved to a pre-emptive Basic Authorization header (the
 * server sends no challenge, and browsers refuse URLs with credentials); `location` never shows
 * them. HTTP statuses map to CofferError codes: 404 'not-found', 416 or a short range 'range',
 * 401/403 'permission', 507 'no-space', 5xx/408/429 and network failures 'transient'.
 */
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';
import { describeHandle } from './backend.js';
import { checkRange } from './range.js';
import { checkHandle } from './layout.js';
import { CofferError, type ErrorCode } from '../errors.js';
import { bytesEqual, toBase64, utf8Encode } from '../bytes.js';
import { forEachLimit } from '../async.js';

export const REST_V1 = 'application/vnd.x.restic.rest.v1';
export const REST_V2 = 'application/vnd.x.restic.rest.v2';

export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

export interface RestBackendOptions {
  /** Defaults to the global fetch. Tests pass an in-process server here. */
  fetch?: FetchLike;
  /** Override (or supply) the Basic credentials; the URL's userinfo is used otherwise. */
  username?: string;
  password?: string;
  /** Concurrent requests worth making (restic's default is 5). */
  connections?: number;
}

const ID = /^[0-9a-f]{64}$/;

export class RestBackend implements Backend {
  readonly location: string;
  readonly connections: number;
  private readonly base: string; // ends with '/', no userinfo
  private readonly fetchFn: FetchLike;
  private readonly auth: string | undefined;

  constructor(url: string, opts: RestBackendOptions = {}) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      // Never echo the URL: it may hold a password.
      throw new CofferError('usage', 'invalid REST repository URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new CofferError('usage', `REST repository URL must be http or https, not ${u.protocol}`);
    }
    const user = opts.username ?? decodeURIComponent(u.username);
    const pass = opts.password ?? decodeURIComponent(u.password);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    if (!u.pathname.endsWith('/')) u.pathname += '/';
    this.base = u.href;
    this.location = `rest:${this.base}`;
    this.auth = user || pass ? `Basic ${toBase64(utf8Encode(`${user}:${pass}`))}` : undefined;
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.connections = opts.connections ?? 5;
  }

  private url(h: Handle): string {
    checkHandle(h); // also keeps odd names from escaping into other URLs
    if (h.type === 'config') return `${this.base}config`;
    return `${this.base}${h.type}/${h.name}`;
  }

  /** One request; network failures become 'transient', aborts are rethrown as they are. */
  private async request(method: string, url: string, what: string, o: CallOpts | undefined, init: { headers?: Record<string, string>; body?: Uint8Array } = {}): Promise<Response> {
    const headers: Record<string, string> = { Accept: REST_V2, ...init.headers };
    if (this.auth) headers['Authorization'] = this.auth;
    const req: RequestInit = { method, headers };
    // The cast: DOM typings want an ArrayBuffer-backed view; any Uint8Array works at run time.
    if (init.body) req.body = init.body as Uint8Array<ArrayBuffer>;
    if (o?.signal) req.signal = o.signal;
    try {
      return await this.fetchFn(url, req);
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason ?? e;
      throw new CofferError('transient', `${this.location}: ${method} ${what} failed: ${errorText(e)}`, { cause: e });
    }
  }

  /** Turns a non-success response into a CofferError, releasing its body. */
  private async fail(res: Response, method: string, what: string): Promise<never> {
    await res.body?.cancel().catch(() => undefined);
    throw new CofferError(statusCode(res.status), `${this.location}: ${method} ${what}: HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`, { data: { status: res.status } });
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    const what = describeHandle(h);
    const res = await this.request('HEAD', this.url(h), what, o);
    if (res.status !== 200) return this.fail(res, 'HEAD', what);
    await res.body?.cancel().catch(() => undefined);
    const size = Number(res.headers.get('content-length') ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new CofferError('transient', `${this.location}: HEAD ${what}: no valid Content-Length`);
    }
    return { name: h.name, size };
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    const what = describeHandle(h);
    const { offset, length } = checkRange(range, what);
    // HTTP cannot express an empty range; check the size instead.
    if (length === 0) {
      const { size } = await this.stat(h, o);
      if (offset > size) throw new CofferError('range', `${what}: offset ${offset} is past the end (${size} bytes)`);
      return new Uint8Array(0);
    }
    const headers: Record<string, string> = {};
    if (range) headers['Range'] = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    const res = await this.request('GET', this.url(h), what, o, { headers });
    if (res.status === 416 && length === undefined) {
      // Reading from exactly the end is an empty read, not an error.
      await res.body?.cancel().catch(() => undefined);
      const total = /\/(\d+)$/.exec(res.headers.get('content-range') ?? '')?.[1];
      if (total !== undefined && Number(total) === offset) return new Uint8Array(0);
      throw new CofferError('range', `${this.location}: GET ${what}: offset ${offset} is past the end`);
    }
    if (res.status !== 200 && res.status !== 206) return this.fail(res, 'GET', what);
    let body: Uint8Array;
    try {
      body = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason ?? e;
      throw new CofferError('transient', `${this.location}: GET ${what}: body interrupted: ${errorText(e)}`, { cause: e });
    }
    if (res.status === 200 && offset > 0) {
      // The server ignored Range (allowed by HTTP): cut the piece out ourselves.
      if (offset > body.length) throw new CofferError('range', `${what}: offset ${offset} is past the end (${body.length} bytes)`);
      body = body.subarray(offset);
    } else if (res.status === 206) {
      const cr = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      // rclone answers a start past the end with 206 and an empty body ("bytes 101-99/100").
      if (cr && cr[2] !== '*' && offset > Number(cr[2])) {
        throw new CofferError('range', `${what}: offset ${offset} is past the end (${cr[2]} bytes)`);
      }
      if (cr && Number(cr[1]) !== offset) {
        throw new CofferError('transient', `${this.location}: GET ${what}: server answered range from ${cr[1]}, asked ${offset}`);
      }
    }
    if (length !== undefined) {
      if (body.length < length) throw new CofferError('range', `${what}: range ${offset}+${length} reaches past the end`);
      if (body.length > length) body = body.subarray(0, length);
    }
    return body;
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    return this.upload(h, data, o, false);
  }

  private async upload(h: Handle, data: Uint8Array, o: CallOpts | undefined, retried: boolean): Promise<void> {
    const what = describeHandle(h);
    const url = this.url(h);
    const res = await this.request('POST', url, what, o, { headers: { 'Content-Type': 'application/octet-stream' }, body: data });
    if (res.status === 200) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    if (res.status === 403) {
      // rest-server never overwrites, so 403 means "exists" (or an append-only refusal). An
      // earlier attempt of this very upload may have landed: same bytes → done. Different bytes
      // (config on a version upgrade, or a damaged file) → replace it: delete, then upload again.
      await res.body?.cancel().catch(() => undefined);
      // The look-up and the replacement are part of the upload: an error there names the upload
      // (POST and the file), not the GET or DELETE behind it.
      const refused = (detail: string, cause?: unknown) =>
        new CofferError('permission', `${this.location}: POST ${what}: HTTP 403 Forbidden (upload refused${detail})`, { data: { status: 403 }, ...(cause ? { cause } : {}) });
      let existing: Uint8Array | undefined;
      try {
        existing = await this.get(h, undefined, o);
      } catch (e) {
        if (e instanceof CofferError && e.code === 'permission') throw refused('; the existing file cannot be read either', e);
        if (!(e instanceof CofferError && e.code === 'not-found')) throw e;
      }
      if (existing === undefined) throw refused('');
      if (bytesEqual(existing, data)) return;
      if (retried) throw new CofferError('already-exists', `${this.location}: POST ${what}: a different file of that name exists`, { data: { status: 403 } });
      try {
        await this.delete(h, o);
      } catch (e) {
        if (e instanceof CofferError && e.code === 'permission') throw refused('; a different file of that name exists and cannot be replaced', e);
        throw e;
      }
      return this.upload(h, data, o, true);
    }
    if (res.status === 400) {
      await res.body?.cancel().catch(() => undefined);
      throw new CofferError('corrupt', `${this.location}: POST ${what}: server rejected the upload (HTTP 400: content does not match its name, or truncated)`, { data: { status: 400 } });
    }
    return this.fail(res, 'POST', what);
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    // The protocol's DELETE succeeds for missing files; the Backend contract wants 'not-found'.
    await this.stat(h, o);
    const what = describeHandle(h);
    const res = await this.request('DELETE', this.url(h), what, o);
    if (res.status !== 200 && res.status !== 204) return this.fail(res, 'DELETE', what);
    await res.body?.cancel().catch(() => undefined);
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    if (type === 'config') return; // a single fixed file, not a listable type (as MemBackend)
    const what = `${type}/`;
    const res = await this.request('GET', `${this.base}${type}/`, what, o);
    // A missing type folder is an empty listing (rest-server answers 404 for it).
    if (res.status === 404) {
      await res.body?.cancel().catch(() => undefined);
      return;
    }
    if (res.status !== 200) return this.fail(res, 'GET', what);
    let parsed: unknown;
    try {
      parsed = await res.json();
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason ?? e;
      throw new CofferError('transient', `${this.location}: GET ${what}: unreadable listing: ${errorText(e)}`, { cause: e });
    }
    if (parsed === null) return;
    if (!Array.isArray(parsed)) throw new CofferError('transient', `${this.location}: GET ${what}: listing is not a JSON array`);
    // Branch on what the server says it sent: older servers ignore Accept.
    const v2 = (res.headers.get('content-type') ?? '').split(';')[0]!.trim() === REST_V2;
    if (v2) {
      const seen = new Set<string>();
      for (const e of parsed as unknown[]) {
        const name = (e as { name?: unknown })?.name;
        const size = (e as { size?: unknown })?.size;
        if (typeof name !== 'string' || !ID.test(name) || seen.has(name)) continue;
        if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
          throw new CofferError('transient', `${this.location}: GET ${what}: listing entry ${name} has no valid size`);
        }
        seen.add(name);
        yield { name, size };
      }
      return;
    }
    // v1: names only; a HEAD per name gives the size (as restic does).
    const names = [...new Set((parsed as unknown[]).filter((n): n is string => typeof n === 'string' && ID.test(n)))];
    const infos: (FileInfo | undefined)[] = new Array(names.length);
    await forEachLimit(names, this.connections, async (name, i) => {
      try {
        infos[i] = await this.stat({ type, name }, o);
      } catch (e) {
        // Deleted between the listing and the HEAD: not part of the listing any more.
        if (!(e instanceof CofferError && e.code === 'not-found')) throw e;
      }
    });
    for (const info of infos) if (info) yield info;
  }

  async create(o?: CallOpts): Promise<void> {
    const res = await this.request('POST', `${this.base}?create=true`, 'repository', o, { headers: { 'Content-Type': 'binary/octet-stream' } });
    if (res.status !== 200) return this.fail(res, 'POST', '?create=true');
    await res.body?.cancel().catch(() => undefined);
  }
}

function statusCode(status: number): ErrorCode {
  if (status === 404) return 'not-found';
  if (status === 416) return 'range';
  if (status === 401 || status === 403) return 'permission';
  if (status === 507) return 'no-space';
  if (status >= 500 || status === 408 || status === 429) return 'transient';
  return 'internal';
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
