/**
 * @module web/inbox/worker-inbox
 * The inbox operations of the dedicated worker (design web-gallery.md §1, §6): the private inbox
 * key comes from the repository (core/inbox/keys.ts) and stays here; the staged items come sealed
 * from the server (`/api/inbox/items`), and only their opened meta and thumbnails go to the page.
 *
 * A decision backs the items up into the primary repository with the core engine right here
 * (core/inbox/source.ts reads each sealed `data` part chunk by chunk through HTTP Range requests
 * and checks its SHA-256), tagged `coffer-inbox` (and `private`); only once the snapshot is
 * written does the server delete the staged copies and log the decisions (a crash in between
 * leaves the items pending: deciding again stores them again, which deduplication makes cheap).
 * A reject never touches the repository.
 */
import { backup } from '../../core/engine/backup/backup.js';
import { CofferError } from '../../core/errors.js';
import { ensureInboxKeyPair, loadInboxKeyPair } from '../../core/inbox/keys.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex } from '../../core/bytes.js';
import { InboxOpener, SEALED_HEADER_SIZE, type InboxKeyPair } from '../../core/inbox/seal.js';
import { StagedSource, type StagedEntry } from '../../core/inbox/source.js';
import { checkAlbum, decisionTags, decodeMeta, placement, type StagedMeta } from '../../core/inbox/staged.js';
import type { InboxDecisionResult, InboxItemInfo, InboxListing } from '../protocol.js';
import type { Session } from '../worker/session.js';

const ITEMS = '/api/inbox/items';

interface Listed {
  readonly id: string;
  readonly added: string;
  readonly sizes: { meta: number; thumb: number; data: number };
}

interface PerSession {
  pair?: Promise<InboxKeyPair | undefined>;
  /** Opened metas and sealed data lengths of the last listing (replaced whole, never half-filled). */
  known: Map<string, { meta: StagedMeta; sealedLength: number }>;
}

const sessions = new WeakMap<Session, PerSession>();

function per(s: Session): PerSession {
  let p = sessions.get(s);
  if (!p) sessions.set(s, (p = { known: new Map() }));
  return p;
}

function keyPair(s: Session): Promise<InboxKeyPair | undefined> {
  const p = per(s);
  p.pair ??= loadInboxKeyPair(s.repo);
  p.pair.catch(() => (p.pair = undefined));
  return p.pair;
}

async function must(res: Response, what: string): Promise<Response> {
  if (res.ok) return res;
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  const message = `${what}: ${body.error ?? `HTTP ${res.status}`}`;
  if (res.status === 401 || res.status === 403) throw new CofferError('permission', `${message} (sign in again with the address coffer web printed)`);
  throw new CofferError(res.status === 404 ? 'not-found' : res.status >= 500 ? 'transient' : 'bad-input', message);
}

async function fetchBytes(url: string, what: string, range?: { offset: number; length: number }): Promise<Uint8Array> {
  const headers: Record<string, string> = range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {};
  const res = await must(await fetch(url, { headers, cache: 'no-store', credentials: 'same-origin' }), what);
  const b = new Uint8Array(await res.arrayBuffer());
  if (range && b.length !== range.length) throw new CofferError('corrupt', `${what}: the server sent ${b.length} bytes, not ${range.length}`);
  return b;
}

async function listStaged(): Promise<Listed[]> {
  const res = await must(await fetch(ITEMS, { cache: 'no-store', credentials: 'same-origin' }), 'the inbox');
  return ((await res.json()) as { items: Listed[] }).items;
}

/** Runs `fn` over `xs` with at most `n` at a time, keeping the order of results. */
async function mapLimit<T, R>(xs: readonly T[], n: number, fn: (x: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(xs.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, xs.length) }, async () => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]!);
    }
  }));
  return out;
}

