/**
 * @module node/inbox-store
 * The inbox's staging folder on this device (design web-gallery.md §6), shared by the CLI and the
 * web server (phone uploads land in the same layout):
 *
 *   $XDG_DATA_HOME/coffer/inbox/<repository id>/      (0700; never synced, never in a repository)
 *     items/<stage id>/meta|thumb|data                 sealed for the inbox public key (0600)
 *     items/<stage id>/dedup                           unsealed keyed digest (staged.ts dedupDigest)
 *     items/.<stage id>.part/                          an item being written (listers skip it)
 *     decisions.json                                   [{sha256, decision, time, snapshot?}]
 *     lock                                             one writer at a time (pid)
 *
 * Stage ids are random (32 hex): content hashes would tell whoever sees the folder which items
 * are equal to a file they have. This module only moves bytes; sealing is the caller's.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CofferError } from '../core/errors.js';
import { decodeDecisions, encodeDecisions, isStageId, STAGED_PARTS, type DecisionEntry, type StagedPart } from '../core/inbox/staged.js';
import { writeFileAtomic } from './config.js';

type Env = NodeJS.ProcessEnv;

/** `$XDG_DATA_HOME/coffer/inbox` */
export function inboxDataRoot(env: Env = process.env): string {
  const v = env.XDG_DATA_HOME;
  const home = env.HOME && path.isAbsolute(env.HOME) ? env.HOME : os.homedir();
  return path.join(v && path.isAbsolute(v) ? v : path.join(home, '.local', 'share'), 'coffer', 'inbox');
}

export function stagingDir(env: Env, repoId: string): string {
  if (!/^[0-9a-f]{64}$/.test(repoId)) throw new CofferError('internal', 'not a repository id');
  return path.join(inboxDataRoot(env), repoId);
}

function checkPart(part: string): asserts part is StagedPart {
  if (!(STAGED_PARTS as readonly string[]).includes(part)) throw new CofferError('bad-input', `unknown inbox item part ${JSON.stringify(part)}`);
}

