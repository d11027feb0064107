/**
 * Fuzzing the REST server's request handling (server/serve-app.ts over rest-app.ts and the local
 * backend, as `coffer serve --path DIR` runs it). Requests are generated with hostile methods,
 * paths (`..`, `%2e`, encoded slashes, NULs, very long names, type names as repository names),
 * Range headers, credentials, Accept headers and bodies (random, or matching the name's hash).
 *
 * After every request the harness checks:
 *   - the handler answered (never threw) with a status in 200..599 and no 500 (an unhandled error);
 *   - nothing changed outside the storage root (sentinel files, the htpasswd file beside it);
 *   - every file under the root is a file of some repository's layout (`config`, `<type>/<id>`,
 *     `data/<xx>/<id>`) whose repository path holds no type name (no repository inside another's
 *     folders); uploaded files hash to their names; existing files never change (create-only);
 *   - with authentication, a request without valid credentials gets 401 and changes nothing;
 *     with --private-repos a user never gets a 2xx outside `/<user>/`; in append-only mode no
 *     file other than a lock ever disappears;
 *   - GET answers are exact: 200 = a whole stored file, 206 = the slice named in Content-Range.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { LocalBackend } from '../../src/node/local-backend.js';
import { createServeApp, type ServeApp } from '../../src/server/serve-app.js';
import { REST_V1, REST_V2 } from '../../src/server/rest-app.js';
import { tempDir } from '../helpers/paths.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const TYPES = ['data', 'keys', 'locks', 'snapshots', 'index'];
const USERS: Record<string, string> = { alice: 'alice-pw', bob: 'b:o:b' };

/** Files present from the start, so reads, ranges and overwrite attempts have targets. */
const FILE_BODIES = [new Uint8Array(0), new TextEncoder().encode('hello restic\n'), new Uint8Array(5000).map((_, i) => (i * 7) & 0xff)];
const KNOWN_IDS = FILE_BODIES.map(sha);

export interface RequestSpec {
  method: string;
  segs: string[];
  trailingSlash: boolean;
  query: string;
  range?: string;
  auth?: string;
  accept?: string;
  contentLength?: string;
  body?: Uint8Array;
  /** Replace the last path segment by the SHA-256 of the body (a valid upload name). */
  nameFromBody: boolean;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...TYPES, 'config', 'alice', 'bob', 'repo', ...KNOWN_IDS, KNOWN_IDS[1]!.slice(0, 2)) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '', '.', '..', '%2e%2e', '%2E%2e', '.%2e', '%2e', '%2f', '..%2f..', '%2F..%2F..%2Fsecret.txt', '%00', '%', '%zz', '%c0%ae%c0%ae',
      '.htpasswd', 'secret.txt', '..\\..', '~', 'tmp', '.tmp-x', 'private_key', KNOWN_IDS[1]!.toUpperCase(), `${KNOWN_IDS[1]}%00`, '%2e%2e%2f%2e%2e',
      'x'.repeat(300), 'y'.repeat(5000), 'é', '%ff', '\u0000', ' ', '?', '#',
    ),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
);

const rangeValue = fc.oneof(fc.constant(''), fc.nat(6000).map(String), fc.constantFrom('-1', '99999999999999999999', '1e3', ' 5', '0x10', '00'));
const rangeHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 4, arbitrary: fc.tuple(rangeValue, rangeValue).map(([a, b]) => `bytes=${a}-${b}`) },
  { weight: 1, arbitrary: fc.constantFrom('bytes=0-1,2-3', 'bytes=-', 'bytes=', 'items=0-5', 'bytes 0-5', 'bytes=5-2', 'BYTES=0-1', 'bytes=0-0 ', ' bytes=1-2') },
  { weight: 1, arbitrary: fc.string({ maxLength: 20 }) },
);

const authHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  fc.constant(undefined),
  fc.constantFrom(...Object.entries(USERS).map(([u, p]) => `Basic ${b64(`${u}:${p}`)}`)),
  fc.constantFrom(`Basic ${b64('alice:wrong')}`, `Basic ${b64('alice')}`, `Basic ${b64('nobody:x')}`, 'Basic !!!', 'Basic', 'Bearer abc', `basic ${b64('bob:b:o:b')}`,
    `Basic ${Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')}`, `Basic ${b64('alice:alice-pw')}=`, `Basic  ${b64('alice:alice-pw')}  `),
);

