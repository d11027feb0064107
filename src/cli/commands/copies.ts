/**
 * `coffer copies add|list|remove|policy|purge`: the primary's copies (../shared/design/no-lockout.md §2).
 * A policy change never deletes: `policy` reports what no longer belongs, `purge` removes it.
 * Also exports what sync, status and schedule share: finding and opening the primary, opening
 * a copy, and writing the settings record to the primary and every copy.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { CofferError, isCofferError } from '../../core/errors.js';
import { formatGoTime } from '../../core/format/go-time.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { initRepository } from '../../core/repository/open.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadSnapshots } from '../../core/repository/snapshots.js';
import {
  checkCopyName,
  copyKindOf,
  polynomialHex,
  redactUrl,
  readSettingsRecord,
  urlHasPassword,
  writeSettingsRecord,
  type CopyEntry,
} from '../../core/engine/settings/settings.js';
import { purgeExcluded } from '../../core/engine/sync/purge.js';
import { excludedSnapshots, syncCopy, type SyncPolicy } from '../../core/engine/sync/sync.js';
import type { SnapshotEntry } from '../../core/repository/snapshots.js';
import { emptyConfig, findCopy, loadConfig, requireConfig, saveConfig, settingsFromConfig, type CofferConfig } from '../../node/config.js';
import { copyBackend, openCopyRepository } from '../../node/open-copy.js';
import { flag, list, str, type Command, type Values } from '../command.js';
import { formatBytes } from '../format.js';
import { newKeyKdf, type Cli } from '../context.js';

/** A local path made absolute (the config is read from any folder later); URLs unchanged. */
export function absoluteLocation(url: string): string {
  if (copyKindOf(url) !== 'local') return url;
  return url.startsWith('local:') ? `local:${path.resolve(url.slice('local:'.length))}` : path.resolve(url);
}

/** The primary's location: --repo / COFFER_REPOSITORY, else the config's, else the default. */
export function primaryLocation(cli: Cli, config: CofferConfig | undefined): string {
  const loc = cli.repositoryLocation();
  if (!loc.isDefault || !config) return absoluteLocation(loc.location);
  return config.primary.url;
}

function retryWarn(cli: Cli) {
  return ({ op, delayMs, error }: { op: string; delayMs: number; error: CofferError }) =>
    cli.warn(`${op} failed (${error.message}), retrying in ${(delayMs / 1000).toFixed(1)} s`);
}

const passwords = new WeakMap<Cli, Promise<string>>();

/** The password, asked once per command (the primary and every copy share it; a prompt is not repeated). */
export function passwordOnce(cli: Cli): Promise<string> {
  let p = passwords.get(cli);
  if (!p) {
    p = cli.password();
    passwords.set(cli, p);
  }
  return p;
}

/** Opens the primary with the user's password. */
export async function openPrimary(cli: Cli, config: CofferConfig | undefined): Promise<Repository> {
  const location = primaryLocation(cli, config);
  const backend = copyBackend(location, { env: cli.env, onRetry: retryWarn(cli) });
  try {
    await backend.stat({ type: 'config', name: '' }, { signal: cli.signal });
  } catch (e) {
    if (isCofferError(e, 'not-found')) throw new CofferError('no-repository', `no repository found at ${redactUrl(location)} (create one with "coffer init")`, { cause: e });
    throw e;
  }
  const password = await passwordOnce(cli);
  return openCopyRepository(location, { password, platform: await cli.platform(), signal: cli.signal, env: cli.env, repositoryOptions: cli.repositoryOptions() });
}

/** Opens a copy with the primary's password; `quick` keeps retries short (status, probes). */
export async function openCopyFor(cli: Cli, copy: CopyEntry, quick = false): Promise<Repository> {
  return openCopyRepository(copy, {
    password: await passwordOnce(cli),
    platform: await cli.platform(),
    signal: cli.signal,
    env: cli.env,
    repositoryOptions: cli.repositoryOptions(),
    ...(quick ? { retry: { retries: 2, baseDelayMs: 500, maxDelayMs: 1000 } } : { onRetry: retryWarn(cli) }),
  });
}

