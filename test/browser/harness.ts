/**
 * Browser proof harness: one node:http server on 127.0.0.1 that serves
 *   /                 a test page with an import map (bare imports → /node_modules/…, no bundler)
 *   /dist/…           the compiled project (so the page imports /dist/src/core/… as ES modules)
 *   /node_modules/…   the packages the core imports (@noble/*, @bokuweb/zstd-wasm and its .wasm)
 *   /repo/…           our REST app over a repository folder (copied to a temp dir: pages may lock)
 * and Debian's Chromium, headless, driven by playwright-core. Use:
 *
 *   await withBrowserPage({ repoDir }, async (page, baseUrl) => {
 *     const n = await page.evaluate(async () => (await import('/dist/src/core/….js')).…);
 *   });
 *
 * A missing Chromium skips locally and fails in CI (see browserMissing / requireBrowser).
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { TestContext } from 'node:test';
import { chromium, type Page } from 'playwright-core';
import type { Backend } from '../../src/core/backend/backend.js';
import { LocalBackend } from '../../src/node/local-backend.js';
import { createRestApp } from '../../src/server/rest-app.js';
import { toNodeHandler } from '../../src/server/node-listener.js';
import { ROOT } from '../helpers/paths.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Flags that work on these machines (closed network, root, no GPU). */
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Bare specifiers the core uses, resolved for the page. Prefix entries end with '/'. */
export const IMPORT_MAP: Record<string, string> = {
  '@noble/hashes': '/node_modules/@noble/hashes/index.js',
  '@noble/hashes/': '/node_modules/@noble/hashes/',
  '@noble/ciphers': '/node_modules/@noble/ciphers/index.js',
  '@noble/ciphers/': '/node_modules/@noble/ciphers/',
  // The package's "browser" build; it finds zstd.wasm next to itself via import.meta.url.
  '@bokuweb/zstd-wasm': '/node_modules/@bokuweb/zstd-wasm/dist/web/index.web.js',
};

export interface BrowserOptions {
  /** Repository folder (restic's local layout) to serve at /repo/; copied first unless `inPlace`. */
  repoDir?: string;
  inPlace?: boolean;
  /** Or any Backend to serve at /repo/. */
  backend?: Backend;
  /** REST server options for /repo/. */
  appendOnly?: boolean;
  auth?: { username: string; password: string };
  /** Extra import map entries. */
  importMap?: Record<string, string>;
}

export interface Harness {
  readonly baseUrl: string;
  /** Files the page failed to load (404s), for diagnosing missing import map entries. */
  readonly missing: string[];
  close(): Promise<void>;
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.map': 'application/json',
  '.html': 'text/html; charset=utf-8',
};

/** Why the browser tests cannot run here, or undefined. */
export function browserMissing(): string | undefined {
  return fs.existsSync(CHROMIUM) ? undefined : `${CHROMIUM} (apt-get install chromium)`;
}

/** Skips (locally) or fails (CI) the test when Chromium is missing. */
export function requireBrowser(t: TestContext): boolean {
  const m = browserMissing();
  if (m === undefined) return true;
  if (process.env.CI) throw new Error(`needed in CI but missing: ${m}`);
  t.skip(`missing: ${m}`);
  return false;
}

function page(importMap: Record<string, string>): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>coffer browser tests</title>
<script type="importmap">${JSON.stringify({ imports: importMap })}</script>
</head><body><p id="status">ready</p></body></html>`;
}

/** Starts the static + REST server. */
export async function startHarness(opts: BrowserOptions = {}): Promise<Harness> {
  let tmp: string | undefined;
  let backend = opts.backend;
  if (!backend && opts.repoDir) {
    let dir = opts.repoDir;
    if (!opts.inPlace) {
      tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-browser-'));
      dir = path.join(tmp, 'repo');
      fs.cpSync(opts.repoDir, dir, { recursive: true });
    }
    backend = new LocalBackend(dir);
  }
  const rest = backend ? toNodeHandler(createRestApp({ backend, prefix: '/repo/', ...(opts.appendOnly ? { appendOnly: true } : {}), ...(opts.auth ? { auth: opts.auth } : {}) })) : undefined;
  const html = page({ ...IMPORT_MAP, ...opts.importMap });
  const missing: string[] = [];

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/repo' || url.pathname.startsWith('/repo/')) {
      if (rest) return rest(req, res);
      res.writeHead(404).end();
      return;
    }
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': MIME['.html']!, 'Cache-Control': 'no-store' }).end(html);
      return;
    }
    serveStatic(url.pathname, req, res, missing);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl,
    missing,
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Files under /dist and /node_modules only; never outside the project. */
function serveStatic(pathname: string, req: http.IncomingMessage, res: http.ServerResponse, missing: string[]): void {
  let rel: string;
  try {
    rel = decodeURIComponent(pathname);
  } catch {
    res.writeHead(400).end();
    return;
  }
  const file = path.resolve(ROOT, '.' + rel);
  const allowed = [path.join(ROOT, 'dist') + path.sep, path.join(ROOT, 'node_modules') + path.sep];
  if (!allowed.some((a) => file.startsWith(a)) || req.method !== 'GET') {
    res.writeHead(404).end();
    return;
  }
  // Some packages' browser builds import './module' without an extension (written for bundlers).
  const candidates = [file, file + '.js', path.join(file, 'index.js')];
  const found = candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
  if (!found) {
    missing.push(rel);
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  if (found !== file) {
    // Redirect rather than serve: the module's URL must be the real file's, or its own relative
    // imports ('../module' from errors/index.js) resolve against the wrong folder.
    res.writeHead(302, { Location: '/' + path.relative(ROOT, found).split(path.sep).join('/') }).end();
    return;
  }
  res.writeHead(200, { 'Content-Type': MIME[path.extname(found)] ?? 'application/octet-stream', 'Cache-Control': 'no-store' });
  fs.createReadStream(found).pipe(res);
}

/**
 * Runs `fn` with a fresh headless Chromium page at the harness's test page. Console errors and
 * page errors are collected and added to a failure's message.
 */
export async function withBrowserPage<T>(opts: BrowserOptions, fn: (page: Page, baseUrl: string) => Promise<T>): Promise<T> {
  const harness = await startHarness(opts);
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-chromium-'));
  const logs: string[] = [];
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
    try {
      const p = context.pages()[0] ?? (await context.newPage());
      p.on('console', (m) => {
        if (m.type() === 'error' || m.type() === 'warning') logs.push(`console.${m.type()}: ${m.text()}`);
      });
      p.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
      await p.goto(harness.baseUrl + '/');
      return await fn(p, harness.baseUrl);
    } finally {
      await context.close();
    }
  } catch (e) {
    const extra = [...logs, ...harness.missing.map((m) => `404: ${m}`)];
    if (extra.length && e instanceof Error) e.message += `\n--- browser ---\n${extra.join('\n')}`;
    throw e;
  } finally {
    await harness.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
