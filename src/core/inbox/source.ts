/**
 * @module inbox/source
 * Staged items as a backup source: the archiver reads each sealed `data` part through the inbox
 * key, chunk by chunk, at the place `placement()` gives it (a watched file keeps its path, others
 * go under `/inbox/<device>`), with the folders above it made up. The SHA-256 of what was read is
 * checked against the sealed meta at the end of each file, so a `data` part swapped for another
 * sealed file aborts the backup. Browser-safe: the bytes come through a `read` port (files on
 * Node, the server's staging routes in the web app).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { toHex, utf8Encode, compareBytes } from '../bytes.js';
import { CofferError } from '../errors.js';
import { fromUnixNanos, localOffsetSec } from '../format/go-time.js';
import { MODE_DIR } from '../format/mode.js';
import type { GoTime } from '../format/types.js';
import type { FileSource, SourceError, SourceFile, SourceItem, SourceMeta } from '../engine/backup/source.js';
import { SEALED_HEADER_SIZE, type InboxOpener } from './seal.js';
import { placement, type StagedMeta } from './staged.js';

export interface StagedEntry {
  readonly id: string;
  readonly meta: StagedMeta;
  /** Length of the sealed `data` part. */
  readonly sealedLength: number;
  /** Reads `length` bytes of the sealed `data` part at `offset`. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export interface SourceOwner {
  readonly uid: number;
  readonly gid: number;
  readonly user?: string;
  readonly group?: string;
}

function goTime(ms: number): GoTime {
  const m = Math.trunc(ms);
  return fromUnixNanos(BigInt(m) * 1_000_000n, localOffsetSec(new Date(m)));
}

/** `name.ext` -> `name (tag).ext`: two staged files meant for one path both get one. */
function renamed(file: string, tag: string): string {
  const slash = file.lastIndexOf('/');
  const base = file.slice(slash + 1);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  return `${file.slice(0, slash + 1)}${stem} (${tag})${ext}`;
}

export class StagedSource implements FileSource {
  /** Absolute file path -> entry. */
  readonly files = new Map<string, StagedEntry>();
  private readonly dirs = new Map<string, Set<string>>();
  /** The snapshot's paths (the backup targets). */
  readonly roots: string[];
  private readonly now = Date.now();

  constructor(entries: readonly StagedEntry[], private readonly opener: InboxOpener, private readonly owner: SourceOwner) {
    const roots = new Set<string>();
    for (const e of entries) {
      const p = placement(e.meta);
      let file = p.file;
      if (this.files.has(file)) file = renamed(file, e.meta.sha256.slice(0, 8));
      if (this.files.has(file)) file = renamed(file, e.id);
      this.files.set(file, e);
      roots.add(p.root);
      const parts = file.split('/').filter(Boolean);
      for (let i = 0; i < parts.length; i++) {
        const dir = '/' + parts.slice(0, i).join('/');
        let kids = this.dirs.get(dir);
        if (!kids) this.dirs.set(dir, (kids = new Set()));
        kids.add(parts[i]!);
      }
    }
    // A root inside another root (a watched folder inside another) is covered by the outer one.
    this.roots = [...roots].filter((r) => ![...roots].some((o) => o !== r && r.startsWith(o === '/' ? '/' : o + '/'))).sort();
  }

  absolute(p: string): string {
    return p;
  }

  private item(abs: string): SourceItem | undefined {
    const name = utf8Encode(abs === '/' ? '' : abs.slice(abs.lastIndexOf('/') + 1));
    const file = this.files.get(abs);
    const common = { uid: this.owner.uid, gid: this.owner.gid, ...(this.owner.user ? { user: this.owner.user } : {}), ...(this.owner.group ? { group: this.owner.group } : {}) };
    let meta: SourceMeta;
    if (file) {
      const t = goTime(file.meta.mtime);
      meta = { name, type: 'file', mode: 0o644, mtime: t, atime: t, ctime: t, ...common, size: file.meta.size, links: 1n };
    } else if (this.dirs.has(abs)) {
      const t = goTime(this.now);
      meta = { name, type: 'dir', mode: (MODE_DIR | 0o755) >>> 0, mtime: t, atime: t, ctime: t, ...common, links: 2n };
    } else return undefined;
    return { name, meta, path: abs, rawPath: utf8Encode(abs) };
  }

  async stat(p: string): Promise<SourceItem> {
    const it = this.item(p);
    if (!it) throw new CofferError('source', `${p}: not a staged inbox item`);
    return it;
  }

  async readDir(dir: SourceItem): Promise<{ items: SourceItem[]; errors: SourceError[] }> {
    const kids = [...(this.dirs.get(dir.path) ?? [])].map((k) => ({ k, b: utf8Encode(k) })).sort((a, b) => compareBytes(a.b, b.b));
    const items = kids.map(({ k }) => this.item(`${dir.path === '/' ? '' : dir.path}/${k}`)!);
    return { items, errors: [] };
  }

  async open(f: SourceItem): Promise<SourceFile> {
    const e = this.files.get(f.path);
    if (!e) throw new CofferError('source', `${f.path}: not a staged inbox item`);
    const what = `inbox item ${e.id}`;
    const reader = this.opener.reader(await e.read(0, SEALED_HEADER_SIZE), e.sealedLength, what);
    if (reader.size !== e.meta.size) throw new CofferError('corrupt', `${what}: its data does not have the size its meta says`);
    const hash = sha256.create();
    let chunk = 0;
    let buf: Uint8Array = new Uint8Array(0);
    let at = 0;
    let done = 0;
    let checked = false;
    return {
      read: async (out, offset, length) => {
        while (at === buf.length) {
          if (chunk >= reader.chunks) {
            if (!checked) {
              checked = true;
              if (done !== e.meta.size || toHex(hash.digest()) !== e.meta.sha256) throw new CofferError('corrupt', `${what}: its data does not match the SHA-256 of its meta`);
            }
            return 0;
          }
          const r = reader.range(chunk);
          buf = reader.open(chunk, await e.read(r.offset, r.length));
          hash.update(buf);
          done += buf.length;
          at = 0;
          chunk++;
        }
        const n = Math.min(length, buf.length - at);
        out.set(buf.subarray(at, at + n), offset);
        at += n;
        return n;
      },
      close: async () => undefined,
    };
  }
}
