/**
 * @module share/client
 * A ShareSink over a server's `/api/shares` (design web-gallery.md §2), with `fetch`: the web
 * app's worker uses it with its session cookie (same origin), the CLI with the cookie it got
 * from `coffer web`'s `?token=` address or `coffer serve --web`'s `/login`.
 */
import { CofferError } from '../errors.js';
import type { ShareSink } from './create.js';

export interface ShareClientOptions {
  /** The server's origin (and path prefix, if any), without a trailing slash; '' for same origin. */
  readonly server: string;
  readonly fetch?: typeof fetch;
  /** Extra request headers (the CLI's `Cookie`). */
  readonly headers?: Record<string, string>;
  /**
   * Stream request bodies (Node). Browsers stream uploads only over HTTP/2, so the worker sends
   * each sealed file as one Blob instead.
   */
  readonly streamBodies?: boolean;
}

export interface ShareListing {
  readonly id: string;
  readonly created: string;
  readonly expires: string;
  readonly files: number;
  readonly bytes: number;
  readonly complete: boolean;
}

async function failure(res: Response, what: string): Promise<CofferError> {
  const body = (await res.text().catch(() => '')).trim().slice(0, 200);
  if (res.status === 401 || res.status === 403) return new CofferError('permission', `${what}: not signed in to the share server (${res.status})`);
  if (res.status === 404) return new CofferError('not-found', `${what}: no such share`);
  if (res.status === 413) return new CofferError('no-space', `${what}: the server refuses a share this large`);
  return new CofferError(res.status >= 500 ? 'transient' : 'usage', `${what}: the server answered ${res.status}${body ? ` (${body})` : ''}`);
}

function toStream(it: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const iter = it[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      const { done, value } = await iter.next();
      if (done) c.close();
      else c.enqueue(value);
    },
    async cancel() {
      await iter.return?.();
    },
  });
}

export class ShareClient implements ShareSink {
  private readonly f: typeof fetch;
  constructor(private readonly o: ShareClientOptions) {
    this.f = o.fetch ?? ((...a) => fetch(...a));
  }

  private req(path: string, init: RequestInit & { duplex?: 'half' } = {}): Promise<Response> {
    return this.f(`${this.o.server}${path}`, { ...init, credentials: 'same-origin', headers: { ...this.o.headers, ...(init.headers as Record<string, string> | undefined) } });
  }

  async create(expiresIn: number): Promise<{ id: string; created: number; expires: number }> {
    const res = await this.req('/api/shares', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ expiresIn }) });
    if (res.status === 404 || res.status === 405) throw new CofferError('unsupported', 'this server does not store share links (coffer serve --web keeps them only with a local --path)');
    if (res.status !== 201) throw await failure(res, 'create a share');
    const j = (await res.json()) as ShareListing;
    return { id: j.id, created: Date.parse(j.created), expires: Date.parse(j.expires) };
  }

  async put(id: string, name: 'm' | number, data: AsyncIterable<Uint8Array>, length: number): Promise<void> {
    const path = `/api/shares/${id}/${name === 'm' ? 'm' : `f/${name}`}`;
    let body: BodyInit;
    const init: RequestInit & { duplex?: 'half' } = { method: 'PUT', headers: { 'Content-Type': 'application/octet-stream' } };
    if (this.o.streamBodies) {
      body = toStream(data);
      init.duplex = 'half';
    } else {
      const parts: Uint8Array[] = [];
      for await (const p of data) parts.push(p);
      body = new Blob(parts as BlobPart[]);
    }
    const res = await this.req(path, { ...init, body });
    if (res.status !== 201) throw await failure(res, `upload share file ${name}`);
    const j = (await res.json()) as { bytes: number };
    if (j.bytes !== length) throw new CofferError('transient', `upload share file ${name}: the server stored ${j.bytes} of ${length} bytes`);
  }

  async revoke(id: string): Promise<boolean> {
    const res = await this.req(`/api/shares/${id}`, { method: 'DELETE' });
    if (res.status === 204) return true;
    if (res.status === 404) return false;
    throw await failure(res, 'revoke the share');
  }

  async list(): Promise<ShareListing[]> {
    const res = await this.req('/api/shares');
    if (!res.ok) throw await failure(res, 'list shares');
    return ((await res.json()) as { shares: ShareListing[] }).shares;
  }
}
