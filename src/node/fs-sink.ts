/**
 * @module node/fs-sink
 * The restore sink on the local file system (the RestoreSink port of engine/restore/sink.ts),
 * over the primitives in fs-restore.ts. Paths are raw bytes below the target folder, so names
 * that are not UTF-8 come back as they were.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import type { FileWriter, HandOverOutcome, RelPath, RestoreSink } from '../core/engine/restore/sink.js';
import { CofferError } from '../core/errors.js';
import type { TreeNode } from '../core/format/types.js';
import {
  applyMetadata,
  type HandOverSpec,
  joinBytes,
  noteHandedOver,
  noteRestored,
  PARTIAL_SUFFIX,
  partialName,
  plainMetadata,
  restoreDir,
  RestoreFile,
  type PartialNames,
  restoreHardlink,
  restoreSpecialFile,
  restoreSymlink,
} from './fs-restore.js';

const SUFFIX = Buffer.from(PARTIAL_SUFFIX);

export class FsRestoreSink implements RestoreSink {
  private readonly root: Buffer;
  /** Metadata problems (ownership, times) are warnings, as in restic: the content is there. */
  readonly warnings: string[] = [];

  constructor(target: string) {
    this.root = Buffer.from(target);
  }

  private rootReady: Promise<void> | undefined;

  /** Partial-name bookkeeping shared by this restore's files (fs-restore.ts). */
  private readonly names: PartialNames = { restored: new Set(), clashPossible: false };

  private notePartialLike(p: RelPath): void {
    const name = p[p.length - 1];
    if (!name || name.length < SUFFIX.length) return;
    for (let i = 0, o = name.length - SUFFIX.length; i < SUFFIX.length; i++) if (name[o + i] !== SUFFIX[i]) return;
    this.names.clashPossible = true;
  }

  /** Every file name of a folder is seen before any content of that folder's files is written (a partial name is in its file's folder), so a file a worker completes cannot lose its partial name to another (RestoreFile.handOver). */
  expect(p: RelPath): void {
    this.notePartialLike(p);
  }

  /** The target folder itself is created on first use. */
  private async ensureRoot(): Promise<void> {
    await (this.rootReady ??= restoreDir(this.root));
    this.rootMade = true;
  }
  /** The target folder exists: files may be created below it on other threads. */
  private rootMade = false;

  /** Full paths by RelPath object: the restorer passes the same one for a file's creation and metadata. */
  private readonly paths = new WeakMap<RelPath, Buffer>();

  private full(p: RelPath): Buffer {
    let full = this.paths.get(p);
    if (!full) this.paths.set(p, (full = this.join(p)));
    return full;
  }

  private join(p: RelPath): Buffer {
    const parts: Uint8Array[] = [this.root];
    for (const name of p) {
      if (name.length === 0 || (name.length === 1 && name[0] === 0x2e) || (name.length === 2 && name[0] === 0x2e && name[1] === 0x2e) || name.includes(0x2f)) {
        // A hostile tree must not write outside the target.
        throw new CofferError('corrupt', `tree contains an invalid file name "${Buffer.from(name).toString('utf8')}"`);
      }
      parts.push(name); // joinBytes puts the slashes between
    }
    return joinBytes(...parts);
  }

  async mkdir(p: RelPath): Promise<void> {
    await this.ensureRoot();
    this.notePartialLike(p);
    await restoreDir(this.full(p));
  }

  async createFile(p: RelPath, node: TreeNode): Promise<FileWriter> {
    await this.ensureRoot();
    // Written as NAME.coffer-partial, renamed over what was there (e.g. a symlink) when complete.
    this.notePartialLike(p);
    // Not cached: a file a worker completes never needs its path here again (one that does is
    // joined again; WeakMap bookkeeping per file cost more than that).
    return RestoreFile.create(this.join(p), this.names, { node, warnings: this.warnings });
  }

  /**
   * A blob worker may create, write and complete the file (fs-restore createPartialSync and
   * completeHandedOver): as RestoreFile.handOver, only when no file of the snapshot can take its
   * partial name and it has no extended attributes; and once the target folder exists.
   */
  handOverFile(p: RelPath, node: TreeNode): HandOverSpec | undefined {
    if (!this.rootMade || this.names.clashPossible || node.type !== 'file' || (node.extendedAttributes && node.extendedAttributes.length > 0)) return undefined;
    const path = this.join(p).toString('latin1');
    return { path, partial: partialName(path), meta: plainMetadata(node) };
  }

  handedOverFile(spec: unknown, outcome: HandOverOutcome): void {
    // The usual case needs nothing here (no Buffer per file).
    if (outcome.done && outcome.warnings.length === 0 && !(spec as HandOverSpec).path.endsWith(PARTIAL_SUFFIX)) return;
    noteHandedOver(Buffer.from((spec as HandOverSpec).path, 'latin1'), outcome, this.names, this.warnings);
  }

  adoptFile(spec: unknown, fd: number | undefined): FileWriter {
    const s = spec as HandOverSpec;
    return RestoreFile.adopt(Buffer.from(s.path, 'latin1'), Buffer.from(s.partial, 'latin1'), fd, this.names);
  }

  async createSpecial(p: RelPath, node: TreeNode): Promise<void> {
    await this.ensureRoot();
    const full = this.full(p);
    this.notePartialLike(p);
    await fsp.rm(full, { force: true }).catch(() => undefined);
    if (node.type === 'symlink') await restoreSymlink(full, node);
    else await restoreSpecialFile(full, node);
    noteRestored(this.names, full);
  }

  async hardlink(p: RelPath, existing: RelPath): Promise<void> {
    await this.ensureRoot();
    const full = this.full(p);
    this.notePartialLike(p);
    await fsp.rm(full, { force: true }).catch(() => undefined);
    await restoreHardlink(full, this.full(existing));
    noteRestored(this.names, full);
  }

  async setMetadata(p: RelPath, node: TreeNode): Promise<void> {
    const full = this.full(p);
    // A file's metadata is its last step: its path need not stay cached (a later hard link or
    // --verify read joins it again). 69k cached paths were tens of MiB of a restore's heap.
    if (node.type !== 'dir') this.paths.delete(p);
    this.warnings.push(...(await applyMetadata(full, node)));
  }

  async *readFile(p: RelPath): AsyncIterable<Uint8Array> {
    const stream = fs.createReadStream(this.full(p), { highWaterMark: 1 << 20 });
    for await (const chunk of stream) yield chunk as Buffer;
  }
}