export const requestSpec: fc.Arbitrary<RequestSpec> = fc.record(
  {
    method: fc.oneof({ weight: 8, arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'get', 'PROPFIND', 'TRACE', 'X') }),
    segs: fc.oneof(
      { weight: 1, arbitrary: fc.array(segment, { maxLength: 5 }) },
      // Protocol-shaped: a repository path (possibly hostile), then `config` or `<type>/<name>`.
      {
        weight: 2,
        arbitrary: fc
          .tuple(
            fc.array(fc.oneof(fc.constantFrom(...TYPES, 'config', 'alice', 'bob'), segment), { maxLength: 3 }),
            fc.oneof(fc.constant(['config']), fc.tuple(fc.constantFrom(...TYPES), fc.oneof(fc.constantFrom('', ...KNOWN_IDS), segment))),
          )
          .map(([repo, rest]) => [...repo, ...rest]),
      },
    ),
    trailingSlash: fc.boolean(),
    query: fc.oneof({ weight: 4, arbitrary: fc.constant('') }, { weight: 2, arbitrary: fc.constantFrom('?create=true', '?create=false', '?create=true&x=1', '?', '?%00') }),
    range: rangeHeader,
    auth: authHeader,
    accept: fc.option(fc.constantFrom(REST_V1, REST_V2, `${REST_V2} `, '*/*', ''), { nil: undefined }),
    contentLength: fc.option(fc.constantFrom('0', '1', '5', '-1', 'abc', '99999999999', '13'), { nil: undefined, freq: 6 }),
    body: fc.option(fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constantFrom(...FILE_BODIES)), { nil: undefined }),
    nameFromBody: fc.boolean(),
  },
  { noNullPrototype: true },
);

interface Snapshot {
  outside: Map<string, string>;
  inside: Map<string, string>;
}

function walk(dir: string, base: string, out: Map<string, string>, skip?: string, bytes?: Map<string, Uint8Array>): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    const abs = path.join(dir, e.name);
    if (abs === skip) continue;
    const rel = path.relative(base, abs);
    if (e.isDirectory()) {
      out.set(rel + '/', 'dir');
      walk(abs, base, out, skip, bytes);
    } else if (e.isFile()) {
      const b = fs.readFileSync(abs);
      out.set(rel, sha(b));
      bytes?.set(rel, b);
    } else out.set(rel, 'other');
  }
}

/** Whether `rel` (relative to the storage root) is a file of a repository's layout. */
export function layoutProblem(rel: string, hash: string): string | undefined {
  const segs = rel.split('/');
  const name = segs[segs.length - 1]!;
  if (name.startsWith('.tmp-')) return undefined; // an upload in flight (never during a check)
  let repo: string[];
  if (name === 'config') repo = segs.slice(0, -1);
  else if (segs.length >= 3 && segs[segs.length - 3] === 'data' && /^[0-9a-f]{2}$/.test(segs[segs.length - 2]!) && name.startsWith(segs[segs.length - 2]!)) repo = segs.slice(0, -3);
  else if (segs.length >= 2 && TYPES.includes(segs[segs.length - 2]!) && segs[segs.length - 2] !== 'data') repo = segs.slice(0, -2);
  else return `${rel} is not a repository file`;
  if (name !== 'config' && !/^[0-9a-f]{64}$/.test(name)) return `${rel} has an invalid name`;
  for (const s of repo) if (TYPES.includes(s) || s === 'config' || s.startsWith('.')) return `${rel} lies inside another repository's folders (${repo.join('/')})`;
  if (name !== 'config' && hash !== name) return `${rel} does not hash to its name`;
  return undefined;
}

export interface ServerHarness {
  readonly name: string;
  /** Sends one request and checks every invariant; throws a plain Error naming the violation. */
  check(spec: RequestSpec): Promise<void>;
  close(): Promise<void>;
}

interface Mode {
  name: string;
  auth: boolean;
  privateRepos: boolean;
  appendOnly: boolean;
}

export const MODES: Mode[] = [
  { name: 'open', auth: false, privateRepos: false, appendOnly: false },
  { name: 'auth+private+append-only', auth: true, privateRepos: true, appendOnly: true },
];

