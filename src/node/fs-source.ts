/**
 * @module node/fs-source
 * The backup source on the local file system (the FileSource port of engine/backup/source.ts):
 * lstat-based metadata as restic records it (fs-meta.ts), raw-byte names, and extended
 * attributes read ahead with one `getfattr -R` per listed target folder instead of a tool run
 * per folder (the folders above a target get a one-entry read, never a recursive one).
 * Every failure to read becomes CofferError 'source', so the archiver skips and reports it.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { FileSource, SourceError, SourceFile, SourceItem } from '../core/engine/backup/source.js';
import { CofferError } from '../core/errors.js';
import type { ExtendedAttribute } from '../core/format/types.js';
import { lstatBig, metaFromStat, nodeFromStat, type MetaOptions } from './fs-meta.js';
import { parseDump, xattrSupport } from './xattr.js';

const BIGINT = { bigint: true } as const;

function sourceError(p: string, e: unknown, what: string): CofferError {
  const err = e as NodeJS.ErrnoException;
  const reason = err.code === 'ENOENT' ? 'it vanished during the backup' : err.code === 'EACCES' || err.code === 'EPERM' ? 'permission denied' : err.message;
  return new CofferError('source', `${what} ${p}: ${reason}`, { cause: e, ...(err.code ? { data: { errno: err.code } } : {}) });
}

class NodeSourceFile implements SourceFile {
  constructor(
    private readonly fh: fsp.FileHandle,
    private readonly p: string,
  ) {}
  async read(buf: Uint8Array, offset: number, length: number): Promise<number> {
    try {
      return (await this.fh.read(buf, offset, length, null)).bytesRead;
    } catch (e) {
      throw sourceError(this.p, e, 'read');
    }
  }
  close(): Promise<void> {
    return this.fh.close();
  }
}

export interface NodeFileSourceOptions extends Pick<MetaOptions, 'withAtime'> {
  /** Read extended attributes (default: when getfattr is installed). */
  readonly xattrs?: boolean;
}

export class NodeFileSource implements FileSource {
  /** Absolute path (latin1 of the raw bytes) -> attributes, filled by one getfattr -R per target. */
  private readonly xattrs = new Map<string, Promise<Map<string, ExtendedAttribute[]>>>();
  private readonly readXattrs: boolean;

  private readonly metaOpts: MetaOptions;

  constructor(private readonly opts: NodeFileSourceOptions = {}) {
    this.readXattrs = opts.xattrs ?? xattrSupport();
    this.metaOpts = opts.withAtime ? { withAtime: true } : {};
  }

  absolute(p: string): string {
    return path.resolve(p);
  }

  private prefetch(abs: string): void {
    if (!this.readXattrs) return;
    const key = Buffer.from(abs).toString('latin1');
    if (this.xattrs.has(key)) return;
    this.xattrs.set(key, runGetfattr(abs, true).catch(() => new Map()));
  }

  /** Starts the recursive attribute read of each target (one per target not inside another). */
  prepare(targets: readonly string[]): void {
    if (!this.readXattrs) return;
    const abs = [...new Set(targets.map((t) => this.absolute(t)))].sort((a, b) => a.length - b.length);
    for (const a of abs) if (!this.covered(Buffer.from(a))) this.prefetch(a);
  }

  async stat(p: string): Promise<SourceItem> {
    const abs = this.absolute(p);
    const raw = Buffer.from(abs);
    let st;
    try {
      st = await lstatBig(raw);
    } catch (e) {
      throw sourceError(abs, e, 'lstat');
    }
    const name = new Uint8Array(Buffer.from(path.basename(abs)));
    // Targets and the folders above them: attributes of this one entry. The recursive read-ahead
    // starts when a folder is listed (readDir), so `/home/me/docs` never reads all of /home.
    const xattrs = this.readXattrs ? ((await this.dumpFor(raw)) ?? (await runGetfattr(abs, false).catch(() => new Map()))).get(raw.toString('latin1')) : undefined;
    const meta = await nodeFromStat(name, raw, st, { ...(this.opts.withAtime ? { withAtime: true } : {}), ...(xattrs ? { xattrs } : {}) }).catch((e) => {
      throw sourceError(abs, e, 'read metadata of');
    });
    return { name, meta, path: abs, rawPath: new Uint8Array(raw) };
  }