function checkId(id: string): void {
  if (!isStageId(id)) throw new CofferError('bad-input', `not an inbox item id: ${JSON.stringify(id)}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class InboxStore {
  constructor(readonly dir: string) {}

  static forRepository(env: Env, repoId: string): InboxStore {
    return new InboxStore(stagingDir(env, repoId));
  }

  get itemsDir(): string {
    return path.join(this.dir, 'items');
  }

  private ensure(): void {
    fs.mkdirSync(this.itemsDir, { recursive: true, mode: 0o700 });
    fs.chmodSync(this.dir, 0o700);
  }

  newStageId(): string {
    return randomBytes(16).toString('hex');
  }

  private partDir(id: string): string {
    return path.join(this.itemsDir, `.${id}.part`);
  }

  /** Writes one part of an item being staged (`items/.<id>.part/<part>`). */
  stageSealed(id: string, part: StagedPart, bytes: Uint8Array): void {
    checkId(id);
    checkPart(part);
    this.ensure();
    fs.mkdirSync(this.partDir(id), { recursive: true, mode: 0o700 });
    writeFileAtomic(path.join(this.partDir(id), part), bytes, 0o600);
  }

  /** Where a part being staged is written (to stream a big `data` part into it). */
  pendingPartPath(id: string, part: StagedPart): string {
    checkId(id);
    checkPart(part);
    this.ensure();
    fs.mkdirSync(this.partDir(id), { recursive: true, mode: 0o700 });
    return path.join(this.partDir(id), part);
  }

  /** Makes a staged item visible: `.<id>.part/` becomes `<id>/` once it has meta and data. */
  commitStaged(id: string): void {
    checkId(id);
    const from = this.partDir(id);
    for (const p of ['meta', 'data']) if (!fs.existsSync(path.join(from, p))) throw new CofferError('bad-input', `inbox item ${id} has no ${p} yet`);
    const to = path.join(this.itemsDir, id);
    if (fs.existsSync(to)) throw new CofferError('bad-input', `inbox item ${id} exists already`);
    // Anything but the parts (an upload's unfinished `*.up` pieces, temp files) stays behind.
    for (const n of fs.readdirSync(from)) if (!(STAGED_PARTS as readonly string[]).includes(n)) fs.rmSync(path.join(from, n), { recursive: true, force: true });
    fs.renameSync(from, to);
  }

  /** Drops an item that was never committed. */
  abortStaged(id: string): void {
    checkId(id);
    fs.rmSync(this.partDir(id), { recursive: true, force: true });
  }

  /** Complete items, oldest first (by the time they were committed). */
  listStaged(): { id: string; mtimeMs: number }[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.itemsDir);
    } catch {
      return [];
    }
    const out: { id: string; mtimeMs: number }[] = [];
    for (const n of names) {
      if (!isStageId(n)) continue;
      try {
        const st = fs.statSync(path.join(this.itemsDir, n, 'meta'));
        if (fs.existsSync(path.join(this.itemsDir, n, 'data'))) out.push({ id: n, mtimeMs: st.mtimeMs });
      } catch {
        // half gone (being deleted): not listed
      }
    }
    return out.sort((a, b) => a.mtimeMs - b.mtimeMs || (a.id < b.id ? -1 : 1));
  }

  hasStaged(id: string): boolean {
    return isStageId(id) && fs.existsSync(path.join(this.itemsDir, id, 'meta'));
  }

  stagedPath(id: string, part: StagedPart): string {
    checkId(id);
    checkPart(part);
    return path.join(this.itemsDir, id, part);
  }

  /** A committed item's part, or undefined when it has none. */
  readStaged(id: string, part: StagedPart): Uint8Array | undefined {
    try {
      return new Uint8Array(fs.readFileSync(this.stagedPath(id, part)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  deleteStaged(id: string): void {
    checkId(id);
    fs.rmSync(path.join(this.itemsDir, id), { recursive: true, force: true });
  }

  private get decisionsPath(): string {
    return path.join(this.dir, 'decisions.json');
  }

  readDecisions(): DecisionEntry[] {
    let text: string;
    try {
      text = fs.readFileSync(this.decisionsPath, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw new CofferError('permission', `cannot read ${this.decisionsPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    return decodeDecisions(text, this.decisionsPath);
  }

  /** Appends to decisions.json (rewritten atomically; hold `withLock`). */
  logDecisions(entries: readonly DecisionEntry[]): void {
    if (entries.length === 0) return;
    this.ensure();
    writeFileAtomic(this.decisionsPath, encodeDecisions([...this.readDecisions(), ...entries]), 0o600);
  }

  /**
   * Runs `fn` holding `<dir>/lock` (created exclusively, holds the pid), so a scan and a decision
   * never lose each other's update. A dead holder's lock is taken over; a live one is waited for
   * up to `waitMs`, then 'locked' (exit 11).
   */
  async withLock<T>(fn: () => Promise<T>, waitMs = 5000): Promise<T> {
    this.ensure();
    const lock = path.join(this.dir, 'lock');
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        fs.writeFileSync(lock, String(process.pid), { flag: 'wx', mode: 0o600 });
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let text: string;
        try {
          text = fs.readFileSync(lock, 'utf8').trim();
        } catch {
          continue; // released meanwhile
        }
        const pid = Number(text);
        if (text !== '' && (!Number.isInteger(pid) || pid <= 0 || !alive(pid))) {
          fs.rmSync(lock, { force: true });
          continue;
        }
        // An empty lock was just created: its pid follows.
        if (Date.now() >= deadline) throw new CofferError('locked', `the inbox is in use by process ${text || '?'} (${lock})`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    try {
      return await fn();
    } finally {
      fs.rmSync(lock, { force: true });
    }
  }
}
