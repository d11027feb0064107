/**
 * The share page (`/s/<id>#<key>`, design web-gallery.md §7): reads the key from the fragment
 * (never sent to the server), fetches the sealed manifest and files of the share, and opens them
 * here in the viewer's browser: photos show their preview, every item has a download of its
 * original. A gone link (unknown, expired, revoked) or a wrong key shows `share-error`.
 *
 * Originals are opened a 1 MiB chunk at a time as the response streams in, and handed to the
 * app's service worker (/sw.js, no key in it), which answers a hidden frame's download with a
 * stream: the browser writes the file as it arrives, no whole copy in memory. Without a service
 * worker (plain http on a LAN address) the chunks are gathered into a Blob and saved through an
 * ordinary `<a download>`. Names go through text nodes only.
 */
import { chunkCount, chunkRange, PREFIX_SIZE } from '../../core/crypto/chunked-gcm.js';
import { chunkCipher } from '../../core/share/gcm.js';
import type { StreamPull, StreamPush, StreamRegistration } from '../protocol.js';
import { fileKey, fileNumber, keyOfFragment, openFile, openManifest, sealedSize, type ShareItem, type ShareManifest } from '../../core/share/format.js';

const root = document.getElementById('share')!;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string> = {}, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function showError(message: string): void {
  root.replaceChildren(el('h1', {}, 'This link does not work'), el('p', { 'data-testid': 'share-error', class: 'share-error', role: 'alert' }, message));
}

class Gone extends Error {}