/** The pending items, oldest first, with their opened thumbnails (WebP bytes, transferred). */
export async function inboxList(s: Session): Promise<{ value: InboxListing; transfer: Transferable[] }> {
  const pair = await keyPair(s);
  if (!pair) return { value: { hasKey: false, items: [] }, transfer: [] };
  const opener = new InboxOpener(pair);
  const listed = await listStaged();
  const known = new Map<string, { meta: StagedMeta; sealedLength: number }>();
  const transfer: Transferable[] = [];
  const items = await mapLimit(listed, 4, async (l): Promise<InboxItemInfo> => {
    const what = `inbox item ${l.id}`;
    try {
      const meta = decodeMeta(opener.open(await fetchBytes(`${ITEMS}/${l.id}/meta`, what), what), what);
      known.set(l.id, { meta, sealedLength: l.sizes.data });
      let thumb: ArrayBuffer | undefined;
      if (l.sizes.thumb > 0) {
        try {
          const t = opener.open(await fetchBytes(`${ITEMS}/${l.id}/thumb`, what), what);
          thumb = (t.byteOffset === 0 && t.byteLength === t.buffer.byteLength ? t.buffer : t.slice().buffer) as ArrayBuffer;
          transfer.push(thumb);
        } catch {
          // A damaged thumbnail is no reason to hide the item: the grid shows a placeholder.
        }
      }
      return {
        id: l.id,
        name: meta.name,
        size: meta.size,
        type: meta.type,
        taken: meta.taken,
        added: meta.added,
        source: meta.source,
        sha256: meta.sha256,
        root: placement(meta).root,
        ...(thumb ? { thumb } : {}),
      };
    } catch (e) {
      // Sealed for another key, or damaged: shown, so it can be rejected.
      return { id: l.id, name: '', size: 0, type: null, taken: null, added: l.added, source: '', sha256: '', root: '', error: (e as Error).message };
    }
  });
  items.sort((a, b) => a.added.localeCompare(b.added) || a.id.localeCompare(b.id));
  per(s).known = known;
  return { value: { hasKey: true, items }, transfer };
}

function base64url(b: Uint8Array): string {
  let s = '';
  for (const x of b) s += String.fromCharCode(x);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Sets the inbox up from the page: the repository's key pair (made now if the inbox was never
 * used, as `coffer inbox` would), and its public half handed to the server so it can take
 * uploads. The server keeps a key it already knows (409 if it differs).
 */
export async function inboxSetup(s: Session, who: { hostname: string; username: string }): Promise<{ created: boolean }> {
  const { pair, created } = await ensureInboxKeyPair(s.repo, { hostname: who.hostname, username: who.username, pid: 0 });
  per(s).pair = Promise.resolve(pair);
  await must(await fetch('/api/inbox/key', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ publicKey: base64url(pair.publicKey), repoId: s.repo.config.id }),
    cache: 'no-store',
    credentials: 'same-origin',
  }), 'the inbox key');
  if (created) s.refresh();
  return { created };
}

/** The largest item the grid previews whole (videos beyond it are reviewed from their thumbnail). */
export const PREVIEW_MAX = 96 * 1024 * 1024;

/** One item's content, opened and checked against its meta's SHA-256, for a larger look before deciding. */
export async function inboxOriginal(s: Session, id: string): Promise<{ value: { bytes: ArrayBuffer; type: string | null; name: string }; transfer: Transferable[] }> {
  const k = per(s).known.get(id);
  if (!k) throw new CofferError('bad-input', `inbox item ${id} is not listed (reload the inbox)`);
  const pair = await keyPair(s);
  if (!pair) throw new CofferError('bad-input', 'this repository has no inbox key');
  if (k.meta.size > PREVIEW_MAX) throw new CofferError('bad-input', `${k.meta.name} is too large to preview here; decide from its thumbnail`);
  const what = `inbox item ${id}`;
  const sealed = await fetchBytes(`${ITEMS}/${id}/data`, what);
  const reader = new InboxOpener(pair).reader(sealed.subarray(0, SEALED_HEADER_SIZE), sealed.length, what);
  const out = new Uint8Array(reader.size);
  let o = 0;
  for (let i = 0; i < reader.chunks; i++) {
    const r = reader.range(i);
    const plain = reader.open(i, sealed.subarray(r.offset, r.offset + r.length));
    out.set(plain, o);
    o += plain.length;
  }
  if (o !== k.meta.size || toHex(sha256(out)) !== k.meta.sha256) throw new CofferError('corrupt', `${what}: its data does not match the SHA-256 of its meta`);
  return { value: { bytes: out.buffer as ArrayBuffer, type: k.meta.type, name: k.meta.name }, transfer: [out.buffer as ArrayBuffer] };
}

