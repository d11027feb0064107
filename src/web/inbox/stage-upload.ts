/**
 * @module web/inbox/stage-upload
 * Stages one file in the inbox from a browser that knows only the inbox public key (the phone
 * page, design web-gallery.md §6): the file is read a 1 MiB chunk at a time, hashed, sealed
 * (core/inbox/seal.ts) and PUT in pieces of a few sealed chunks at offsets the server checks;
 * then the sealed thumbnail, the sealed meta (name, size, dates, sha256) and a commit. Nothing
 * but sealed bytes and a random stage id leave the browser.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { CHUNK_SIZE, chunkCount } from '../../core/crypto/chunked-gcm.js';
import { InboxSealer, sealForInbox } from '../../core/inbox/seal.js';
import { dedupDigest, encodeMeta, takenFromBytes, type StagedMeta } from '../../core/inbox/staged.js';

/** Sealed chunks per PUT: ~2 MiB per request keeps a phone's memory and a retry on flaky Wi-Fi small. */
const CHUNKS_PER_PUT = 2;
const TRIES = 4;

export interface UploadTarget {
  /** The upload token (Authorization: Bearer), or undefined for the signed-in page (cookie). */
  readonly token?: string;
  readonly publicKey: Uint8Array;
  /** `upload:<device>` */
  readonly source: string;
}

