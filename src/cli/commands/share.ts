/**
 * `coffer share`: end-to-end encrypted share links (design web-gallery.md §7, docs/share.md).
 *
 *   coffer share create SNAPSHOT:PATH... [--expires 7d] [--base-url URL] [--server URL | --store DIR] [--json]
 *   coffer share list [--json]
 *   coffer share revoke ID
 *
 * The files are read from the repository, sealed here under a fresh key and written to a share
 * store: by default the local one `coffer web` serves ($XDG_DATA_HOME/coffer/shares), or
 * `--store DIR` (e.g. a `coffer serve` data dir's `.coffer-shares` on this machine), or over
 * HTTP to a running server with `--server URL` (`coffer web`'s printed `?token=` address, or
 * `https://user:password@host/` for `coffer serve --web`'s accounts). The link, with its key
 * in the fragment, is printed alone on a line and also kept in the repository as a sealed record
 * (`coffer-shares`), so `share list` can show it again; nothing else holds the key.
 */
import * as os from 'node:os';
import { CofferError } from '../../core/errors.js';
import { utf8Decode, utf8Encode } from '../../core/bytes.js';
import type { Id, TreeNode } from '../../core/format/types.js';
import { loadBlob } from '../../core/repository/blob-loader.js';
import { loadMasterIndex, type MasterIndex } from '../../core/repository/master-index.js';
import type { Repository } from '../../core/repository/repository.js';
import { TreeLoader } from '../../core/engine/walk/tree-walker.js';
import { isRecordSnapshot } from '../../core/engine/records/records.js';
import { rememberedShares, rememberShare, type RememberedShare } from '../../core/share/record.js';
import { findSnapshot, loadSnapshots } from '../../core/repository/snapshots.js';
import { mediaFromName } from '../../core/gallery/item.js';
import { readImageMeta } from '../../core/gallery/exif.js';
import { ShareClient, type ShareListing } from '../../core/share/client.js';
import { createShare, type ShareSink, type ShareSource } from '../../core/share/create.js';
import { DEFAULT_EXPIRES_MS, isShareId, parseExpires } from '../../core/share/format.js';
import { localShareDir, ShareStore } from '../../server/share-store.js';
import { str, type Command, type Values } from '../command.js';
import type { Cli } from '../context.js';
import { withLock } from '../context.js';

/** Photos up to this size get a thumbnail and a preview (read whole for rendering). */
const PREVIEW_MAX_BYTES = 64 * 1024 * 1024;

interface Target {
  readonly sink: ShareSink;
  list(): Promise<ShareListing[]>;
  /** Link base when --base-url is not given. */
  readonly base: string;
  readonly where: string;
}

function localTarget(dir: string): Target {
  const store = new ShareStore(dir);
  return {
    where: dir,
    base: 'http://127.0.0.1:8080',
    sink: {
      create: async (expiresIn) => {
        const m = await store.create({ expires: Date.now() + expiresIn });
        return { id: m.id, created: m.created, expires: m.expires };
      },
      put: async (id, name, data, length) => {
        const n = await store.put(id, name, data);
        if (n !== length) throw new CofferError('internal', `share file ${name}: wrote ${n} of ${length} bytes`);
      },
      revoke: (id) => store.revoke(id),
    },
    list: async () =>
      (await store.list()).map((m) => ({ id: m.id, created: new Date(m.created).toISOString(), expires: new Date(m.expires).toISOString(), files: Object.keys(m.files).length, bytes: m.bytes, complete: m.manifest !== undefined })),
  };
}

function sessionCookie(res: Response): string | undefined {
  const all = (res.headers as Headers & { getSetCookie?: () => string[] }).getSetCookie?.() ?? [res.headers.get('set-cookie') ?? ''];
  for (const c of all) {
    const m = /^\s*(coffer_session=[^;]+)/.exec(c);
    if (m) return m[1];
  }
  return undefined;
}

