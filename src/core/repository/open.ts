/**
 * @module repository/open
 * Creating and opening repositories (spec §5, §6): key files, the master key, `config`.
 *
 * Opening tries every key file with the password (a key hint first). A MAC failure means
 * "not this key"; when no key opens, the error is 'wrong-password'. A repository without
 * `config` is 'no-repository'.
 */
import type { Backend, CallOpts } from '../backend/backend.js';
import { toHex, utf8Encode } from '../bytes.js';
import { validatePolynomial, randomPolynomial } from '../chunker/polynomial.js';
import { open as openSealed, seal } from '../crypto/sealed-box.js';
import { DEFAULT_KDF, decodeMasterKeyJson, deriveUserKey, encodeMasterKeyJson, isValidKey, newMasterKey } from '../crypto/keys.js';
import { CofferError, isCofferError, corrupt } from '../errors.js';
import { decodeConfig, encodeConfig } from '../format/config.js';
import { decodeKeyFile, encodeKeyFile } from '../format/key-file.js';
import type { CryptoKey, Id, RepoConfig } from '../format/types.js';
import { nowGoTime } from '../format/go-time.js';
import type { Platform } from '../platform.js';
import { getVerified, Repository, type RepositoryOptions } from './repository.js';

export interface KdfParams {
  readonly N: number;
  readonly r: number;
  readonly p: number;
}

export interface KeyOwner {
  readonly username: string;
  readonly hostname: string;
}

export interface InitOptions extends RepositoryOptions, KeyOwner {
  readonly password: string;
  readonly version?: 1 | 2;
  /** scrypt parameters for the first key; default: calibrated by the caller or DEFAULT_KDF. */
  readonly kdf?: KdfParams;
  /** Reuse another repository's polynomial so deduplication works across them. */
  readonly chunkerPolynomial?: bigint;
}

export interface OpenOptions extends RepositoryOptions {
  readonly password: string;
  /** Key ID prefix to try first (restic --key-hint). */
  readonly keyHint?: string;
}

/** Writes a new key file wrapping `masterKey` with `password`; returns its storage ID. */
export async function addKey(
  backend: Backend,
  platform: Platform,
  masterKey: CryptoKey,
  password: string,
  kdf: KdfParams,
  owner: KeyOwner,
  o?: CallOpts,
): Promise<Id> {
  const salt = platform.crypto.randomBytes(64);
  const userKey = await deriveUserKey(platform.crypto, utf8Encode(password), salt, kdf);
  const data = seal(platform.crypto, userKey, encodeMasterKeyJson(masterKey));
  const bytes = encodeKeyFile({
    created: nowGoTime(),
    username: owner.username,
    hostname: owner.hostname,
    kdf: 'scrypt',
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    salt,
    data,
  });
  const id = toHex(platform.crypto.sha256(bytes));
  await backend.put({ type: 'keys', name: id }, bytes, o);
  return id;
}

async function configExists(backend: Backend, o?: CallOpts): Promise<boolean> {
  try {
    await backend.stat({ type: 'config', name: '' }, o);
    return true;
  } catch (e) {
    if (isCofferError(e, 'not-found')) return false;
    throw e;
  }
}

/** Creates a repository (§6.3): key file, then config, then folders. Refuses an existing one. */
export async function initRepository(backend: Backend, platform: Platform, opts: InitOptions, o?: CallOpts): Promise<Repository> {
  if (await configExists(backend, o)) {
    throw new CofferError('already-exists', `a repository already exists at ${backend.location}`);
  }
  const version = opts.version ?? 2;
  const polynomial = opts.chunkerPolynomial ?? randomPolynomial((n) => platform.crypto.randomBytes(n));
  validatePolynomial(polynomial);
  await backend.create(o);
  const masterKey = newMasterKey(platform.crypto);
  const keyId = await addKey(backend, platform, masterKey, opts.password, opts.kdf ?? DEFAULT_KDF, opts, o);
  const config: RepoConfig = { version, id: toHex(platform.crypto.randomBytes(32)), chunkerPolynomial: polynomial };
  await backend.put({ type: 'config', name: '' }, seal(platform.crypto, masterKey, encodeConfig(config)), o);
  return new Repository(backend, platform, masterKey, keyId, config, opts);
}

/** Finds the key file `password` opens and returns the master key (§5.4). */
export async function unlockMasterKey(
  backend: Backend,
  platform: Platform,
  password: string,
  keyHint?: string,
  o?: CallOpts,
): Promise<{ key: CryptoKey; keyId: Id }> {
  const ids: Id[] = [];
  for await (const f of backend.list('keys', o)) ids.push(f.name);
  if (keyHint) ids.sort((a, b) => Number(b.startsWith(keyHint)) - Number(a.startsWith(keyHint)));
  const pw = utf8Encode(password);
  for (const id of ids) {
    const what = `keys/${id}`;
    const bytes = await getVerified(backend, platform, { type: 'keys', name: id }, o);
    const kf = decodeKeyFile(bytes, what);
    const userKey = await deriveUserKey(platform.crypto, pw, kf.salt, kf);
    let plain: Uint8Array;
    try {
      plain = openSealed(platform.crypto, userKey, kf.data, what);
    } catch (e) {
      if (isCofferError(e, 'corrupt')) continue; // a MAC failure: not this key
      throw e;
    }
    const key = decodeMasterKeyJson(plain, what);
    if (!isValidKey(key)) throw corrupt(what, 'the master key it holds is invalid (a zero part)');
    return { key, keyId: id };
  }
  throw new CofferError('wrong-password', ids.length === 0 ? `no key files found in ${backend.location}` : 'wrong password or no key found');
}

/** Opens an existing repository. Throws 'no-repository', 'wrong-password' or 'corrupt'. */
export async function openRepository(backend: Backend, platform: Platform, opts: OpenOptions, o?: CallOpts): Promise<Repository> {
  let sealedConfig: Uint8Array;
  try {
    sealedConfig = await backend.get({ type: 'config', name: '' }, undefined, o);
  } catch (e) {
    if (isCofferError(e, 'not-found')) {
      throw new CofferError('no-repository', `no repository found at ${backend.location} (config file missing)`, { cause: e });
    }
    throw e;
  }
  const { key, keyId } = await unlockMasterKey(backend, platform, opts.password, opts.keyHint, o);
  let configJson: Uint8Array;
  try {
    configJson = openSealed(platform.crypto, key, sealedConfig, 'config');
  } catch (e) {
    // config is not named by its hash: a MAC failure is the first sign of a damaged read, so read it once more.
    if (!isCofferError(e, 'corrupt')) throw e;
    configJson = openSealed(platform.crypto, key, await backend.get({ type: 'config', name: '' }, undefined, o), 'config');
  }
  const config = decodeConfig(configJson, 'config');
  validatePolynomial(config.chunkerPolynomial);
  return new Repository(backend, platform, key, keyId, config, opts);
}