/**
 * Writes the settings record for `config` into the primary, then copies that record (as a
 * snapshot, so every repository holds the same record with one identity) into every reachable
 * copy. Copies that cannot be reached get it at their next sync. Returns the names that failed.
 */
export async function publishSettings(cli: Cli, primary: Repository, config: CofferConfig): Promise<string[]> {
  const settings = settingsFromConfig(config, { repositoryId: primary.config.id, chunkerPolynomial: polynomialHex(primary.config.chunkerPolynomial) });
  const recordId = await writeSettingsRecord(primary, settings, { owner: cli.lockOwner(), signal: cli.signal });
  const index = await loadMasterIndex(primary, { signal: cli.signal });
  const snaps = await loadSnapshots(primary, { signal: cli.signal });
  const failed: string[] = [];
  await Promise.all(
    config.copies.map(async (c) => {
      try {
        const repo = await openCopyFor(cli, c, true);
        try {
          await syncCopy({ repo: primary, index }, snaps, repo, {
            policy: c.policy,
            owner: cli.lockOwner(),
            signal: cli.signal,
            skipStructure: true,
            only: (e) => e.id === recordId,
          });
        } finally {
          await repo.backend.close?.();
        }
      } catch (e) {
        if (isCofferError(e, 'cancelled')) throw e;
        failed.push(c.name);
        cli.warn(`coffer: could not write the settings to copy ${c.name} (${(e as Error).message}); the next sync will`);
      }
    }),
  );
  return failed;
}

/**
 * After a change to the schedule or the alerts: the settings record is updated in the primary and
 * the copies when the password is at hand; otherwise (or when the primary cannot be opened) a
 * warning, and the next copies/kit change or `coffer sync` after one carries it.
 */
export async function publishSettingsIfPossible(cli: Cli, config: CofferConfig): Promise<void> {
  if (!config.copies.length) return; // nothing to keep in step yet; copies add writes it
  if (cli.givenPassword() === undefined && !cli.io.stdinIsTTY) {
    cli.warn('coffer: no password given: the settings record in the repositories is updated at the next change made with a password');
    return;
  }
  try {
    const primary = await openPrimary(cli, config);
    await publishSettings(cli, primary, config);
  } catch (e) {
    if (isCofferError(e, 'cancelled') || isCofferError(e, 'wrong-password')) throw e;
    cli.warn(`coffer: the settings record was not updated in the repositories (${(e as Error).message})`);
  }
}

/** `copies list --json` form of an entry: URL redacted, `inKit` from the config's kit. */
export function copyJson(config: CofferConfig, c: CopyEntry): Record<string, unknown> {
  return {
    name: c.name,
    url: redactUrl(c.url),
    kind: c.kind,
    repositoryId: c.repositoryId,
    addedAt: c.addedAt,
    chunkerPolynomial: c.chunkerPolynomial,
    credentials: c.credentials,
    options: c.options,
    policy: c.policy,
    inKit: config.kit?.copies[c.name] !== undefined,
  };
}

function parseOptions(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const o of values) {
    const i = o.indexOf('=');
    if (i <= 0) throw new CofferError('bad-input', `invalid --option "${o}" (expected KEY=VALUE, e.g. s3.region=eu-central-1)`);
    out[o.slice(0, i)] = o.slice(i + 1);
  }
  return out;
}

const TAG_RE = /^[^\s,]+$/;

