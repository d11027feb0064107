/**
 * @module backend/s3
 * A Backend on any S3-compatible object store over `fetch`, signed with our own AWS Signature V4
 * (backend/sigv4.ts): runs in Node 20 and in browsers. Repository location as restic's:
 * `s3:https://host[:port]/bucket[/prefix]` (no scheme means https).
 *
 * - Keys follow restic's default layout under the prefix (layout.ts): `config`, `keys/<id>`,
 *   `data/<xx>/<id>`, … — the same objects restic 0.14+ reads and writes on S3.
 * - Path-style addressing (`https://host/bucket/key`) unless the endpoint is AWS
 *   (`*.amazonaws.com`), which gets virtual-hosted style (`https://bucket.host/key`); `pathStyle`
 *   overrides.
 * - Every request carries `x-amz-content-sha256` with the real SHA-256 of the body (never
 *   UNSIGNED-PAYLOAD), so the server rejects a body damaged on the way; single PUTs also carry
 *   Content-MD5.
 * - `put` is one PUT up to `multipartThreshold` (64 MiB), a multipart upload above it (an object
 *   appears only on CompleteMultipartUpload, so readers never see a partial file). The ETag in
 *   Ceph's Complete answer is empty (a Ceph 16 bug): it is not used; a HEAD checks the size.
 * - `delete` does a HEAD first: S3 deletes of missing keys succeed, the contract wants 'not-found'.
 * - Errors: 404/NoSuchKey 'not-found', 403 'permission', 416 'range', QuotaExceeded 'no-space',
 *   5xx/SlowDown/RequestTimeout/network 'transient'. Messages carry the S3 error code and message,
 *   never credentials; `location` has none either.
 */
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';
import { describeHandle } from './backend.js';
import { checkRange } from './range.js';
import { checkHandle, filePath, isValidId } from './layout.js';
import { CofferError, isCofferError, type ErrorCode } from '../errors.js';
import { toBase64, toHex, utf8Encode } from '../bytes.js';
import { forEachLimit } from '../async.js';
import { md5Digest, sha256Async } from '../crypto/hmac.js';
import { EMPTY_SHA256, canonicalQuery, encodeS3Key, signV4, type AwsCredentials } from './sigv4.js';
import type { FetchLike } from './rest.js';

export type { AwsCredentials } from './sigv4.js';

export interface S3Location {
  /** scheme://host[:port], no path. */
  readonly endpoint: string;
  readonly bucket: string;
  /** Key prefix without leading or trailing '/'; '' for the bucket's root. */
  readonly prefix: string;
}

export interface S3BackendOptions extends S3Location {
  /** Omitted: anonymous (unsigned) requests. A function is asked before every request. */
  readonly credentials?: AwsCredentials | (() => AwsCredentials | Promise<AwsCredentials>);
  /** Signing region; 'us-east-1' by default (any string works for most self-hosted stores). */
  readonly region?: string;
  /** Path-style addressing; default: true unless the endpoint host ends with amazonaws.com. */
  readonly pathStyle?: boolean;
  readonly fetch?: FetchLike;
  /** restic's s3.connections default is 5. */
  readonly connections?: number;
  /** Objects larger than this go up in parts (default 64 MiB). */
  readonly multipartThreshold?: number;
  /** Part size of multipart uploads (default 16 MiB; S3's minimum is 5 MiB). */
  readonly partSize?: number;
  /** Clock for signatures (tests). */
  readonly now?: () => Date;
}

/**
 * Parses restic's S3 location (without the `s3:` scheme): `https://host[:port]/bucket[/prefix]`,
 * `http://…`, `host[:port]/bucket[/prefix]` (https), and restic's old `s3://host/bucket/prefix`.
 */
export function parseS3Location(rest: string): S3Location {
  let s = rest;
  if (s.startsWith('s3:')) s = s.slice(3);
  let scheme = 'https';
  const m = /^(https?):\/\//.exec(s);
  if (m) {
    scheme = m[1]!;
    s = s.slice(m[0].length);
  } else if (s.startsWith('//')) {
    s = s.slice(2); // s3://host/bucket
  }
  const parts = s.split('/').filter((p) => p !== '');
  if (parts.length < 2 || /[@\s]/.test(parts[0]!)) {
    throw new CofferError('usage', 'invalid S3 location: expected s3:https://host[:port]/bucket[/prefix]');
  }
  const host = parts[0]!;
  const bucket = parts[1]!;
  return { endpoint: `${scheme}://${host}`, bucket, prefix: parts.slice(2).join('/') };
}

