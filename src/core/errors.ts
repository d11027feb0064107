/**
 * @module errors
 * One error model for the whole project. Every expected failure is a CofferError with a stable
 * `code`; the edges map codes to exit codes (src/cli/exit-codes.ts) and HTTP statuses (server).
 * Never match on `message`. Messages name the file or object and what failed, and never contain
 * secrets (passwords, keys, credentials in URLs).
 */

export type ErrorCode =
  // storage
  | 'not-found' // a file that should exist does not
  | 'range' // a ranged read went past the end of a file
  | 'permission' // storage refused access
  | 'transient' // a retryable storage failure (network, timeout, 5xx)
  | 'already-exists' // e.g. init over an existing repository
  | 'no-space' // storage is full
  // repository
  | 'no-repository' // no repository at that location (exit 10)
  | 'wrong-password' // no key file opens with the password (exit 12)
  | 'locked' // another client holds a conflicting lock (exit 11)
  | 'corrupt' // authentication, hash or structure check failed: data damaged or tampered
  | 'unsupported' // a valid but unsupported format feature (e.g. repository version 3)
  // user
  | 'usage' // bad command line or argument (exit 1, as restic)
  | 'bad-input' // unusable input found before any work: a kit, a recovery key, an unknown copy name (exit 2)
  | 'not-found-snapshot' // no snapshot matches
  | 'source' // some source files could not be read (backup still written, exit 3)
  | 'cancelled' // interrupted (exit 130)
  | 'internal';

export class CofferError extends Error {
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, message: string, opts: { cause?: unknown; data?: Record<string, unknown> } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'CofferError';
    this.code = code;
    this.data = opts.data;
  }

  /** Survives a worker or JSON boundary; rebuild with `CofferError.fromJSON`. */
  toJSON(): { name: string; code: ErrorCode; message: string; data?: Record<string, unknown> } {
    return { name: this.name, code: this.code, message: this.message, ...(this.data ? { data: { ...this.data } } : {}) };
  }

  static fromJSON(j: { code: ErrorCode; message: string; data?: Record<string, unknown> }): CofferError {
    return new CofferError(j.code, j.message, j.data ? { data: j.data } : {});
  }
}

export function isCofferError(e: unknown, code?: ErrorCode): e is CofferError {
  return e instanceof CofferError && (code === undefined || e.code === code);
}

/** Shorthand for data that failed authentication, hashing or parsing. `what` names the object. */
export function corrupt(what: string, problem: string, cause?: unknown): CofferError {
  return new CofferError('corrupt', `${what}: ${problem}`, cause === undefined ? {} : { cause });
}