function tags(values: string[], flagName: string): string[] {
  const out = values.flatMap((t) => t.split(',')).filter(Boolean);
  for (const t of out) if (!TAG_RE.test(t)) throw new CofferError('bad-input', `invalid --${flagName} "${t}"`);
  return out;
}

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function addCopy(cli: Cli, values: Values, name: string, given: string): Promise<number> {
  checkCopyName(name);
  const kind = copyKindOf(given);
  const url = absoluteLocation(given);
  const options = parseOptions(list(values.option));
  const excludeTags = tags(list(values['exclude-tag']), 'exclude-tag');
  const onlyTags = tags(list(values['only-tag']), 'only-tag');
  const credEnv = list(values['credentials-env']).flatMap((v) => v.split(',')).map((v) => v.trim()).filter(Boolean);
  for (const v of credEnv) if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(v)) throw new CofferError('bad-input', `invalid --credentials-env name "${v}"`);
  if (kind === 's3' && credEnv.length === 0) {
    for (const v of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN']) if (cli.env[v]) credEnv.push(v);
  }
  const existing = loadConfig(cli.env);
  const primaryUrl = primaryLocation(cli, existing);
  const config = existing ?? emptyConfig(primaryUrl);
  if (config.copies.some((c) => c.name === name)) throw new CofferError('bad-input', `a copy named "${name}" already exists`);
  if (config.copies.some((c) => c.url === url)) throw new CofferError('bad-input', `${redactUrl(url)} is already the copy "${config.copies.find((c) => c.url === url)!.name}"`);
  if (url === primaryUrl) throw new CofferError('bad-input', 'a copy cannot be the primary repository itself');

  const primary = await openPrimary(cli, existing);
  const platform = await cli.platform();
  const password = await passwordOnce(cli);
  const backend = copyBackend({ url, options } as CopyEntry, { env: cli.env, onRetry: retryWarn(cli) });
  let exists: boolean;
  try {
    await backend.stat({ type: 'config', name: '' }, { signal: cli.signal });
    exists = true;
  } catch (e) {
    if (!isCofferError(e, 'not-found')) throw e;
    exists = false;
  }
  let copy: Repository;
  if (!exists) {
    copy = await initRepository(backend, platform, {
      password,
      version: primary.config.version,
      kdf: await newKeyKdf(cli),
      chunkerPolynomial: primary.config.chunkerPolynomial,
      username: os.userInfo().username,
      hostname: os.hostname(),
      ...cli.repositoryOptions(),
    }, { signal: cli.signal });
    cli.info(`created copy ${name}: restic repository ${copy.config.id.slice(0, 10)} at ${redactUrl(url)} (chunker polynomial ${polynomialHex(copy.config.chunkerPolynomial)}, the primary's)`);
  } else {
    copy = await openCopyRepository({ url, options } as CopyEntry, { password, platform, signal: cli.signal, env: cli.env });
    if (copy.config.chunkerPolynomial !== primary.config.chunkerPolynomial) {
      throw new CofferError(
        'bad-input',
        `the repository at ${redactUrl(url)} uses chunker polynomial ${polynomialHex(copy.config.chunkerPolynomial)} but the primary uses ${polynomialHex(primary.config.chunkerPolynomial)}: syncing would store every blob twice; create a new copy at an empty location instead`,
      );
    }
    if (copy.config.id === primary.config.id) throw new CofferError('bad-input', `the repository at ${redactUrl(url)} is the primary itself (same repository ID)`);
    cli.info(`adopted the existing repository ${copy.config.id.slice(0, 10)} at ${redactUrl(url)} as copy ${name}`);
  }
  const entry: CopyEntry = {
    name,
    url,
    kind,
    repositoryId: copy.config.id,
    addedAt: isoNow(),
    chunkerPolynomial: polynomialHex(copy.config.chunkerPolynomial),
    credentials: { env: credEnv, inUrl: urlHasPassword(url) },
    options,
    policy: { excludeTags, onlyTags },
  };
  await copy.backend.close?.();
  const next: CofferConfig = { ...config, copies: [...config.copies, entry] };
  saveConfig(next, cli.env);
  await publishSettings(cli, primary, next);
  if (cli.json) cli.out(JSON.stringify(copyJson(next, entry)));
  else {
    if (next.kit) cli.info('the recovery kit does not name this copy yet: run "coffer kit" to print a new one');
    cli.info(`run "coffer sync ${name}" to fill it`);
  }
  return 0;
}

