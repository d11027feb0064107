/**
 * `coffer web`: the web app for one repository, on this machine. Serves the app and the
 * repository's ciphertext over restic's REST protocol at /repo/; the page asks for the password
 * and decrypts in the browser. This process never reads a password (design web-gallery.md §2).
 */
import { spawn } from 'node:child_process';
import { CofferError } from '../../core/errors.js';
import { PROGRAM_VERSION } from '../../core/engine/backup/backup.js';
import { listenServer } from '../../server/node-listener.js';
import { createRestApp } from '../../server/rest-app.js';
import { createWebApp, newToken, type WebRoute } from '../../server/web-app.js';
import { loadWebAssets } from '../../server/web-assets.js';
import { withStreamedReads } from '../../server/web-serve.js';
import { startInboxScanner } from '../../node/inbox-scanner.js';
import { offlineStatus } from '../../server/web-status.js';
import { cliInbox, lanHosts } from '../../server/inbox-web.js';
import { localShareDir, ShareStore } from '../../server/share-store.js';
import { createShareRoutes } from '../../server/share-routes.js';
import * as os from 'node:os';
import { flag, str, type Command } from '../command.js';
import { parseListen, parseMapTiles } from './serve.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function openBrowser(url: string): void {
  const [cmd, args] = process.platform === 'darwin' ? ['open', [url]] : process.platform === 'win32' ? ['cmd', ['/c', 'start', '', url]] : ['xdg-open', [url]];
  try {
    const child = spawn(cmd as string, args as string[], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser opener: the URL is printed anyway.
  }
}

const command: Command = {
  name: 'web',
  summary: 'Open the repository in the web app (decrypts in the browser; this process never sees the password).',
  usage: '[-r REPO] [--listen 127.0.0.1:8080] [--open] [--map-tiles URL]',
  help: `Prints the address to open, alone on a line: http://127.0.0.1:8080/?token=…
The token logs the browser in once (a session cookie); keep the address private.

Options:
      --listen HOST:PORT     address to listen on (default 127.0.0.1:8080; port 0 = any free port)
      --open                 open the address in the default browser
      --map-tiles URL        draw the gallery's map over tiles from this server, e.g.
                             https://tile.example.org/{z}/{x}/{y}.png (or COFFER_MAP_TILES); off by
                             default: that server learns which areas of the map you look at`,
  options: {
    listen: { type: 'string' },
    open: { type: 'boolean' },
    'map-tiles': { type: 'string' },
  },
  async run(cli, values, positionals) {
    if (positionals.length) throw new CofferError('usage', `unexpected argument "${positionals[0]}" (see "coffer web --help")`);
    const { host, port } = parseListen(str(values.listen) ?? '127.0.0.1:8080');
    const mapTiles = parseMapTiles(values, cli.env);
    const backend = await cli.existingBackend();
    let assets;
    try {
      assets = loadWebAssets();
    } catch (e) {
      throw new CofferError('internal', (e as Error).message);
    }
    const rest = createRestApp({ backend: withStreamedReads(backend), prefix: '/repo/' });
    const token = newToken();
    const log = cli.quiet ? undefined : (l: string) => process.stderr.write(l + '\n');
    // Feature routes (share links, the inbox): each feature pushes its own, in its own line.
    const routes: WebRoute[] = [];
    const inbox = cliInbox(cli.env, cli.repositoryLocation().location, assets, host);
    routes.push(inbox.route);
    const shares = new ShareStore(localShareDir(cli.env, os.homedir()));
    const stopSweeper = shares.startSweeper();
    routes.push(createShareRoutes({ store: shares, assetPrefix: assets.prefix }));
    const app = createWebApp({
      routes,
      assets,
      token,
      protocol: async (req) => {
        const p = new URL(req.url).pathname;
        return p === '/repo' || p.startsWith('/repo/') ? rest(req) : new Response('Not Found', { status: 404 });
      },
      protocolNeedsSession: true,
      api: { status: () => offlineStatus(cli.env) },
      info: () => ({ version: PROGRAM_VERSION.split(' ')[1] ?? PROGRAM_VERSION, repo: '/repo/', repos: ['/repo/'], features: ['snapshots', 'files', 'download', 'zip', 'diff', 'remember', 'otp', 'status'] }),
      allowedHosts: LOOPBACK.has(host) || host === '0.0.0.0' || host === '::' ? lanHosts(host) : [host.includes(':') ? `[${host}]` : host],
      ...(log ? { log } : {}),
      ...(mapTiles ? { mapTiles } : {}),
    });
    let server;
    try {
      server = await listenServer(app, { host, port });
    } catch (e) {
      throw new CofferError('usage', `cannot listen on ${host}:${port}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!LOOPBACK.has(host)) {
      cli.warn(`coffer web: listening on ${host}, not only this machine, without TLS: anyone on the network who learns the address can read the (encrypted) repository; prefer "coffer serve --web --tls"`);
    }
    // A wildcard address is not something a browser can open: show the loopback one.
    const shown = host === '0.0.0.0' ? `http://127.0.0.1:${server.port}` : host === '::' ? `http://[::1]:${server.port}` : server.url;
    const url = `${shown}/?token=${token}`;
    cli.out(url);
    inbox.listening(server.port);
    if (!cli.quiet && !LOOPBACK.has(host)) cli.warn(`coffer web: phone uploads (only adds to the inbox): ${inbox.uploadUrls()[0]}`);
    if (!cli.quiet) cli.warn(`coffer web: serving ${backend.location} (Ctrl-C stops)`);
    if (flag(values.open)) openBrowser(url);
    // The inbox's watched folders, every minute: sealing needs only the public key (design §6).
    const scanSeconds = Number(cli.env.COFFER_INBOX_SCAN_SECONDS) || 60;
    const stopInboxScan = startInboxScanner(cli.env, cli.repositoryLocation().location, { intervalMs: scanSeconds * 1000, log: (l) => cli.warn(`coffer web: ${l}`) });

    await new Promise<void>((resolve) => {
      if (cli.signal.aborted) resolve();
      else cli.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    stopSweeper();
    await stopInboxScan();
    await server.shutdown(5_000);
    await backend.close?.().catch(() => undefined);
    return 0;
  },
};
export default command;
