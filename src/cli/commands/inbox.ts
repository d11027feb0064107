/**
 * `coffer inbox`: choose before upload (issue 12, design web-gallery.md §6). New files are staged
 * sealed for the inbox's public key in a local staging folder (src/node/inbox-store.ts, never in a
 * repository): `add` and `scan` need no password once this device has the public key. Listing and
 * deciding open the repository (the private key is a record in it): approve/private back the
 * items up into the primary at once (tag coffer-inbox) and add them to the gallery; reject drops
 * them; every decision is logged so a watched folder never offers the content again.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backup } from '../../core/engine/backup/backup.js';
import { CofferError } from '../../core/errors.js';
import { ensureInboxKeyPair } from '../../core/inbox/keys.js';
import { InboxOpener } from '../../core/inbox/seal.js';
import { StagedSource } from '../../core/inbox/source.js';
import { checkAlbum, decisionTags, resolveIds, type Decision, type StagedMeta } from '../../core/inbox/staged.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadConfig, updateConfig } from '../../node/config.js';
import { KnownContent, migrateLegacyInbox, readStagedMeta, scanWatched, stageFile, stagedEntry } from '../../node/inbox.js';
import { inboxPublicKeyFor, rememberInboxKey } from '../../node/inbox-keys.js';
import { InboxStore } from '../../node/inbox-store.js';
import { flag, str, type Command, type Values } from '../command.js';
import type { Cli } from '../context.js';
import { formatBytes } from '../format.js';

export function watchedFolders(env: NodeJS.ProcessEnv): string[] {
  return [...(loadConfig(env)?.inbox?.watch ?? [])];
}

/** Opens the repository and makes sure it has an inbox key pair, remembered on this device. */
async function openWithKey(cli: Cli): Promise<{ repo: Repository; store: InboxStore; opener: InboxOpener; publicKey: Uint8Array }> {
  const repo = await cli.openRepository();
  const { pair, created } = await ensureInboxKeyPair(repo, cli.lockOwner(), { signal: cli.signal });
  if (created) cli.info('made the inbox key pair (private key stored in the repository)');
  if (rememberInboxKey(cli.env, cli.repositoryLocation().location, repo.config.id, pair.publicKey)) {
    cli.warn(`coffer: the inbox public key on this device was not the repository's: replaced (items staged for the old one cannot be opened)`);
  }
  return { repo, store: InboxStore.forRepository(cli.env, repo.config.id), opener: new InboxOpener(pair), publicKey: pair.publicKey };
}

/** The staging store and public key: from this device when it has them (no password), else via the repository once. */
async function forStaging(cli: Cli): Promise<{ store: InboxStore; publicKey: Uint8Array }> {
  const known = inboxPublicKeyFor(cli.env, cli.repositoryLocation().location);
  if (known) return { store: InboxStore.forRepository(cli.env, known.repoId), publicKey: known.publicKey };
  const o = await openWithKey(cli);
  return { store: o.store, publicKey: o.publicKey };
}

async function migrate(cli: Cli, store: InboxStore, publicKey: Uint8Array): Promise<void> {
  const m = await migrateLegacyInbox(cli.env, store, publicKey);
  if (m) cli.warn(`coffer: moved the old unsealed inbox into the sealed one (${m.moved} item(s) kept, ${m.dropped} whose file was gone dropped)`);
}

interface Listed {
  id: string;
  name: string;
  size: number;
  taken: string | null;
  source: string;
  added: string;
}

function listed(id: string, m: StagedMeta): Listed {
  return { id, name: m.name, size: m.size, taken: m.taken, source: m.source, added: m.added };
}

/** Pending items with their opened metas, oldest first; an item that cannot be opened is reported, not listed. */
function openAll(cli: Cli, store: InboxStore, opener: InboxOpener): { id: string; meta: StagedMeta }[] {
  const out: { id: string; meta: StagedMeta; order: number }[] = [];
  store.listStaged().forEach(({ id }, order) => {
    try {
      out.push({ id, meta: readStagedMeta(store, opener, id), order });
    } catch (e) {
      cli.warn(`coffer: inbox item ${id} cannot be opened (${(e as Error).message}); reject it`);
    }
  });
  return out.sort((a, b) => a.meta.added.localeCompare(b.meta.added) || a.order - b.order);
}