export async function serverHarness(mode: Mode): Promise<ServerHarness> {
  const parent = tempDir('coffer-fuzz-serve-');
  const root = path.join(parent, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(parent, 'secret.txt'), 'outside the root');
  fs.writeFileSync(path.join(root, '.htpasswd'), 'alice:$2y$05$notarealhashnotarealhashnotarealhashnotarealhashnota');
  const app: ServeApp = createServeApp({
    backendFor: (repo) => new LocalBackend(repo === '' ? root : path.join(root, ...repo.split('/'))),
    ...(mode.auth ? { verify: (u: string, p: string) => USERS[u] === p } : {}),
    privateRepos: mode.privateRepos,
    appendOnly: mode.appendOnly,
    maxUploadBytes: 4096,
  });
  // Repositories at the root and under each user, with a few files each.
  // (Written through the backend without `create`: 256 empty shard folders per repository would
  // only slow down the check after every request.)
  for (const repo of ['', 'alice', 'bob', 'alice/sub']) {
    const b = new LocalBackend(repo === '' ? root : path.join(root, ...repo.split('/')));
    await b.put({ type: 'config', name: '' }, new TextEncoder().encode(`config of /${repo}`));
    for (const [i, body] of FILE_BODIES.entries()) {
      for (const type of TYPES) await b.put({ type: type as 'data', name: KNOWN_IDS[i]! }, body);
    }
  }

  const snap = (bytes?: Map<string, Uint8Array>): Snapshot => {
    const outside = new Map<string, string>();
    walk(parent, parent, outside, root);
    const inside = new Map<string, string>();
    walk(root, root, inside, undefined, bytes);
    return { outside, inside };
  };
  // The state after the previous request (nothing else touches the folder meanwhile).
  let filesNow = new Map<string, Uint8Array>();
  let now = snap(filesNow);

  return {
    name: mode.name,
    async close() {
      await app.close();
    },
    async check(spec) {
      const segs = [...spec.segs];
      if (spec.nameFromBody && spec.body && segs.length > 0 && segs[segs.length - 1] !== 'config') segs[segs.length - 1] = sha(spec.body);
      const rawPath = '/' + segs.join('/') + (spec.trailingSlash && segs.length ? '/' : '');
      let url: URL;
      try {
        url = new URL(rawPath + spec.query, 'http://fuzz.local');
      } catch {
        return; // not a URL a client could send
      }
      const headers = new Headers();
      try {
        if (spec.range !== undefined) headers.set('range', spec.range);
        if (spec.auth !== undefined) headers.set('authorization', spec.auth);
        if (spec.accept !== undefined) headers.set('accept', spec.accept);
        if (spec.contentLength !== undefined && spec.body) headers.set('content-length', spec.contentLength);
      } catch {
        return; // a header value fetch refuses to send
      }
      let req: Request;
      try {
        const hasBody = spec.body !== undefined && spec.method !== 'GET' && spec.method !== 'HEAD' && spec.method !== 'get';
        req = new Request(url, { method: spec.method, headers, ...(hasBody ? { body: spec.body as Uint8Array<ArrayBuffer> } : {}) });
      } catch {
        return; // a method fetch refuses (TRACE)
      }
      const label = `${mode.name}: ${spec.method} ${rawPath}${spec.query} range=${JSON.stringify(spec.range)} auth=${JSON.stringify(spec.auth)}`;
      const before = now;
      const filesBefore = filesNow;
      let res: Response;
      try {
        res = await app(req);
      } catch (e) {
        throw new Error(`${label}: the handler threw ${String(e)}`);
      }
      let body: Uint8Array;
      try {
        body = new Uint8Array(await res.arrayBuffer());
      } catch (e) {
        throw new Error(`${label}: reading the response failed: ${String(e)}`);
      }
      const status = res.status;
      if (!(status >= 200 && status <= 599)) throw new Error(`${label}: status ${status}`);
      if (status === 500) throw new Error(`${label}: 500 Internal Server Error (an unhandled error)`);
      filesNow = new Map();
      const after = snap(filesNow);
      now = after;

      // Nothing outside the root changes.
      for (const [k, v] of before.outside) if (after.outside.get(k) !== v) throw new Error(`${label}: ${k} outside the root changed`);
      for (const k of after.outside.keys()) if (!before.outside.has(k)) throw new Error(`${label}: created ${k} outside the root`);
      // Layout, hashes and create-only inside it.
      for (const [rel, h] of after.inside) {
        if (h === 'dir' || rel === '.htpasswd') continue;
        const old = before.inside.get(rel);
        if (old !== undefined && old !== h) throw new Error(`${label}: ${rel} was overwritten`);
        if (old === undefined) {
          const p = layoutProblem(rel, h);
          if (p) throw new Error(`${label}: ${p}`);
        }
      }
      const removed = [...before.inside.keys()].filter((k) => !after.inside.has(k) && !k.endsWith('/'));
      const changed = removed.length > 0 || [...after.inside.keys()].some((k) => !before.inside.has(k));
      const authOk = spec.auth !== undefined && Object.entries(USERS).some(([u, p]) => spec.auth === `Basic ${b64(`${u}:${p}`)}` || spec.auth === `basic ${b64(`${u}:${p}`)}` || spec.auth === `Basic  ${b64(`${u}:${p}`)}  `);
      const isHealth = url.pathname === '/health';
      if (mode.auth && !isHealth) {
        if (!authOk && status !== 401) throw new Error(`${label}: answered ${status} without valid credentials`);
        if (!authOk && changed) throw new Error(`${label}: changed files without valid credentials`);
      }
      if (mode.privateRepos && status < 300 && !isHealth) {
        const user = Object.keys(USERS).find((u) => spec.auth?.includes(b64(`${u}:${USERS[u]}`)));
        let decoded = url.pathname;
        try {
          decoded = decodeURIComponent(url.pathname);
        } catch { /* a 2xx for an undecodable path is itself suspicious: checked below */ }
        if (!user || !decoded.startsWith(`/${user}/`) && decoded !== `/${user}`) throw new Error(`${label}: ${status} outside the user's own repositories`);
      }
      if (mode.appendOnly) {
        for (const k of removed) if (!k.split('/').includes('locks')) throw new Error(`${label}: append-only, yet ${k} was deleted`);
      }
      // Reads are exact.
      if ((spec.method === 'GET') && (status === 200 || status === 206) && res.headers.get('content-type') === 'application/octet-stream') {
        const name = decodeURIComponent(url.pathname).split('/').pop()!;
        const candidates = [...filesBefore].filter(([rel]) => rel.split('/').pop() === name).map(([, b]) => b);
        if (status === 200 && !candidates.some((c) => Buffer.compare(c, body) === 0)) throw new Error(`${label}: 200 body is not the stored file`);
        if (status === 206) {
          const m = /^bytes (\d+)-(\d+)\/(\d+)$/.exec(res.headers.get('content-range') ?? '');
          if (!m) throw new Error(`${label}: 206 without a valid Content-Range`);
          const [s, e, size] = [Number(m[1]), Number(m[2]), Number(m[3])];
          if (!(s <= e && e < size) || body.length !== e - s + 1) throw new Error(`${label}: 206 range ${s}-${e}/${size} with ${body.length} bytes`);
          if (!candidates.some((c) => c.length === size && Buffer.compare(c.subarray(s, e + 1), body) === 0)) throw new Error(`${label}: 206 body is not the named slice`);
        }
      }
    },
  };
}

