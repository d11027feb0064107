/**
 * @module otp/store
 * Where Coffer's OTP vault lives (otp-formats.md F.1, no-lockout.md §3): the newest record of
 * kind `otp` in the repository, one file `vault.json` that is an ENCRYPTED Aegis vault whose
 * password slots open with the repository password (and, once a kit exists, its recovery key).
 * So `restic dump latest --tag coffer-otp /vault.json` gives a file Aegis opens. Every change
 * writes a new complete record; older ones are the undo history. No secret is ever stored in
 * clear: the db is sealed before it leaves this module.
 */
import { utf8Decode, utf8Encode } from '../bytes.js';
import type { CallOpts } from '../backend/backend.js';
import { readLatestRecord, writeRecord } from '../engine/records/records.js';
import { CofferError } from '../errors.js';
import type { Id } from '../format/types.js';
import type { LockOwner } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import { addPasswordSlot, AEGIS_SCRYPT, newVaultKey, openAegisVault, parseAegisFile, rewrapPasswordSlots, sealAegisVault, type ScryptParams, type VaultKey } from './aegis.js';
import type { JsonObject } from './json.js';
import { emptyDb, upgradeDb } from './vault.js';

export const OTP_RECORD_KIND = 'otp';
export const OTP_VAULT_FILE = 'vault.json';

export interface StoredVault {
  readonly db: JsonObject;
  /** Undefined for a vault not stored yet: a key is made on the first save. */
  readonly key: VaultKey | undefined;
  /** The record it was read from. */
  readonly recordId: Id | undefined;
}

const WHAT = 'OTP vault';

/** The newest vault, opened with `password`; an empty, unsaved vault when there is none yet. */
export async function loadOtpVault(repo: Repository, password: string, o: CallOpts = {}): Promise<StoredVault> {
  const rec = await readLatestRecord(repo, OTP_RECORD_KIND, o);
  if (!rec) return { db: emptyDb(), key: undefined, recordId: undefined };
  const data = rec.files.get(OTP_VAULT_FILE);
  if (!data) throw new CofferError('corrupt', `${WHAT} record ${rec.id.slice(0, 8)} has no ${OTP_VAULT_FILE}`);
  const parsed = parseAegisFile(utf8Decode(data), `${WHAT} (record ${rec.id.slice(0, 8)})`);
  if (!parsed.encrypted) throw new CofferError('corrupt', `${WHAT} record ${rec.id.slice(0, 8)} is not encrypted`);
  let opened;
  try {
    opened = await openAegisVault(parsed, password, repo.platform.crypto, WHAT);
  } catch (e) {
    if (e instanceof CofferError && e.code === 'wrong-password') {
      throw new CofferError('wrong-password', `${WHAT}: the password that opened the repository does not open the vault (a key added after the vault was made? use the password the vault was made with; see docs/otp.md, "Passwords and key changes")`);
    }
    throw e;
  }
  const db = upgradeDb(opened.db, WHAT, (n) => repo.platform.crypto.randomBytes(n));
  return { db, key: opened.key, recordId: rec.id };
}

export interface SaveOptions extends CallOpts {
  readonly owner: LockOwner;
  /** scrypt for a new vault's slot: Aegis' defaults unless a test passes cheaper ones. */
  readonly scrypt?: ScryptParams;
  /** The caller already holds a lock on the repository (e.g. `key passwd`'s exclusive one). */
  readonly unlocked?: boolean;
}

/**
 * Writes `db` as the new vault record, sealed under the vault's key (a new key with one slot for
 * `password` when the vault has none yet). Returns the stored vault.
 */
export async function saveOtpVault(repo: Repository, vault: StoredVault, db: JsonObject, password: string, opts: SaveOptions): Promise<StoredVault> {
  const crypto = repo.platform.crypto;
  const key = vault.key ?? (await newVaultKey([password], opts.scrypt ?? AEGIS_SCRYPT, crypto));
  return writeVault(repo, db, key, opts);
}

async function writeVault(repo: Repository, db: JsonObject, key: VaultKey, opts: SaveOptions): Promise<StoredVault> {
  const text = sealAegisVault(db, key, repo.platform.crypto);
  const { id } = await writeRecord(repo, OTP_RECORD_KIND, [{ name: OTP_VAULT_FILE, data: utf8Encode(text) }], {
    owner: opts.owner,
    ...(opts.signal ? { signal: opts.signal } : {}),
    ...(opts.unlocked ? { unlocked: true } : {}),
  });
  return { db, key, recordId: id };
}

/**
 * For the recovery kit and key changes: adds a password slot for `newPassword` to the stored
 * vault (opened with `openPassword`) and writes a new record. Returns false when there is no
 * vault yet (nothing to do: a vault made later gets its slot from whoever creates it).
 */
export async function addOtpVaultPassword(repo: Repository, openPassword: string, newPassword: string, opts: SaveOptions): Promise<boolean> {
  const v = await loadOtpVault(repo, openPassword, opts);
  if (!v.key) return false;
  const key = await addPasswordSlot(v.key, newPassword, opts.scrypt ?? AEGIS_SCRYPT, repo.platform.crypto);
  await writeVault(repo, v.db, key, opts);
  return true;
}

/**
 * For key changes: replaces every password slot of the stored vault with one slot per password
 * in `passwords` (e.g. the new repository password and the kit's recovery key). Returns false
 * when there is no vault yet.
 */
export async function rewrapOtpVault(repo: Repository, openPassword: string, passwords: readonly string[], opts: SaveOptions): Promise<boolean> {
  if (passwords.length === 0) throw new CofferError('internal', 'rewrapOtpVault needs at least one password');
  const v = await loadOtpVault(repo, openPassword, opts);
  if (!v.key) return false;
  const key = await rewrapPasswordSlots(v.key, passwords, opts.scrypt ?? AEGIS_SCRYPT, repo.platform.crypto);
  await writeVault(repo, v.db, key, opts);
  return true;
}