function humanSize(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let u = 0;
  let v = n;
  while (v >= 1024 && u < units.length - 1) (v /= 1024), u++;
  return u === 0 ? `${n} bytes` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[u]}`;
}

async function fetchSealed(url: string): Promise<Response> {
  const res = await fetch(url, { cache: 'no-store', credentials: 'omit', referrerPolicy: 'no-referrer' });
  if (res.status === 404) throw new Gone('gone');
  if (!res.ok) throw new Error(`the server answered ${res.status}`);
  return res;
}

async function fetchBytes(url: string): Promise<Uint8Array> {
  return new Uint8Array(await (await fetchSealed(url)).arrayBuffer());
}

/** Collects fetched pieces and hands out exact-length slices without quadratic copying. */
class Pieces {
  private list: Uint8Array[] = [];
  length = 0;
  push(b: Uint8Array): void {
    this.list.push(b);
    this.length += b.length;
  }
  take(n: number): Uint8Array | undefined {
    if (this.length < n) return undefined;
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.list[0]!;
      const k = Math.min(head.length, n - at);
      out.set(head.subarray(0, k), at);
      at += k;
      if (k === head.length) this.list.shift();
      else this.list[0] = head.subarray(k);
    }
    this.length -= n;
    return out;
  }
}

/**
 * File n (`size` plaintext bytes), opened chunk by chunk as the response streams in: only the
 * chunk being completed is held as ciphertext. Throws on a cut, overlong or damaged stream.
 */
async function* openChunks(base: string, key: Uint8Array, id: string, n: number, size: number): AsyncGenerator<Uint8Array> {
  const res = await fetchSealed(`${base}/f/${n}`);
  if (!res.body) throw new Error('no response body');
  const cipher = await chunkCipher(fileKey(key, id, n));
  const total = sealedSize(size);
  const chunks = chunkCount(size);
  const reader = res.body.getReader();
  const pieces = new Pieces();
  let header: Uint8Array | undefined;
  let index = 0;
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (value) {
        received += value.length;
        if (received > total) throw new Error('the file is longer than the share says');
        pieces.push(value);
      }
      header ??= pieces.take(PREFIX_SIZE);
      while (header && index < chunks) {
        const r = chunkRange(size, index);
        const sealed = pieces.take(r.length);
        if (!sealed) break;
        yield await cipher.open(header, index, r.final, sealed, `file ${n}`);
        index++;
      }
      if (done) break;
    }
  } finally {
    reader.cancel().catch(() => undefined);
  }
  if (received !== total || index !== chunks || pieces.length) throw new Error('the file was cut short');
}

async function serviceWorker(waitMs: number): Promise<ServiceWorker | undefined> {
  const sw = navigator.serviceWorker;
  if (!sw) return undefined;
  if (sw.controller) return sw.controller;
  await Promise.race([new Promise((r) => sw.addEventListener('controllerchange', r, { once: true })), new Promise((r) => setTimeout(r, waitMs))]);
  return sw.controller ?? undefined;
}

/**
 * Saves file n through the app's service worker (/sw.js, which holds no key): it answers a
 * hidden frame's `/_stream/<token>/<name>` with a stream that pulls each opened chunk from here,
 * so the browser writes the file as it arrives and no whole copy sits in memory. Without a
 * service worker (plain http on a LAN address), the chunks are gathered into a Blob.
 */
async function download(base: string, key: Uint8Array, id: string, n: number, item: ShareItem, progress: (done: number) => void): Promise<'stream' | 'blob'> {
  const chunks = openChunks(base, key, id, n, item.size);
  let done = 0;
  const sw = await serviceWorker(3000);
  if (!sw) {
    const parts: Uint8Array[] = [];
    for await (const c of chunks) {
      parts.push(c);
      progress((done += c.length));
    }
    saveBlob(new Blob(parts as BlobPart[], { type: item.mime || 'application/octet-stream' }), item.name);
    return 'blob';
  }
  // The first chunk before the frame opens: a gone link shows share-error, not a broken download.
  const first = await chunks.next();
  const data = new MessageChannel();
  const token = Array.from(crypto.getRandomValues(new Uint8Array(16)), (x) => x.toString(16).padStart(2, '0')).join('');
  const reg: StreamRegistration = { type: 'coffer-stream', token, name: item.name, mime: item.mime || 'application/octet-stream', size: item.size };
  const reply = new MessageChannel();
  const ready = new Promise<void>((resolve) => (reply.port1.onmessage = () => resolve()));
  sw.postMessage(reg, [data.port2, reply.port2]);
  await ready;
  reply.port1.close();
  const finished = new Promise<void>((resolve, reject) => {
    let queue: Promise<void> = Promise.resolve();
    let pendingFirst: IteratorResult<Uint8Array> | undefined = first;
    const send = (m: StreamPush, t: Transferable[] = []): void => data.port1.postMessage(m, t);
    data.port1.onmessage = (e: MessageEvent<StreamPull>) => {
      if ('cancel' in e.data) {
        void chunks.return(undefined);
        data.port1.close();
        reject(new Error('cancelled'));
        return;
      }
      // One answer per pull, in order.
      queue = queue.then(async () => {
        try {
          const r = pendingFirst ?? (await chunks.next());
          pendingFirst = undefined;
          if (r.done) {
            send({ done: true });
            data.port1.close();
            resolve();
            return;
          }
          const buf = r.value.slice().buffer as ArrayBuffer;
          progress((done += r.value.length));
          send({ chunk: buf }, [buf]);
        } catch (err) {
          send({ error: (err as Error).message });
          data.port1.close();
          reject(err);
        }
      });
    };
  });
  const frame = el('iframe', { hidden: '', src: `/_stream/${token}/${encodeURIComponent(item.name)}` });
  document.body.append(frame);
  try {
    await finished;
  } finally {
    setTimeout(() => frame.remove(), 60_000);
  }
  return 'stream';
}

function onError(e: unknown): void {
  if (e instanceof Gone) showError('This link has expired or was revoked.');
}

const pictures = new Map<number, Promise<string>>();

/** A blob: URL of image file n, opened once. */
function picture(base: string, key: Uint8Array, id: string, n: number, mime: string): Promise<string> {
  let p = pictures.get(n);
  if (!p) {
    p = fetchBytes(`${base}/f/${n}`).then((sealed) => URL.createObjectURL(new Blob([openFile(key, id, n, sealed) as BlobPart], { type: mime })));
    pictures.set(n, p);
    p.catch(() => pictures.delete(n));
  }
  return p;
}

const near = new Map<Element, () => void>();
const observer = typeof IntersectionObserver === 'function'
  ? new IntersectionObserver((entries) => {
      for (const e of entries) {
        if (!e.isIntersecting) continue;
        observer!.unobserve(e.target);
        near.get(e.target)?.();
        near.delete(e.target);
      }
    }, { rootMargin: '600px' })
  : undefined;

function whenNear(target: Element, run: () => void): void {
  if (!observer) return run();
  near.set(target, run);
  observer.observe(target);
}

function lightbox(url: string, name: string): void {
  const img = el('img', { alt: name, 'data-testid': 'share-preview' });
  img.src = url;
  const box = el('div', { class: 'share-lightbox', role: 'dialog', 'aria-label': name, tabindex: '-1' });
  box.append(img);
  const close = (): void => {
    box.remove();
    document.removeEventListener('keydown', onKey);
  };
  const onKey = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') close();
  };
  box.addEventListener('click', close);
  document.addEventListener('keydown', onKey);
  document.body.append(box);
  box.focus();
}

function saveBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = el('a', { href: url, download: name });
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

function itemView(item: ShareItem, k: number, base: string, key: Uint8Array, id: string): HTMLElement {
  const li = el('li', { 'data-testid': 'share-item', class: 'share-item', 'data-name': item.name, 'data-size': String(item.size), 'data-mime': item.mime });
  const figure = el('div', { class: 'share-figure' });
  li.append(figure);
  const caption = el('div', { class: 'share-caption' });
  caption.append(el('span', { class: 'share-name' }, item.name), el('span', { class: 'share-size' }, humanSize(item.size)));
  if (item.taken) caption.append(el('span', { class: 'share-taken' }, item.taken.replace('T', ' ')));
  const button = el('button', { type: 'button', 'data-testid': 'share-download', class: 'share-download' }, 'Download');
  const status = el('span', { class: 'share-progress' });
  caption.append(button, status);
  li.append(caption);

  // In the grid: the thumbnail (else the preview, else a small image original), fetched when the
  // card nears the screen; a click shows the preview large.
  const original = fileNumber(k, 'original');
  const small = item.hasThumb ? fileNumber(k, 'thumb') : item.hasPreview ? fileNumber(k, 'preview') : item.mime.startsWith('image/') && item.size <= 16 << 20 ? original : undefined;
  const large = item.hasPreview ? fileNumber(k, 'preview') : small;
  if (small !== undefined) {
    figure.classList.add('loading');
    whenNear(figure, () =>
      void picture(base, key, id, small, small === original ? item.mime : 'image/webp')
        .then((url) => {
          const img = el('img', { alt: item.name, 'data-testid': 'share-image', decoding: 'async' });
          img.src = url;
          figure.classList.remove('loading');
          figure.append(img);
          figure.addEventListener('click', () => void picture(base, key, id, large!, large === original ? item.mime : 'image/webp').then((u) => lightbox(u, item.name), onError));
        })
        .catch((e) => {
          figure.classList.remove('loading');
          figure.classList.add('broken');
          onError(e);
        }),
    );
  } else {
    figure.classList.add('file');
    figure.append(el('span', { class: 'share-ext' }, (item.name.split('.').pop() ?? '').slice(0, 5).toUpperCase() || 'FILE'));
  }

  button.addEventListener('click', () => {
    button.disabled = true;
    status.textContent = '…';
    void download(base, key, id, fileNumber(k, 'original'), item, (d) => (status.textContent = `${Math.floor((100 * d) / Math.max(1, item.size))}%`))
      .then((via) => {
        status.textContent = 'Saved';
        li.setAttribute('data-downloaded', via);
      })
      .catch((e) => {
        if (e instanceof Gone) showError('This link has expired or was revoked.');
        else status.textContent = `Failed: ${(e as Error).message}`;
      })
      .finally(() => (button.disabled = false));
  });
  return li;
}

async function main(): Promise<void> {
  const id = /^\/s\/([A-Za-z0-9_-]{22})\/?$/.exec(location.pathname)?.[1];
  const key = keyOfFragment(location.hash);
  if (!id || !key) return showError('The link is incomplete: the part after “#” is missing or damaged.');
  const base = `/s/${id}`;
  // The app's service worker streams big downloads to disk (see download); it holds no key.
  void navigator.serviceWorker?.register('/sw.js', { type: 'module', scope: '/' }).catch(() => undefined);
  let m: ShareManifest;
  try {
    m = openManifest(key, id, await fetchBytes(`${base}/m`));
  } catch (e) {
    return showError(e instanceof Gone ? 'This link has expired, was revoked, or never existed.' : 'This link cannot be opened: its key does not match the shared files.');
  }
  if (m.expires <= Date.now()) return showError('This link has expired.');
  const list = el('ul', { class: 'share-grid', 'data-testid': 'share-list', 'data-count': String(m.items.length) });
  m.items.forEach((item, k) => list.append(itemView(item, k, base, key, id)));
  const head = el('header', { class: 'share-head' });
  head.append(
    el('h1', {}, m.items.length === 1 ? 'A file shared with you' : `${m.items.length} files shared with you`),
    el('p', { class: 'share-meta', 'data-testid': 'share-expires', 'data-expires': new Date(m.expires).toISOString() }, `Opened in your browser: the server only holds encrypted data. Available until ${new Date(m.expires).toLocaleString()}.`),
  );
  const all = el('button', { type: 'button', class: 'share-all' }, 'Download all');
  all.addEventListener('click', () => list.querySelectorAll<HTMLButtonElement>('[data-testid=share-download]').forEach((b) => b.click()));
  if (m.items.length > 1) head.append(all);
  root.replaceChildren(head, list);
  document.title = m.items.length === 1 ? `${m.items[0]!.name} · shared with Coffer` : `${m.items.length} files · shared with Coffer`;
}

void main().catch((e) => showError(`Something went wrong: ${(e as Error).message}`));