async function removeCopy(cli: Cli, name: string, forgetKeys: boolean): Promise<number> {
  const config = requireConfig(cli.env);
  const entry = findCopy(config, name);
  const next: CofferConfig = { ...config, copies: config.copies.filter((c) => c.name !== name) };
  if (forgetKeys) {
    const repo = await openCopyFor(cli, entry);
    const ids = new Set<string>();
    for await (const f of repo.backend.list('keys', { signal: cli.signal })) ids.add(f.name);
    const ours = [repo.keyId, config.kit?.copies[name]?.keyId].filter((k): k is string => !!k && ids.has(k));
    if (ours.length >= ids.size) {
      throw new CofferError('bad-input', `copy ${name} has no key besides Coffer's: removing them would make it unreadable (add one with "coffer key add -r ${redactUrl(entry.url)}" first)`);
    }
    for (const k of ours) await repo.backend.delete({ type: 'keys', name: k }, { signal: cli.signal });
    cli.info(`removed ${ours.length} key file(s) of Coffer from copy ${name}`);
    await repo.backend.close?.();
  }
  saveConfig(next, cli.env);
  try {
    const primary = await openPrimary(cli, next);
    await publishSettings(cli, primary, next);
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    cli.warn(`coffer: the primary's settings record was not updated (${(e as Error).message}); it will be at the next "copies" change`);
  }
  cli.info(`removed copy ${name} from the configuration; its data at ${redactUrl(entry.url)} was not touched`);
  return 0;
}

function policyText(p: SyncPolicy): string {
  const parts = [...p.onlyTags.map((t) => `only ${t}`), ...p.excludeTags.map((t) => `not ${t}`)];
  return parts.length ? parts.join(', ') : 'everything';
}

/** One line per snapshot a copy holds but its policy does not admit. */
export function describeExcluded(e: SnapshotEntry): string {
  const s = e.snapshot;
  return `${e.id.slice(0, 8)} ${formatGoTime(s.time).slice(0, 19).replace('T', ' ')} ${s.hostname} ${s.paths.join(',')}${s.tags?.length ? ` [${s.tags.join(',')}]` : ''}`;
}

/** `copies policy NAME ...`: a new policy; what the copy holds that no longer belongs is reported, not deleted. */
async function setPolicy(cli: Cli, values: Values, name: string): Promise<number> {
  const config = requireConfig(cli.env);
  const entry = findCopy(config, name);
  const clear = flag(values.clear);
  const excludeTags = tags(list(values['exclude-tag']), 'exclude-tag');
  const onlyTags = tags(list(values['only-tag']), 'only-tag');
  if (!clear && excludeTags.length === 0 && onlyTags.length === 0) {
    cli.out(`${name}: ${policyText(entry.policy)}`);
    return 0;
  }
  const policy: SyncPolicy = { excludeTags, onlyTags };
  const next: CofferConfig = { ...config, copies: config.copies.map((c) => (c.name === name ? { ...c, policy } : c)) };
  saveConfig(next, cli.env);
  const primary = await openPrimary(cli, next);
  try {
    await publishSettings(cli, primary, next);
  } finally {
    await primary.backend.close?.().catch(() => undefined);
  }
  cli.info(`copy ${name} now takes: ${policyText(policy)} (was: ${policyText(entry.policy)})`);
  const copy = await openCopyFor(cli, { ...entry, policy });
  try {
    const excluded = excludedSnapshots(await loadSnapshots(copy, { signal: cli.signal }), policy);
    if (cli.json) cli.out(JSON.stringify({ name, policy, excluded: excluded.map((e) => e.id) }));
    reportExcluded(cli, name, excluded);
  } finally {
    await copy.backend.close?.().catch(() => undefined);
  }
  return 0;
}

