/**
 * @module node/rclone-backend
 * `rclone:remote:path` as restic does it: runs `rclone serve restic --stdio --b2-hard-delete
 * remote:path` and speaks restic's REST protocol with the child over its stdin/stdout. In --stdio
 * mode rclone serves HTTP/2 (cleartext, prior knowledge) on that pipe, so the transport is a
 * node:http2 session over a Duplex of the child's stdio; the protocol itself is RestBackend's
 * (src/core/backend/rest.ts) through a custom `fetch`. HTTP/2 multiplexes, so `connections`
 * requests run at once.
 *
 * The child's stderr is kept (last lines) for error messages; when rclone exits, calls fail with
 * its exit status and those lines (not retried: a bad remote does not heal). close() ends the
 * child. Settings as restic's `rclone.program` / `rclone.args`: COFFER_RCLONE_PROGRAM (default
 * `rclone`), COFFER_RCLONE_ARGS (default `serve restic --stdio --b2-hard-delete`).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as http2 from 'node:http2';
import { Duplex } from 'node:stream';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../core/backend/backend.js';
import { RestBackend, type FetchLike } from '../core/backend/rest.js';
import { CofferError, isCofferError } from '../core/errors.js';

export interface RcloneBackendOptions {
  env?: NodeJS.ProcessEnv;
  connections?: number;
}

const DEFAULT_ARGS = ['serve', 'restic', '--stdio', '--b2-hard-delete'];
/** Base URL the REST client builds on; only the path reaches rclone. */
const BASE = 'http://rclone/';

export class RcloneBackend implements Backend {
  readonly location: string;
  readonly connections: number;
  private readonly remote: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly rest: RestBackend;
  private child: ChildProcessWithoutNullStreams | undefined;
  private session: http2.ClientHttp2Session | undefined;
  private stderrTail: string[] = [];
  private exited: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
  private closing = false;
  /** Rejecters of requests in flight: a session that dies does not always fail its streams. */
  private readonly pending = new Set<(e: unknown) => void>();

  constructor(location: string, opts: RcloneBackendOptions = {}) {
    const remote = location.replace(/^rclone:/, '');
    if (!remote) throw new CofferError('usage', 'rclone repository needs a remote: rclone:remote:path');
    this.remote = remote;
    this.env = opts.env ?? process.env;
    this.connections = opts.connections ?? 5;
    // rclone remotes can carry credentials inline (`:s3,secret_access_key=...:bucket`): hide option values.
    this.location = `rclone:${remote.replace(/,([a-z0-9_]+)=("[^"]*"|'[^']*'|[^,:]*)/gi, ',$1=***')}`;
    this.rest = new RestBackend(BASE, { fetch: this.fetch, connections: this.connections });
  }

