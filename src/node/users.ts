/**
 * @module node/users
 * User and group names for numeric IDs, read from /etc/passwd and /etc/group the way restic's
 * (pure-Go, cgo-less) os/user does: first matching line wins, '#' comments and NIS '+'/'-' lines
 * skipped, an unknown ID gives '' (restic then omits `user`/`group`). Both files are read once
 * and cached. The reverse maps serve a restore that wants names rather than numbers.
 */
import * as fs from 'node:fs';

export interface UserDbPaths {
  readonly passwd?: string;
  readonly group?: string;
}

interface Table {
  readonly byId: Map<number, string>;
  readonly byName: Map<string, number>;
}

export class UserDb {
  private passwd: Table | undefined;
  private group: Table | undefined;

  constructor(private readonly paths: UserDbPaths = {}) {}

  /** Name of `uid`, or '' when unknown. */
  userName(uid: number): string {
    return (this.passwd ??= readTable(this.paths.passwd ?? '/etc/passwd')).byId.get(uid) ?? '';
  }
  /** Name of `gid`, or '' when unknown. */
  groupName(gid: number): string {
    return (this.group ??= readTable(this.paths.group ?? '/etc/group')).byId.get(gid) ?? '';
  }
  uidOf(name: string): number | undefined {
    return (this.passwd ??= readTable(this.paths.passwd ?? '/etc/passwd')).byName.get(name);
  }
  gidOf(name: string): number | undefined {
    return (this.group ??= readTable(this.paths.group ?? '/etc/group')).byName.get(name);
  }
}

let shared: UserDb | undefined;
/** The process-wide cached database of the system files. */
export function systemUsers(): UserDb {
  return (shared ??= new UserDb());
}

/** Parses `name:password:id:...` lines (passwd and group share the first three fields). */
export function parseIdFile(text: string): Table {
  const byId = new Map<number, string>();
  const byName = new Map<string, number>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line[0] === '#' || line[0] === '+' || line[0] === '-') continue;
    const f = line.split(':');
    if (f.length < 3 || f[0] === '' || !/^\d+$/.test(f[2]!)) continue;
    const id = Number(f[2]);
    if (!byId.has(id)) byId.set(id, f[0]!);
    if (!byName.has(f[0]!)) byName.set(f[0]!, id);
  }
  return { byId, byName };
}

function readTable(file: string): Table {
  try {
    return parseIdFile(fs.readFileSync(file, 'utf8'));
  } catch {
    return { byId: new Map(), byName: new Map() }; // no such file (containers): names stay empty
  }
}
