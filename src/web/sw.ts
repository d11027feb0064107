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
import type { RangeAnswer, StreamPush, StreamRegistration } from './protocol.js';

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

/** Media files served with Range requests, each over its port to the worker (multiplexed by id). */
interface Media {
  readonly reg: StreamRegistration;
  readonly port: MessagePort;
  readonly waiting: Map<number, (a: RangeAnswer) => void>;
  nextId: number;
}
const media = new Map<string, Media>();
const PIECE = 1024 * 1024;
const ANSWER_MS = 30_000;

function ask(m: Media, start: number, end: number): Promise<Uint8Array> {
  const id = m.nextId++;
  return new Promise((resolve, reject) => {
    // A locked page terminated its worker: the port never answers.
    const timer = setTimeout(() => {
      m.waiting.delete(id);
      reject(new Error('the page was locked or closed'));
    }, ANSWER_MS);
    m.waiting.set(id, (a) => {
      clearTimeout(timer);
      if (a.error !== undefined || !a.chunk) reject(new Error(a.error ?? 'no data'));
      else resolve(new Uint8Array(a.chunk));
    });
    m.port.postMessage({ id, start, end });
  });
}

/** bytes=a-b, bytes=a-, bytes=-n against `size`: [start, end) or undefined when unsatisfiable. */
function parseRange(h: string | null, size: number): { start: number; end: number } | undefined | 'whole' {
  if (!h) return 'whole';
  const m = /^bytes=(\d*)-(\d*)$/.exec(h.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'whole';
  if (m[1] === '') {
    const n = Math.min(Number(m[2]), size);
    return n > 0 ? { start: size - n, end: size } : undefined;
  }
  const start = Number(m[1]);
  const end = m[2] === '' ? size : Math.min(size, Number(m[2]) + 1);
  return start < size && start < end ? { start, end } : undefined;
}

function answerMedia(m: Media, req: Request): Response {
  const size = m.reg.size ?? 0;
  const r = parseRange(req.headers.get('range'), size);
  if (r === undefined) return new Response(null, { status: 416, headers: { 'Content-Range': `bytes */${size}` } });
  const { start, end } = r === 'whole' ? { start: 0, end: size } : r;
  let at = start;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (at >= end) {
        controller.close();
        return;
      }
      const to = Math.min(end, at + PIECE);
      try {
        const b = await ask(m, at, to);
        at = to;
        controller.enqueue(b);
      } catch (e) {
        controller.error(e);
      }
    },
  });
  const headers: Record<string, string> = { 'Content-Type': m.reg.mime, 'Accept-Ranges': 'bytes', 'Content-Length': String(end - start), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' };
  if (r === 'whole') return new Response(body, { status: 200, headers });
  return new Response(body, { status: 206, headers: { ...headers, 'Content-Range': `bytes ${start}-${end - 1}/${size}` } });
}

sw.addEventListener('install', (e) => e.waitUntil(sw.skipWaiting()));
sw.addEventListener('activate', (e) => e.waitUntil(sw.clients.claim()));

sw.addEventListener('message', (e: MessageEvent) => {
  const reg = e.data as StreamRegistration;
  if (reg?.type === 'coffer-media-end') {
    const m = media.get(reg.token);
    media.delete(reg.token);
    m?.port.postMessage({ id: 0, start: -1, end: -1 });
    m?.port.close();
    return;
  }
  if ((reg?.type !== 'coffer-stream' && reg?.type !== 'coffer-media') || !e.ports[0] || !e.ports[1]) return;
  const now = Date.now();
  for (const [t, p] of pending) if (now - p.at > MAX_WAIT_MS) pending.delete(t);
  if (reg.type === 'coffer-media') {
    const m: Media = { reg, port: e.ports[0], waiting: new Map(), nextId: 1 };
    m.port.onmessage = (ev: MessageEvent<RangeAnswer>) => {
      const w = m.waiting.get(ev.data.id);
      m.waiting.delete(ev.data.id);
      w?.(ev.data);
    };
    media.set(reg.token, m);
  } else pending.set(reg.token, { reg, port: e.ports[0], at: now });
  e.ports[1].postMessage({ ready: true });
  e.ports[1].close();
});

function contentDisposition(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Pieces asked for ahead of the browser's reads: the worker never waits a round trip (pump.ts). */
const WINDOW = 8;

function streamFrom(port: MessagePort): ReadableStream<Uint8Array> {
  let asked = 0; // pulls sent whose piece has not arrived yet
  let wake: (() => void) | undefined;
  let ended = false;
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        port.onmessage = (e: MessageEvent<StreamPush>) => {
          const m = e.data;
          asked--;
          if (ended) return;
          if (m.error !== undefined) {
            ended = true;
            controller.error(new Error(m.error));
            port.close();
          } else {
            if (m.chunk && m.chunk.byteLength) controller.enqueue(new Uint8Array(m.chunk));
            if (m.done) {
              ended = true;
              controller.close();
              port.close();
            }
          }
          const w = wake;
          wake = undefined;
          w?.();
        };
      },
      // Called while the queue holds fewer than WINDOW pieces: keep queued + asked at WINDOW,
      // then wait for a piece (the stream calls again when the browser has read more).
      pull(controller) {
        if (ended) return;
        if (asked < (controller.desiredSize ?? 0)) {
          asked++;
          port.postMessage({ pull: true });
          return;
        }
        return new Promise<void>((resolve) => (wake = resolve));
      },
      cancel() {
        ended = true;
        port.postMessage({ cancel: true });
        port.close();
      },
    },
    { highWaterMark: WINDOW },
  );
}

sw.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== self.location.origin || !url.pathname.startsWith('/_stream/')) return;
  const token = url.pathname.split('/')[2] ?? '';
  const m = media.get(token);
  if (m) {
    e.respondWith(answerMedia(m, e.request));
    return;
  }
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
