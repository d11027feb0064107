/**
 * @module engine/secrets
 * Kept secrets (../shared/design/no-lockout.md §8): small values such as a BitLocker or LUKS
 * recovery key or 2FA recovery codes, kept as a `secrets` record in every repository: one file
 * per secret, named as the secret, plus `index.json` ([{name,size,sha256,addedAt}]). Every change
 * writes a new complete record, so `restic dump latest --tag coffer-secrets /NAME` reads one.
 * Encrypted like everything in the repository; never written anywhere else.
 */
import { toHex, utf8Decode, utf8Encode } from '../../bytes.js';
import { CofferError } from '../../errors.js';
import type { CallOpts } from '../../backend/backend.js';
import type { Repository } from '../../repository/repository.js';
import type { MasterIndex } from '../../repository/master-index.js';
import type { SnapshotEntry } from '../../repository/snapshots.js';
import { readLatestRecord, writeRecord, type RecordFile, type WriteRecordOptions } from '../records/records.js';

export const SECRETS_KIND = 'secrets';
export const SECRETS_INDEX = 'index.json';
export const MAX_SECRET_BYTES = 64 * 1024;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface SecretInfo {
  readonly name: string;
  readonly size: number;
  readonly sha256: string;
  readonly addedAt: string;
}

export interface Secrets {
  readonly index: readonly SecretInfo[];
  readonly values: ReadonlyMap<string, Uint8Array>;
}

export function checkSecretName(name: string): void {
  if (!NAME_RE.test(name) || name === SECRETS_INDEX) {
    throw new CofferError('bad-input', `invalid secret name ${JSON.stringify(name)} (letters, digits, ".", "_", "-"; at most 64; not "${SECRETS_INDEX}")`);
  }
}

/** The newest secrets record of `repo` (empty when there is none); checks each value's hash. */
export async function readSecrets(repo: Repository, o?: CallOpts & { index?: MasterIndex; entries?: readonly SnapshotEntry[] }): Promise<Secrets> {
  const rec = await readLatestRecord(repo, SECRETS_KIND, o);
  if (!rec) return { index: [], values: new Map() };
  const raw = rec.files.get(SECRETS_INDEX);
  if (!raw) throw new CofferError('corrupt', `secrets record ${rec.id.slice(0, 8)} has no ${SECRETS_INDEX}`);
  let index: SecretInfo[];
  try {
    index = JSON.parse(utf8Decode(raw)) as SecretInfo[];
    if (!Array.isArray(index)) throw new Error('not an array');
  } catch {
    throw new CofferError('corrupt', `secrets record ${rec.id.slice(0, 8)}: ${SECRETS_INDEX} is not a JSON array`);
  }
  const values = new Map<string, Uint8Array>();
  for (const s of index) {
    const v = rec.files.get(s.name);
    if (!v) throw new CofferError('corrupt', `secrets record ${rec.id.slice(0, 8)}: ${s.name} is listed but missing`);
    if (toHex(repo.platform.crypto.sha256(v)) !== s.sha256) throw new CofferError('corrupt', `secrets record ${rec.id.slice(0, 8)}: ${s.name} does not match its SHA-256`);
    values.set(s.name, v);
  }
  return { index, values };
}

function recordFiles(s: Secrets): RecordFile[] {
  const index = [...s.index].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return [{ name: SECRETS_INDEX, data: utf8Encode(JSON.stringify(index, null, 2) + '\n') }, ...index.map((i) => ({ name: i.name, data: s.values.get(i.name)! }))];
}

/** The state after adding (or replacing) `name`. */
export function withSecret(s: Secrets, name: string, value: Uint8Array, sha256: (d: Uint8Array) => Uint8Array, now = new Date()): Secrets {
  checkSecretName(name);
  if (value.length > MAX_SECRET_BYTES) throw new CofferError('bad-input', `secret ${name} is ${value.length} bytes; at most ${MAX_SECRET_BYTES} (64 KiB)`);
  const info: SecretInfo = { name, size: value.length, sha256: toHex(sha256(value)), addedAt: now.toISOString().replace(/\.\d{3}Z$/, 'Z') };
  const values = new Map(s.values);
  values.set(name, value);
  return { index: [...s.index.filter((i) => i.name !== name), info], values };
}

/** The state after removing `name`; 'bad-input' when there is no such secret. */
export function withoutSecret(s: Secrets, name: string): Secrets {
  if (!s.values.has(name)) throw new CofferError('bad-input', `no secret named "${name}"`);
  const values = new Map(s.values);
  values.delete(name);
  return { index: s.index.filter((i) => i.name !== name), values };
}

/** Writes `s` as a new complete secrets record. */
export async function writeSecrets(repo: Repository, s: Secrets, opts: WriteRecordOptions): Promise<string> {
  return (await writeRecord(repo, SECRETS_KIND, recordFiles(s), opts)).id;
}
