/** `coffer serve`: serve repositories over restic's REST protocol (rest-server's flags). */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Backend } from '../../core/backend/backend.js';
import { CofferError } from '../../core/errors.js';
import { LocalBackend } from '../../node/local-backend.js';
import { openBackend } from '../../node/open-backend.js';
import { Htpasswd } from '../../server/htpasswd.js';
import { listenServer } from '../../server/node-listener.js';
import { QuotaBackend } from '../../server/quota.js';
import { createServeApp } from '../../server/serve-app.js';
import { createServeWeb } from '../../server/web-serve.js';
import type { WebAssets } from '../../server/web-assets.js';
import { createShareRoutes } from '../../server/share-routes.js';
import { serveShareDir, startShareStore } from '../../server/share-store.js';
import { flag, list, str, type Command, type Values } from '../command.js';
import { parseTileTemplate, type TileTemplate } from '../../core/gallery/tiles.js';

/** "HOST:PORT", ":PORT" (all interfaces), "[::1]:PORT" or "PORT". */
export function parseListen(s: string): { host: string; port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(s) ?? (/^\d{1,5}$/.test(s) ? [s, undefined, '127.0.0.1', s] : null);
  if (!m || Number(m[3]) > 65535) throw new CofferError('usage', `--listen "${s}": expected HOST:PORT, e.g. 127.0.0.1:8000 or :8000`);
  const host = m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!);
  return { host, port: Number(m[3]) };
}

/** `--map-tiles URL` (or COFFER_MAP_TILES): the gallery map's optional tile server, checked. */
export function parseMapTiles(values: Values, env: NodeJS.ProcessEnv): TileTemplate | undefined {
  const raw = str(values['map-tiles']) ?? env.COFFER_MAP_TILES;
  if (!raw) return undefined;
  const t = parseTileTemplate(raw);
  if (typeof t === 'string') throw new CofferError('usage', `--map-tiles: ${t}`);
  return t;
}

