/**
 * @module node/sftp-backend
 * The Backend over SFTP (ssh2), in restic's local layout (spec §2) as restic's sftp backend writes
 * it. One SSH connection carrying one SFTP channel; SFTP requests carry ids, so `connections`
 * (default 5) requests run concurrently on it. The host key is checked against known_hosts
 * (src/node/ssh-config.ts); authentication by the SSH agent (SSH_AUTH_SOCK), then the key files
 * (ssh config IdentityFile, COFFER_SFTP_IDENTITY, or ~/.ssh/id_ed25519, id_ecdsa, id_rsa).
 *
 * Puts are atomic: a temp name `.tmp-<random>` in the target folder, then
 * `posix-rename@openssh.com` (plain SFTP v3 rename fails on an existing target). Missing folders
 * are created on demand. A dropped connection fails the calls in flight as 'transient' and the
 * next call reconnects.
 */
import * as fs from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type * as Ssh2 from 'ssh2';
import type { Client as SshClient, SFTPWrapper, Stats, FileEntry } from 'ssh2';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../core/backend/backend.js';
import { describeHandle } from '../core/backend/backend.js';
import { checkHandle, dirPath, filePath, initDirs, isValidId } from '../core/backend/layout.js';
import { resolveRange } from '../core/backend/range.js';
import { CofferError, isCofferError } from '../core/errors.js';
import { forEachLimit } from '../core/async.js';
import { checkHostKey, resolveSftpTarget, type SftpTarget } from './ssh-config.js';

// ssh2 (with asn1, tweetnacl, a native add-on) costs ~50 ms of start-up: loaded on first connect,
// not by every command that merely links this module through open-backend.ts.
let ssh2Module: typeof Ssh2 | undefined;
function ssh2(): typeof Ssh2 {
  return (ssh2Module ??= createRequire(import.meta.url)('ssh2') as typeof Ssh2);
}

/** SFTP v3 status codes (draft-ietf-secsh-filexfer-02 §7). */
const FX = { EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, NO_CONNECTION: 6, CONNECTION_LOST: 7, OP_UNSUPPORTED: 8 } as const;

const TEMP_PREFIX = '.tmp-';

export interface SftpBackendOptions {
  /** Concurrent requests on the channel. */
  connections?: number;
  env?: NodeJS.ProcessEnv;
  /** Connection timeout (ms). */
  readyTimeout?: number;
}

interface Session {
  client: SshClient;
  sftp: SFTPWrapper;
  closed: boolean;
}

export class SftpBackend implements Backend {
  readonly location: string;
  readonly connections: number;
  private readonly target: SftpTarget;
  private readonly root: string;
  private session: Promise<Session> | undefined;
  private readonly opts: SftpBackendOptions;
  private readonly madeDirs = new Set<string>();

  constructor(location: string, opts: SftpBackendOptions = {}) {
    this.target = resolveSftpTarget(location, opts.env ?? process.env);
    this.opts = opts;
    this.connections = opts.connections ?? 5;
    this.root = this.target.path.replace(/\/+$/, '') || '/';
    const t = this.target;
    this.location = `sftp://${encodeURIComponent(t.user)}@${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}/${this.root.startsWith('/') ? '/' : ''}${this.root.replace(/^\//, '')}`;
  }

  private abs(rel: string): string {
    if (!rel) return this.root;
    return this.root === '/' ? `/${rel}` : `${this.root}/${rel}`;
  }

  // ---- connection -------------------------------------------------------------------------

