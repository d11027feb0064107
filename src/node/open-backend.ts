/**
 * @module node/open-backend
 * Turns a repository location as users type it (restic's syntax) into a Backend, composing the
 * decorators in one place. Local paths now; sftp:, rest:, s3: and rclone: come with their
 * backends.
 */
import * as path from 'node:path';
import type { Backend } from '../core/backend/backend.js';
import { CofferError } from '../core/errors.js';
import { LocalBackend } from './local-backend.js';

const SCHEME = /^([a-z0-9]+):/;

export function openBackend(location: string): Backend {
  const m = SCHEME.exec(location);
  const scheme = m?.[1];
  if (scheme === 'local') return new LocalBackend(path.resolve(location.slice('local:'.length)));
  if (scheme && scheme.length > 1) {
    throw new CofferError('usage', `repository type "${scheme}:" is not supported yet (local paths only)`);
  }
  return new LocalBackend(path.resolve(location));
}