/** Signs in to a running server: `?token=` of `coffer web`, or user:password of `coffer serve --web`. */
async function serverTarget(raw: string): Promise<Target> {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CofferError('usage', '--server: give the address of a running "coffer web" or "coffer serve --web"');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CofferError('usage', '--server: an http:// or https:// address');
  const origin = `${u.protocol}//${u.host}`;
  let res: Response;
  try {
    if (u.searchParams.has('token')) {
      res = await fetch(`${origin}/?token=${encodeURIComponent(u.searchParams.get('token')!)}`, { redirect: 'manual' });
    } else if (u.username) {
      const auth = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64');
      res = await fetch(`${origin}/login`, { redirect: 'manual', headers: { Authorization: `Basic ${auth}` } });
    } else {
      throw new CofferError('usage', '--server: include the sign-in: the "?token=…" address coffer web printed, or https://USER:PASSWORD@host/ for coffer serve --web');
    }
  } catch (e) {
    if (e instanceof CofferError) throw e;
    throw new CofferError('transient', `--server ${origin}: cannot connect (${(e as Error).message})`);
  }
  const cookie = sessionCookie(res);
  if (res.status !== 303 || !cookie) throw new CofferError('permission', `--server ${origin}: sign-in refused (${res.status})`);
  const client = new ShareClient({ server: origin, headers: { Cookie: cookie }, streamBodies: true });
  return { where: origin, base: origin, sink: client, list: () => client.list() };
}

async function targetOf(cli: Cli, values: Values): Promise<Target> {
  const server = str(values.server);
  const store = str(values.store);
  if (server && store) throw new CofferError('usage', 'give --server or --store, not both');
  if (server) return serverTarget(server);
  return localTarget(store ?? localShareDir(cli.env, os.homedir()));
}

/** `latest:/photos/a.jpg` → the file nodes it names (every file below, for a folder). */
async function filesOf(repo: Repository, index: MasterIndex, spec: string): Promise<{ name: string; node: TreeNode }[]> {
  const colon = spec.indexOf(':');
  if (colon <= 0 || colon === spec.length - 1) throw new CofferError('usage', `"${spec}": give SNAPSHOT:PATH (e.g. latest:/photos/a.jpg)`);
  const ref = spec.slice(0, colon);
  // "latest" is the newest backup, not Coffer's own records (this very command writes one).
  const all = (await loadSnapshots(repo)).filter((e) => !isRecordSnapshot(e.snapshot));
  const snap = { entry: findSnapshot(all, ref), get tree(): Id { return this.entry.snapshot.tree; } };
  const loader = new TreeLoader(repo, index);
  const parts = spec.slice(colon + 1).split('/').filter((p) => p !== '' && p !== '.');
  if (!parts.length) throw new CofferError('usage', `"${spec}": give a file or folder inside the snapshot`);
  let tree: Id = snap.tree;
  let node: TreeNode | undefined;
  for (let i = 0; i < parts.length; i++) {
    const want = utf8Encode(parts[i]!);
    node = (await loader.load(tree)).nodes.find((n) => n.name.length === want.length && n.name.every((b, k) => b === want[k]));
    const shown = '/' + parts.slice(0, i + 1).join('/');
    if (!node) throw new CofferError('usage', `"${shown}" not found in snapshot ${snap.entry.id.slice(0, 8)}`);
    if (i < parts.length - 1) {
      if (node.type !== 'dir' || !node.subtree) throw new CofferError('usage', `"${shown}" is not a folder`);
      tree = node.subtree;
    }
  }
  if (node!.type === 'file') return [{ name: utf8Decode(node!.name), node: node! }];
  if (node!.type !== 'dir' || !node!.subtree) throw new CofferError('usage', `"${spec}" is a ${node!.type}, not a file or folder`);
  const out: { name: string; node: TreeNode }[] = [];
  const walk = async (t: Id): Promise<void> => {
    for (const n of (await loader.load(t)).nodes) {
      if (n.type === 'file') out.push({ name: utf8Decode(n.name), node: n });
      else if (n.type === 'dir' && n.subtree) await walk(n.subtree);
    }
  };
  await walk(node!.subtree);
  return out;
}