export function newStageId(): string {
  return bytesToHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** A device name for snapshot paths (`/inbox/<device>`): lower case letters, digits and dashes. */
export function deviceName(s: string): string {
  const d = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32);
  return d || 'phone';
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** PUTs `body` at `offset`; retries network failures, and accepts a piece the server already has. */
async function putPiece(target: UploadTarget, url: string, offset: number, body: Uint8Array, last: boolean, signal?: AbortSignal): Promise<void> {
  const q = `?offset=${offset}${last ? '&last=1' : ''}`;
  let lastError = '';
  for (let attempt = 0; attempt < TRIES; attempt++) {
    if (attempt) await delay(500 * 2 ** attempt);
    let res: Response;
    try {
      res = await fetch(url + q, {
        method: 'PUT',
        body: body as Uint8Array<ArrayBuffer>,
        headers: { 'Content-Type': 'application/octet-stream', ...(target.token ? { Authorization: `Bearer ${target.token}` } : {}) },
        credentials: 'same-origin',
        cache: 'no-store',
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      lastError = (e as Error).message;
      continue;
    }
    if (res.ok) return;
    const answer = (await res.json().catch(() => ({}))) as { error?: string; size?: number; complete?: boolean };
    // The previous try landed but its answer was lost: the server is past this piece.
    if (attempt > 0 && res.status === 409 && answer.size === offset + body.length && (!last || answer.complete)) return;
    if (res.status >= 500) {
      lastError = answer.error ?? `HTTP ${res.status}`;
      continue;
    }
    throw new Error(answer.error ?? `upload refused (HTTP ${res.status})`);
  }
  throw new Error(`upload failed: ${lastError}`);
}

async function putWhole(target: UploadTarget, url: string, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  await putPiece(target, url, 0, bytes, true, signal);
}

export interface StageProgress {
  /** Plaintext bytes sealed and sent so far. */
  (sent: number, total: number): void;
}

/**
 * Seals and uploads `file` with its thumbnail (WebP bytes, or undefined). Returns the stage id
 * and the meta. `progress` is called after every piece.
 */
export async function stageUpload(file: File, thumb: Uint8Array | undefined, target: UploadTarget, progress?: StageProgress, signal?: AbortSignal): Promise<{ id: string; meta: StagedMeta }> {
  const id = newStageId();
  const base = `/api/inbox/items/${id}`;
  const sealer = new InboxSealer(target.publicKey);
  const hash = sha256.create();
  const n = chunkCount(file.size);
  let head: Uint8Array | undefined;
  let pending: Uint8Array[] = [sealer.header];
  let pendingBytes = sealer.header.length;
  let offset = 0;
  for (let i = 0; i < n; i++) {
    if (signal?.aborted) throw new Error('cancelled');
    const plain = new Uint8Array(await file.slice(i * CHUNK_SIZE, Math.min(file.size, (i + 1) * CHUNK_SIZE)).arrayBuffer());
    if (i === 0) head = plain.slice(0, 256 * 1024);
    hash.update(plain);
    const sealed = sealer.seal(plain, i === n - 1);
    pending.push(sealed);
    pendingBytes += sealed.length;
    // The first piece also carries the sealed header.
    if ((i + 1) % CHUNKS_PER_PUT === 0 || i === n - 1) {
      const body = new Uint8Array(pendingBytes);
      let o = 0;
      for (const p of pending) {
        body.set(p, o);
        o += p.length;
      }
      await putPiece(target, `${base}/data`, offset, body, i === n - 1, signal);
      offset += body.length;
      pending = [];
      pendingBytes = 0;
      progress?.(Math.min(file.size, (i + 1) * CHUNK_SIZE), file.size);
    }
  }
  const meta: StagedMeta = {
    v: 1,
    name: file.name,
    size: file.size,
    mtime: file.lastModified,
    sha256: bytesToHex(hash.digest()),
    type: file.type || null,
    source: target.source,
    added: new Date().toISOString(),
    taken: head ? takenFromBytes(head) : null,
  };
  if (thumb) await putWhole(target, `${base}/thumb`, sealForInbox(target.publicKey, thumb), signal);
  await putWhole(target, `${base}/meta`, sealForInbox(target.publicKey, encodeMeta(meta)), signal);
  // Lets the watched-folder scanner (public key only) skip this content while it is pending.
  await putWhole(target, `${base}/dedup`, new TextEncoder().encode(dedupDigest(target.publicKey, meta.sha256) + '\n'), signal);
  await commit(target, base, signal);
  return { id, meta };
}

/** Makes the staged item visible; a retry after a lost answer finds it committed. */
async function commit(target: UploadTarget, url: string, signal?: AbortSignal): Promise<void> {
  let lastError = '';
  for (let attempt = 0; attempt < TRIES; attempt++) {
    if (attempt) await delay(500 * 2 ** attempt);
    let res: Response;
    try {
      res = await fetch(url, {
        method: 'PUT',
        headers: target.token ? { Authorization: `Bearer ${target.token}` } : {},
        credentials: 'same-origin',
        cache: 'no-store',
        ...(signal ? { signal } : {}),
      });
    } catch (e) {
      if (signal?.aborted) throw e;
      lastError = (e as Error).message;
      continue;
    }
    if (res.ok) return;
    const answer = (await res.json().catch(() => ({}))) as { error?: string; committed?: boolean };
    if (attempt > 0 && res.status === 409 && answer.committed) return;
    if (res.status >= 500) {
      lastError = answer.error ?? `HTTP ${res.status}`;
      continue;
    }
    throw new Error(answer.error ?? `commit refused (HTTP ${res.status})`);
  }
  throw new Error(`upload failed: ${lastError}`);
}

/** Longest side of the thumbnails made in the browser (the gallery's grid cells are smaller). */
export const THUMB_SIDE = 360;

function drawScaled(src: CanvasImageSource, w: number, h: number): Promise<Uint8Array | undefined> {
  if (!w || !h) return Promise.resolve(undefined);
  const scale = Math.min(1, THUMB_SIDE / Math.max(w, h));
  const cw = Math.max(1, Math.round(w * scale));
  const ch = Math.max(1, Math.round(h * scale));
  const canvas = document.createElement('canvas');
  canvas.width = cw;
  canvas.height = ch;
  const g = canvas.getContext('2d');
  if (!g) return Promise.resolve(undefined);
  g.drawImage(src, 0, 0, cw, ch);
  return new Promise((resolve) => {
    canvas.toBlob((b) => {
      if (!b) resolve(undefined);
      else void b.arrayBuffer().then((a) => resolve(new Uint8Array(a)), () => resolve(undefined));
    }, 'image/webp', 0.8);
  });
}

/** A WebP thumbnail made in the browser (createImageBitmap, or a video's first frame), or undefined. */
export async function makeThumb(file: File): Promise<Uint8Array | undefined> {
  if (file.type.startsWith('video/')) return videoThumb(file);
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    try {
      return await drawScaled(bmp, bmp.width, bmp.height);
    } finally {
      bmp.close();
    }
  } catch {
    return undefined; // a format this browser cannot decode (HEIC on most): the grid shows a placeholder
  }
}

async function videoThumb(file: File): Promise<Uint8Array | undefined> {
  const url = URL.createObjectURL(file);
  const v = document.createElement('video');
  v.muted = true;
  v.preload = 'auto';
  v.playsInline = true;
  try {
    const ready = new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), 8000);
      v.onloadeddata = () => {
        v.currentTime = Math.min(0.5, (v.duration || 1) / 2);
      };
      v.onseeked = () => {
        clearTimeout(t);
        resolve(true);
      };
      v.onerror = () => {
        clearTimeout(t);
        resolve(false);
      };
    });
    v.src = url;
    if (!(await ready)) return undefined;
    return await drawScaled(v, v.videoWidth, v.videoHeight);
  } finally {
    URL.revokeObjectURL(url);
    v.removeAttribute('src');
  }
}
