/**
 * `coffer inbox`: choose before upload (issue 12, design web-gallery.md §6, CLI part). New files
 * wait in a local inbox (src/node/inbox.ts, never in a repository); approve/private back them up
 * into the primary at once, reject drops them for good.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { backup } from '../../core/engine/backup/backup.js';
import { CofferError } from '../../core/errors.js';
import { decide, pending, resolveIds, type Decision, type InboxItem } from '../../core/inbox/inbox.js';
import { loadConfig, updateConfig } from '../../node/config.js';
import { NodeFileSource } from '../../node/fs-source.js';
import { addFile, dropStaged, itemFile, loadInbox, saveInbox, scanFolders, withInboxLock } from '../../node/inbox.js';
import { flag, str, type Command, type Values } from '../command.js';
import type { Cli } from '../context.js';
import { formatBytes } from '../format.js';

function watched(cli: Cli): string[] {
  return [...(loadConfig(cli.env)?.inbox?.watch ?? [])];
}

function listJson(items: readonly InboxItem[]) {
  return items.map((i) => ({ id: i.id, name: i.name, size: i.size, taken: i.taken, source: i.source, added: i.added, path: i.path }));
}

async function store(cli: Cli, ids: string[], decision: 'approve' | 'private', album: string | undefined, gallery: boolean): Promise<number> {
  // The gallery is shared by everyone who opens the repository: private items stay out of it.
  if (gallery && decision === 'private') throw new CofferError('bad-input', '--gallery is for approve only: there is no private gallery yet');
  let index = loadInbox(cli.env);
  const items = resolveIds(index, ids);
  const files: string[] = [];
  for (const item of items) files.push(await itemFile(item, cli.env));
  const tags = ['inbox', ...(decision === 'private' ? ['private'] : []), ...(album ? [`album:${album}`] : [])];
  const repo = await cli.openRepository();
  const result = await backup(repo, new NodeFileSource(), { targets: files, hostname: os.hostname(), owner: cli.lockOwner(), tags, force: true, signal: cli.signal });
  const snapshot = result.snapshotId ?? '';
  // Stored: decided now, so a failing gallery build never offers the item a second time.
  index = decide(index, items, decision, new Date().toISOString(), snapshot);
  saveInbox(index, cli.env);
  for (const item of items) dropStaged(item, cli.env);
  if (!cli.json) {
    for (const i of items) cli.info(`${decision === 'private' ? 'kept private' : 'approved'}  ${i.id}  ${i.name}`);
    cli.info(`snapshot ${snapshot.slice(0, 8)} saved (tags ${tags.join(',')})`);
  }
  // Loaded on use, as backup --gallery does (sharp is heavy).
  const galleryCli = gallery ? await import('./gallery.js') : undefined;
  const built = galleryCli ? await galleryCli.runGalleryBuild(cli, repo, [result.snapshotId!]) : undefined;
  if (cli.json) cli.jsonLine({ decision, snapshot, tags, items: items.map((i) => i.id), ...(built ? { gallery: galleryCli!.galleryCounts(built) } : {}) });
  else if (built) galleryCli!.reportGallery(cli, built);
  return 0;
}

const command: Command = {
  name: 'inbox',
  summary: 'Review new files before they are stored: add, watch, scan, list, approve, private, reject.',
  usage: 'add FILE... | watch DIR | scan | list [--json] | approve ID... [--album A] [--gallery] | private ID... | reject ID...',
  help: `Pending items live only on this device ($XDG_STATE_HOME/coffer/inbox/), never in a repository.
  add FILE...          copy files into the inbox
  watch DIR            remember a folder (e.g. the one a phone syncs into); scan picks up its new files
  scan                 add what is new in the watched folders
  list                 pending items, oldest first (--json: [{id,name,size,taken,source,added,path}])
  approve ID...        store the items in the repository now (one snapshot, tag "inbox")
  private ID...        store them too, tagged "inbox" and "private"
  reject ID...         never store them, and never offer the same content again
Options:
      --album A            with approve/private: also tag the snapshot "album:A"
      --gallery            with approve: then add the new photos and videos to the gallery (coffer gallery build)`,
  usageExitCode: 2,
  options: { album: { type: 'string' }, gallery: { type: 'boolean' } },
  async run(cli, values, positionals) {
    // Every action reads and rewrites the local index: one at a time.
    return withInboxLock(cli.env, () => act(cli, values, positionals));
  },
};

async function act(cli: Cli, values: Values, positionals: string[]): Promise<number> {
  const [sub, ...args] = positionals;
  const album = str(values.album);
  if (album !== undefined && (album === '' || album.includes(','))) throw new CofferError('bad-input', '--album: give a name without commas');
  switch (sub) {
    case 'add': {
      if (args.length === 0) throw new CofferError('bad-input', 'inbox add: give at least one file');
      let index = loadInbox(cli.env);
      const out: { id: string; name: string; added: boolean }[] = [];
      for (const f of args) {
        const r = await addFile(index, f, cli.env);
        index = r.index;
        out.push({ id: r.item.id, name: r.item.name, added: r.added });
      }
      saveInbox(index, cli.env);
      if (cli.json) cli.jsonLine(out);
      else for (const o of out) cli.info(`${o.added ? 'added  ' : 'known  '} ${o.id}  ${o.name}`);
      return 0;
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
      const folders = watched(cli);
      if (folders.length === 0) throw new CofferError('bad-input', 'no watched folder: add one with coffer inbox watch DIR');
      const r = await scanFolders(loadInbox(cli.env), folders);
      saveInbox(r.index, cli.env);
      if (cli.json) cli.jsonLine(listJson(r.added));
      else {
        for (const i of r.dropped) cli.info(`gone    ${i.id}  ${i.name} (changed or removed)`);
        for (const i of r.added) cli.info(`added   ${i.id}  ${i.name}`);
        cli.info(`${r.added.length} new item(s)`);
      }
      return 0;
    }
    case 'list': {
      const items = pending(loadInbox(cli.env));
      if (cli.json) cli.jsonLine(listJson(items));
      else {
        if (items.length === 0) cli.info('the inbox is empty');
        for (const i of items) cli.out(`${i.id}  ${formatBytes(i.size).padStart(10)}  ${(i.taken ?? '-').padEnd(19)}  ${i.source.padEnd(8)}  ${i.name}`);
      }
      return 0;
    }
    case 'approve':
    case 'private':
      return store(cli, args, sub, album, flag(values.gallery));
    case 'reject': {
      const index = loadInbox(cli.env);
      const items = resolveIds(index, args);
      saveInbox(decide(index, items, 'reject' as Decision, new Date().toISOString()), cli.env);
      for (const item of items) dropStaged(item, cli.env);
      if (cli.json) cli.jsonLine({ decision: 'reject', items: items.map((i) => i.id) });
      else for (const i of items) cli.info(`rejected  ${i.id}  ${i.name}`);
      return 0;
    }
    default:
      throw new CofferError('bad-input', `inbox: unknown action ${sub === undefined ? '(none)' : JSON.stringify(sub)}; use add, watch, scan, list, approve, private or reject`);
  }
}

export default command;