/** Runs `numRuns` generated requests against each mode; returns the inputs tried and failures. */
export async function runServerFuzz(numRuns: number, seed?: number): Promise<{ tried: number; failures: string[] }> {
  let tried = 0;
  const failures: string[] = [];
  for (const mode of MODES) {
    const h = await serverHarness(mode);
    try {
      const details = await fc.check(
        fc.asyncProperty(requestSpec, async (spec) => {
          tried++;
          await h.check(spec);
        }),
        { numRuns, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) },
      );
      if (details.failed) {
        const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
        failures.push(`server ${mode.name}: ${err.split('\n')[0]!.slice(0, 400)} (seed ${details.seed}, path ${details.counterexamplePath})`);
      }
    } finally {
      await h.close();
    }
  }
  return { tried, failures };
}

// ---- raw HTTP through node:http ---------------------------------------------------------------

const rawLine = fc.oneof(
  { weight: 6, arbitrary: fc.tuple(
    fc.oneof({ weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE') }, { weight: 1, arbitrary: fc.constantFrom('G\u0000ET', '', 'GET GET') }),
    fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom('/', '//x/config', '//alice/../../config', 'http://evil/config', '*', '/%', '/..', '/../../secret.txt', '/%2e%2e/%2e%2e/secret.txt', '/health', '/config', 'config', '/a b', '/\u00ff', `/data/${KNOWN_IDS[1]}`, `/alice/keys/${KNOWN_IDS[2]}`, '/keys/', '/alice?create=true') },
      { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
      { weight: 1, arbitrary: fc.constant('/' + 'z'.repeat(70000)) },
    ),
    fc.oneof({ weight: 6, arbitrary: fc.constant('HTTP/1.1') }, { weight: 1, arbitrary: fc.constantFrom('HTTP/1.0', 'HTTP/2.0', 'HTTP/9', '', 'http/1.1') }),
  ).map(([m, p, v]) => `${m} ${p} ${v}`) },
  { weight: 1, arbitrary: fc.string({ maxLength: 60 }) },
);
const rawHeader = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('Host: fuzz', 'Host: [', 'Host:', 'Content-Length: 5', 'Content-Length: 0', 'Transfer-Encoding: chunked', 'Range: bytes=0-', 'Range: bytes=-3', 'Range: bytes=9-2',
    'Authorization: Basic Og==', 'Expect: 100-continue', 'Connection: upgrade', 'Upgrade: websocket', 'Accept: application/vnd.x.restic.rest.v2', 'Connection: keep-alive') },
  { weight: 1, arbitrary: fc.constantFrom('Content-Length: -1', 'Content-Length: 1, 2', 'Transfer-Encoding: gzip, chunked', 'X: ' + 'v'.repeat(20000), ': empty name', 'NoColon') },
  { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((s) => `X-Fuzz: ${s}`) },
);
export const rawRequest: fc.Arbitrary<string> = fc
  .tuple(rawLine, fc.array(rawHeader, { maxLength: 4 }).chain((h) => fc.constantFrom(['Host: fuzz', ...h], ['Host: fuzz', ...h], h)), fc.constantFrom('', 'abc', '5\r\nhello\r\n0\r\n\r\n', 'zz\r\n'), fc.constantFrom('\r\n', '\r\n', '\r\n', '\n', '\r'))
  .map(([line, headers, body, eol]) => [line, ...headers].join(eol) + eol + eol + body);

