/**
 * @module node/inbox-keys
 * The inbox's public key on this device (design web-gallery.md §6), so staging needs no password:
 * `$XDG_CONFIG_HOME/coffer/inbox/<repository id>.pub` (the key, base64) and `repositories.json`
 * (`{"<SHA-256 of the normalized location>": "<repository id>"}`): the repository id sits in the
 * encrypted config, so a process without the password (`coffer web`, `inbox add`) finds it by the
 * location it was given. The location is stored hashed: a URL may carry credentials.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../core/errors.js';
import { decodePublicKeyText, encodePublicKeyText } from '../core/inbox/keys.js';
import { configDir, writeFileAtomic } from './config.js';

type Env = NodeJS.ProcessEnv;
const ID_RE = /^[0-9a-f]{64}$/;

export function inboxConfigDir(env: Env = process.env): string {
  return path.join(configDir(env), 'inbox');
}

export function publicKeyPath(env: Env, repoId: string): string {
  if (!ID_RE.test(repoId)) throw new CofferError('internal', 'not a repository id');
  return path.join(inboxConfigDir(env), `${repoId}.pub`);
}

/** The location as the backend opens it: local paths absolute, `local:` dropped. */
export function normalizeLocation(location: string): string {
  const l = location.startsWith('local:') ? location.slice('local:'.length) : location;
  return /^[a-z][a-z0-9+.-]*:/i.test(l) && !/^[a-z]:[\\/]/i.test(l) ? l : path.resolve(l);
}

function locationKey(location: string): string {
  return createHash('sha256').update(normalizeLocation(location)).digest('hex');
}

function readMap(env: Env): Record<string, string> {
  try {
    const v = JSON.parse(fs.readFileSync(path.join(inboxConfigDir(env), 'repositories.json'), 'utf8')) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/** The repository id remembered for `location`, if the inbox was used with it on this device. */
export function repositoryIdFor(env: Env, location: string): string | undefined {
  const id = readMap(env)[locationKey(location)];
  return typeof id === 'string' && ID_RE.test(id) ? id : undefined;
}

export function readInboxPublicKey(env: Env, repoId: string): Uint8Array | undefined {
  let text: string;
  try {
    text = fs.readFileSync(publicKeyPath(env, repoId), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CofferError('permission', `cannot read ${publicKeyPath(env, repoId)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return decodePublicKeyText(text);
}

/** The repository id and public key for `location`, or undefined (then the password is needed once). */
export function inboxPublicKeyFor(env: Env, location: string): { repoId: string; publicKey: Uint8Array } | undefined {
  const repoId = repositoryIdFor(env, location);
  const publicKey = repoId ? readInboxPublicKey(env, repoId) : undefined;
  return repoId && publicKey ? { repoId, publicKey } : undefined;
}

/**
 * Writes the `.pub` file and maps `location` to `repoId` (both 0600 in a 0700 folder). Returns
 * true when a different public key was there (replaced: items staged for it cannot be opened).
 */
export function rememberInboxKey(env: Env, location: string, repoId: string, publicKey: Uint8Array): boolean {
  const file = publicKeyPath(env, repoId);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    current = undefined;
  }
  const text = encodePublicKeyText(publicKey);
  if (current !== text) writeFileAtomic(file, text, 0o600);
  const map = readMap(env);
  const k = locationKey(location);
  if (map[k] !== repoId) writeFileAtomic(path.join(inboxConfigDir(env), 'repositories.json'), JSON.stringify({ ...map, [k]: repoId }, null, 1) + '\n', 0o600);
  return current !== undefined && current !== text;
}