/** Warns about snapshots a copy holds against its policy, and says how to remove them. */
export function reportExcluded(cli: Cli, name: string, excluded: readonly SnapshotEntry[]): void {
  if (excluded.length === 0) return;
  cli.warn(`coffer: copy ${name} holds ${excluded.length} snapshot(s) its policy no longer admits; they are kept until you run "coffer copies purge ${name}":`);
  for (const e of excluded.slice(0, 20)) cli.warn(`  ${describeExcluded(e)}`);
  if (excluded.length > 20) cli.warn(`  (and ${excluded.length - 20} more)`);
}

/** `copies purge NAME [--dry-run]`: removes what the policy no longer admits, and its data. */
async function purgeCopy(cli: Cli, name: string, dryRun: boolean): Promise<number> {
  const config = requireConfig(cli.env);
  const entry = findCopy(config, name);
  const copy = await openCopyFor(cli, entry);
  try {
    const r = await purgeExcluded(copy, entry.policy, {
      owner: cli.lockOwner(),
      dryRun,
      signal: cli.signal,
      onStage: (m) => {
        if (!cli.json) cli.info(`${name}: ${m}`);
      },
    });
    const freed = r.prune ? r.prune.plan.stats.remove.bytes + r.prune.plan.stats.repackRemove.bytes + r.prune.plan.stats.unreferencedBytes : 0;
    if (cli.json) cli.out(JSON.stringify({ name, dryRun, removed: r.removed.map((e) => e.id), bytesFreed: freed }));
    else if (r.removed.length === 0) cli.info(`copy ${name} holds nothing its policy (${policyText(entry.policy)}) excludes`);
    else {
      for (const e of r.removed) cli.info(`${dryRun ? 'would remove' : 'removed'} ${describeExcluded(e)}`);
      if (!dryRun) cli.info(`copy ${name}: ${r.removed.length} snapshot(s) removed and ${formatBytes(freed)} of their data deleted`);
    }
    return 0;
  } finally {
    await copy.backend.close?.().catch(() => undefined);
  }
}

/**
 * `copies list --kit KIT --copy NAME`: the copy list as the settings record inside that copy has
 * it (URLs redacted), read with the kit's recovery key alone: no config needed (a new machine).
 */
async function listFromKit(cli: Cli, kitFile: string, copyName: string | undefined): Promise<number> {
  const kitMod = await import('./kit.js'); // kit.ts imports this module: load it lazily
  const kit = kitMod.readKitFile(kitFile);
  const c = copyName ? kitMod.kitCopy(kit, copyName) : kit.copies[0];
  if (!c) throw new CofferError('bad-input', 'the kit names no copies');
  const repo = await kitMod.openKitCopy(cli, c, await kitMod.kitKey(cli, kit));
  try {
    const rec = await readSettingsRecord(repo, { signal: cli.signal });
    if (!rec) throw new CofferError('not-found', `copy ${c.name} holds no settings record (it was never synced)`);
    const pseudo: CofferConfig = { version: 1, primary: { url: '' }, copies: rec.settings.copies, ...(rec.settings.kit ? { kit: rec.settings.kit } : {}), alerts: [] };
    if (cli.json) cli.out(JSON.stringify(rec.settings.copies.map((x) => copyJson(pseudo, x))));
    else for (const x of rec.settings.copies) cli.out(`${x.name.padEnd(8)} ${redactUrl(x.url)}  (${x.kind}, repository ${x.repositoryId.slice(0, 10)})`);
    return 0;
  } finally {
    await repo.backend.close?.().catch(() => undefined);
  }
}

function listCopies(cli: Cli): number {
  const config = loadConfig(cli.env);
  const copies = config?.copies ?? [];
  if (cli.json) {
    cli.out(JSON.stringify(copies.map((c) => copyJson(config!, c))));
    return 0;
  }
  if (!config) {
    cli.out('no copies yet (add one with "coffer copies add NAME URL")');
    return 0;
  }
  cli.out(`primary  ${redactUrl(config.primary.url)}`);
  for (const c of copies) {
    const pol = [...c.policy.onlyTags.map((t) => `only ${t}`), ...c.policy.excludeTags.map((t) => `not ${t}`)].join(', ');
    cli.out(`${c.name.padEnd(8)} ${redactUrl(c.url)}  (${c.kind}, repository ${c.repositoryId.slice(0, 10)}${pol ? `, ${pol}` : ''}${config.kit && !config.kit.copies[c.name] ? ', not in the kit' : ''})`);
  }
  return 0;
}

