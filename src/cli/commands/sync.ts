/**
 * `coffer sync [NAME...]`: brings every copy (or the named ones) up to date with the primary,
 * then verifies what it wrote (engine/sync). Copies run in parallel and independently: one that
 * is down or full is reported and retried next time; the others still sync. Exit 1 names the
 * copies that failed. The outcome per copy goes to the local state cache for `status --offline`.
 */
import { CofferError, isCofferError } from '../../core/errors.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadSnapshots } from '../../core/repository/snapshots.js';
import { redactUrl, type CopyEntry } from '../../core/engine/settings/settings.js';
import { syncCopy, type SyncResult } from '../../core/engine/sync/sync.js';
import { SharedReadBackend } from '../../core/engine/sync/shared-reads.js';
import { Repository as RepositoryClass } from '../../core/repository/repository.js';
import { findCopy, requireConfig, updateCopyState } from '../../node/config.js';
import { copyBackend } from '../../node/open-copy.js';
import { flag, type Command } from '../command.js';
import { withLock, type Cli } from '../context.js';
import { formatBytes } from '../format.js';
import { openCopyFor, openPrimary, reportExcluded } from './copies.js';

export interface CopySyncOutcome {
  readonly name: string;
  readonly url: string;
  readonly ok: boolean;
  readonly reachable: boolean;
  readonly copied: number;
  readonly skipped: number;
  readonly newPacks: { readonly id: string; readonly size: number }[];
  readonly bytesAdded: number;
  readonly packsRead: number;
  readonly missing: number;
  readonly structureErrors: string[];
  /** Snapshots the copy holds that its policy no longer admits (kept, reported). */
  readonly excluded: string[];
  readonly error?: string;
  readonly errorCode?: string;
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function syncOne(cli: Cli, primary: Repository, index: Awaited<ReturnType<typeof loadMasterIndex>>, snaps: Awaited<ReturnType<typeof loadSnapshots>>, c: CopyEntry, verifyData: boolean): Promise<CopySyncOutcome> {
  const base = { name: c.name, url: redactUrl(c.url) };
  const say = (line: string) => {
    if (!cli.json) cli.info(`${c.name}: ${line}`);
  };
  let repo: Repository | undefined;
  try {
    // A brief probe first: a copy that is down should not cost the run half a minute of retries
    // (it is reported and synced next time); once it answers, transfers retry normally.
    const probe = copyBackend(c, { env: cli.env, retry: { retries: 2, baseDelayMs: 500, maxDelayMs: 1000 } });
    try {
      await probe.stat({ type: 'config', name: '' }, { signal: cli.signal });
    } catch (e) {
      if (isCofferError(e, 'not-found')) throw new CofferError('no-repository', `no repository at ${base.url} (config missing)`);
      throw e;
    } finally {
      await probe.close?.().catch(() => undefined);
    }
    repo = await openCopyFor(cli, c);
    if (repo.config.id !== c.repositoryId) {
      throw new CofferError('corrupt', `copy ${c.name} at ${base.url} is repository ${repo.config.id.slice(0, 10)}, not the ${c.repositoryId.slice(0, 10)} that was added`);
    }
    const r: SyncResult = await syncCopy({ repo: primary, index }, snaps, repo, {
      policy: c.policy,
      owner: cli.lockOwner(),
      verifyData,
      signal: cli.signal,
      events: {
        onPlan: (missing, wanted) => say(missing ? `${missing} of ${wanted} snapshots to copy` : `up to date (${wanted} snapshots)`),
        onSnapshot: (s, id) => say(`snapshot ${s.id.slice(0, 8)} copied as ${id.slice(0, 8)}`),
        onVerify: (n) => n && say(`verifying ${n} new pack${n === 1 ? '' : 's'}${verifyData ? ' (downloading them)' : ''}`),
      },
    });
    const structureErrors = r.structure?.errors ?? [];
    const at = isoNow();
    updateCopyState(cli.env, c.name, {
      lastSync: { at, ok: structureErrors.length === 0, copied: r.copied.length },
      ...(r.missingAfter === 0 ? { lastInSync: at } : {}),
      ...(r.structure ? { lastCheck: { at, ok: structureErrors.length === 0, ...(structureErrors.length ? { error: structureErrors.slice(0, 3).join('; ') } : {}) } } : {}),
    });
    for (const e of structureErrors) cli.warn(`coffer: copy ${c.name}: ${e}`);
    reportExcluded(cli, c.name, r.excluded);
    for (const w of r.warnings ?? []) cli.warn(`Warning: copy ${c.name}: ${w}`);
    if (r.copied.length) say(`${r.copied.length} snapshot(s) copied, ${r.newPacks.length} new pack(s), ${formatBytes(r.bytesAdded)} stored, verified`);
    return {
      ...base,
      ok: structureErrors.length === 0,
      reachable: true,
      copied: r.copied.length,
      skipped: r.skipped,
      newPacks: r.newPacks,
      bytesAdded: r.bytesAdded,
      packsRead: r.packsRead,
      missing: r.missingAfter,
      structureErrors,
      excluded: r.excluded.map((e) => e.id),
      ...(structureErrors.length ? { error: `structure check found ${structureErrors.length} problem(s): ${structureErrors[0]}`, errorCode: 'check-failed' } : {}),
    };
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    const message = e instanceof Error ? e.message : String(e);
    const reachable = repo !== undefined;
    updateCopyState(cli.env, c.name, {
      lastSync: { at: isoNow(), ok: false, copied: 0, error: message },
      ...(isCofferError(e, 'corrupt') && reachable ? { lastCheck: { at: isoNow(), ok: false, error: message } } : {}),
    });
    return {
      ...base,
      ok: false,
      reachable,
      copied: 0,
      skipped: 0,
      newPacks: [],
      bytesAdded: 0,
      packsRead: 0,
      missing: -1,
      structureErrors: [],
      excluded: [],
      error: message,
      errorCode: isCofferError(e) ? e.code : 'unexpected',
    };
  } finally {
    await repo?.backend.close?.().catch(() => undefined);
  }
}

/** Syncs the named copies (all when `names` is empty); returns one outcome per copy. */
export async function runSync(cli: Cli, names: readonly string[], opts: { verifyData?: boolean } = {}): Promise<CopySyncOutcome[]> {
  const config = requireConfig(cli.env);
  const copies = names.length ? names.map((n) => findCopy(config, n)) : config.copies;
  if (copies.length === 0) throw new CofferError('bad-input', 'no copies to sync (add one with "coffer copies add NAME URL")');
  const primary = await openPrimary(cli, config);
  return withLock(cli, primary, false, async () => {
    const index = await loadMasterIndex(primary, { signal: cli.signal });
    const snaps = await loadSnapshots(primary, { signal: cli.signal });
    // One view of the primary for all copies: each blob is read from it about once.
    const shared = new RepositoryClass(new SharedReadBackend(primary.backend), primary.platform, primary.key, primary.keyId, primary.config, cli.repositoryOptions());
    return Promise.all(copies.map((c) => syncOne(cli, shared, index, snaps, c, opts.verifyData === true)));
  });
}

/** Prints the failures (one line each) and returns the exit code: 0 all synced, 1 some failed. */
export function reportSync(cli: Cli, outcomes: readonly CopySyncOutcome[]): number {
  for (const o of outcomes) if (!o.ok) cli.warn(`coffer: sync failed for copy ${o.name}: ${o.reachable ? '' : 'unreachable: '}${o.error}`);
  return outcomes.every((o) => o.ok) ? 0 : 1;
}

const command: Command = {
  name: 'sync',
  summary: 'Copy to every copy (or the named ones) the snapshots it lacks, then verify what was written.',
  usage: '[NAME...] [--verify-data] [--json]',
  help: `Copies run in parallel; one that is down or full does not stop the others (exit 1 names it).
Coffer's records (settings, secrets, OTP vault) go to every copy; drill records stay where they
were made; user snapshots follow each copy's --only-tag/--exclude-tag policy (records too follow
--exclude-tag: the private gallery is tagged private). Snapshots a copy holds that its policy
no longer admits are reported and kept ("coffer copies purge NAME" removes them).
Verification: every new pack is listed with its size and its header re-read; every new
snapshot's tree is loaded from the copy; then a structure check of the whole copy.
Options:
      --verify-data   also download every new pack and verify it completely`,
  options: { 'verify-data': { type: 'boolean' } },
  async run(cli, values, positionals) {
    const outcomes = await runSync(cli, positionals, { verifyData: flag(values['verify-data']) });
    if (cli.json) cli.out(JSON.stringify({ ok: outcomes.every((o) => o.ok), copies: outcomes }));
    return reportSync(cli, outcomes);
  },
};
export default command;
