/**
 * @module node/open-copy
 * Opening a copy (by name from the config, or by URL) with the primary's password: the copy's
 * backend with its options applied, then the repository. Shared by copies/sync/status and by
 * the kit and drill commands.
 *
 * Options (`--option K=V` at `copies add`) are restic's backend options; the S3 ones map onto
 * the variables node/s3-credentials reads (`s3.region`, `s3.bucket-lookup`). Others are kept
 * in the config and the kit but have no effect here yet.
 */
import type { Backend } from '../core/backend/backend.js';
import { withRetry, type RetryOptions } from '../core/backend/retry.js';
import { CofferError, isCofferError } from '../core/errors.js';
import type { Platform } from '../core/platform.js';
import { openRepository } from '../core/repository/open.js';
import type { Repository, RepositoryOptions } from '../core/repository/repository.js';
import type { CopyEntry } from '../core/engine/settings/settings.js';
import type { CofferConfig } from './config.js';
import { openBackend } from './open-backend.js';
import { openS3Backend } from './s3-credentials.js';

export interface CopyBackendOptions {
  /** Environment for credentials (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  readonly onRetry?: RetryOptions['onRetry'];
  /** Fewer retries for quick probes (status): `{ retries: 1 }`. */
  readonly retry?: Partial<RetryOptions>;
}

export interface OpenCopyOptions extends CopyBackendOptions {
  readonly password: string;
  readonly platform: Platform;
  readonly signal?: AbortSignal;
  readonly keyHint?: string;
  readonly repositoryOptions?: RepositoryOptions;
}

const RETRY: RetryOptions = { retries: 6, baseDelayMs: 500, maxDelayMs: 15_000 };

/** The S3 variables an option maps to. */
function optionEnv(options: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out = { ...env };
  for (const [k, v] of Object.entries(options)) {
    if (k === 's3.region') out.AWS_DEFAULT_REGION = v;
    else if (k === 's3.bucket-lookup') out.COFFER_S3_BUCKET_LOOKUP = v;
  }
  return out;
}

/** The backend for a copy (entry from the config, or a bare URL). */
export function copyBackend(copy: CopyEntry | string, opts: CopyBackendOptions = {}): Backend {
  const url = typeof copy === 'string' ? copy : copy.url;
  const options = typeof copy === 'string' ? {} : copy.options;
  const retry = { ...RETRY, ...opts.retry, ...(opts.onRetry ? { onRetry: opts.onRetry } : {}) };
  if (url.startsWith('s3:') && (Object.keys(options).length > 0 || opts.env)) {
    return withRetry(openS3Backend(url, optionEnv(options, opts.env ?? process.env)), retry);
  }
  return openBackend(url, { ...(opts.onRetry ? { onRetry: opts.onRetry } : {}), retry: { ...opts.retry } } as Parameters<typeof openBackend>[1]);
}

/** Opens an existing repository at a copy; 'no-repository' when none is there. */
export async function openCopyRepository(copy: CopyEntry | string, opts: OpenCopyOptions): Promise<Repository> {
  const backend = copyBackend(copy, opts);
  try {
    return await openRepository(
      backend,
      opts.platform,
      { password: opts.password, ...(opts.keyHint ? { keyHint: opts.keyHint } : {}), ...opts.repositoryOptions },
      opts.signal ? { signal: opts.signal } : undefined,
    );
  } catch (e) {
    await backend.close?.().catch(() => undefined);
    throw e;
  }
}

/** Opens the copy `nameOrUrl` (a configured name, else a URL) with the primary's password. */
export async function openCopy(config: CofferConfig, nameOrUrl: string, opts: OpenCopyOptions): Promise<{ entry: CopyEntry | undefined; repo: Repository }> {
  const entry = config.copies.find((c) => c.name === nameOrUrl) ?? config.copies.find((c) => c.url === nameOrUrl);
  if (!entry && /^[a-z0-9][a-z0-9-]{0,31}$/.test(nameOrUrl) && !nameOrUrl.includes('/')) {
    throw new CofferError('bad-input', `unknown copy "${nameOrUrl}" (known: ${config.copies.map((c) => c.name).join(', ') || 'none'})`);
  }
  return { entry, repo: await openCopyRepository(entry ?? nameOrUrl, opts) };
}

/** Whether an error means "could not reach the storage" (vs. a repository problem). */
export function isUnreachable(e: unknown): boolean {
  return isCofferError(e, 'transient') || isCofferError(e, 'permission') || (e instanceof Error && !isCofferError(e));
}