const MiB = 1024 * 1024;

export class S3Backend implements Backend {
  readonly location: string;
  readonly connections: number;
  private readonly scheme: string;
  private readonly host: string; // Host header value
  private readonly basePath: string; // '' or '/bucket' (encoded)
  private readonly root: string; // key prefix, '' or 'prefix/'
  private readonly bucket: string;
  private region: string;
  private readonly fetchFn: FetchLike;
  private readonly creds: S3BackendOptions['credentials'];
  private readonly threshold: number;
  private readonly partSize: number;
  private readonly now: () => Date;

  constructor(opts: S3BackendOptions) {
    let u: URL;
    try {
      u = new URL(opts.endpoint);
    } catch {
      throw new CofferError('usage', 'invalid S3 endpoint');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CofferError('usage', `S3 endpoint must be http or https, not ${u.protocol}`);
    if (!/^[A-Za-z0-9._-]+$/.test(opts.bucket)) throw new CofferError('usage', `invalid S3 bucket name "${opts.bucket}"`);
    this.bucket = opts.bucket;
    const pathStyle = opts.pathStyle ?? !/(^|\.)amazonaws\.com(\.cn)?$/i.test(u.hostname);
    this.scheme = u.protocol.slice(0, -1);
    this.host = pathStyle ? u.host : `${opts.bucket}.${u.host}`;
    this.basePath = pathStyle ? `/${encodeS3Key(opts.bucket)}` : '';
    const prefix = opts.prefix.replace(/^\/+|\/+$/g, '');
    this.root = prefix ? `${prefix}/` : '';
    this.location = `s3:${u.protocol}//${u.host}/${opts.bucket}${prefix ? '/' + prefix : ''}`;
    this.region = opts.region || regionFromHost(u.hostname) || 'us-east-1';
    this.fetchFn = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.creds = opts.credentials;
    this.connections = opts.connections ?? 5;
    this.threshold = opts.multipartThreshold ?? 64 * MiB;
    this.partSize = Math.max(opts.partSize ?? 16 * MiB, 5 * MiB);
    this.now = opts.now ?? (() => new Date());
  }

  private key(h: Handle): string {
    checkHandle(h);
    return this.root + filePath(h);
  }

  private async credentials(): Promise<AwsCredentials | undefined> {
    if (this.creds === undefined) return undefined;
    return typeof this.creds === 'function' ? await this.creds() : this.creds;
  }

  /**
   * One signed request. `key` undefined addresses the bucket. Network failures become
   * 'transient'; aborts are rethrown as they are. A redirect to the bucket's real region
   * (x-amz-bucket-region) is followed once.
   */
  private async request(
    method: string,
    key: string | undefined,
    what: string,
    o: CallOpts | undefined,
    init: { query?: [string, string][]; headers?: Record<string, string>; body?: Uint8Array; payloadHash?: string } = {},
    regionRetry = false,
  ): Promise<Response> {
    o?.signal?.throwIfAborted();
    const path = key === undefined ? this.basePath + '/' : `${this.basePath}/${encodeS3Key(key)}`;
    const qs = canonicalQuery(init.query);
    const url = `${this.scheme}://${this.host}${path}${qs ? '?' + qs : ''}`;
    const payloadHash = init.payloadHash ?? (init.body && init.body.length ? toHex(await sha256Async(init.body)) : EMPTY_SHA256);
    const creds = await this.credentials();
    let headers: Record<string, string> = { ...init.headers };
    if (creds && creds.accessKeyId) {
      headers = signV4({ method, host: this.host, path, query: init.query ?? [], headers, payloadHash, region: this.region, date: this.now() }, creds).headers;
    }
    const req: RequestInit = { method, headers, redirect: 'manual' };
    if (init.body) req.body = init.body as Uint8Array<ArrayBuffer>;
    if (o?.signal) req.signal = o.signal;
    let res: Response;
    try {
      res = await this.fetchFn(url, req);
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason ?? e;
      throw new CofferError('transient', `${this.location}: ${method} ${what} failed: ${errorText(e)}`, { cause: e });
    }
    const real = res.headers.get('x-amz-bucket-region');
    if (!regionRetry && real && real !== this.region && (res.status === 301 || res.status === 400 || res.status === 403)) {
      await res.body?.cancel().catch(() => undefined);
      this.region = real;
      return this.request(method, key, what, o, { ...init, payloadHash }, true);
    }
    return res;
  }

  /** Turns a non-success response into a CofferError (S3's error code and message, no secrets). */
  private async fail(res: Response, method: string, what: string): Promise<never> {
    let text = '';
    try {
      text = method === 'HEAD' ? '' : await res.text();
    } catch {
      // body lost: the status alone must do
    }
    const code = xmlValue(text, 'Code');
    const message = xmlValue(text, 'Message');
    let detail = code ? `${code}${message ? ': ' + message : ''}` : `HTTP ${res.status}${res.statusText ? ' ' + res.statusText : ''}`;
    if (res.status === 403) detail += ' (check the S3 credentials, region and clock)';
    throw new CofferError(errorCode(res.status, code), `${this.location}: ${method} ${what}: ${detail}`, { data: { status: res.status, ...(code ? { s3Code: code } : {}) } });
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    const what = describeHandle(h);
    const res = await this.request('HEAD', this.key(h), what, o);
    await res.body?.cancel().catch(() => undefined);
    if (res.status !== 200) return this.fail(res, 'HEAD', what);
    const size = Number(res.headers.get('content-length') ?? NaN);
    if (!Number.isSafeInteger(size) || size < 0) throw new CofferError('transient', `${this.location}: HEAD ${what}: no valid Content-Length`);
    return { name: h.name, size };
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    const what = describeHandle(h);
    const key = this.key(h);
    const { offset, length } = checkRange(range, what);
    if (length === 0) {
      const { size } = await this.stat(h, o);
      if (offset > size) throw new CofferError('range', `${what}: offset ${offset} is past the end (${size} bytes)`);
      return new Uint8Array(0);
    }
    const headers: Record<string, string> = {};
    if (range && (offset > 0 || length !== undefined)) headers['range'] = `bytes=${offset}-${length === undefined ? '' : offset + length - 1}`;
    const res = await this.request('GET', key, what, o, { headers });
    if (res.status === 416) {
      await res.body?.cancel().catch(() => undefined);
      // Past the end — or exactly at the end of an open-ended range (an empty read), or any
      // range of an empty object: the size decides.
      const { size } = await this.stat(h, o);
      if (length === undefined && offset === size) return new Uint8Array(0);
      throw new CofferError('range', `${what}: range ${offset}+${length ?? 'end'} reaches past the end (${size} bytes)`);
    }
    if (res.status !== 200 && res.status !== 206) return this.fail(res, 'GET', what);
    let body: Uint8Array;
    try {
      body = new Uint8Array(await res.arrayBuffer());
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason ?? e;
      throw new CofferError('transient', `${this.location}: GET ${what}: body interrupted: ${errorText(e)}`, { cause: e });
    }
    const declared = Number(res.headers.get('content-length') ?? NaN);
    if (Number.isSafeInteger(declared) && declared !== body.length) {
      throw new CofferError('transient', `${this.location}: GET ${what}: got ${body.length} of ${declared} bytes`);
    }
    if (res.status === 200 && headers['range']) {
      // The server ignored Range: cut the piece out ourselves.
      if (offset > body.length) throw new CofferError('range', `${what}: offset ${offset} is past the end (${body.length} bytes)`);
      body = body.subarray(offset);
    } else if (res.status === 206) {
      const cr = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(res.headers.get('content-range') ?? '');
      if (cr && Number(cr[1]) !== offset) throw new CofferError('transient', `${this.location}: GET ${what}: server answered range from ${cr[1]}, asked ${offset}`);
    }
    if (length !== undefined) {
      if (body.length < length) throw new CofferError('range', `${what}: range ${offset}+${length} reaches past the end`);
      if (body.length > length) body = body.subarray(0, length);
    }
    return body;
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    o?.signal?.throwIfAborted();
    const key = this.key(h);
    const what = describeHandle(h);
    if (data.length > this.threshold) return this.putMultipart(key, what, data, o);
    // fetch reads the body while sending: send a private copy so the caller may reuse its buffer.
    const body = new Uint8Array(data); // a copy (Buffer's slice would be a view)
    const res = await this.request('PUT', key, what, o, {
      headers: { 'content-type': 'application/octet-stream', 'content-md5': toBase64(md5Digest(body)) },
      body,
    });
    if (res.status !== 200) return this.fail(res, 'PUT', what);
    await res.body?.cancel().catch(() => undefined);
  }

  private async putMultipart(key: string, what: string, data: Uint8Array, o?: CallOpts): Promise<void> {
    const created = await this.request('POST', key, what, o, { query: [['uploads', '']], headers: { 'content-type': 'application/octet-stream' } });
    if (created.status !== 200) return this.fail(created, 'POST (create multipart upload)', what);
    const uploadId = xmlValue(await created.text(), 'UploadId');
    if (!uploadId) throw new CofferError('transient', `${this.location}: POST ${what}: no UploadId in CreateMultipartUpload answer`);
    const count = Math.max(1, Math.ceil(data.length / this.partSize));
    const etags: string[] = new Array(count);
    try {
      await forEachLimit(
        Array.from({ length: count }, (_, i) => i),
        Math.min(4, this.connections),
        async (i) => {
          const part = data.subarray(i * this.partSize, Math.min(data.length, (i + 1) * this.partSize));
          const res = await this.request('PUT', key, `${what} part ${i + 1}/${count}`, o, {
            query: [['partNumber', String(i + 1)], ['uploadId', uploadId]],
            headers: { 'content-md5': toBase64(md5Digest(part)) },
            body: part,
          });
          if (res.status !== 200) return this.fail(res, 'PUT', `${what} part ${i + 1}/${count}`);
          await res.body?.cancel().catch(() => undefined);
          const etag = res.headers.get('etag');
          if (!etag) throw new CofferError('transient', `${this.location}: PUT ${what} part ${i + 1}: no ETag`);
          etags[i] = etag;
        },
      );
      const xml =
        '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' +
        etags.map((e, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${xmlEscape(e)}</ETag></Part>`).join('') +
        '</CompleteMultipartUpload>';
      const body = utf8Encode(xml);
      const done = await this.request('POST', key, what, o, { query: [['uploadId', uploadId]], headers: { 'content-type': 'application/xml' }, body });
      if (done.status !== 200) return this.fail(done, 'POST (complete multipart upload)', what);
      // S3 may answer 200 and put the error in the body. Ceph's ETag here is empty: not used.
      const text = await done.text();
      if (/<Error>/.test(text)) {
        const code = xmlValue(text, 'Code');
        throw new CofferError(errorCode(500, code), `${this.location}: POST ${what}: complete multipart upload failed: ${code ?? 'error'}${xmlValue(text, 'Message') ? ': ' + xmlValue(text, 'Message') : ''}`);
      }
    } catch (e) {
      await this.abortUpload(key, uploadId);
      throw e;
    }
    // The Complete answer cannot be trusted for the ETag (Ceph); check the size instead.
    const head = await this.request('HEAD', key, what, o);
    await head.body?.cancel().catch(() => undefined);
    if (head.status !== 200) return this.fail(head, 'HEAD', what);
    const got = Number(head.headers.get('content-length'));
    if (got !== data.length) throw new CofferError('transient', `${this.location}: ${what}: multipart upload stored ${got} bytes, not ${data.length}`);
  }

  private async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      const res = await this.request('DELETE', key, 'abort multipart upload', undefined, { query: [['uploadId', uploadId]] });
      await res.body?.cancel().catch(() => undefined);
    } catch {
      // best effort: a lifecycle rule or a later abort cleans up
    }
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    await this.stat(h, o); // S3 deletes missing keys silently; the contract wants 'not-found'
    const what = describeHandle(h);
    const res = await this.request('DELETE', this.key(h), what, o);
    if (res.status !== 204 && res.status !== 200) return this.fail(res, 'DELETE', what);
    await res.body?.cancel().catch(() => undefined);
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    if (type === 'config') return;
    const prefix = `${this.root}${type}/`;
    const seen = new Set<string>();
    let token: string | undefined;
    for (;;) {
      const query: [string, string][] = [['list-type', '2'], ['prefix', prefix], ['max-keys', '1000']];
      if (token) query.push(['continuation-token', token]);
      const res = await this.request('GET', undefined, `${type}/ (list)`, o, { query });
      if (res.status === 404) {
        // A bucket that does not exist yet holds no files (as a missing folder).
        await res.body?.cancel().catch(() => undefined);
        return;
      }
      if (res.status !== 200) return this.fail(res, 'GET', `${type}/ (list)`);
      let text: string;
      try {
        text = await res.text();
      } catch (e) {
        if (o?.signal?.aborted) throw o.signal.reason ?? e;
        throw new CofferError('transient', `${this.location}: list ${type}/: body interrupted: ${errorText(e)}`, { cause: e });
      }
      for (const m of text.matchAll(/<Contents>([\s\S]*?)<\/Contents>/g)) {
        const key = xmlUnescape(xmlValue(m[1]!, 'Key') ?? '');
        const size = Number(xmlValue(m[1]!, 'Size'));
        const rel = key.slice(prefix.length);
        const name = rel.slice(rel.lastIndexOf('/') + 1);
        if (!key.startsWith(prefix) || !isValidId(name) || seen.has(name)) continue;
        if (key !== this.root + filePath({ type, name })) continue; // not where get() would look
        if (!Number.isSafeInteger(size) || size < 0) throw new CofferError('transient', `${this.location}: list ${type}/: entry ${name} has no valid size`);
        seen.add(name);
        yield { name, size };
      }
      const truncated = xmlValue(text, 'IsTruncated') === 'true';
      const next = xmlValue(text, 'NextContinuationToken');
      if (!truncated) return;
      if (!next) throw new CofferError('transient', `${this.location}: list ${type}/: truncated listing without a continuation token`);
      token = xmlUnescape(next);
    }
  }

  /** As restic: make sure the bucket exists (create it if not); refuse an existing repository. */
  async create(o?: CallOpts): Promise<void> {
    const head = await this.request('HEAD', undefined, 'bucket', o);
    await head.body?.cancel().catch(() => undefined);
    if (head.status === 404) {
      const body =
        this.region === 'us-east-1'
          ? undefined
          : utf8Encode(`<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><LocationConstraint>${xmlEscape(this.region)}</LocationConstraint></CreateBucketConfiguration>`);
      const res = await this.request('PUT', undefined, `bucket ${this.bucket}`, o, body ? { body } : {});
      if (res.status !== 200) {
        const text = await res.text().catch(() => '');
        if (!(res.status === 409 && xmlValue(text, 'Code') === 'BucketAlreadyOwnedByYou')) {
          const code = xmlValue(text, 'Code');
          throw new CofferError(errorCode(res.status, code), `${this.location}: create bucket ${this.bucket}: ${code ?? 'HTTP ' + res.status}`, { data: { status: res.status } });
        }
      } else {
        await res.body?.cancel().catch(() => undefined);
      }
    } else if (head.status !== 200) {
      return this.fail(head, 'HEAD', `bucket ${this.bucket}`);
    }
    try {
      await this.stat({ type: 'config', name: '' }, o);
    } catch (e) {
      if (isCofferError(e, 'not-found')) return;
      throw e;
    }
    throw new CofferError('already-exists', `a repository already exists at ${this.location}`);
  }
}

function regionFromHost(hostname: string): string | undefined {
  return /(?:^|\.)s3[.-]([a-z]{2}(?:-gov)?-[a-z]+-\d)\.amazonaws\.com/i.exec(hostname)?.[1];
}

function errorCode(status: number, s3Code: string | undefined): ErrorCode {
  if (s3Code === 'NoSuchKey' || s3Code === 'NoSuchBucket' || status === 404) return 'not-found';
  if (s3Code === 'QuotaExceeded' || status === 507) return 'no-space';
  if (s3Code === 'SlowDown' || s3Code === 'RequestTimeout' || s3Code === 'InternalError' || s3Code === 'ServiceUnavailable') return 'transient';
  if (s3Code === 'XAmzContentSHA256Mismatch' || s3Code === 'BadDigest') return 'transient';
  if (status === 416 || s3Code === 'InvalidRange') return 'range';
  if (status === 401 || status === 403) return 'permission';
  if (status >= 500 || status === 408 || status === 429) return 'transient';
  return 'internal';
}

function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m ? m[1] : undefined;
}

function xmlUnescape(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, e: string) => {
    if (e === 'amp') return '&';
    if (e === 'lt') return '<';
    if (e === 'gt') return '>';
    if (e === 'quot') return '"';
    if (e === 'apos') return "'";
    return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
  });
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = (e as { cause?: unknown }).cause;
    return cause instanceof Error ? `${e.message} (${cause.message})` : e.message;
  }
  return String(e);
}
