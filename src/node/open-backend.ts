/**
 * @module node/open-backend
 * Turns a repository location as users type it (restic's syntax: a path, `rest:`, `s3:`, `sftp:`,
 * `rclone:`) into a Backend, composing the decorators in one place, outermost first:
 *
 *   retry (backoff on 'transient') → concurrency limit (`connections` calls at once)
 *     → timeout (per call, grows with the bytes moved; expiry is 'transient') → the backend
 *
 * so each attempt holds one slot and only its own time counts towards its deadline.
 */
import * as path from 'node:path';
import type { Backend } from '../core/backend/backend.js';
import { RestBackend } from '../core/backend/rest.js';
import { withConcurrencyLimit } from '../core/backend/limit.js';
import { withRetry, type RetryOptions } from '../core/backend/retry.js';
import { DEFAULT_TIMEOUTS, withTimeouts, type TimeoutOptions } from '../core/backend/timeout.js';
import { CofferError } from '../core/errors.js';
import { LocalBackend } from './local-backend.js';
import { RcloneBackend } from './rclone-backend.js';
import { SftpBackend } from './sftp-backend.js';
import { openS3Backend } from './s3-credentials.js';

const SCHEME = /^([a-z0-9]+):/;

function rawBackend(location: string): Backend {
  const scheme = SCHEME.exec(location)?.[1];
  if (scheme === 'local') return new LocalBackend(path.resolve(location.slice('local:'.length)));
  if (scheme === 'rest') return new RestBackend(location.slice('rest:'.length));
  if (scheme === 'sftp') return new SftpBackend(location);
  if (scheme === 'rclone') return new RcloneBackend(location);
  if (scheme === 's3') return openS3Backend(location);
  // One-letter "schemes" are Windows drive letters in restic; here any other scheme is unknown.
  if (scheme && scheme.length > 1) {
    throw new CofferError('usage', `repository type "${scheme}:" is not supported (use a local path, rest:, s3:, sftp: or rclone:)`);
  }
  return new LocalBackend(path.resolve(location));
}

/** About 30 s of retries in all: long enough for a restart or a flaky link, short enough to fail clearly. */
const RETRY: RetryOptions = { retries: 6, baseDelayMs: 500, maxDelayMs: 15_000 };

export interface OpenBackendOptions {
  readonly onRetry?: RetryOptions['onRetry'];
  readonly retry?: Partial<RetryOptions>;
  readonly timeouts?: TimeoutOptions;
}

export function openBackend(location: string, opts: OpenBackendOptions = {}): Backend {
  const raw = rawBackend(location);
  const timed = withTimeouts(raw, opts.timeouts ?? DEFAULT_TIMEOUTS);
  const limited = withConcurrencyLimit(timed, raw.connections);
  return withRetry(limited, { ...RETRY, ...opts.retry, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) });
}
