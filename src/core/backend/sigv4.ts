/**
 * @module backend/sigv4
 * AWS Signature Version 4 for S3 requests (header-based), written from AWS's specification:
 * canonical request → string to sign → signing key (HMAC chain over date, region, service,
 * "aws4_request") → signature. Pure; runs in browsers. The payload hash is always given by the
 * caller (the real SHA-256 of the body: the server then checks the body's integrity).
 */
import { hmacSha256, sha256Sync } from '../crypto/hmac.js';
import { toHex, utf8Encode } from '../bytes.js';

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
}

export interface SignRequest {
  readonly method: string;
  /** Host header value (host, plus ":port" when not the scheme's default). */
  readonly host: string;
  /** The path exactly as sent: already URI-encoded (see `encodeS3Key`). */
  readonly path: string;
  /** Query parameters, not encoded. */
  readonly query?: ReadonlyArray<readonly [string, string]>;
  /** Headers to send and sign (names in any case). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body (or 'UNSIGNED-PAYLOAD'). */
  readonly payloadHash: string;
  readonly region: string;
  readonly service?: string;
  readonly date: Date;
}

export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - . _ ~ is %XX (uppercase). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** An object key as a URI path: each segment encoded, '/' kept. */
export function encodeS3Key(key: string): string {
  return key.split('/').map(uriEncode).join('/');
}

/** The query string in canonical form (sorted, encoded); also what to send. */
export function canonicalQuery(query: ReadonlyArray<readonly [string, string]> = []): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

/** 20130524T000000Z */
export function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

export interface Signed {
  /** Every header to send, including Authorization, x-amz-date and x-amz-content-sha256. */
  readonly headers: Record<string, string>;
  /** For tests: the intermediate strings. */
  readonly canonicalRequest: string;
  readonly stringToSign: string;
  readonly signature: string;
}

const keyCache = new Map<string, Uint8Array>();

function signingKey(secret: string, day: string, region: string, service: string): Uint8Array {
  const id = `${day}/${region}/${service}/${toHex(sha256Sync(utf8Encode(secret)))}`;
  let k = keyCache.get(id);
  if (!k) {
    k = hmacSha256(utf8Encode('AWS4' + secret), utf8Encode(day));
    k = hmacSha256(k, utf8Encode(region));
    k = hmacSha256(k, utf8Encode(service));
    k = hmacSha256(k, utf8Encode('aws4_request'));
    if (keyCache.size > 16) keyCache.clear();
    keyCache.set(id, k);
  }
  return k;
}

/** Signs a request: returns the headers to send (the given ones plus the signing headers). */
export function signV4(req: SignRequest, creds: AwsCredentials): Signed {
  const service = req.service ?? 's3';
  const stamp = amzDate(req.date);
  const day = stamp.slice(0, 8);
  const all: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers ?? {})) all[k.toLowerCase()] = v;
  all['host'] = req.host;
  all['x-amz-date'] = stamp;
  all['x-amz-content-sha256'] = req.payloadHash;
  if (creds.sessionToken) all['x-amz-security-token'] = creds.sessionToken;
  const names = Object.keys(all).sort();
  const canonicalHeaders = names.map((n) => `${n}:${all[n]!.trim().replace(/\s+/g, ' ')}\n`).join('');
  const signedHeaders = names.join(';');
  const canonicalRequest = [req.method, req.path, canonicalQuery(req.query), canonicalHeaders, signedHeaders, req.payloadHash].join('\n');
  const scope = `${day}/${req.region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', stamp, scope, toHex(sha256Sync(utf8Encode(canonicalRequest)))].join('\n');
  const signature = toHex(hmacSha256(signingKey(creds.secretAccessKey, day, req.region, service), utf8Encode(stringToSign)));
  const headers: Record<string, string> = {};
  for (const n of names) if (n !== 'host') headers[n] = all[n]!;
  headers['authorization'] = `AWS4-HMAC-SHA256 Credential=${creds.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
  return { headers, canonicalRequest, stringToSign, signature };
}