  private connect(): Promise<Session> {
    const t = this.target;
    const where = `${t.user}@${t.host}:${t.port}`;
    return new Promise<Session>((resolve, reject) => {
      const client = new (ssh2().Client)();
      let hostKeyProblem: string | undefined;
      let settled = false;
      const fail = (e: CofferError): void => {
        if (settled) return;
        settled = true;
        client.end();
        reject(e);
      };
      const auth = this.authMethods();
      if (auth.methods.length === 0) {
        fail(new CofferError('permission', `sftp ${where}: no SSH key to log in with (no agent in SSH_AUTH_SOCK; none readable of ${t.identityFiles.join(', ')}${auth.skipped.length ? `; skipped: ${auth.skipped.join('; ')}` : ''})`));
        return;
      }
      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (err) return fail(new CofferError('transient', `sftp ${where}: cannot start the SFTP subsystem: ${err.message}`, { cause: err }));
          settled = true;
          const s: Session = { client, sftp, closed: false };
          const gone = (): void => {
            s.closed = true;
          };
          client.on('close', gone);
          client.on('end', gone);
          sftp.on('close', gone);
          resolve(s);
        });
      });
      client.on('error', (err: Error & { level?: string }) => {
        if (hostKeyProblem) return fail(new CofferError('permission', `sftp ${where}: ${hostKeyProblem}`));
        if (err.level === 'client-authentication') {
          return fail(new CofferError('permission', `sftp ${where}: authentication failed (tried ${auth.names.join(', ')})${auth.skipped.length ? `; skipped: ${auth.skipped.join('; ')}` : ''}`, { cause: err }));
        }
        fail(new CofferError('transient', `sftp ${where}: ${err.message}`, { cause: err }));
      });
      client.on('close', () => fail(new CofferError('transient', `sftp ${where}: connection closed before the SFTP session started`)));
      client.connect({
        host: t.host,
        port: t.port,
        username: t.user,
        readyTimeout: this.opts.readyTimeout ?? 20_000,
        keepaliveInterval: 15_000,
        keepaliveCountMax: 4,
        authHandler: auth.methods as never,
        hostVerifier: (key: Buffer) => {
          const verdict = checkHostKey(t.knownHostsFiles, t.host, t.port, key, keyTypeOf(key));
          if (verdict.ok) return true;
          hostKeyProblem = verdict.message;
          return false;
        },
      });
    });
  }

  /** Agent first (as ssh), then each readable, unencrypted key file. */
  private authMethods(): { methods: object[]; names: string[]; skipped: string[] } {
    const env = this.opts.env ?? process.env;
    const methods: object[] = [];
    const names: string[] = [];
    const skipped: string[] = [];
    const username = this.target.user;
    if (env.SSH_AUTH_SOCK && !env.COFFER_SFTP_IDENTITY) {
      methods.push({ type: 'agent', username, agent: env.SSH_AUTH_SOCK });
      names.push('the SSH agent');
    }
    for (const file of this.target.identityFiles) {
      let text: Buffer;
      try {
        text = fs.readFileSync(file);
      } catch {
        continue;
      }
      const parsed = ssh2().utils.parseKey(text);
      if (parsed instanceof Error) {
        // Encrypted keys need a passphrase: load them into the agent (ssh-add) instead.
        skipped.push(`${file} (${/encrypt|passphrase/i.test(parsed.message) ? 'encrypted: add it to the SSH agent with ssh-add' : parsed.message})`);
        continue;
      }
      methods.push({ type: 'publickey', username, key: text });
      names.push(file);
    }
    return { methods, names, skipped };
  }

  private async sftp(o?: CallOpts): Promise<SFTPWrapper> {
    checkAbort(o);
    for (;;) {
      if (!this.session) {
        const p = this.connect();
        this.session = p;
        p.catch(() => {
          if (this.session === p) this.session = undefined;
        });
        // Drop the cached session when it closes.
        void p.then((s) => {
          const drop = (): void => {
            if (this.session === p) this.session = undefined;
          };
          s.client.on('close', drop);
          s.sftp.on('close', drop);
        }, () => undefined);
      }
      const s = await this.session;
      if (!s.closed) return s.sftp;
      this.session = undefined;
    }
  }

  async close(): Promise<void> {
    const p = this.session;
    this.session = undefined;
    if (!p) return;
    const s = await p.catch(() => undefined);
    if (!s || s.closed) return;
    await new Promise<void>((resolve) => {
      s.client.once('close', () => resolve());
      s.sftp.end();
      s.client.end();
      setTimeout(resolve, 2000).unref();
    });
  }

  // ---- primitives -------------------------------------------------------------------------

  private call<T>(what: string, fn: (sftp: SFTPWrapper, cb: (err: Error | null | undefined, v: T) => void) => void, o?: CallOpts): Promise<T> {
    return this.sftp(o).then(
      (sftp) =>
        new Promise<T>((resolve, reject) => {
          try {
            fn(sftp, (err, v) => (err ? reject(mapSftpError(err, what, this.location)) : resolve(v)));
          } catch (e) {
            reject(mapSftpError(e, what, this.location));
          }
        }),
    );
  }

  private async mkdirs(rel: string, o?: CallOpts): Promise<void> {
    if (this.madeDirs.has(rel)) return;
    const parts = rel.split('/').filter(Boolean);
    // Make each level; "exists" shows up as FAILURE, so check with stat after an error.
    let cur = '';
    for (const p of parts) {
      cur = cur ? `${cur}/${p}` : p;
      await this.mkdirOne(this.abs(cur), o);
    }
    this.madeDirs.add(rel);
  }

  private async mkdirOne(abs: string, o?: CallOpts): Promise<void> {
    try {
      await this.call<void>(abs, (s, cb) => s.mkdir(abs, { mode: 0o700 }, (e) => cb(e, undefined)), o);
    } catch (e) {
      const st = await this.call<Stats>(abs, (s, cb) => s.stat(abs, cb), o).catch(() => undefined);
      if (st?.isDirectory()) return;
      throw e;
    }
  }

  /** Makes the repository root and its parents (absolute or relative to the login folder). */
  private async mkdirRoot(o?: CallOpts): Promise<void> {
    const abs = this.root.startsWith('/');
    const parts = this.root.split('/').filter(Boolean);
    let cur = abs ? '' : '.';
    for (const p of parts) {
      cur = abs ? `${cur}/${p}` : cur === '.' ? p : `${cur}/${p}`;
      await this.mkdirOne(cur, o);
    }
  }

  // ---- Backend ----------------------------------------------------------------------------

  async create(o?: CallOpts): Promise<void> {
    const config = this.abs(filePath({ type: 'config', name: '' }));
    const exists = await this.call<Stats>('config', (s, cb) => s.stat(config, cb), o).then(
      () => true,
      (e: unknown) => {
        if (isCofferError(e, 'not-found')) return false;
        throw e;
      },
    );
    if (exists) throw new CofferError('already-exists', `${this.location}: config already exists: there is a repository here`);
    await this.mkdirRoot(o);
    for (const top of initDirs().filter((d) => !d.includes('/'))) await this.mkdirOne(this.abs(top), o);
    await forEachLimit(
      initDirs().filter((d) => d.includes('/')),
      16,
      async (d) => {
        await this.mkdirOne(this.abs(d), o);
        this.madeDirs.add(d);
      },
    );
    for (const d of initDirs()) this.madeDirs.add(d);
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    checkHandle(h);
    const p = this.abs(filePath(h));
    const st = await this.call<Stats>(describeHandle(h), (s, cb) => s.stat(p, cb), o);
    return { name: h.name, size: st.size };
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    checkHandle(h);
    const what = describeHandle(h);
    const p = this.abs(filePath(h));
    const handle = await this.call<Buffer>(what, (s, cb) => s.open(p, 'r', cb), o);
    try {
      const st = await this.call<Stats>(what, (s, cb) => s.fstat(handle, cb), o);
      const { start, end } = range ? resolveRange(range, st.size, what) : { start: 0, end: st.size };
      const out = Buffer.alloc(end - start);
      // Several reads in flight at once: SFTP servers cap one read (OpenSSH: 256 KiB).
      const CHUNK = 256 * 1024;
      const pieces: number[] = [];
      for (let off = 0; off < out.length; off += CHUNK) pieces.push(off);
      await forEachLimit(pieces, 16, async (off) => {
        let done = off;
        const stop = Math.min(off + CHUNK, out.length);
        while (done < stop) {
          checkAbort(o);
          const n = await this.call<number>(what, (s, cb) => s.read(handle, out, done, stop - done, start + done, (e, bytes) => cb(e, bytes)), o).catch((e: unknown) => {
            if (isEof(e)) return 0;
            throw e;
          });
          if (n === 0) throw new CofferError('range', `${what}: file ended at ${start + done} bytes while reading (it shrank)`);
          done += n;
        }
      });
      return new Uint8Array(out.buffer, out.byteOffset, out.length);
    } finally {
      await this.call<void>(what, (s, cb) => s.close(handle, (e) => cb(e, undefined))).catch(() => undefined);
    }
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    checkHandle(h);
    checkAbort(o);
    const what = describeHandle(h);
    const rel = filePath(h);
    const relDir = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    const final = this.abs(rel);
    const tmp = this.abs(relDir ? `${relDir}/${TEMP_PREFIX}${randomBytes(8).toString('hex')}` : `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
    const open = (): Promise<Buffer> => this.call<Buffer>(what, (s, cb) => s.open(tmp, 'wx', { mode: 0o600 }, cb), o);
    let handle: Buffer;
    try {
      handle = await open();
    } catch (e) {
      if (!isCofferError(e, 'not-found')) throw e;
      if (relDir) {
        this.madeDirs.delete(relDir);
        await this.mkdirRoot(o);
        await this.mkdirs(relDir, o);
      } else await this.mkdirRoot(o);
      handle = await open();
    }
    let closed = false;
    try {
      const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      // ssh2 splits a big write into packets itself; a few writes in flight keep the pipe full.
      const CHUNK = 1024 * 1024;
      const pieces: number[] = [];
      for (let off = 0; off < buf.length; off += CHUNK) pieces.push(off);
      await forEachLimit(pieces, 4, async (off) => {
        checkAbort(o);
        const len = Math.min(CHUNK, buf.length - off);
        await this.call<void>(what, (s, cb) => s.write(handle, buf, off, len, off, (e) => cb(e, undefined)), o);
      });
      // Read-only like restic's files; fsync where the server offers it.
      await this.call<void>(what, (s, cb) => s.fchmod(handle, 0o400, (e) => cb(e, undefined)), o).catch(() => undefined);
      await this.call<void>(what, (s, cb) => s.ext_openssh_fsync(handle, (e) => cb(e, undefined)), o).catch(() => undefined);
      await this.call<void>(what, (s, cb) => s.close(handle, (e) => cb(e, undefined)), o);
      closed = true;
      checkAbort(o);
      await this.rename(tmp, final, what, o);
    } catch (e) {
      if (!closed) await this.call<void>(what, (s, cb) => s.close(handle, (e2) => cb(e2, undefined))).catch(() => undefined);
      await this.call<void>(what, (s, cb) => s.unlink(tmp, (e2) => cb(e2, undefined))).catch(() => undefined);
      throw e;
    }
  }

  private async rename(from: string, to: string, what: string, o?: CallOpts): Promise<void> {
    try {
      await this.call<void>(what, (s, cb) => s.ext_openssh_rename(from, to, (e) => cb(e, undefined)), o);
      return;
    } catch (e) {
      // Servers without the extension: ssh2 throws before sending. Fall back to remove + rename.
      if (!/not supported|unsupported/i.test(String((e as Error)?.message)) && !isCofferError(e, 'internal')) throw e;
    }
    await this.call<void>(what, (s, cb) => s.unlink(to, (e) => cb(e, undefined)), o).catch(() => undefined);
    await this.call<void>(what, (s, cb) => s.rename(from, to, (e) => cb(e, undefined)), o);
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    checkHandle(h);
    const p = this.abs(filePath(h));
    await this.call<void>(describeHandle(h), (s, cb) => s.unlink(p, (e) => cb(e, undefined)), o);
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    checkAbort(o);
    if (type === 'config') return;
    const base = dirPath(type);
    if (type !== 'data') {
      yield* filesOf(await this.readdir(base, o));
      return;
    }
    const shards = (await this.readdir(base, o))
      .filter((e) => /^[0-9a-f]{2}$/.test(e.filename) && isDir(e))
      .map((e) => e.filename)
      .sort();
    // A few shard listings in flight, yielded in order.
    const results: (Promise<FileEntry[]> | undefined)[] = [];
    const AHEAD = 8;
    for (let i = 0; i < Math.min(AHEAD, shards.length); i++) results[i] = this.readdir(`${base}/${shards[i]}`, o);
    for (let i = 0; i < shards.length; i++) {
      if (i + AHEAD < shards.length) results[i + AHEAD] = this.readdir(`${base}/${shards[i + AHEAD]}`, o);
      results[i + AHEAD]?.catch(() => undefined);
      const entries = await results[i]!;
      results[i] = undefined;
      yield* filesOf(entries);
    }
  }

  /** Entries of a folder; a missing folder is empty. */
  private async readdir(rel: string, o?: CallOpts): Promise<FileEntry[]> {
    const p = this.abs(rel);
    try {
      return await this.call<FileEntry[]>(`${rel}/`, (s, cb) => s.readdir(p, cb), o);
    } catch (e) {
      if (isCofferError(e, 'not-found')) return [];
      throw e;
    }
  }
}

function isDir(e: FileEntry): boolean {
  return (e.attrs.mode & 0o170000) === 0o040000;
}

function* filesOf(entries: FileEntry[]): Iterable<FileInfo> {
  const files = entries.filter((e) => isValidId(e.filename) && (e.attrs.mode & 0o170000) === 0o100000);
  files.sort((a, b) => (a.filename < b.filename ? -1 : a.filename > b.filename ? 1 : 0));
  for (const f of files) yield { name: f.filename, size: f.attrs.size };
}

/** The key type name at the start of an SSH wire-format public key (`ssh-ed25519`, ...). */
function keyTypeOf(key: Uint8Array): string {
  if (key.length < 4) return 'unknown';
  const n = (key[0]! << 24) | (key[1]! << 16) | (key[2]! << 8) | key[3]!;
  return Buffer.from(key.subarray(4, 4 + Math.min(n, 64))).toString('latin1');
}

function isEof(e: unknown): boolean {
  return isCofferError(e) && (e.data as { sftpStatus?: number } | undefined)?.sftpStatus === FX.EOF;
}

function checkAbort(o: CallOpts | undefined): void {
  if (o?.signal?.aborted) throw new CofferError('cancelled', 'operation cancelled', { cause: o.signal.reason });
}

function mapSftpError(e: unknown, what: string, location: string): CofferError {
  if (isCofferError(e)) return e;
  const err = e as Error & { code?: number | string };
  const msg = err?.message ?? String(e);
  const data = { sftpStatus: typeof err?.code === 'number' ? err.code : undefined };
  switch (err?.code) {
    case FX.EOF:
      return new CofferError('range', `${location}: ${what}: end of file`, { cause: e, data });
    case FX.NO_SUCH_FILE:
      return new CofferError('not-found', `${location}: ${what} does not exist`, { cause: e, data });
    case FX.PERMISSION_DENIED:
      return new CofferError('permission', `${location}: ${what}: permission denied`, { cause: e, data });
    case FX.NO_CONNECTION:
    case FX.CONNECTION_LOST:
      return new CofferError('transient', `${location}: ${what}: ${msg}`, { cause: e, data });
    case FX.FAILURE:
      if (/space|quota/i.test(msg)) return new CofferError('no-space', `${location}: ${what}: the server's disk is full (${msg})`, { cause: e, data });
      return new CofferError('transient', `${location}: ${what}: server failure (${msg})`, { cause: e, data });
    case FX.OP_UNSUPPORTED:
      return new CofferError('internal', `${location}: ${what}: operation not supported by the server`, { cause: e, data });
  }
  if (/No response from server|not connected|closed|ECONNRESET|EPIPE|timed out/i.test(msg)) {
    return new CofferError('transient', `${location}: ${what}: ${msg}`, { cause: e, data });
  }
  return new CofferError('internal', `${location}: ${what}: ${msg}`, { cause: e, data });
}
