/**
 * @module server/inbox-web
 * The inbox routes as `coffer web` sets them up (src/server/inbox-routes.ts): the staging store
 * and the public key found without the password (src/node/inbox-keys.ts maps the repository's
 * location to its id; both are written when the CLI first makes the inbox key), a fresh upload
 * token per run, the copies' tag policies from the local config, and the addresses a phone on the
 * same network can open. Everything is looked up per request, so running `coffer inbox` once
 * while `coffer web` runs is enough.
 */
import * as os from 'node:os';
import { qrSvg } from '../core/kit/kit-html.js';
import { loadConfig } from '../node/config.js';
import { inboxPublicKeyFor, rememberInboxKey } from '../node/inbox-keys.js';
import { InboxStore } from '../node/inbox-store.js';
import { createInboxRoute, lanAddresses } from './inbox-routes.js';
import type { WebAssets } from './web-assets.js';
import type { WebRoute } from './web-app.js';
import { newToken } from './web-app.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

export interface CliInbox {
  readonly route: WebRoute;
  readonly uploadToken: string;
  /** Call once the server listens: the addresses then carry its port. */
  listening(port: number): void;
  /** The upload page's addresses (best first). */
  uploadUrls(): string[];
}

/** Host names `coffer web` must accept so a phone on the LAN reaches it (listening on a wildcard). */
export function lanHosts(listenHost: string): string[] {
  return listenHost === '0.0.0.0' || listenHost === '::' ? lanAddresses() : [];
}

export function cliInbox(env: NodeJS.ProcessEnv, location: string, assets: WebAssets, listenHost: string): CliInbox {
  const uploadToken = newToken();
  let port = 0;
  const origins = (): string[] => {
    if (!port) return [];
    if (LOOPBACK.has(listenHost)) return [`http://${listenHost === '::1' ? '[::1]' : listenHost}:${port}`];
    if (listenHost === '0.0.0.0' || listenHost === '::') return [...lanAddresses(), '127.0.0.1'].map((a) => `http://${a}:${port}`);
    return [`http://${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${port}`];
  };
  const key = () => inboxPublicKeyFor(env, location);
  const route = createInboxRoute({
    assets,
    uploadToken,
    store: () => {
      const k = key();
      return k ? InboxStore.forRepository(env, k.repoId) : undefined;
    },
    publicKey: () => key()?.publicKey,
    rememberKey: (repoId, publicKey) => rememberInboxKey(env, location, repoId, publicKey),
    origins,
    hostname: os.hostname(),
    copies: () => (loadConfig(env)?.copies ?? []).map((c) => ({ name: c.name, excludeTags: [...c.policy.excludeTags], onlyTags: [...c.policy.onlyTags] })),
    qrSvg: (text) => qrSvg(text, 4),
  });
  return {
    route,
    uploadToken,
    listening: (p) => (port = p),
    uploadUrls: () => origins().map((o) => `${o}/u/${uploadToken}`),
  };
}
