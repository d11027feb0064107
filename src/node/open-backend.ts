/**
 * @module node/open-backend
 * Turns a repository location as users type it (restic's syntax) into a Backend, composing the
 * decorators in one place: every backend gets retries with backoff on transient failures.
 * Local paths and `rest:` now; sftp:, s3: and rclone: come with their backends.
 */
import * as path from 'node:path';
import type { Backend } from '../core/backend/backend.js';
import { RestBackend } from '../core/backend/rest.js';
import { withRetry, type RetryOptions } from '../core/backend/retry.js';
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

export function openBackend(location: string, opts: { onRetry?: RetryOptions['onRetry'] } = {}): Backend {
  return withRetry(rawBackend(location), { ...RETRY, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) });
}
