/**
 * @module share/record
 * The sealed share list (design web-gallery.md §8): each share's link (with its key), names and
 * dates, kept in the repository as a Coffer record (`coffer-shares`, file `shares.json`), so the
 * key exists only in the link and, encrypted, in the repository. `coffer share list` reads it
 * back; the CLI and the web app's worker both append to it. Expired entries are dropped on write.
 */
import { utf8Decode, utf8Encode } from '../bytes.js';
import type { CallOpts } from '../backend/backend.js';
import type { LockOwner } from '../repository/locks.js';
import type { Repository } from '../repository/repository.js';
import { readLatestRecord, writeRecord } from '../engine/records/records.js';

export const SHARE_RECORD_KIND = 'shares';
export const SHARE_RECORD_FILE = 'shares.json';

export interface RememberedShare {
  readonly id: string;
  readonly url: string;
  /** ISO times. */
  readonly created: string;
  readonly expires: string;
  readonly names: readonly string[];
}

export async function rememberedShares(repo: Repository, o?: CallOpts): Promise<RememberedShare[]> {
  const r = await readLatestRecord(repo, SHARE_RECORD_KIND, o);
  const f = r?.files.get(SHARE_RECORD_FILE);
  if (!f) return [];
  try {
    const j = JSON.parse(utf8Decode(f)) as { shares?: unknown };
    return Array.isArray(j.shares) ? (j.shares as RememberedShare[]).filter((s) => s && typeof s.id === 'string' && typeof s.url === 'string') : [];
  } catch {
    return [];
  }
}

/** Adds a share to the record (a new record snapshot), dropping expired ones. */
export async function rememberShare(repo: Repository, share: RememberedShare, o: CallOpts & { owner: LockOwner; now?: number }): Promise<void> {
  const now = o.now ?? Date.now();
  const list = (await rememberedShares(repo, o)).filter((s) => Date.parse(s.expires) > now && s.id !== share.id);
  list.push(share);
  await writeRecord(repo, SHARE_RECORD_KIND, [{ name: SHARE_RECORD_FILE, data: utf8Encode(JSON.stringify({ version: 1, shares: list }, null, 1)) }], o);
}
