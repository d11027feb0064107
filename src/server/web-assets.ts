/**
 * @module server/web-assets
 * The web app's static files, served from the package itself (no bundler, no CDN).
 *
 * The app is the tsc output under dist/src/web plus the core it imports and the few packages the
 * core needs (@noble/*, @bokuweb/zstd-wasm). Browsers need URLs, not bare specifiers, and an
 * import map is no use here: the strict CSP forbids the inline <script type="importmap"> and
 * Chromium does not apply import maps inside workers. So this module is the "tiny build step":
 * at start-up it walks the module graph from the entry points, rewrites every bare or
 * extension-less import to a relative URL of the resolved file, and keeps the results in memory.
 *
 * Every asset lives under `/assets/<build>/<path from the package root>`, where <build> hashes
 * all asset bytes: relative imports keep working unchanged and each URL is immutable (cached for
 * a year). index.html, sw.js and favicon.svg have fixed URLs and are revalidated.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Asset {
  readonly body: Uint8Array;
  readonly type: string;
  readonly etag: string;
}

export interface WebAssets {
  /** The build hash in asset URLs. */
  readonly build: string;
  /** `/assets/<build>/` */
  readonly prefix: string;
  /** Assets by URL path: `/`, `/sw.js`, `/favicon.svg`, `/assets/<build>/…`. */
  get(pathname: string): Asset | undefined;
  /** Number of files served under /assets/. */
  readonly count: number;
}

/** The package root: this file is dist/src/server/web-assets.js. */
export function packageRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

const MIME: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.png': 'image/png',
};

/** Where a package's bare root import points in the browser (its "browser" build). */
const PACKAGE_ENTRY: Record<string, string> = {
  '@bokuweb/zstd-wasm': 'dist/web/index.web.js',
  '@noble/hashes': 'index.js',
  '@noble/ciphers': 'index.js',
};

/** Files loaded at run time by URL rather than by import. */
const EXTRA_FILES = ['node_modules/@bokuweb/zstd-wasm/dist/web/zstd.wasm', 'src/web/share/share.css', 'node_modules/world-atlas/land-110m.json'];

/** Module entry points (package-relative, compiled). */
export const ENTRIES = { app: 'dist/src/web/app/main.js', worker: 'dist/src/web/worker/worker.js', sw: 'dist/src/web/sw.js' } as const;
/** The session worker's nested openers (started by URL, so not found by following imports). */
const OPENER = 'dist/src/web/worker/opener.js';

const STATIC_DIR = 'src/web/static';
export const SHARE_ENTRY = 'dist/src/web/share/main.js';