  async readDir(dir: SourceItem): Promise<{ items: SourceItem[]; errors: SourceError[] }> {
    const dirRaw = Buffer.from(dir.rawPath);
    let names: Buffer[];
    try {
      names = fs.readdirSync(dirRaw, { encoding: 'buffer' }).sort(Buffer.compare);
    } catch (e) {
      throw sourceError(dir.path, e, 'read folder');
    }
    const items: SourceItem[] = [];
    const errors: SourceError[] = [];
    const prefix = dirRaw.length === 1 && dirRaw[0] === 0x2f ? dirRaw : Buffer.concat([dirRaw, Buffer.from('/')]);
    if (this.readXattrs && !this.covered(dirRaw)) this.prefetch(dir.path);
    const dump = this.readXattrs ? await this.dumpFor(dirRaw) : undefined;
    // Synchronous lstat: a few microseconds each, where a promise through the thread pool costs
    // tens; a folder's worth of metadata is worth a short block of the event loop.
    for (const n of names) {
      const raw = Buffer.concat([prefix, n]);
      const shown = raw.toString('utf8');
      try {
        const st = fs.lstatSync(raw, BIGINT);
        const xattrs = dump?.get(raw.toString('latin1'));
        const name = new Uint8Array(n);
        const linkTarget = st.isSymbolicLink() ? new Uint8Array(fs.readlinkSync(raw, { encoding: 'buffer' })) : undefined;
        // The shared options object unless this entry adds to it (most entries): no object per entry.
        const opts = xattrs || linkTarget ? { ...this.metaOpts, ...(xattrs ? { xattrs } : {}), ...(linkTarget ? { linkTarget } : {}) } : this.metaOpts;
        const meta = metaFromStat(name, st, opts);
        items.push({ name, meta, path: shown, rawPath: new Uint8Array(raw) });
      } catch (e) {
        errors.push({ path: shown, error: sourceError(shown, e, 'lstat') });
      }
    }
    return { items, errors };
  }

  /** The read-ahead covering `raw` (undefined when attributes are not read or not covered). */
  private dumpFor(raw: Buffer): Promise<Map<string, ExtendedAttribute[]>> | undefined {
    if (!this.readXattrs) return undefined;
    const key = raw.toString('latin1');
    for (const [root, dump] of this.xattrs) {
      if (key === root || key.startsWith(root === '/' ? '/' : root + '/')) return dump;
    }
    return undefined;
  }

  private covered(raw: Buffer): boolean {
    return this.dumpFor(raw) !== undefined;
  }

  async open(file: SourceItem): Promise<SourceFile> {
    try {
      return new NodeSourceFile(await fsp.open(Buffer.from(file.rawPath), 'r'), file.path);
    } catch (e) {
      throw sourceError(file.path, e, 'open');
    }
  }
}

/**
 * Extended attributes of `root` and, when `recursive`, everything below it (not following
 * symlinks), keyed by absolute path.
 */
function runGetfattr(root: string, recursive: boolean): Promise<Map<string, ExtendedAttribute[]>> {
  return new Promise((resolve, reject) => {
    const args = ['--absolute-names', ...(recursive ? ['-R', '-P'] : []), '-h', '-d', '-m', '-', '-e', 'base64', '--', root];
    const child = spawn('getfattr', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.on('error', reject);
    // Exit 1 means some entries could not be read: what was read is still right.
    child.on('close', () => resolve(parseDump(Buffer.concat(out), false)));
  });
}

