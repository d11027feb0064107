/**
 * @module cli/context
 * What every command gets: the parsed global options, the environment, output streams,
 * the repository location and password (from flags, COFFER_* or RESTIC_* variables, a password
 * file or command, or a terminal prompt), and opening the repository.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Backend } from '../core/backend/backend.js';
import type { CompressionMode } from '../core/compress/compressor.js';
import { CofferError, isCofferError } from '../core/errors.js';
import { RepositoryLock, type LockOwner } from '../core/repository/locks.js';
import { openRepository } from '../core/repository/open.js';
import type { Repository, RepositoryOptions } from '../core/repository/repository.js';
import type { Platform } from '../core/platform.js';
import { loadConfig } from '../node/config.js';
import { openBackend } from '../node/open-backend.js';
import { nodePlatform } from '../node/platform.js';
import { str, type Values } from './command.js';
import { promptHidden } from './prompt.js';
import { calibrateScrypt } from '../core/crypto/keys.js';

export interface Streams {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stdinIsTTY: boolean;
}

const COMPRESSION_MODES: readonly CompressionMode[] = ['auto', 'off', 'max', 'fastest', 'better'];

export class Cli {
  readonly json: boolean;
  readonly quiet: boolean;
  readonly verbosity: number;
  private platformPromise: Promise<Platform> | undefined;
  private readonly openedBackends: Backend[] = [];
  private cachedPassword: string | undefined;

  constructor(
    readonly globals: Values,
    readonly env: NodeJS.ProcessEnv,
    readonly io: Streams,
    readonly signal: AbortSignal,
  ) {
    this.json = globals.json === true;
    this.quiet = globals.quiet === true;
    this.verbosity = Array.isArray(globals.verbose) ? globals.verbose.length : globals.verbose ? 1 : 0;
  }

  /** COFFER_X, else RESTIC_X. */
  envVar(name: string): string | undefined {
    const v = this.env[`COFFER_${name}`];
    if (v !== undefined && v !== '') return v;
    const r = this.env[`RESTIC_${name}`];
    return r !== undefined && r !== '' ? r : undefined;
  }

  out(line: string): void {
    this.io.stdout.write(line + '\n');
  }

  /** Informational text for humans (suppressed by --quiet and --json). */
  info(line: string): void {
    if (!this.quiet && !this.json) this.io.stdout.write(line + '\n');
  }

  warn(line: string): void {
    this.io.stderr.write(line + '\n');
  }

  jsonLine(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value) + '\n');
  }

  platform(): Promise<Platform> {
    return (this.platformPromise ??= nodePlatform());
  }

  static defaultRepository(env: NodeJS.ProcessEnv): string {
    const dataHome = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : path.join(os.homedir(), '.local', 'share');
    return path.join(dataHome, 'coffer', 'repo');
  }

  /** The repository the user chose, and whether it is the implicit default. */
  repositoryLocation(): { location: string; isDefault: boolean } {
    const explicit = str(this.globals.repo) ?? this.envVar('REPOSITORY');
    if (explicit) return { location: explicit, isDefault: false };
    // With copies set up, the primary named in config.json is the repository (no-lockout §3).
    const primary = loadConfig(this.env)?.primary.url;
    if (primary) return { location: primary, isDefault: false };
    return { location: Cli.defaultRepository(this.env), isDefault: true };
  }

  /** The backend of the repository the user chose. */
  backend(): Backend {
    return this.openBackend(this.repositoryLocation().location);
  }

  /** A backend for any location, retries reported as warnings; closed by `close()` at exit. */
  openBackend(location: string): Backend {
    const b = openBackend(location, {
      onRetry: ({ op, delayMs, error }) => this.warn(`${op} failed (${error.message}), retrying in ${(delayMs / 1000).toFixed(1)} s`),
    });
    this.openedBackends.push(b);
    return b;
  }

  /** Releases every backend this command opened (SFTP sessions, rclone processes, sockets). */
  async close(): Promise<void> {
    await Promise.allSettled(this.openedBackends.splice(0).map((b) => (b.close ? b.close() : undefined)));
  }

  repositoryOptions(): RepositoryOptions {
    const c = str(this.globals.compression) ?? this.envVar('COMPRESSION');
    if (c !== undefined && !COMPRESSION_MODES.includes(c as CompressionMode)) {
      throw new CofferError('usage', `invalid --compression "${c}" (use ${COMPRESSION_MODES.join(', ')})`);
    }
    const ps = str(this.globals['pack-size']) ?? this.envVar('PACK_SIZE');
    let packSize: number | undefined;
    if (ps !== undefined) {
      const mib = Number(ps);
      if (!Number.isInteger(mib) || mib < 4 || mib > 128) throw new CofferError('usage', `invalid --pack-size "${ps}" (4 to 128 MiB)`);
      packSize = mib * 1024 * 1024;
    }
    return { ...(c ? { compression: c as CompressionMode } : {}), ...(packSize ? { packSize } : {}) };
  }

  /** The password from a file, a command or the environment; undefined if none was given. */
  givenPassword(): string | undefined {
    const file = str(this.globals['password-file']) ?? this.envVar('PASSWORD_FILE');
    if (file) {
      try {
        return fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
      } catch (e) {
        throw new CofferError('usage', `cannot read password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
    }
    const cmd = str(this.globals['password-command']) ?? this.envVar('PASSWORD_COMMAND');
    if (cmd) {
      try {
        return execFileSync('/bin/sh', ['-c', cmd], { encoding: 'utf8', stdio: ['inherit', 'pipe', 'inherit'] }).replace(/\r?\n$/, '');
      } catch {
        throw new CofferError('usage', 'the password command failed');
      }
    }
    return this.envVar('PASSWORD');
  }

  /** The repository password (asked at most once per command; kept in memory only). */
  async password(question = 'enter password for repository: '): Promise<string> {
    if (this.cachedPassword !== undefined) return this.cachedPassword;
    const given = this.givenPassword();
    if (given !== undefined) return (this.cachedPassword = given);
    if (!this.io.stdinIsTTY) {
      throw new CofferError('usage', 'no password given: set COFFER_PASSWORD, use --password-file, or run on a terminal');
    }
    return (this.cachedPassword = await this.prompt(question));
  }

  /** Asks twice for a new password (or takes the given one). */
  async newPassword(): Promise<string> {
    const given = this.givenPassword();
    if (given !== undefined) {
      if (given === '') throw new CofferError('usage', 'an empty password is not allowed');
      return given;
    }
    if (!this.io.stdinIsTTY) {
      throw new CofferError('usage', 'no password given for the new repository: set COFFER_PASSWORD, use --password-file, or run on a terminal');
    }
    const a = await this.prompt('enter password for new repository: ');
    const b = await this.prompt('enter password again: ');
    if (a !== b) throw new CofferError('usage', 'passwords do not match');
    if (a === '') throw new CofferError('usage', 'an empty password is not allowed');
    return a;
  }

  private async prompt(q: string): Promise<string> {
    try {
      return await promptHidden(q);
    } catch (e) {
      if ((e as { interrupted?: boolean }).interrupted) throw new CofferError('cancelled', 'interrupted');
      throw e;
    }
  }

  /** The chosen repository's backend, once its config file is known to exist ('no-repository' otherwise). */
  async existingBackend(): Promise<Backend> {
    const backend = this.backend();
    try {
      await backend.stat({ type: 'config', name: '' }, { signal: this.signal });
    } catch (e) {
      if (isCofferError(e, 'not-found')) {
        throw new CofferError('no-repository', `no repository found at ${backend.location} (create one with "coffer init")`, { cause: e });
      }
      throw e;
    }
    return backend;
  }

  async openRepository(): Promise<Repository> {
    // Say "no repository" before asking for a password that could not be used anyway.
    const backend = await this.existingBackend();
    const platform = await this.platform();
    const password = await this.password();
    const hint = str(this.globals['key-hint']) ?? this.envVar('KEY_HINT');
    return openRepository(backend, platform, { password, ...(hint ? { keyHint: hint } : {}), ...this.repositoryOptions() }, { signal: this.signal });
  }

  lockOwner(): LockOwner {
    const u = os.userInfo();
    return { hostname: os.hostname(), username: u.username, pid: process.pid, uid: u.uid, gid: u.gid };
  }
}

/**
 * scrypt parameters for a new key: calibrated like restic (about 0.5 s, at most 60 MiB), unless
 * COFFER_KDF="N,r,p" gives them (for tests and slow machines; documented in docs/format.md).
 */
export async function newKeyKdf(cli: Cli): Promise<{ N: number; r: number; p: number }> {
  const fixed = cli.env.COFFER_KDF;
  if (fixed) {
    const [N, r, p] = fixed.split(',').map(Number);
    if (!N || !r || !p || (N & (N - 1)) !== 0 || N < 2) throw new CofferError('usage', `invalid COFFER_KDF "${fixed}" (expected N,r,p with N a power of two)`);
    return { N, r, p };
  }
  return calibrateScrypt((await cli.platform()).crypto);
}

/** Runs `fn` under a repository lock (shared unless `exclusive`), unless --no-lock was given for a read. */
/** `onWritten`: called once the lock file is written, before the lock's settle wait (reads may start then). */
export async function withLock<T>(cli: Cli, repo: Repository, exclusive: boolean, fn: () => Promise<T>, opts?: { onWritten?: () => void }): Promise<T> {
  if (!exclusive && cli.globals['no-lock'] === true) return fn();
  const lock = await RepositoryLock.acquire(repo, exclusive, cli.lockOwner(), { signal: cli.signal, ...(opts?.onWritten ? { onWritten: opts.onWritten } : {}) });
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    // The work's own error is the one to report; a lock left behind goes stale and "unlock" removes it.
    await lock.release().catch(() => undefined);
    throw e;
  }
  // The work is done: a lock that cannot be removed must not turn it into a failure (restic warns too).
  const warning = await lock.releaseOrWarn();
  if (warning) cli.warn(`Warning: ${warning}`);
  return result;
}
