/**
 * @module server/htpasswd
 * Users of `coffer serve` from an Apache htpasswd file (`htpasswd -B`): bcrypt entries
 * (`$2y$`, `$2a$`, `$2b$`) only. Other formats (SHA `{SHA}`, MD5 `$apr1$`, crypt) are refused at
 * load with a message naming the user and the format, never the hash.
 *
 * bcrypt is slow by design and restic sends many requests, so a verified password is remembered
 * (as a SHA-256 of user, password and a per-process salt, compared in constant time) until the
 * file changes: the file is re-read when its modification time or size changes.
 */
import * as fs from 'node:fs';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { CofferError } from '../core/errors.js';

const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;

export interface HtpasswdEntry {
  readonly user: string;
  readonly hash: string;
}

/** Parses an htpasswd file's text; throws 'usage' for entries that are not bcrypt. */
export function parseHtpasswd(text: string, file = 'htpasswd file'): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new CofferError('usage', `${file}:${i + 1}: not a "user:hash" line`);
    const user = line.slice(0, colon);
    const hash = line.slice(colon + 1);
    if (!BCRYPT.test(hash)) {
      const kind = hash.startsWith('{SHA}') ? 'SHA-1' : hash.startsWith('$apr1$') ? 'MD5 (apr1)' : hash.startsWith('$') ? `"${hash.split('$')[1] ?? ''}"` : 'crypt or plain';
      throw new CofferError('usage', `${file}:${i + 1}: user "${user}" has a ${kind} password hash; only bcrypt is accepted (recreate it with "htpasswd -B ${file} ${user}")`);
    }
    users.set(user, hash);
  }
  return users;
}

/** Verifies a password against a bcrypt hash (`$2y$` is the same algorithm as `$2b$`). */
export function bcryptVerify(password: string, hash: string): boolean {
  if (!BCRYPT.test(hash)) return false;
  return bcrypt.compareSync(password, hash.replace(/^\$2y\$/, '$2b$'));
}

export class Htpasswd {
  private users = new Map<string, string>();
  private stamp = '';
  private checkedAt = 0;
  private readonly salt = randomBytes(16);
  /** user -> digest of a password that verified against the current file. */
  private verified = new Map<string, Buffer>();

  constructor(readonly file: string) {
    this.reload(true);
  }

  get size(): number {
    return this.users.size;
  }

  /** Re-reads the file if it changed (checked at most once a second). */
  private reload(force = false): void {
    const now = Date.now();
    if (!force && now - this.checkedAt < 1000) return;
    this.checkedAt = now;
    let st: fs.Stats;
    try {
      st = fs.statSync(this.file);
    } catch (e) {
      if (force) throw new CofferError('usage', `cannot read the htpasswd file ${this.file} (${(e as NodeJS.ErrnoException).code ?? 'error'}); create it with "htpasswd -B -c ${this.file} USER" or use --no-auth`);
      return; // keep the last good users while the file is being replaced
    }
    const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
    if (stamp === this.stamp) return;
    try {
      this.users = parseHtpasswd(fs.readFileSync(this.file, 'utf8'), this.file);
      this.verified = new Map();
      this.stamp = stamp;
    } catch (e) {
      if (force) throw e;
      // A broken edit: keep the last good users.
    }
  }

  private digest(user: string, password: string): Buffer {
    return createHash('sha256').update(this.salt).update(user).update('\0').update(password).digest();
  }

  /** True when `user` exists and `password` matches. */
  verify(user: string, password: string): boolean {
    this.reload();
    const hash = this.users.get(user);
    if (hash === undefined) {
      // Spend comparable time for unknown users.
      bcryptVerify(password, '$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW');
      return false;
    }
    const d = this.digest(user, password);
    const known = this.verified.get(user);
    if (known && timingSafeEqual(known, d)) return true;
    if (!bcryptVerify(password, hash)) return false;
    this.verified.set(user, d);
    return true;
  }
}