/** Bytes, optionally with a binary suffix: 500000, 10G, 512MiB. */
export function parseSize(s: string): number {
  const m = /^(\d+)\s*([kmgt]?)(?:i?b)?$/i.exec(s.trim());
  if (!m) throw new CofferError('usage', `--max-size "${s}": expected a number of bytes, optionally with K, M, G or T`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Number(m[1]) * mult;
}

const SCHEME = /^[a-z0-9]{2,}:/;

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new CofferError('usage', `cannot read the TLS ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}

const command: Command = {
  name: 'serve',
  summary: "Serve repositories over restic's REST protocol (like rest-server), for restic and Coffer clients.",
  usage: '[--path DIR|s3:...] [--listen HOST:PORT] [options]',
  help: `Repositories are sub-paths: create one with "restic -r rest:http://user:pass@host:8000/user/repo/ init"
(POST /user/repo/?create=true). GET /health answers 200 without authentication.

Options:
      --path DIR             where repositories are stored (default: ./coffer-serve-data); a repository
                             location such as s3:https://host/bucket/prefix stores through that backend
      --listen HOST:PORT     address to listen on (default 127.0.0.1:8000; ":8000" = all interfaces)
      --no-auth              no authentication (anyone who can connect may read and write)
      --htpasswd-file FILE   users and bcrypt passwords ("htpasswd -B"); default DIR/.htpasswd
      --append-only          refuse deleting anything but locks (files are never overwritten)
      --private-repos        a user reaches only /<user>/ and the repositories below it
      --tls                  serve HTTPS
      --tls-cert FILE        certificate, PEM (default DIR/public_key)
      --tls-key FILE         private key, PEM (default DIR/private_key)
      --max-size BYTES       size limit per repository (K, M, G, T suffixes); uploads past it get 507
      --no-verify-upload     do not check that an upload's SHA-256 matches its name
      --log FILE             append the request log to FILE ("-" = stdout; default: stderr, none with --quiet)
      --web                  also serve the web app: users sign in at /login with their account and
                             open their repositories in the browser (decrypted there, never here)
      --web-host NAME        with --web: a host name the app may be reached by (repeatable; checks
                             Host against DNS rebinding; default: any)
      --map-tiles URL        with --web: the gallery map's tile server, e.g.
                             https://tile.example.org/{z}/{x}/{y}.png (off by default: that server
                             learns which areas of the map users look at)`,
  options: {
    path: { type: 'string' },
    listen: { type: 'string' },
    'no-auth': { type: 'boolean' },
    'htpasswd-file': { type: 'string' },
    'append-only': { type: 'boolean' },
    'private-repos': { type: 'boolean' },
    tls: { type: 'boolean' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'max-size': { type: 'string' },
    'no-verify-upload': { type: 'boolean' },
    log: { type: 'string' },
    web: { type: 'boolean' },
    'web-host': { type: 'string', multiple: true },
    'map-tiles': { type: 'string' },
  },
  async run(cli, values, positionals) {
    if (positionals.length) throw new CofferError('usage', `unexpected argument "${positionals[0]}" (see "coffer serve --help")`);
    const where = str(values.path) ?? 'coffer-serve-data';
    const remote = SCHEME.test(where) && !where.startsWith('local:');
    const dir = remote ? undefined : path.resolve(where.startsWith('local:') ? where.slice('local:'.length) : where);
    const { host, port } = parseListen(str(values.listen) ?? '127.0.0.1:8000');
    const noAuth = flag(values['no-auth']);
    const privateRepos = flag(values['private-repos']);
    if (noAuth && privateRepos) throw new CofferError('usage', '--private-repos needs authentication (drop --no-auth)');
    const maxSize = str(values['max-size']) !== undefined ? parseSize(str(values['max-size'])!) : undefined;

    let htpasswd: Htpasswd | undefined;
    if (!noAuth) {
      const file = str(values['htpasswd-file']) ?? (dir ? path.join(dir, '.htpasswd') : undefined);
      if (!file) throw new CofferError('usage', '--htpasswd-file is needed when --path is not a local folder (or use --no-auth)');
      htpasswd = new Htpasswd(path.resolve(file));
    }

    let tls: { cert: Buffer; key: Buffer } | undefined;
    if (flag(values.tls)) {
      const certFile = str(values['tls-cert']) ?? (dir ? path.join(dir, 'public_key') : undefined);
      const keyFile = str(values['tls-key']) ?? (dir ? path.join(dir, 'private_key') : undefined);
      if (!certFile || !keyFile) throw new CofferError('usage', '--tls needs --tls-cert and --tls-key when --path is not a local folder');
      tls = { cert: readPem(certFile, 'certificate'), key: readPem(keyFile, 'key') };
    } else if (values['tls-cert'] !== undefined || values['tls-key'] !== undefined) {
      throw new CofferError('usage', '--tls-cert and --tls-key need --tls');
    }

    let backendFor: (repo: string) => Backend;
    if (dir) {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      backendFor = (repo) => new LocalBackend(repo === '' ? dir : path.join(dir, ...repo.split('/')));
    } else {
      openBackend(where); // fails now, clearly, for an unsupported or malformed location
      const base = where.replace(/\/+$/, '');
      backendFor = (repo) => openBackend(repo === '' ? base : `${base}/${repo}`);
    }
    const withQuota = maxSize === undefined ? backendFor : (repo: string) => new QuotaBackend(backendFor(repo), maxSize);

    const logTarget = str(values.log);
    let log: ((line: string) => void) | undefined;
    if (logTarget === '-') log = (l) => process.stdout.write(l + '\n');
    else if (logTarget !== undefined) {
      const fd = fs.openSync(logTarget, 'a', 0o600);
      log = (l) => fs.writeSync(fd, l + '\n');
    } else if (!cli.quiet) log = (l) => process.stderr.write(l + '\n');

    const app = createServeApp({
      backendFor: withQuota,
      ...(htpasswd ? { verify: (u: string, p: string) => htpasswd.verify(u, p) } : {}),
      privateRepos,
      appendOnly: flag(values['append-only']),
      verifyUpload: !flag(values['no-verify-upload']),
      ...(maxSize !== undefined ? { maxUploadBytes: Math.min(maxSize, 256 * 1024 * 1024) } : {}),
      ...(log ? { log } : {}),
    });

    const webHosts = list(values['web-host']);
    if (webHosts.length && !flag(values.web)) throw new CofferError('usage', '--web-host needs --web');
    if (str(values['map-tiles']) && !flag(values.web)) throw new CofferError('usage', '--map-tiles needs --web');
    const mapTiles = flag(values.web) ? parseMapTiles(values, cli.env) : undefined;
    const handler = flag(values.web)
      ? createServeWeb({
          serve: app,
          ...(htpasswd ? { verify: (u: string, p: string) => htpasswd.verify(u, p) } : {}),
          ...(dir ? { dir } : {}),
          // Share links: the store sits beside the repositories (local storage only).
          ...(dir ? { routes: (assets: WebAssets) => [createShareRoutes({ store: startShareStore(serveShareDir(dir)), assetPrefix: assets.prefix })] } : {}),
          privateRepos,
          allowedHosts: webHosts.length ? webHosts : 'any',
          secure: !!tls,
          ...(log ? { log } : {}),
          ...(mapTiles ? { mapTiles } : {}),
        })
      : app;
    let server;
    try {
      server = await listenServer(handler, { host, port, ...(tls ? { tls } : {}) });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      throw new CofferError('usage', `cannot listen on ${host}:${port}: ${code ?? (e as Error).message}`);
    }
    const what = dir ?? where.replace(/\/\/[^@/]*@/, '//');
    cli.info(`coffer serve: listening on ${server.url}/ (repositories in ${what}; ${htpasswd ? `${htpasswd.size} user(s) from ${htpasswd.file}` : 'no authentication'}${flag(values['append-only']) ? ', append-only' : ''}${privateRepos ? ', private repositories' : ''}${maxSize !== undefined ? `, at most ${maxSize} bytes per repository` : ''}${flag(values.web) ? `; web app at ${server.url}/` : ''})`);
    if (flag(values.web) && !tls && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
      cli.warn('coffer serve: the web app without --tls: passwords for /login cross the network in clear and browsers disable streamed downloads; use --tls or a reverse proxy with TLS');
    }

    await new Promise<void>((resolve) => {
      if (cli.signal.aborted) resolve();
      else cli.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.shutdown();
    await app.close();
    cli.info('coffer serve: stopped');
    return 0;
  },
};
export default command;