async function store(cli: Cli, ids: string[], decision: 'approve' | 'private', album: string | undefined, gallery: boolean): Promise<number> {
  const location = inboxPublicKeyFor(cli.env, cli.repositoryLocation().location);
  // Unknown IDs are refused before the password is asked for (the folder names are the IDs).
  if (location) resolveIds(InboxStore.forRepository(cli.env, location.repoId).listStaged().map((s) => s.id), ids);
  const { repo, store: st, opener } = await openWithKey(cli);
  const { items, snapshot, tags } = await st.withLock(async () => {
    const chosen = resolveIds(st.listStaged().map((s) => s.id), ids);
    const items = chosen.map((id) => ({ id, meta: readStagedMeta(st, opener, id) }));
    const tags = decisionTags(decision, album);
    const u = os.userInfo();
    const source = new StagedSource(items.map((i) => stagedEntry(st, i.id, i.meta)), opener, { uid: u.uid, gid: u.gid, user: u.username });
    const result = await backup(repo, source, { targets: source.roots, hostname: os.hostname(), owner: cli.lockOwner(), tags, force: true, signal: cli.signal });
    if (result.counts.errors > 0 || !result.snapshotId) throw new CofferError('source', 'some inbox items could not be read; nothing was decided');
    // Stored: logged and unstaged now, so a failing gallery build never offers an item twice.
    const time = new Date().toISOString();
    st.logDecisions(items.map((i) => ({ sha256: i.meta.sha256, decision, time, snapshot: result.snapshotId! })));
    for (const i of items) st.deleteStaged(i.id);
    return { items, snapshot: result.snapshotId, tags };
  });
  if (!cli.json) {
    for (const i of items) cli.info(`${decision === 'private' ? 'kept private' : 'approved'}  ${i.id}  ${i.meta.name}`);
    cli.info(`snapshot ${snapshot.slice(0, 8)} saved (tags ${tags.join(',')})`);
  }
  // Outside the inbox lock (a build can take minutes). The build sends snapshots tagged private
  // only to the private gallery. Loaded on use, as backup --gallery does (sharp is heavy).
  const galleryCli = gallery ? await import('./gallery.js') : undefined;
  const built = galleryCli ? await galleryCli.runGalleryBuild(cli, repo, [snapshot]) : undefined;
  if (cli.json) cli.jsonLine({ decision, snapshot, tags, items: items.map((i) => i.id), ...(built ? { gallery: galleryCli!.galleryCounts(built) } : {}) });
  else if (built) galleryCli!.reportGallery(cli, built);
  return 0;
}

const command: Command = {
  name: 'inbox',
  summary: 'Review new files before they are stored: add, watch, scan, list, approve, private, reject.',
  usage: 'add FILE... | watch DIR | scan | list [--json] | approve ID... [--album A] [--no-gallery] | private ID... | reject ID...',
  help: `Pending items are sealed for the inbox key in $XDG_DATA_HOME/coffer/inbox/<repository id>/ on this
device, never in a repository. add and scan need no password once this device has the public key.
  add FILE...          stage files (sealed copies)
  watch DIR            remember a folder (e.g. the one a phone syncs into); scan picks up its new files
  scan                 stage what is new in the watched folders
  list                 pending items, oldest first (--json: [{id,name,size,taken,source,added}]); opens the repository
  approve ID...        back the items up into the primary now (tag coffer-inbox) and add them to the gallery
  private ID...        the same, tagged private too (private gallery)
  reject ID...         never store them, and never offer the same content again
Options:
      --album A            with approve/private: also tag the snapshot "album:A"
      --no-gallery         with approve/private: do not add the items to the gallery`,
  usageExitCode: 2,
  options: { album: { type: 'string' }, gallery: { type: 'boolean' }, 'no-gallery': { type: 'boolean' } },
  async run(cli, values, positionals) {
    return act(cli, values, positionals);
  },
};

