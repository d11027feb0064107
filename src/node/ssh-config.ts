/**
 * @module node/ssh-config
 * The small part of OpenSSH's client configuration the SFTP backend needs:
 *
 * - restic's two SFTP URL forms: `sftp:[user@]host:path` (a path starting with '/' is absolute,
 *   otherwise relative to the login folder) and `sftp://[user@]host[:port]/path` (`//abs` absolute).
 * - `~/.ssh/config` `Host` blocks (patterns with `*`, `?`, `!`): HostName, User, Port,
 *   IdentityFile, UserKnownHostsFile; as ssh, the first value found wins.
 * - `known_hosts` lookup: plain and hashed (`|1|salt|hash`) entries, `[host]:port` for ports other
 *   than 22, comma lists, `@revoked`; `@cert-authority` lines are ignored.
 *
 * Environment overrides (tests, unusual setups): COFFER_SFTP_CONFIG (ssh config file),
 * COFFER_SFTP_KNOWN_HOSTS, COFFER_SFTP_IDENTITY (a private key file).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createHash, createHmac } from 'node:crypto';
import { CofferError } from '../core/errors.js';

export interface SftpTarget {
  /** As typed (an alias from ssh config, or a host name). */
  readonly alias: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  /** Remote repository path: absolute, or relative to the login folder. */
  readonly path: string;
  readonly identityFiles: readonly string[];
  readonly knownHostsFiles: readonly string[];
}

export interface ParsedSftpUrl {
  readonly user?: string;
  readonly host: string;
  readonly port?: number;
  readonly path: string;
}

/** Parses `sftp:user@host:/path` and `sftp://user@host:port//path` (with or without `sftp:`). */
export function parseSftpUrl(location: string): ParsedSftpUrl {
  const s = location.replace(/^sftp:/, '');
  if (s.startsWith('//')) {
    // URL form. The path is what follows the first '/' after the authority.
    const rest = s.slice(2);
    const slash = rest.indexOf('/');
    const authority = slash < 0 ? rest : rest.slice(0, slash);
    let p = slash < 0 ? '' : rest.slice(slash + 1);
    try {
      p = decodeURIComponent(p);
    } catch {
      throw new CofferError('usage', 'invalid sftp URL: bad %-escape in the path');
    }
    const { user, hostport } = splitUser(authority);
    const m = /^(\[[^\]]+\]|[^:]*)(?::(\d+))?$/.exec(hostport);
    if (!m || !m[1]) throw new CofferError('usage', 'invalid sftp URL: expected sftp://[user@]host[:port]/path');
    const host = m[1].replace(/^\[(.*)\]$/, '$1');
    if (!p) throw new CofferError('usage', 'invalid sftp URL: no repository path');
    return { ...(user ? { user } : {}), host, ...(m[2] ? { port: Number(m[2]) } : {}), path: p };
  }
  const { user, hostport } = splitUser(s);
  // host:path; the host may be an IPv6 literal in brackets.
  const m = /^(\[[^\]]+\]|[^:/]+):(.*)$/.exec(hostport);
  if (!m || !m[2]) throw new CofferError('usage', 'invalid sftp repository: expected sftp:[user@]host:/path');
  return { ...(user ? { user } : {}), host: m[1]!.replace(/^\[(.*)\]$/, '$1'), path: m[2] };
}

function splitUser(s: string): { user: string | undefined; hostport: string } {
  const at = s.lastIndexOf('@', s.indexOf('/') < 0 ? undefined : s.indexOf('/'));
  if (at < 0) return { user: undefined, hostport: s };
  const userinfo = s.slice(0, at);
  // A password in the URL is never used (keys only) and never echoed.
  const user = userinfo.split(':')[0]!;
  return { user: safeDecode(user), hostport: s.slice(at + 1) };
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** ssh's Host pattern match: `*`, `?`, comma/space lists, `!negation`. */
export function hostMatches(patterns: readonly string[], host: string): boolean {
  let matched = false;
  for (const raw of patterns) {
    const neg = raw.startsWith('!');
    const pat = neg ? raw.slice(1) : raw;
    const re = new RegExp('^' + pat.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i');
    if (re.test(host)) {
      if (neg) return false;
      matched = true;
    }
  }
  return matched;
}

export interface SshConfigEntry {
  hostName?: string;
  user?: string;
  port?: number;
  identityFiles: string[];
  knownHostsFiles: string[];
}

/** Reads the options for `alias` from an ssh config text (first value wins; IdentityFile accumulates). */
export function sshConfigFor(text: string, alias: string, home: string): SshConfigEntry {
  const out: SshConfigEntry = { identityFiles: [], knownHostsFiles: [] };
  let active = true; // options before the first Host apply to all
  for (const line of text.split(/\r?\n/)) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const m = /^(\S+?)(?:\s*=\s*|\s+)(.*)$/.exec(t);
    if (!m) continue;
    const key = m[1]!.toLowerCase();
    const args = splitArgs(m[2]!);
    if (key === 'host') {
      active = hostMatches(args, alias);
      continue;
    }
    if (key === 'match') {
      active = false; // Match blocks are beyond "simple": ignored
      continue;
    }
    if (!active || args.length === 0) continue;
    const v = args[0]!;
    switch (key) {
      case 'hostname':
        out.hostName ??= v.replace(/%h/g, alias);
        break;
      case 'user':
        out.user ??= v;
        break;
      case 'port':
        if (out.port === undefined && /^\d+$/.test(v)) out.port = Number(v);
        break;
      case 'identityfile':
        out.identityFiles.push(expandHome(v, home));
        break;
      case 'userknownhostsfile':
        if (out.knownHostsFiles.length === 0) for (const a of args) if (a.toLowerCase() !== 'none') out.knownHostsFiles.push(expandHome(a, home));
        break;
    }
  }
  return out;
}

function splitArgs(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2]!);
  return out;
}