// import … from 'x'; export … from 'x'; import 'x'; import('x')
const IMPORT_RE = /(\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(['"])([^'"\n\r]+)\2/g;

function posix(p: string): string {
  return p.split(path.sep).join('/');
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The file a specifier names, relative to the package root, or undefined. */
function resolveSpecifier(root: string, fromRel: string, spec: string): string | undefined {
  let base: string;
  if (spec.startsWith('./') || spec.startsWith('../')) {
    base = path.resolve(root, path.dirname(fromRel), spec);
  } else if (spec.startsWith('/') || /^[a-z]+:/i.test(spec)) {
    return undefined;
  } else {
    const parts = spec.split('/');
    const pkg = spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
    const sub = spec.slice(pkg.length + 1);
    const pkgDir = path.join(root, 'node_modules', pkg);
    base = path.join(pkgDir, sub === '' ? (PACKAGE_ENTRY[pkg] ?? 'index.js') : sub);
  }
  // Some packages' browser builds import './module' without an extension (written for bundlers).
  for (const c of [base, base + '.js', path.join(base, 'index.js')]) {
    if (isFile(c)) {
      const rel = posix(path.relative(root, c));
      if (rel.startsWith('..')) return undefined;
      return rel;
    }
  }
  return undefined;
}

function relativeUrl(fromRel: string, toRel: string): string {
  const r = path.posix.relative(path.posix.dirname(fromRel), toRel);
  return r.startsWith('.') ? r : './' + r;
}

/** Reads one JS module, rewrites its imports, and returns the files it depends on. */
function rewriteModule(root: string, rel: string): { text: string; deps: string[] } {
  const src = fs.readFileSync(path.join(root, rel), 'utf8');
  const deps: string[] = [];
  const text = src
    .replace(IMPORT_RE, (all, lead: string, q: string, spec: string) => {
      const target = resolveSpecifier(root, rel, spec);
      // Unresolvable matches are left alone: they are examples inside comments.
      if (target === undefined) return all;
      deps.push(target);
      return `${lead}${q}${relativeUrl(rel, target)}${q}`;
    })
    .replace(/^\/\/# sourceMappingURL=.*$/gm, '');
  return { text, deps };
}

function etagOf(body: Uint8Array): string {
  return '"' + createHash('sha256').update(body).digest('base64url').slice(0, 22) + '"';
}

/**
 * Collects the app's assets. Throws if the app is not built (dist/src/web missing).
 */
export interface PageShell {
  readonly title: string;
  /** Package-relative paths of the page's style sheet and module script (served under `prefix`). */
  readonly css: string;
  readonly script: string;
  /** The static markup shown until the script runs (no data of the user's in it). */
  readonly main: string;
  readonly bodyClass?: string;
}

/**
 * The HTML of a page outside the app (the share page, the phone's upload page): the same for
 * every visitor, no referrer, its assets from the package under `prefix`.
 */
export function pageShellHtml(prefix: string, page: PageShell): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${page.title}</title>
<link rel="icon" href="/favicon.svg">
<link rel="stylesheet" href="${prefix}${page.css}">
<script type="module" src="${prefix}${page.script}"></script>
</head>
<body${page.bodyClass ? ` class="${page.bodyClass}"` : ''}>
${page.main}
</body>
</html>
`;
}

export function loadWebAssets(root = packageRoot()): WebAssets {
  const files = new Map<string, Uint8Array>(); // package-relative path -> bytes
  const enc = new TextEncoder();
  const queue: string[] = [ENTRIES.app, ENTRIES.worker, OPENER];
  // The phone's inbox upload page (/u/<token>) is its own small bundle.
  const inboxUpload = 'dist/src/web/inbox/upload.js';
  for (const e of queue) {
    if (!isFile(path.join(root, e))) throw new Error(`the web app is not built (${e} missing): run "npm run build"`);
  }
  // The share page (/s/<id>) is its own small bundle.
  if (isFile(path.join(root, SHARE_ENTRY))) queue.push(SHARE_ENTRY);
  if (isFile(path.join(root, inboxUpload))) queue.push(inboxUpload);
  while (queue.length) {
    const rel = queue.pop()!;
    if (files.has(rel)) continue;
    if (!rel.endsWith('.js')) {
      files.set(rel, fs.readFileSync(path.join(root, rel)));
      continue;
    }
    const { text, deps } = rewriteModule(root, rel);
    files.set(rel, enc.encode(text));
    for (const d of deps) if (!files.has(d)) queue.push(d);
  }
  for (const f of EXTRA_FILES) if (isFile(path.join(root, f))) files.set(f, fs.readFileSync(path.join(root, f)));
  for (const f of fs.readdirSync(path.join(root, STATIC_DIR))) {
    if (f !== 'index.html') files.set(`${STATIC_DIR}/${f}`, fs.readFileSync(path.join(root, STATIC_DIR, f)));
  }

  const h = createHash('sha256');
  for (const k of [...files.keys()].sort()) h.update(k).update('\0').update(files.get(k)!).update('\0');
  const build = h.digest('base64url').slice(0, 12);
  const prefix = `/assets/${build}/`;

  const table = new Map<string, Asset>();
  const add = (url: string, rel: string, body: Uint8Array): void => {
    table.set(url, { body, type: MIME[path.extname(rel)] ?? 'application/octet-stream', etag: etagOf(body) });
  };
  for (const [rel, body] of files) add(prefix + rel, rel, body);
  // The service worker's scope is its folder: it must be served from the root.
  const sw = rewriteModule(root, ENTRIES.sw);
  if (sw.deps.length) throw new Error('sw.js must not import anything');
  add('/sw.js', 'sw.js', enc.encode(sw.text));
  add('/favicon.svg', 'favicon.svg', fs.readFileSync(path.join(root, STATIC_DIR, 'favicon.svg')));
  const html = fs
    .readFileSync(path.join(root, STATIC_DIR, 'index.html'), 'utf8')
    .replaceAll('{{ASSETS}}', prefix);
  add('/', 'index.html', enc.encode(html));

  return {
    build,
    prefix,
    count: files.size,
    get: (p) => table.get(p === '/index.html' ? '/' : p),
  };
}
