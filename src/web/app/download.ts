/**
 * @module web/app/download
 * Downloads through the browser's own download manager, streamed: the worker decrypts piece by
 * piece into a MessagePort, and the service worker (sw.ts) answers `/_stream/<token>/<name>`
 * from that port, so a multi-GiB file or a zip of a big folder is never whole in memory.
 *
 * Without a service worker (a plain-HTTP address that is not localhost is not a "secure
 * context", so browsers disable them) the pieces are gathered into a Blob instead (Chromium
 * spills big Blobs to disk, other browsers may not) and the user is told so.
 */
import type { StreamPush, StreamRegistration } from '../protocol.js';
import type { WorkerClient } from './worker-client.js';

export interface DownloadRequest {
  readonly snapshot: string;
  readonly path: string;
  readonly kind: 'file' | 'zip';
  readonly name: string;
  readonly mime: string;
}

function token(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

function clickLink(href: string, name: string): void {
  const a = document.createElement('a');
  a.href = href;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/**
 * Chromium does not route `<a download>` requests through the service worker, but it does route
 * a frame's navigation: a hidden same-origin iframe opens the stream URL, and the response's
 * `Content-Disposition: attachment` turns it into a download (the frame stays blank).
 */
function viaFrame(href: string): void {
  const f = document.createElement('iframe');
  f.hidden = true;
  f.src = href;
  document.body.appendChild(f);
  setTimeout(() => f.remove(), 60_000);
}

async function controller(waitMs: number): Promise<ServiceWorker | undefined> {
  const sw = navigator.serviceWorker;
  if (!sw) return undefined;
  if (sw.controller) return sw.controller;
  await Promise.race([new Promise((r) => sw.addEventListener('controllerchange', r, { once: true })), new Promise((r) => setTimeout(r, waitMs))]);
  return sw.controller ?? undefined;
}

export class Downloads {
  /** Registers the service worker (call once at start). */
  static async register(): Promise<void> {
    if (!('serviceWorker' in navigator)) return;
    try {
      await navigator.serviceWorker.register('/sw.js', { type: 'module', scope: '/' });
    } catch {
      // Not a secure context, or disabled: downloads fall back to Blobs.
    }
  }

  /** Whether streamed downloads are available. */
  get streaming(): boolean {
    return !!navigator.serviceWorker?.controller;
  }

  /**
   * A URL that serves a file with Range requests (for <video>/<audio>: they seek and play while
   * loading), or undefined without a service worker. Valid while the page and its worker live.
   */
  async mediaUrl(client: WorkerClient, d: { snapshot: string; path: string; name: string; mime: string }): Promise<{ url: string; release(): void } | undefined> {
    const sw = await controller(1000);
    if (!sw) return undefined;
    const data = new MessageChannel();
    const { size } = await client.call({ op: 'ranges', snapshot: d.snapshot, path: d.path }, [data.port1]);
    const t = token();
    const reg: StreamRegistration = { type: 'coffer-media', token: t, name: d.name, mime: d.mime, size };
    const reply = new MessageChannel();
    const ready = new Promise<void>((resolve) => (reply.port1.onmessage = () => resolve()));
    sw.postMessage(reg, [data.port2, reply.port2]);
    await ready;
    reply.port1.close();
    return {
      url: `/_stream/${t}/${encodeURIComponent(d.name)}`,
      release: () => sw.postMessage({ type: 'coffer-media-end', token: t, name: '', mime: '' } satisfies StreamRegistration),
    };
  }

  async start(client: WorkerClient, d: DownloadRequest): Promise<'stream' | 'blob'> {
    const data = new MessageChannel();
    const { size } = await client.call({ op: 'stream', snapshot: d.snapshot, path: d.path, kind: d.kind }, [data.port1]);
    const sw = await controller(3000);
    if (sw) {
      const t = token();
      const reg: StreamRegistration = { type: 'coffer-stream', token: t, name: d.name, mime: d.mime, ...(size !== undefined ? { size } : {}) };
      const reply = new MessageChannel();
      const ready = new Promise<void>((resolve) => (reply.port1.onmessage = () => resolve()));
      sw.postMessage(reg, [data.port2, reply.port2]);
      await ready;
      reply.port1.close();
      viaFrame(`/_stream/${t}/${encodeURIComponent(d.name)}`);
      return 'stream';
    }
    const blob = await gather(data.port2, d.mime);
    const url = URL.createObjectURL(blob);
    clickLink(url, d.name);
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    return 'blob';
  }
}

function gather(port: MessagePort, mime: string): Promise<Blob> {
  const parts: ArrayBuffer[] = [];
  return new Promise((resolve, reject) => {
    port.onmessage = (e: MessageEvent<StreamPush>) => {
      const m = e.data;
      if (m.error !== undefined) {
        port.close();
        reject(new Error(m.error));
        return;
      }
      if (m.chunk) parts.push(m.chunk);
      if (m.done) {
        port.close();
        resolve(new Blob(parts, { type: mime }));
      } else port.postMessage({ pull: true });
    };
    // A few pieces asked for ahead (worker/pump.ts), so the worker never waits for the next ask.
    for (let i = 0; i < 4; i++) port.postMessage({ pull: true });
  });
}
