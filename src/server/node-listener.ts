/**
 * @module server/node-listener
 * Hosts a web-standard handler `(Request) => Promise<Response>` on node:http. Request bodies are
 * passed on as streams and response bodies are streamed out, so the listener itself buffers
 * nothing; the handler decides how much to hold (the REST app holds one file).
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';

export type WebHandler = (req: Request, info?: { remoteAddress?: string }) => Promise<Response>;

/** A node:http request callback that runs `handler`. */
export function toNodeHandler(handler: WebHandler): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    void serve(handler, req, res);
  };
}

async function serve(handler: WebHandler, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const abort = new AbortController();
  // The client went away before we answered: stop the handler's backend work.
  res.on('close', () => {
    if (!res.writableFinished) abort.abort();
  });
  try {
    const request = toWebRequest(req, abort.signal);
    const response = await handler(request, req.socket.remoteAddress !== undefined ? { remoteAddress: req.socket.remoteAddress } : {});
    await writeWebResponse(response, res, req.method === 'HEAD');
  } catch (e) {
    if (!res.headersSent) {
      res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('Internal Server Error');
    } else {
      res.destroy(e instanceof Error ? e : undefined);
    }
  }
}

export function toWebRequest(req: http.IncomingMessage, signal?: AbortSignal): Request {
  const host = req.headers.host ?? 'localhost';
  const target = req.url ?? '/';
  // An origin-form target ("/path") is appended, never resolved: resolving "//x/config" against
  // the base would make "x" the host and "/config" the path, so the handler would act on another
  // repository than the one the request line names.
  const resolve = (origin: string): URL => (target.startsWith('/') ? new URL(origin + target) : new URL(target, origin));
  let url: URL;
  try {
    url = resolve(`http://${host}`);
  } catch {
    url = resolve('http://localhost'); // a malformed Host header
  }
  const headers = new Headers();
  for (let i = 0; i < req.rawHeaders.length; i += 2) headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
  const method = req.method ?? 'GET';
  const init: RequestInit & { duplex?: 'half' } = { method, headers };
  if (signal) init.signal = signal;
  if (method !== 'GET' && method !== 'HEAD') {
    init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
    init.duplex = 'half'; // required by fetch's Request for a stream body
  }
  return new Request(url, init);
}

export async function writeWebResponse(response: Response, res: http.ServerResponse, head: boolean): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  response.headers.forEach((value, key) => {
    headers[key] = value;
  });
  res.writeHead(response.status, response.statusText || undefined, headers);
  if (head || !response.body) {
    await response.body?.cancel().catch(() => undefined);
    res.end();
    return;
  }
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      // Respect back-pressure: wait for drain before reading more.
      if (!res.write(value)) await drained(res);
      if (res.destroyed) {
        await reader.cancel().catch(() => undefined);
        return;
      }
    }
    res.end();
  } finally {
    reader.releaseLock();
  }
}

/** Resolves on 'drain' or 'close', removing both listeners (one 'close' per chunk would pile up). */
function drained(res: http.ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.once('drain', done).once('close', done);
  });
}

export interface Listening {
  readonly server: http.Server;
  /** `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/** Starts a node:http server for `handler` on host:port (port 0 = any free port). */
export async function listen(handler: WebHandler, opts: { host?: string; port?: number } = {}): Promise<Listening> {
  const host = opts.host ?? '127.0.0.1';
  const server = http.createServer(toNodeHandler(handler));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((e) => (e ? reject(e) : resolve()));
        server.closeAllConnections();
      }),
  };
}

export interface ServeListening extends Listening {
  /**
   * Graceful stop: no new connections, idle keep-alive connections closed, in-flight requests
   * finish (connections still busy after `graceMs` are cut), then resolves.
   */
  shutdown(graceMs?: number): Promise<void>;
}

/**
 * Like `listen`, for long-running servers: optional TLS (PEM cert and key) and a graceful
 * `shutdown` that lets in-flight requests finish.
 */
export async function listenServer(handler: WebHandler, opts: { host?: string; port?: number; tls?: { cert: string | Buffer; key: string | Buffer } } = {}): Promise<ServeListening> {
  const host = opts.host ?? '127.0.0.1';
  const onRequest = toNodeHandler(handler);
  let inFlight = 0;
  let closing = false;
  let drained: (() => void) | undefined;
  const tracked = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    inFlight++;
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      inFlight--;
      if (closing) {
        server.closeIdleConnections();
        if (inFlight === 0) drained?.();
      }
    });
    onRequest(req, res);
  };
  const server: http.Server = opts.tls ? https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, tracked) : http.createServer(tracked);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const close = (): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      server.close((e) => (e ? reject(e) : resolve()));
      server.closeAllConnections();
    });
  return {
    server,
    port,
    url: `${opts.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close,
    async shutdown(graceMs = 30_000): Promise<void> {
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      if (inFlight > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([new Promise<void>((r) => (drained = r)), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      server.closeAllConnections();
      await closed;
    },
  };
}
