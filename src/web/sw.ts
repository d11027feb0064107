/**
 * @module web/sw
 * The service worker (design web-gallery.md §1): it holds no key and sees no password. It only
 * turns a MessagePort from the dedicated worker into an ordinary HTTP download, so the browser
 * saves a multi-GiB file or a zip of a folder as it streams, without a whole copy in memory:
 *
 *   page: registers {token, name, mime, size} + port  ->  sw keeps it (one use)
 *   page: navigates a hidden link to /_stream/<token>/<name>  ->  sw answers with a
 *         ReadableStream that pulls decrypted pieces from the port (back-pressure: one pull
 *         per piece the browser is ready to take).
 *
 * Everything else goes to the network untouched. It imports nothing (served at /sw.js).
 */
import type { StreamPush, StreamRegistration } from './protocol.js';

interface FetchEventLike extends Event {
  readonly request: Request;
  respondWith(r: Response | Promise<Response>): void;
}
interface ExtendableEventLike extends Event {
  waitUntil(p: Promise<unknown>): void;
}
interface SwScope {
  addEventListener(type: 'install', fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'activate', fn: (e: ExtendableEventLike) => void): void;
  addEventListener(type: 'fetch', fn: (e: FetchEventLike) => void): void;
  addEventListener(type: 'message', fn: (e: MessageEvent) => void): void;
  skipWaiting(): Promise<void>;
  readonly clients: { claim(): Promise<void> };
}
const sw = self as unknown as SwScope;

const pending = new Map<string, { reg: StreamRegistration; port: MessagePort; at: number }>();
const MAX_WAIT_MS = 60_000;

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener('message', (e: MessageEvent) => {
  const reg = e.data as StreamRegistration;
  if (reg?.type !== 'coffer-stream' || !e.ports[0] || !e.ports[1]) return;
  const now = Date.now();
  for (const [t, p] of pending) if (now - p.at > MAX_WAIT_MS) pending.delete(t);
  pending.set(reg.token, { reg, port: e.ports[0], at: now });
  e.ports[1].postMessage({ ready: true });
  e.ports[1].close();
});

function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

function streamFrom(port: MessagePort): ReadableStream<Uint8Array> {
  let waiting: ((m: StreamPush) => void) | undefined;
  port.onmessage = (e: MessageEvent<StreamPush>) => waiting?.(e.data);
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        const m = await new Promise<StreamPush>((resolve) => {
          waiting = resolve;
          port.postMessage({ pull: true });
        });
        if (m.error !== undefined) {
          controller.error(new Error(m.error));
          port.close();
          return;
        }
        if (m.chunk && m.chunk.byteLength) controller.enqueue(new Uint8Array(m.chunk));
        if (m.done) {
          controller.close();
          port.close();
        }
      },
      cancel() {
        port.postMessage({ cancel: true });
        port.close();
      },
    },
    { highWaterMark: 2 },
  );
}

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/_stream/')) return;
  const token = url.pathname.split('/')[2] ?? '';
  const p = pending.get(token);
  pending.delete(token);
  if (!p) {
    e.respondWith(new Response('This download has expired: start it again from the page.', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } }));
    return;
  }
  const headers: Record<string, string> = {
    'Content-Type': p.reg.mime,
    'Content-Disposition': contentDisposition(p.reg.name),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  };
  if (p.reg.size !== undefined) headers['Content-Length'] = String(p.reg.size);
  e.respondWith(new Response(streamFrom(p.port), { status: 200, headers }));
});