function entryOf(id: string, meta: StagedMeta, sealedLength: number): StagedEntry {
  const what = `inbox item ${id}`;
  return { id, meta, sealedLength, read: (offset, length) => fetchBytes(`${ITEMS}/${id}/data`, what, { offset, length }) };
}

async function drop(id: string, decision: string, sha256: string, snapshot?: string): Promise<void> {
  const q = new URLSearchParams({ decision, sha256, ...(snapshot ? { snapshot } : {}) });
  await must(await fetch(`${ITEMS}/${id}?${q}`, { method: 'DELETE', cache: 'no-store', credentials: 'same-origin' }), `inbox item ${id}`);
}

/**
 * Approves, keeps private or rejects the items `ids` (from the last listing). Approve and private
 * write ONE snapshot for all of them into the primary (tag `album:<A>` too when `album` is given,
 * as `coffer inbox approve --album`); then the staged copies are deleted.
 */
export async function inboxDecide(s: Session, ids: readonly string[], decision: 'approve' | 'private' | 'reject', who: { hostname: string; username: string }, album?: string): Promise<InboxDecisionResult> {
  if (ids.length === 0) throw new CofferError('bad-input', 'select at least one item');
  checkAlbum(album);
  const known = per(s).known;
  const unknown = ids.filter((id) => !known.has(id));
  if (decision === 'reject') {
    // An item that cannot be opened can still be rejected (deleted without a decision log entry).
    for (const id of ids) {
      const k = known.get(id);
      if (k) await drop(id, 'reject', k.meta.sha256);
      else await must(await fetch(`${ITEMS}/${id}`, { method: 'DELETE', cache: 'no-store', credentials: 'same-origin' }), `inbox item ${id}`);
      known.delete(id);
    }
    return { decision, items: [...ids] };
  }
  if (unknown.length) throw new CofferError('bad-input', `inbox item ${unknown.join(', ')} cannot be opened: reject it, or list the inbox again`);
  const pair = await keyPair(s);
  if (!pair) throw new CofferError('bad-input', 'this repository has no inbox key');
  const entries = ids.map((id) => entryOf(id, known.get(id)!.meta, known.get(id)!.sealedLength));
  const source = new StagedSource(entries, new InboxOpener(pair), { uid: 0, gid: 0, user: who.username });
  const r = await backup(s.repo, source, {
    targets: source.roots,
    hostname: who.hostname,
    owner: { hostname: who.hostname, username: who.username, pid: 0 },
    tags: decisionTags(decision, album),
    // Staged files are new by definition: no parent to compare with (nothing to gain from reading one).
    force: true,
  });
  if (!r.snapshotId) throw new CofferError('internal', 'the backup wrote no snapshot');
  if (r.counts.errors > 0) throw new CofferError('source', `${r.counts.errors} item(s) could not be read: nothing was removed from the inbox`);
  for (const e of entries) {
    await drop(e.id, decision, e.meta.sha256, r.snapshotId);
    known.delete(e.id);
  }
  s.refresh();
  return { decision, items: [...ids], snapshot: r.snapshotId, paths: [...r.snapshot.paths], tags: [...(r.snapshot.tags ?? [])] };
}