async function act(cli: Cli, values: Values, positionals: string[]): Promise<number> {
  const [sub, ...args] = positionals;
  const album = str(values.album);
  checkAlbum(album);
  switch (sub) {
    case 'add': {
      if (args.length === 0) throw new CofferError('bad-input', 'inbox add: give at least one file');
      for (const f of args) if (!fs.existsSync(f) || !fs.statSync(f).isFile()) throw new CofferError('bad-input', `${f} is not a regular file`);
      const { store: st, publicKey } = await forStaging(cli);
      return st.withLock(async () => {
        await migrate(cli, st, publicKey);
        const known = new KnownContent(st, publicKey);
        const out: { id: string | null; name: string; added: boolean }[] = [];
        for (const f of args) {
          const r = await stageFile(st, publicKey, f, { source: `add:${os.hostname()}`, known });
          out.push(r.known ? { id: null, name: r.name, added: false } : { id: r.id, name: r.meta.name, added: true });
        }
        if (cli.json) cli.jsonLine(out);
        else for (const o of out) cli.info(o.added ? `added   ${o.id}  ${o.name}` : `known   ${o.name} (pending or decided already)`);
        return 0;
      });
    }
    case 'watch': {
      if (args.length !== 1) throw new CofferError('bad-input', 'inbox watch: give one folder');
      const dir = path.resolve(args[0]!);
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CofferError('bad-input', `${args[0]} is not a folder`);
      updateConfig(cli.env, cli.repositoryLocation().location, (c) => {
        const list = c.inbox?.watch ?? [];
        return list.includes(dir) ? c : { ...c, inbox: { watch: [...list, dir] } };
      });
      cli.info(`watching ${dir} (coffer inbox scan picks up new files)`);
      return 0;
    }
    case 'scan': {
      const folders = watchedFolders(cli.env);
      if (folders.length === 0) throw new CofferError('bad-input', 'no watched folder: add one with coffer inbox watch DIR');
      const { store: st, publicKey } = await forStaging(cli);
      return st.withLock(async () => {
        await migrate(cli, st, publicKey);
        const r = await scanWatched(st, publicKey, folders);
        for (const p of r.problems) cli.warn(`coffer: inbox scan: ${p}`);
        if (cli.json) cli.jsonLine(r.staged.map((s) => listed(s.id, s.meta)));
        else {
          for (const s of r.staged) cli.info(`added   ${s.id}  ${s.meta.name}`);
          cli.info(`${r.staged.length} new item(s)`);
        }
        return r.problems.length ? 3 : 0;
      });
    }
    case 'list': {
      const { store: st, opener, publicKey } = await openWithKey(cli);
      return st.withLock(async () => {
        await migrate(cli, st, publicKey);
        const items = openAll(cli, st, opener);
        if (cli.json) cli.jsonLine(items.map((i) => listed(i.id, i.meta)));
        else {
          if (items.length === 0) cli.info('the inbox is empty');
          for (const { id, meta: m } of items) cli.out(`${id}  ${formatBytes(m.size).padStart(10)}  ${(m.taken ?? '-').padEnd(19)}  ${m.source.split(':')[0]!.padEnd(6)}  ${m.name}`);
        }
        return 0;
      });
    }
    case 'approve':
    case 'private':
      return store(cli, args, sub, album, !flag(values['no-gallery']));
    case 'reject': {
      const location = inboxPublicKeyFor(cli.env, cli.repositoryLocation().location);
      if (location) resolveIds(InboxStore.forRepository(cli.env, location.repoId).listStaged().map((s) => s.id), args);
      // The sha256 for the decision log is in the sealed meta: the repository is opened.
      const { store: st, opener } = await openWithKey(cli);
      return st.withLock(async () => {
        const ids = resolveIds(st.listStaged().map((s) => s.id), args);
        const time = new Date().toISOString();
        // An item that cannot be opened (damaged, or sealed for another key) is deleted unlogged.
        const items = ids.map((id) => {
          try {
            return { id, meta: readStagedMeta(st, opener, id) as StagedMeta | undefined };
          } catch (e) {
            cli.warn(`coffer: inbox item ${id} cannot be opened (${(e as Error).message}): deleted without a log entry`);
            return { id, meta: undefined };
          }
        });
        st.logDecisions(items.flatMap((i) => (i.meta ? [{ sha256: i.meta.sha256, decision: 'reject' as Decision, time }] : [])));
        for (const i of items) st.deleteStaged(i.id);
        if (cli.json) cli.jsonLine({ decision: 'reject', items: ids });
        else for (const i of items) cli.info(`rejected  ${i.id}  ${i.meta?.name ?? '(unreadable)'}`);
        return 0;
      });
    }
    default:
      throw new CofferError('bad-input', `inbox: unknown action ${sub === undefined ? '(none)' : JSON.stringify(sub)}; use add, watch, scan, list, approve, private or reject`);
  }
}

export default command;
