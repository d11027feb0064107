/**
 * `coffer recover --kit KIT --copy NAME`: after a real loss, rebuilds the configuration and a new
 * primary from ONE copy (design §2): opens the copy with the kit's recovery key, creates the new
 * primary (default location, or -r) with the copy's chunker polynomial, copies every snapshot
 * (records included, drill results excepted) into it, adds the new password (COFFER_PASSWORD or
 * asked) as a key to every copy the kit names and the recovery key to the new primary, and
 * writes config.json from the copy's settings record with the kit's full URLs. Work goes on.
 */
import * as os from 'node:os';
import { CofferError, isCofferError } from '../../core/errors.js';
import { copySnapshots } from '../../core/engine/copy/copy.js';
import { recordKindOf } from '../../core/engine/records/records.js';
import { polynomialHex, readSettingsRecord, type CopyEntry } from '../../core/engine/settings/settings.js';
import { addKey, initRepository } from '../../core/repository/open.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import { loadSnapshots } from '../../core/repository/snapshots.js';
import { configPath, loadConfig, saveConfig, type CofferConfig } from '../../node/config.js';
import { copyBackend } from '../../node/open-copy.js';
import { addOtpVaultPassword } from '../../core/otp/store.js';
import { AEGIS_SCRYPT } from '../../core/otp/aegis.js';
import { str, type Command } from '../command.js';
import { newKeyKdf, type Cli } from '../context.js';
import { publishSettings } from './copies.js';
import { entryOfKitCopy, kitCopy, kitKey, openKitCopy, readKitFile, RECOVERY_USER } from './kit.js';

function isoNow(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

async function recover(cli: Cli, values: Record<string, unknown>): Promise<number> {
  const kitFile = str(values.kit as string | undefined);
  const name = str(values.copy as string | undefined);
  if (!kitFile || !name) throw new CofferError('bad-input', 'coffer recover --kit KIT --copy NAME');
  const kit = readKitFile(kitFile);
  const source = kitCopy(kit, name);
  const key = await kitKey(cli, kit);
  if (loadConfig(cli.env)) throw new CofferError('bad-input', `a Coffer config already exists at ${configPath(cli.env)}: recover builds a new one (move it away first)`);
  const location = cli.repositoryLocation().location;
  const password = await cli.newPassword();
  const platform = await cli.platform();
  const kdf = await newKeyKdf(cli);

  const src = await openKitCopy(cli, source, key);
  cli.warn(`opened copy ${name} with the recovery key`);
  const srcIndex = await loadMasterIndex(src, { signal: cli.signal });
  const snaps = (await loadSnapshots(src, { signal: cli.signal })).filter((e) => recordKindOf(e.snapshot) !== 'drill');
  const settings = await readSettingsRecord(src, { signal: cli.signal, index: srcIndex }).catch((e: unknown) => {
    cli.warn(`coffer: the settings record of copy ${name} could not be read (${(e as Error).message}); the copy list comes from the kit`);
    return undefined;
  });

  const backend = copyBackend(location, { env: cli.env });
  const me = { username: os.userInfo().username, hostname: os.hostname() };
  const primary = await initRepository(backend, platform, { password, kdf, chunkerPolynomial: src.config.chunkerPolynomial, ...me, ...cli.repositoryOptions() }, { signal: cli.signal });
  cli.warn(`created the new primary at ${location}`);
  const res = await copySnapshots({ repo: src, index: srcIndex }, { repo: primary, index: await loadMasterIndex(primary) }, snaps, [], {}, cli.signal);
  cli.warn(`copied ${res.copied.length} snapshots from copy ${name}`);

  try {
    if (await addOtpVaultPassword(primary, key, password, { owner: cli.lockOwner(), signal: cli.signal, scrypt: AEGIS_SCRYPT })) cli.warn('the OTP vault opens with the new password too');
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    cli.warn(`coffer: the OTP vault does not open with the recovery key (${(e as Error).message}); open it with the old password: coffer otp`);
  }
  const kitCopies: Record<string, { repositoryId: string; keyId: string }> = {};
  kitCopies.primary = { repositoryId: primary.config.id, keyId: await addKey(primary.backend, platform, primary.key, key, kdf, { username: RECOVERY_USER, hostname: `coffer-kit-${kit.id}` }) };
  const failed: string[] = [];
  for (const c of kit.copies) {
    try {
      const repo = c.name === name ? src : await openKitCopy(cli, c, key);
      await addKey(repo.backend, platform, repo.key, password, kdf, me, { signal: cli.signal });
      kitCopies[c.name] = { repositoryId: repo.config.id, keyId: c.keyId };
      if (repo !== src) await repo.backend.close?.();
      cli.warn(`the new password is now a key of copy ${c.name}`);
    } catch (e) {
      if (isCofferError(e, 'cancelled')) throw e;
      failed.push(c.name);
      cli.warn(`coffer: copy ${c.name} could not be opened (${(e as Error).message}); add the new password later with "coffer key add"`);
    }
  }
  const now = isoNow();
  const poly = polynomialHex(src.config.chunkerPolynomial);
  const fromSettings = new Map((settings?.settings.copies ?? []).map((c) => [c.name, c]));
  const copies: CopyEntry[] = kit.copies.map((k) => {
    const s = fromSettings.get(k.name);
    const base = entryOfKitCopy(k);
    return s ? { ...s, url: k.url } : { ...base, addedAt: now, chunkerPolynomial: poly };
  });
  for (const s of settings?.settings.copies ?? []) {
    if (!kit.copies.some((k) => k.name === s.name)) {
      cli.warn(`coffer: copy ${s.name} is in the settings but not in the kit; it is left out (add it again with "coffer copies add")`);
    }
  }
  const config: CofferConfig = {
    version: 1,
    primary: { url: location },
    copies,
    kit: { id: kit.id, createdAt: kit.created, copies: kitCopies },
    ...(settings?.settings.schedule ? { schedule: settings.settings.schedule } : {}),
    alerts: settings?.settings.alerts ?? [],
  };
  saveConfig(config, cli.env);
  await src.backend.close?.();
  // A fresh settings record (the new primary's ID, the kit's key IDs) in the primary and every copy.
  try {
    const notReached = await publishSettings(cli, primary, config);
    for (const n of notReached) if (!failed.includes(n)) failed.push(n);
  } catch (e) {
    if (isCofferError(e, 'cancelled')) throw e;
    cli.warn(`coffer: the settings record could not be written (${(e as Error).message}); the next sync will`);
  }
  cli.warn(`config written to ${configPath(cli.env)}; back up and sync as before${failed.length ? ` (copies not reached: ${failed.join(', ')})` : ''}`);
  return failed.length ? 1 : 0;
}

const command: Command = {
  name: 'recover',
  summary: 'Rebuild the configuration and a new primary from one copy and the kit.',
  usage: '--kit KIT --copy NAME',
  help: `The new primary goes to -r/COFFER_REPOSITORY or the default location; its password
(COFFER_PASSWORD, --password-file, or asked twice) becomes a key of every copy the kit names.`,
  usageExitCode: 2,
  options: {
    kit: { type: 'string' },
    copy: { type: 'string' },
  },
  run(cli, values) {
    return recover(cli, values);
  },
};

export default command;
