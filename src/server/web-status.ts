/**
 * @module server/web-status
 * `GET /api/status` for `coffer web`: the last result of `coffer status` (design no-lockout.md
 * §7), as `coffer status --json --offline` gives it from the local state folder. Offline because
 * a live status opens every copy with the password, which this server never has; the page says
 * when it was checked. Runs the CLI as a child without any password variable.
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { packageRoot } from './web-assets.js';

export interface WebStatus {
  readonly configured: boolean;
  readonly message?: string;
  readonly report?: unknown;
}

export function offlineStatus(env: NodeJS.ProcessEnv = process.env): Promise<WebStatus> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(env)) if (!/^(COFFER|RESTIC)_PASSWORD/.test(k)) clean[k] = v;
  return new Promise((resolve) => {
    execFile(process.execPath, [path.join(packageRoot(), 'bin', 'coffer.js'), 'status', '--json', '--offline'], { env: clean, timeout: 15_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === 0 || code === 1) {
        try {
          resolve({ configured: true, report: JSON.parse(stdout) });
          return;
        } catch {
          // fall through
        }
      }
      let message = 'coffer status failed';
      try {
        message = (JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { message?: string }).message ?? message;
      } catch {
        message = stderr.trim().split('\n').pop() || message;
      }
      resolve({ configured: false, message });
    });
  });
}