/**
 * Sends raw bytes (malformed request lines, duplicate lengths, chunked bodies, huge headers) to
 * `coffer serve`'s handler on a real node:http listener; after each, /health must still answer
 * 200 and nothing may appear outside the storage root.
 */
export async function runRawHttpFuzz(numRuns: number, seed?: number): Promise<{ tried: number; failures: string[] }> {
  const net = await import('node:net');
  const { listen } = await import('../../src/server/node-listener.js');
  const parent = tempDir('coffer-fuzz-raw-');
  const root = path.join(parent, 'root');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(parent, 'secret.txt'), 'outside');
  const app = createServeApp({ backendFor: (repo) => new LocalBackend(repo === '' ? root : path.join(root, ...repo.split('/'))), maxUploadBytes: 4096 });
  const server = await listen(app);
  const outsideBefore = new Map<string, string>();
  walk(parent, parent, outsideBefore, root);
  const send = (text: string): Promise<string> =>
    new Promise((resolve) => {
      const s = net.connect(server.port, '127.0.0.1');
      let got = '';
      const done = (): void => { s.destroy(); resolve(got); };
      s.setTimeout(2000, done);
      s.on('data', (d) => { got += d.toString('latin1'); });
      s.on('error', done);
      s.on('close', done);
      s.end(Buffer.from(text, 'latin1'));
    });
  let tried = 0;
  const failures: string[] = [];
  try {
    const details = await fc.check(
      fc.asyncProperty(rawRequest, async (text) => {
        tried++;
        const answer = await send(text);
        if (/^HTTP\/1\.[01] 500/m.test(answer)) throw new Error(`raw ${JSON.stringify(text.slice(0, 200))}: answered 500`);
        const health = await fetch(`${server.url}/health`);
        await health.arrayBuffer();
        if (health.status !== 200) throw new Error(`after raw ${JSON.stringify(text.slice(0, 200))}: /health answered ${health.status}`);
        const outside = new Map<string, string>();
        walk(parent, parent, outside, root);
        if (JSON.stringify([...outside]) !== JSON.stringify([...outsideBefore])) throw new Error(`raw ${JSON.stringify(text.slice(0, 200))}: changed files outside the root`);
      }),
      { numRuns, endOnFailure: true, ...(seed !== undefined ? { seed } : {}) },
    );
    if (details.failed) {
      const err = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
      failures.push(`server raw HTTP: ${err.split('\n')[0]!.slice(0, 400)} (seed ${details.seed})`);
    }
  } finally {
    await server.close();
    await app.close();
  }
  return { tried, failures };
}
