/**
 * @module node/inbox-scanner
 * Scanning the watched folders without a password (design web-gallery.md §6): `coffer web` every
 * minute and each scheduled run stage new files with only the public key this device keeps.
 * Without that key (the inbox was never used with the repository open here) there is nothing to
 * seal for: the scan is skipped with a reason.
 */
import { CofferError, isCofferError } from '../core/errors.js';
import { loadConfig } from './config.js';
import { scanWatched, type ScanCache } from './inbox.js';
import { inboxPublicKeyFor } from './inbox-keys.js';
import { InboxStore } from './inbox-store.js';

type Env = NodeJS.ProcessEnv;

export type ScanOutcome =
  | { readonly ran: true; readonly staged: number; readonly problems: readonly string[] }
  | { readonly ran: false; readonly reason: string };

/** One scan of the watched folders for the repository at `location`. */
export async function scanOnce(env: Env, location: string, cache?: ScanCache, lockWaitMs = 5000): Promise<ScanOutcome> {
  const folders = loadConfig(env)?.inbox?.watch ?? [];
  if (folders.length === 0) return { ran: false, reason: 'no watched folder' };
  const key = inboxPublicKeyFor(env, location);
  if (!key) return { ran: false, reason: 'no inbox key on this device yet (run "coffer inbox list" once)' };
  const store = InboxStore.forRepository(env, key.repoId);
  try {
    const r = await store.withLock(() => scanWatched(store, key.publicKey, folders, cache), lockWaitMs);
    return { ran: true, staged: r.staged.length, problems: r.problems };
  } catch (e) {
    if (isCofferError(e, 'locked')) return { ran: false, reason: 'the inbox is busy' };
    throw e;
  }
}

/**
 * Scans now and then every `intervalMs` (never two at once) until the returned stop is called.
 * A failed round is logged and the next one tries again.
 */
export function startInboxScanner(env: Env, location: string, opts: { intervalMs?: number; log?: (line: string) => void } = {}): () => Promise<void> {
  const interval = opts.intervalMs ?? 60_000;
  const cache: ScanCache = new Map();
  let running: Promise<void> | undefined;
  let lastReason = '';
  const round = () => {
    if (running) return;
    running = scanOnce(env, location, cache, 0)
      .then((r) => {
        if (r.ran) {
          if (r.staged) opts.log?.(`inbox: ${r.staged} new item(s) from the watched folders`);
          for (const p of r.problems) opts.log?.(`inbox: ${p}`);
          lastReason = '';
        } else if (r.reason !== lastReason && r.reason !== 'the inbox is busy') {
          lastReason = r.reason;
          if (r.reason !== 'no watched folder') opts.log?.(`inbox: not scanning: ${r.reason}`);
        }
      })
      .catch((e: unknown) => opts.log?.(`inbox: scan failed: ${e instanceof CofferError ? e.message : (e as Error).message}`))
      .finally(() => {
        running = undefined;
      });
  };
  round();
  const timer = setInterval(round, interval);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