function takenOf(exifDate: string | undefined): string | undefined {
  const m = exifDate && /^(\d{4}):(\d{2}):(\d{2}) (\d{2}:\d{2}:\d{2})/.exec(exifDate);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}` : undefined;
}

async function sourceOf(repo: Repository, index: MasterIndex, name: string, node: TreeNode, signal: AbortSignal, warn: (s: string) => void): Promise<ShareSource> {
  const size = node.size ?? 0;
  const blobs = node.content ?? [];
  const read = async function* (): AsyncGenerator<Uint8Array> {
    for (const id of blobs) yield await loadBlob(repo, index, 'data', id, { signal });
  };
  const media = mediaFromName(name);
  const mime = media?.mime ?? MIME[name.slice(name.lastIndexOf('.') + 1).toLowerCase()] ?? 'application/octet-stream';
  if (media?.kind !== 'image' || size > PREVIEW_MAX_BYTES) return { name, mime, size, read };
  const parts: Uint8Array[] = [];
  for await (const p of read()) parts.push(p);
  const bytes = Buffer.concat(parts);
  let taken: string | undefined;
  try {
    taken = takenOf(readImageMeta(bytes, mime).exif?.dateTimeOriginal);
  } catch {
    // No EXIF date: fine.
  }
  const { renderImage } = await import('../../node/gallery-thumbs.js');
  const r = await renderImage(bytes);
  const base = { name, mime, size, read: () => [bytes], ...(taken ? { taken } : {}) };
  if (r.warning) {
    warn(`coffer share: ${name}: no preview (${r.warning})`);
    return base;
  }
  return { ...base, w: r.w, h: r.h, thumb: r.thumb, preview: r.preview };
}

const MIME: Record<string, string> = {
  pdf: 'application/pdf',
  txt: 'text/plain',
  md: 'text/markdown',
  zip: 'application/zip',
  json: 'application/json',
  csv: 'text/csv',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
};

async function create(cli: Cli, values: Values, specs: string[]): Promise<number> {
  if (!specs.length) throw new CofferError('usage', 'give what to share: coffer share create SNAPSHOT:PATH...');
  const expiresIn = str(values.expires) ? parseExpires(str(values.expires)!) : DEFAULT_EXPIRES_MS;
  const baseArg = str(values['base-url']);
  if (baseArg !== undefined && !/^https?:\/\/[^\s#?]+$/.test(baseArg)) throw new CofferError('usage', '--base-url: an http:// or https:// address, without query or fragment');
  const repo = await cli.openRepository();
  const target = await targetOf(cli, values);
  const made = await withLock(cli, repo, false, async () => {
    const index = await loadMasterIndex(repo, { signal: cli.signal });
    const files: { name: string; node: TreeNode }[] = [];
    for (const s of specs) files.push(...(await filesOf(repo, index, s)));
    if (!files.length) throw new CofferError('usage', 'nothing to share: the folders are empty');
    const sources: ShareSource[] = [];
    for (const f of files) sources.push(await sourceOf(repo, index, f.name, f.node, cli.signal, (l) => cli.warn(l)));
    return createShare(target.sink, sources, { expiresIn, base: baseArg ?? target.base, signal: cli.signal });
  });
  // Remember the link, sealed in the repository (its only copy besides the one printed).
  try {
    await rememberShare(repo, { id: made.id, url: made.url, created: new Date(made.created).toISOString(), expires: new Date(made.expires).toISOString(), names: made.manifest.items.map((i) => i.name) }, { owner: cli.lockOwner(), signal: cli.signal });
  } catch (e) {
    cli.warn(`coffer share: the link works, but could not be remembered in the repository (${(e as Error).message}); "share list" will not show it`);
  }
  const expires = new Date(made.expires).toISOString();
  if (cli.json) cli.jsonLine({ id: made.id, url: made.url, expires });
  else {
    cli.out(made.url);
    if (!cli.quiet) cli.warn(`coffer share: ${made.manifest.items.length} file(s) in ${target.where}, until ${expires}; anyone with the link can open them`);
  }
  return 0;
}

async function list(cli: Cli, values: Values): Promise<number> {
  const target = await targetOf(cli, values);
  const live = await target.list();
  // Names and links come from the sealed record, when the repository can be opened.
  let known = new Map<string, RememberedShare>();
  if (cli.givenPassword() !== undefined) {
    try {
      const repo = await cli.openRepository();
      known = new Map((await rememberedShares(repo)).map((s) => [s.id, s]));
    } catch (e) {
      cli.warn(`coffer share: names and links not shown (${(e as Error).message})`);
    }
  }
  const rows = live.filter((s) => s.complete).map((s) => ({ ...s, ...(known.get(s.id) ? { url: known.get(s.id)!.url, names: known.get(s.id)!.names } : {}) }));
  if (cli.json) {
    cli.jsonLine(rows);
    return 0;
  }
  if (!rows.length) cli.info(`no shares in ${target.where}`);
  for (const r of rows) cli.out(`${r.id}  until ${r.expires}  ${r.files} file(s)  ${r.bytes} bytes${r.names ? `  ${r.names.join(', ')}` : ''}${r.url ? `\n  ${r.url}` : ''}`);
  return 0;
}

async function revoke(cli: Cli, values: Values, ids: string[]): Promise<number> {
  if (!ids.length) throw new CofferError('usage', 'give the id of the share to revoke (coffer share list)');
  for (const id of ids) if (!isShareId(id)) throw new CofferError('usage', `"${id}" is not a share id (22 characters, see "coffer share list")`);
  const target = await targetOf(cli, values);
  let missing = 0;
  for (const id of ids) {
    if (await target.sink.revoke(id)) cli.info(`revoked ${id}`);
    else {
      cli.warn(`coffer share: no share ${id} (already expired or revoked?)`);
      missing++;
    }
  }
  if (missing) throw new CofferError('not-found', `${missing} of ${ids.length} share(s) not found`);
  return 0;
}

const command: Command = {
  name: 'share',
  summary: 'Share files by an end-to-end encrypted link that expires (create, list, revoke).',
  usage: 'create SNAPSHOT:PATH... [--expires 7d] [--base-url URL] | list | revoke ID',
  help: `The files are encrypted here under a fresh key; the link carries the key after "#", which