const command: Command = {
  name: 'copies',
  summary: "Manage the primary's copies: add, list, remove, change a policy, purge what it excludes.",
  usage: 'add NAME URL [--option K=V]... [--credentials-env VAR,...] [--exclude-tag T]... [--only-tag T]... | list [--json] [--kit KIT --copy NAME] | remove NAME [--forget-keys] | policy NAME [--exclude-tag T]... [--only-tag T]... [--clear] | purge NAME [--dry-run]',
  help: `A copy is a complete restic repository of its own (local path, sftp:, rest:, s3:, rclone:),
opened with the primary's password. "add" creates it with the primary's chunker polynomial (so
syncing uploads only new blobs) or adopts an existing repository with the same polynomial.
"remove" forgets it here; its data is never deleted.
"policy" changes what a copy takes (no tag flags: shows it); what it already holds against the
new policy is reported and kept. "purge" removes that: the snapshots, then every blob only they
used (a prune that leaves no unused data), so not even their ciphertext stays in the copy.
Options:
      --option K=V            backend option (s3.region, s3.bucket-lookup=path|dns)
      --credentials-env VARS  environment variables needed to reach it (names only; for the kit)
      --exclude-tag T         never sync snapshots tagged T (e.g. private)
      --only-tag T            sync only snapshots tagged T (Coffer's records always go)
      --forget-keys           (remove) also delete Coffer's key files from the copy
      --clear                 (policy) take everything again
      --dry-run               (purge) only list what would be removed
      --kit KIT --copy NAME   (list) read the copy list from that copy's settings record with
                              the kit's recovery key (on a new machine, without a config)`,
  options: {
    option: { type: 'string', multiple: true, short: 'o' },
    'credentials-env': { type: 'string', multiple: true },
    'exclude-tag': { type: 'string', multiple: true },
    'only-tag': { type: 'string', multiple: true },
    'forget-keys': { type: 'boolean' },
    clear: { type: 'boolean' },
    'dry-run': { type: 'boolean', short: 'n' },
    kit: { type: 'string' },
    copy: { type: 'string' },
  },
  async run(cli, values, positionals) {
    const [sub, ...args] = positionals;
    if (sub === 'add') {
      if (args.length !== 2) throw new CofferError('bad-input', 'usage: coffer copies add NAME URL');
      return addCopy(cli, values, args[0]!, args[1]!);
    }
    if (sub === 'list' || sub === undefined) {
      if (args.length) throw new CofferError('bad-input', 'usage: coffer copies list [--json] [--kit KIT --copy NAME]');
      const kitFile = str(values.kit);
      if (kitFile) return listFromKit(cli, kitFile, str(values.copy));
      return listCopies(cli);
    }
    if (sub === 'remove' || sub === 'rm') {
      if (args.length !== 1) throw new CofferError('bad-input', 'usage: coffer copies remove NAME');
      return removeCopy(cli, args[0]!, flag(values['forget-keys']));
    }
    if (sub === 'policy') {
      if (args.length !== 1) throw new CofferError('bad-input', 'usage: coffer copies policy NAME [--exclude-tag T]... [--only-tag T]... [--clear]');
      return setPolicy(cli, values, args[0]!);
    }
    if (sub === 'purge') {
      if (args.length !== 1) throw new CofferError('bad-input', 'usage: coffer copies purge NAME [--dry-run]');
      return purgeCopy(cli, args[0]!, flag(values['dry-run']));
    }
    throw new CofferError('bad-input', `unknown subcommand "copies ${sub}" (use add, list, remove, policy or purge)`);
  },
};
export default command;
