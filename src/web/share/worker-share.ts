/**
 * @module web/share/worker-share
 * The worker's `shareCreate` operation (design web-gallery.md §7): gallery items' originals are
 * read from the repository, sealed here under a fresh share key with their thumbnail and preview,
 * and uploaded to this server's `/api/shares` with the page's session cookie. The link (key in
 * its fragment) goes back to the page to be shown and copied; the server never sees the key.
 */
import { CofferError } from '../../core/errors.js';
import { ShareClient } from '../../core/share/client.js';
import { createShare, type ShareSource } from '../../core/share/create.js';
import { DEFAULT_EXPIRES_MS, MAX_EXPIRES_MS } from '../../core/share/format.js';
import { rememberShare } from '../../core/share/record.js';
import { galleryImage, galleryItems, galleryOriginal } from '../gallery/worker-gallery.js';
import type { Session } from '../worker/session.js';

export interface ShareCreated {
  readonly id: string;
  readonly url: string;
  readonly expires: string;
  readonly items: number;
  /** Kept in the repository's sealed share list. */
  readonly remembered: boolean;
}

export async function shareCreate(s: Session, ids: readonly string[], expiresIn = DEFAULT_EXPIRES_MS): Promise<ShareCreated> {
  if (!ids.length) throw new CofferError('usage', 'nothing selected to share');
  if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0 || expiresIn > MAX_EXPIRES_MS) throw new CofferError('usage', 'a share lasts at most a year');
  const items = await galleryItems(s, ids);
  if (items.length !== ids.length) throw new CofferError('not-found', 'some selected photos are no longer in the gallery');
  const sources: ShareSource[] = [];
  for (const it of items) {
    const o = await galleryOriginal(s, it.id, it.name);
    const node = await s.node(o.snapshot, o.path);
    // Placeholders (files that could not be decoded) are not worth sending.
    const pictures = it.broken ? {} : { thumb: new Uint8Array(await galleryImage(s, 'thumb', it.id)), preview: new Uint8Array(await galleryImage(s, 'preview', it.id)) };
    sources.push({
      name: it.name,
      mime: it.mime,
      size: node.size ?? 0,
      taken: it.taken,
      ...(it.w && it.h ? { w: it.w, h: it.h } : {}),
      read: () => s.fileBlobs(node),
      ...pictures,
    });
  }
  const origin = (self as unknown as { location: Location }).location.origin;
  const made = await createShare(new ShareClient({ server: '' }), sources, { expiresIn, base: origin });
  // The sealed share list (as the CLI keeps it): the link again for `coffer share list`.
  const names = made.manifest.items.map((i) => i.name);
  let remembered = true;
  try {
    await rememberShare(s.repo, { id: made.id, url: made.url, created: new Date(made.created).toISOString(), expires: new Date(made.expires).toISOString(), names }, { owner: { hostname: 'coffer-web', username: 'web', pid: 0 } });
  } catch {
    remembered = false; // a read-only or locked repository: the link works all the same
  }
  return { id: made.id, url: made.url, expires: new Date(made.expires).toISOString(), items: made.manifest.items.length, remembered };
}