browsers never send, so the server that stores the share cannot read it.

  coffer share create latest:/photos/a.jpg [--expires 7d|12h|30m|2s] [--base-url URL] [--json]
      prints the link alone on a line (--json: {"id","url","expires"}); a folder shares its files
  coffer share list [--json]        live shares (with names and links when the repository opens)
  coffer share revoke ID...         delete shares now

Where the share goes:
      --store DIR            a share store folder on this machine (default: $XDG_DATA_HOME/coffer/shares,
                             the one "coffer web" serves; "coffer serve --web" uses DATA/.coffer-shares)
      --server URL           upload to a running server: the http://…/?token=… address "coffer web"
                             printed, or https://USER:PASSWORD@host/ for "coffer serve --web"
      --base-url URL         the address people will open (default: the server's, else http://127.0.0.1:8080)
      --expires DURATION     lifetime (default 7d, at most 366d)`,
  options: {
    expires: { type: 'string' },
    'base-url': { type: 'string' },
    server: { type: 'string' },
    store: { type: 'string' },
  },
  async run(cli, values, positionals) {
    const [sub, ...rest] = positionals;
    if (sub === 'create') return create(cli, values, rest);
    if (sub === 'list') {
      if (rest.length) throw new CofferError('usage', `unexpected argument "${rest[0]}"`);
      return list(cli, values);
    }
    if (sub === 'revoke') return revoke(cli, values, rest);
    throw new CofferError('usage', sub ? `unknown subcommand "${sub}" (create, list, revoke)` : 'give a subcommand: create, list or revoke (see "coffer share --help")');
  },
};
export default command;
