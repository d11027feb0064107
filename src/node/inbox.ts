/**
 * @module node/inbox
 * The review inbox's local state: `$XDG_STATE_HOME/coffer/inbox/` (0700) with `index.json` (0600:
 * pending items and the decision log) and `items/<id>/<name>` (copies of files given by
 * `coffer inbox add`, so they survive the source going away). Lives only on this device: nothing
 * here is ever written to a repository until an item is approved or kept private.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CofferError } from '../core/errors.js';
import { checkIndex, emptyIndex, isKnown, itemIdOf, takenFromBytes, withItem, type InboxIndex, type InboxItem } from '../core/inbox/inbox.js';
import { stateDir, writeFileAtomic } from './config.js';

type Env = NodeJS.ProcessEnv;

export function inboxDir(env: Env = process.env): string {
  return path.join(stateDir(env), 'inbox');
}

function indexPath(env: Env): string {
  return path.join(inboxDir(env), 'index.json');
}

export function loadInbox(env: Env = process.env): InboxIndex {
  let text: string;
  try {
    text = fs.readFileSync(indexPath(env), 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return emptyIndex();
    throw new CofferError('permission', `cannot read ${indexPath(env)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  try {
    return checkIndex(JSON.parse(text));
  } catch {
    throw new CofferError('corrupt', `${indexPath(env)} is not a valid inbox index`);
  }
}

export function saveInbox(index: InboxIndex, env: Env = process.env): void {
  fs.mkdirSync(inboxDir(env), { recursive: true, mode: 0o700 });
  fs.chmodSync(inboxDir(env), 0o700);
  writeFileAtomic(indexPath(env), JSON.stringify(index, null, 1) + '\n', 0o600);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Runs `fn` holding `inbox/lock` (created exclusively, holds the pid), so a scheduled scan and a
 * decision never lose each other's index update. A lock whose process is gone is taken over;
 * a live one is waited for up to `waitMs`, then 'locked' (exit 11).
 */
export async function withInboxLock<T>(env: Env, fn: () => Promise<T>, waitMs = 5000): Promise<T> {
  const dir = inboxDir(env);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const lock = path.join(dir, 'lock');
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(fs.readFileSync(lock, 'utf8').trim());
      if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() >= deadline) throw new CofferError('locked', `the inbox is in use by process ${pid} (${lock})`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  try {
    return await fn();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

/** SHA-256 of a file, streamed; also returns its first 256 KiB (enough for the EXIF header). */
export async function hashFile(file: string): Promise<{ sha256: string; head: Uint8Array }> {
  const h = createHash('sha256');
  const head: Buffer[] = [];
  let headLen = 0;
  for await (const chunk of fs.createReadStream(file)) {
    const b = chunk as Buffer;
    h.update(b);
    if (headLen < 256 * 1024) {
      head.push(b.subarray(0, 256 * 1024 - headLen));
      headLen += Math.min(b.length, 256 * 1024 - headLen);
    }
  }
  return { sha256: h.digest('hex'), head: Buffer.concat(head) };
}

/** Describes a regular file as an inbox item (not yet in the index). */
export async function describeFile(file: string, source: string, now = new Date()): Promise<InboxItem> {
  const abs = path.resolve(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw new CofferError('bad-input', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new CofferError('bad-input', `${file} is not a regular file`);
  const { sha256, head } = await hashFile(abs);
  return { id: itemIdOf(sha256), name: path.basename(abs), size: st.size, mtimeMs: Math.trunc(st.mtimeMs), sha256, source, path: abs, added: now.toISOString(), taken: takenFromBytes(head) };
}

/** `inbox add`: the item plus a private copy in the inbox folder. Returns the new index and whether it was new. */
export async function addFile(index: InboxIndex, file: string, env: Env = process.env): Promise<{ index: InboxIndex; item: InboxItem; added: boolean }> {
  const item = await describeFile(file, 'added');
  if (isKnown(index, item.sha256)) return { index, item, added: false };
  const rel = path.join('items', item.id, item.name);
  const dest = path.join(inboxDir(env), rel);
  fs.mkdirSync(path.dirname(dest), { recursive: true, mode: 0o700 });
  fs.copyFileSync(item.path, dest);
  fs.chmodSync(dest, 0o600);
  const staged: InboxItem = { ...item, staged: rel };
  return { index: withItem(index, staged), item: staged, added: true };
}

/** Regular files under `dir` (hidden names and symlinks skipped: sync tools keep temp files there). */
function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (e.name.startsWith('.')) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile()) out.push(p);
  }
}

/** Whether a pending watched item's file is still there with the size and mtime it was listed with. */
function unchanged(item: InboxItem): boolean {
  try {
    const st = fs.statSync(item.path);
    return st.isFile() && st.size === item.size && Math.trunc(st.mtimeMs) === item.mtimeMs;
  } catch {
    return false;
  }
}

/**
 * `inbox scan`: every file in the watched folders that is neither pending nor decided. A watched
 * item whose file changed or went away is dropped (a changed file comes back as a new item);
 * added items have their own copy and stay.
 */
export async function scanFolders(index: InboxIndex, folders: readonly string[]): Promise<{ index: InboxIndex; added: InboxItem[]; dropped: InboxItem[] }> {
  const added: InboxItem[] = [];
  const dropped = index.items.filter((i) => !i.staged && !unchanged(i));
  let next: InboxIndex = { ...index, items: index.items.filter((i) => !dropped.includes(i)) };
  for (const folder of folders) {
    const files: string[] = [];
    walk(folder, files);
    for (const f of files) {
      // A pending item with the same path, size and mtime is unchanged: no need to hash it again.
      const st = fs.statSync(f);
      if (next.items.some((i) => i.path === f && i.size === st.size && i.mtimeMs === Math.trunc(st.mtimeMs))) continue;
      const item = await describeFile(f, `watch:${folder}`);
      if (isKnown(next, item.sha256)) continue;
      next = withItem(next, item);
      added.push(item);
    }
  }
  return { index: next, added, dropped };
}

/** The file an item's decision reads: the inbox copy, or the watched file (checked unchanged). */
export async function itemFile(item: InboxItem, env: Env = process.env): Promise<string> {
  const file = item.staged ? path.join(inboxDir(env), item.staged) : item.path;
  let sha: string;
  try {
    sha = (await hashFile(file)).sha256;
  } catch (e) {
    throw new CofferError('bad-input', `inbox item ${item.id} (${item.name}): ${file} is gone (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); reject it`);
  }
  if (sha !== item.sha256) throw new CofferError('bad-input', `inbox item ${item.id} (${item.name}) changed since it was listed: run coffer inbox scan, then decide on the new item`);
  return file;
}

/** Deletes an added item's inbox copy (after it was stored or rejected). */
export function dropStaged(item: InboxItem, env: Env = process.env): void {
  if (item.staged) fs.rmSync(path.join(inboxDir(env), path.dirname(item.staged)), { recursive: true, force: true });
}