function expandHome(p: string, home: string): string {
  if (p === '~') return home;
  if (p.startsWith('~/')) return path.join(home, p.slice(2));
  return p;
}

const DEFAULT_KEYS = ['id_ed25519', 'id_ecdsa', 'id_rsa'];

/** Resolves a repository location into where and how to connect, from the URL, ssh config and env. */
export function resolveSftpTarget(location: string, env: NodeJS.ProcessEnv = process.env): SftpTarget {
  const url = parseSftpUrl(location);
  const home = env.HOME || os.homedir();
  const configFile = env.COFFER_SFTP_CONFIG || path.join(home, '.ssh', 'config');
  let text = '';
  try {
    text = fs.readFileSync(configFile, 'utf8');
  } catch (e) {
    if (env.COFFER_SFTP_CONFIG) throw new CofferError('usage', `cannot read ssh config ${configFile}: ${(e as Error).message}`);
  }
  const cfg = sshConfigFor(text, url.host, home);
  const identityFiles = env.COFFER_SFTP_IDENTITY
    ? [env.COFFER_SFTP_IDENTITY]
    : cfg.identityFiles.length > 0
      ? cfg.identityFiles
      : DEFAULT_KEYS.map((k) => path.join(home, '.ssh', k));
  const knownHostsFiles = env.COFFER_SFTP_KNOWN_HOSTS
    ? [env.COFFER_SFTP_KNOWN_HOSTS]
    : cfg.knownHostsFiles.length > 0
      ? cfg.knownHostsFiles
      : [path.join(home, '.ssh', 'known_hosts'), path.join(home, '.ssh', 'known_hosts2')];
  return {
    alias: url.host,
    host: cfg.hostName ?? url.host,
    port: url.port ?? cfg.port ?? 22,
    user: url.user ?? cfg.user ?? env.USER ?? os.userInfo().username,
    path: url.path,
    identityFiles,
    knownHostsFiles,
  };
}

/** `SHA256:...` fingerprint of an SSH wire-format public key, as ssh prints it. */
export function fingerprint(key: Uint8Array): string {
  return 'SHA256:' + createHash('sha256').update(key).digest('base64').replace(/=+$/, '');
}

export type HostKeyVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'unknown' | 'mismatch' | 'revoked'; readonly message: string };

/** The names a host goes by in known_hosts: `host` on port 22, `[host]:port` otherwise. */
function hostNames(host: string, port: number): string[] {
  return port === 22 ? [host] : [`[${host}]:${port}`];
}

function entryMatchesHost(field: string, names: readonly string[]): boolean {
  if (field.startsWith('|1|')) {
    const [, , salt, hash] = field.split('|');
    if (!salt || !hash) return false;
    const s = Buffer.from(salt, 'base64');
    return names.some((n) => createHmac('sha1', s).update(n).digest('base64') === hash);
  }
  const pats = field.split(',');
  return names.some((n) => hostMatches(pats, n));
}

/**
 * Checks a server's host key against known_hosts files. Unknown host and mismatch are refused
 * with a message saying what to do; never a silent trust.
 */
export function checkHostKey(files: readonly string[], host: string, port: number, key: Uint8Array, keyType: string): HostKeyVerdict {
  const names = hostNames(host, port);
  const b64 = Buffer.from(key).toString('base64');
  const shown = names[0]!;
  const fp = fingerprint(key);
  let otherKey: string | undefined;
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const lines = text.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      let t = lines[i]!.trim();
      if (!t || t.startsWith('#')) continue;
      let marker = '';
      if (t.startsWith('@')) {
        marker = t.split(/\s+/)[0]!;
        t = t.slice(marker.length).trim();
      }
      const [hostsField, type, blob] = t.split(/\s+/);
      if (!hostsField || !type || !blob || marker === '@cert-authority') continue;
      if (!entryMatchesHost(hostsField, names)) continue;
      if (blob === b64) {
        if (marker === '@revoked') return { ok: false, reason: 'revoked', message: `the host key of ${shown} (${fp}) is marked @revoked in ${file}:${i + 1}` };
        return { ok: true };
      }
      if (type === keyType && !marker) otherKey ??= `${file}:${i + 1}`;
    }
  }
  if (otherKey) {
    return {
      ok: false,
      reason: 'mismatch',
      message:
        `HOST KEY MISMATCH for ${shown}: the server offered ${keyType} ${fp}, which differs from the key recorded in ${otherKey}. ` +
        `Someone could be intercepting the connection, or the host key was changed. If the change is expected, remove the old line (ssh-keygen -R '${shown}') and add the new key.`,
    };
  }
  return {
    ok: false,
    reason: 'unknown',
    message:
      `the host key of ${shown} is not known (${keyType} ${fp}; looked in ${files.join(', ')}). ` +
      `Check the fingerprint, then add it, e.g. with: ssh-keyscan ${port === 22 ? '' : `-p ${port} `}${host} >> ${files[0] ?? '~/.ssh/known_hosts'}` +
      ` (or connect once with ssh), or point COFFER_SFTP_KNOWN_HOSTS at a known_hosts file.`,
  };
}