  private start(): http2.ClientHttp2Session {
    if (this.exited) throw this.exitError();
    if (this.session && !this.session.destroyed && !this.session.closed) return this.session;
    const program = this.env.COFFER_RCLONE_PROGRAM || 'rclone';
    const args = this.env.COFFER_RCLONE_ARGS ? this.env.COFFER_RCLONE_ARGS.split(/\s+/).filter(Boolean) : DEFAULT_ARGS;
    const child = spawn(program, [...args, this.remote], { stdio: ['pipe', 'pipe', 'pipe'], env: this.env });
    this.child = child;
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      for (const line of d.split('\n')) {
        if (!line.trim() || /Config file .* not found - using defaults/.test(line)) continue;
        this.stderrTail.push(line);
        if (this.stderrTail.length > 20) this.stderrTail.shift();
      }
    });
    // Once rclone is gone, fail what is pending and drop the session without destroying it:
    // destroying an HTTP/2 session whose stdio stream is mid-write trips an internal assertion
    // in Node 20 (an uncatchable crash). The session only holds closed pipes; unref it.
    const endSession = (): void => {
      const err = this.exitError();
      for (const r of [...this.pending]) r(err);
      this.pending.clear();
      this.session?.unref();
    };
    child.on('error', (error) => {
      this.exited = { code: null, signal: null, error };
      endSession();
    });
    child.on('exit', (code, signal) => {
      this.exited ??= { code, signal };
      endSession();
    });
    // Writes after rclone died would otherwise throw EPIPE as an uncaught error.
    child.stdin.on('error', () => undefined);
    const duplex = Duplex.from({ readable: child.stdout, writable: child.stdin });
    duplex.on('error', () => undefined);
    const session = http2.connect(BASE, { createConnection: () => duplex });
    session.on('error', () => undefined);
    session.on('close', () => {
      // stdout usually closes just before the exit status arrives: wait for it (briefly).
      const fail = (): void => {
        const err = this.exited ? this.exitError() : new CofferError('transient', `${this.location}: connection to rclone closed`);
        for (const r of [...this.pending]) r(err);
        this.pending.clear();
      };
      if (this.exited) return fail();
      const t = setTimeout(fail, 2000);
      child.once('exit', () => setImmediate(() => (clearTimeout(t), fail())));
    });
    this.session = session;
    return session;
  }

  private exitError(): CofferError {
    const x = this.exited!;
    const how = x.error
      ? (x.error as NodeJS.ErrnoException).code === 'ENOENT'
        ? `cannot run ${this.env.COFFER_RCLONE_PROGRAM || 'rclone'}: not installed or not in PATH`
        : `cannot run rclone: ${x.error.message}`
      : `rclone exited (${x.signal ?? `status ${x.code}`})`;
    const tail = this.stderrTail.slice(-5).join('\n');
    return new CofferError('internal', `${this.location}: ${how}${tail ? `:\n${tail}` : ''}`);
  }

  /** fetch over the HTTP/2 session on rclone's stdio. */
  private readonly fetch: FetchLike = (input, init = {}) => {
    return new Promise<Response>((resolve_, reject_) => {
      const done = (): void => void this.pending.delete(reject_);
      const resolve = (r: Response): void => (done(), resolve_(r));
      const reject = (e: unknown): void => (done(), reject_(e));
      this.pending.add(reject_);
      let session: http2.ClientHttp2Session;
      try {
        session = this.start();
      } catch (e) {
        reject(e);
        return;
      }
      const u = new URL(input);
      const headers: http2.OutgoingHttpHeaders = { ':method': init.method ?? 'GET', ':path': u.pathname + u.search };
      for (const [k, v] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
        const key = k.toLowerCase();
        if (key !== 'authorization') headers[key] = v;
      }
      const signal = init.signal ?? undefined;
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const req = session.request(headers, { endStream: init.body === undefined || init.body === null });
      const onAbort = (): void => {
        req.close(http2.constants.NGHTTP2_CANCEL);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (e) => {
        signal?.removeEventListener('abort', onAbort);
        reject(this.exited ? this.exitError() : e);
      });
      req.on('response', (h) => {
        const status = Number(h[':status']);
        const out = new Headers();
        for (const [k, v] of Object.entries(h)) {
          if (k.startsWith(':') || v === undefined) continue;
          out.set(k, Array.isArray(v) ? v.join(', ') : String(v));
        }
        const chunks: Buffer[] = [];
        req.on('data', (d: Buffer) => chunks.push(d));
        req.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          const noBody = headers[':method'] === 'HEAD' || status === 204 || status === 304;
          const body = Buffer.concat(chunks);
          resolve(new Response(noBody ? null : new Uint8Array(body.buffer, body.byteOffset, body.length), { status, headers: out }));
        });
      });
      if (init.body !== undefined && init.body !== null) req.end(init.body as Uint8Array);
    });
  };

  /** Errors after rclone died say so (with its stderr) instead of a bare transport failure. */
  private async wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (this.exited && !this.closing && !(isCofferError(e) && (e.code === 'not-found' || e.code === 'range'))) throw this.exitError();
      throw e;
    }
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.wrap(() => this.rest.stat(h, o));
  }
  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.wrap(() => this.rest.get(h, range, o));
  }
  put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    if (o?.signal?.aborted) return Promise.reject(new CofferError('cancelled', 'operation cancelled', { cause: o.signal.reason }));
    return this.wrap(() => this.rest.put(h, data, o));
  }
  delete(h: Handle, o?: CallOpts): Promise<void> {
    return this.wrap(() => this.rest.delete(h, o));
  }
  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    try {
      yield* this.rest.list(type, o);
    } catch (e) {
      if (this.exited && !this.closing) throw this.exitError();
      throw e;
    }
  }
  create(o?: CallOpts): Promise<void> {
    return this.wrap(() => this.rest.create(o));
  }

  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    this.closing = true;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      this.session?.close();
      child.stdin.end(); // rclone serve --stdio ends at EOF
      setTimeout(() => {
        if (!this.exited) child.kill('SIGTERM');
      }, 3000).unref();
      setTimeout(resolve, 5000).unref();
    });
  }
}
