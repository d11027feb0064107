/**
 * @module inbox/keys
 * The inbox key pair (design web-gallery.md §6): made on first use, the private key kept in the
 * repository as a record (kind `inbox-key`: sealed under the master key like all repository data,
 * and carried by every copy), so whoever can open the repository (the CLI, the web app's worker)
 * can open staged items. The public key is also kept on the device (src/node/inbox-keys.ts), so
 * staging needs no password. Browser-safe.
 */
import { fromBase64, toBase64, utf8Decode, utf8Encode } from '../bytes.js';
import type { CallOpts } from '../backend/backend.js';
import { CofferError } from '../errors.js';
import { readLatestRecord, writeRecord } from '../engine/records/records.js';
import type { LockOwner } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import { PUBLIC_KEY_SIZE, generateInboxKeyPair, inboxPublicKey, type InboxKeyPair } from './seal.js';

export const INBOX_KEY_KIND = 'inbox-key';
export const INBOX_KEY_FILE = 'inbox-key.json';

interface KeyFile {
  readonly version: 1;
  readonly publicKey: string;
  readonly privateKey: string;
  readonly created: string;
}

function bad(what: string): CofferError {
  return new CofferError('corrupt', `inbox key record: ${what}`);
}

function key32(v: unknown, what: string): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromBase64(String(v));
  } catch {
    throw bad(`${what} is not base64`);
  }
  if (b.length !== PUBLIC_KEY_SIZE) throw bad(`${what} is not 32 bytes`);
  return b;
}

export function encodeKeyFile(pair: InboxKeyPair, created: Date): Uint8Array {
  const f: KeyFile = { version: 1, publicKey: toBase64(pair.publicKey), privateKey: toBase64(pair.privateKey), created: created.toISOString() };
  return utf8Encode(JSON.stringify(f) + '\n');
}

export function decodeKeyFile(bytes: Uint8Array): InboxKeyPair {
  let o: Partial<KeyFile>;
  try {
    o = JSON.parse(utf8Decode(bytes)) as Partial<KeyFile>;
  } catch {
    throw bad('not JSON');
  }
  if (!o || o.version !== 1) throw bad('not version 1');
  const privateKey = key32(o.privateKey, 'privateKey');
  const publicKey = key32(o.publicKey, 'publicKey');
  const derived = inboxPublicKey(privateKey);
  if (toBase64(derived) !== toBase64(publicKey)) throw bad('the public key does not belong to the private key');
  return { publicKey, privateKey };
}

/** The newest inbox key pair of the repository, or undefined when the inbox was never used. */
export async function loadInboxKeyPair(repo: Repository, o?: CallOpts): Promise<InboxKeyPair | undefined> {
  const rec = await readLatestRecord(repo, INBOX_KEY_KIND, o);
  if (!rec) return undefined;
  const file = rec.files.get(INBOX_KEY_FILE);
  if (!file) throw bad(`snapshot ${rec.id.slice(0, 8)} has no ${INBOX_KEY_FILE}`);
  return decodeKeyFile(file);
}

/**
 * The repository's inbox key pair, made and stored on first use. Two devices racing on the first
 * use both write a record; the newest wins for both (each reads back after writing), so only
 * items staged during that race could be sealed for the losing key.
 */
export async function ensureInboxKeyPair(repo: Repository, owner: LockOwner, o?: CallOpts): Promise<{ pair: InboxKeyPair; created: boolean }> {
  const have = await loadInboxKeyPair(repo, o);
  if (have) return { pair: have, created: false };
  const pair = generateInboxKeyPair();
  await writeRecord(repo, INBOX_KEY_KIND, [{ name: INBOX_KEY_FILE, data: encodeKeyFile(pair, new Date()) }], { owner, ...(o?.signal ? { signal: o.signal } : {}) });
  const now = await loadInboxKeyPair(repo, o);
  return { pair: now ?? pair, created: true };
}

/** The `.pub` file's text: standard base64 of the 32 bytes and a newline. */
export function encodePublicKeyText(publicKey: Uint8Array): string {
  return toBase64(publicKey) + '\n';
}

export function decodePublicKeyText(text: string): Uint8Array {
  let b: Uint8Array;
  try {
    b = fromBase64(text.trim());
  } catch {
    throw new CofferError('corrupt', 'inbox public key file is not base64');
  }
  if (b.length !== PUBLIC_KEY_SIZE) throw new CofferError('corrupt', 'inbox public key file does not hold 32 bytes');
  return b;
}
