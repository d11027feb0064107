/**
 * @module node/inbox
 * Staging files into the inbox on this device (design web-gallery.md §6) with only the inbox's
 * public key: hash, seal the file chunk by chunk (`data`), a WebP thumbnail (`thumb`, sharp) and
 * the meta JSON (`meta`), plus the keyed `dedup` digest, into the staging store
 * (src/node/inbox-store.ts). Also the watched-folder scan, reading staged items back for a
 * decision (needs the private key) and the move from the old plaintext inbox.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { CHUNK_SIZE } from '../core/crypto/chunked-gcm.js';
import { CofferError } from '../core/errors.js';
import { InboxSealer, sealForInbox, type InboxOpener } from '../core/inbox/seal.js';
import { decodeMeta, dedupDigest, encodeMeta, takenFromBytes, typeFromBytes, type DecisionEntry, type StagedMeta } from '../core/inbox/staged.js';
import type { StagedEntry } from '../core/inbox/source.js';
import { mediaFromMagic } from '../core/gallery/item.js';
import { stateDir } from './config.js';
import type { InboxStore } from './inbox-store.js';

type Env = NodeJS.ProcessEnv;
const HEAD = 256 * 1024;

/** SHA-256 of a file, streamed; also returns its first 256 KiB (enough for the EXIF header). */
export async function hashFile(file: string): Promise<{ sha256: string; head: Uint8Array; size: number }> {
  const h = createHash('sha256');
  const head: Buffer[] = [];
  let headLen = 0;
  let size = 0;
  for await (const chunk of fs.createReadStream(file)) {
    const b = chunk as Buffer;
    h.update(b);
    size += b.length;
    if (headLen < HEAD) {
      head.push(b.subarray(0, HEAD - headLen));
      headLen += Math.min(b.length, HEAD - headLen);
    }
  }
  return { sha256: h.digest('hex'), head: Buffer.concat(head), size };
}

/**
 * Seals `src` for `publicKey` into `dest`, chunk by chunk; returns the SHA-256 of what was read
 * (the caller compares it with the hash it decided on: a file being written meanwhile differs).
 */
export async function sealFileTo(publicKey: Uint8Array, src: string, dest: string): Promise<{ sha256: string; size: number }> {
  const sealer = new InboxSealer(publicKey);
  const h = createHash('sha256');
  const inFd = fs.openSync(src, 'r');
  const outFd = fs.openSync(dest, 'w', 0o600);
  try {
    fs.writeSync(outFd, sealer.header);
    const size = fs.fstatSync(inFd).size;
    const buf = Buffer.alloc(CHUNK_SIZE);
    let done = 0;
    do {
      const want = Math.min(CHUNK_SIZE, size - done);
      let got = 0;
      while (got < want) {
        const n = fs.readSync(inFd, buf, got, want - got, done + got);
        if (n === 0) throw new CofferError('source', `${src} shrank while it was staged`);
        got += n;
      }
      const chunk = buf.subarray(0, want);
      h.update(chunk);
      done += want;
      fs.writeSync(outFd, sealer.seal(chunk, done === size));
    } while (done < size);
    fs.fsyncSync(outFd);
    return { sha256: h.digest('hex'), size };
  } finally {
    fs.closeSync(inFd);
    fs.closeSync(outFd);
  }
}

/**
 * A WebP thumbnail (upright, long side at most 400 px, never enlarged), or undefined when the file
 * is no picture or video that can be decoded. HEIC by heif-convert and video posters by ffmpeg,
 * as the gallery does (their pixels are upright already: no EXIF rotation on top).
 */
export async function makeThumb(file: string, head: Uint8Array): Promise<Uint8Array | undefined> {
  try {
    const sharp = (await import('sharp')).default;
    const webp = async (input: string | Uint8Array, rotate: boolean) => {
      let img = sharp(input, { failOn: 'error', animated: false });
      if (rotate) img = img.rotate();
      return new Uint8Array(await img.resize(400, 400, { fit: 'inside', withoutEnlargement: true }).webp({ quality: 70 }).toBuffer());
    };
    const { isHeif, decodeHeic } = await import('./gallery-heic.js');
    if (isHeif(head)) {
      const r = await decodeHeic(new Uint8Array(fs.readFileSync(file)));
      return r.ok ? await webp(r.image, false) : undefined;
    }
    if (mediaFromMagic(head)?.kind === 'video') {
      const { videoPoster } = await import('./gallery-video.js');
      const fh = await fs.promises.open(file, 'r');
      try {
        const size = (await fh.stat()).size;
        const r = await videoPoster(async (offset, length) => {
          const buf = Buffer.alloc(length);
          const { bytesRead } = await fh.read(buf, 0, length, offset);
          return new Uint8Array(buf.buffer, buf.byteOffset, bytesRead);
        }, size);
        return r.ok ? await webp(r.frame, false) : undefined;
      } finally {
        await fh.close();
      }
    }
    return await webp(file, true);
  } catch {
    return undefined;
  }
}

/** What a scanner with only the public key can tell it has seen: decided content and pending digests. */
export class KnownContent {
  private readonly decided: Set<string>;
  private readonly pending = new Set<string>();
  constructor(private readonly store: InboxStore, private readonly publicKey: Uint8Array) {
    this.decided = new Set(store.readDecisions().map((d) => d.sha256));
    for (const { id } of store.listStaged()) {
      const d = store.readStaged(id, 'dedup');
      if (d) this.pending.add(Buffer.from(d).toString('utf8').trim());
    }
  }
  has(sha256: string): boolean {
    return this.decided.has(sha256) || this.pending.has(dedupDigest(this.publicKey, sha256));
  }
  add(sha256: string): void {
    this.pending.add(dedupDigest(this.publicKey, sha256));
  }
}

export interface StageOptions {
  /** `add:<host>` or `watch:<folder>`. */
  readonly source: string;
  /** Watched items: kept in the meta, so an approved file keeps its place. */
  readonly keepPath?: boolean;
  readonly known: KnownContent;
  readonly now?: Date;
}

export type StageResult = { readonly id: string; readonly meta: StagedMeta; readonly known: false } | { readonly sha256: string; readonly name: string; readonly known: true };

/** Stages one regular file (sealed); known content (pending or decided) is not staged again. */
export async function stageFile(store: InboxStore, publicKey: Uint8Array, file: string, opts: StageOptions): Promise<StageResult> {
  const abs = path.resolve(file);
  let st: fs.Stats;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    throw new CofferError('bad-input', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new CofferError('bad-input', `${file} is not a regular file`);
  const { sha256, head } = await hashFile(abs);
  const name = path.basename(abs);
  if (opts.known.has(sha256)) return { sha256, name, known: true };
  const id = store.newStageId();
  try {
    const sealed = await sealFileTo(publicKey, abs, store.pendingPartPath(id, 'data'));
    if (sealed.sha256 !== sha256) throw new CofferError('source', `${file} changed while it was staged; try again`);
    const thumb = await makeThumb(abs, head);
    if (thumb) store.stageSealed(id, 'thumb', sealForInbox(publicKey, thumb));
    const meta: StagedMeta = {
      v: 1,
      name,
      size: sealed.size,
      mtime: Math.trunc(st.mtimeMs),
      sha256,
      type: typeFromBytes(head),
      source: opts.source,
      added: (opts.now ?? new Date()).toISOString(),
      taken: takenFromBytes(head),
      ...(opts.keepPath ? { path: abs } : {}),
    };
    store.stageSealed(id, 'meta', sealForInbox(publicKey, encodeMeta(meta)));
    store.stageSealed(id, 'dedup', new TextEncoder().encode(dedupDigest(publicKey, sha256) + '\n'));
    store.commitStaged(id);
    opts.known.add(sha256);
    return { id, meta, known: false };
  } catch (e) {
    store.abortStaged(id);
    throw e;
  }
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

/** Files a long-running scanner (coffer web) already judged: path -> size:mtime. Memory only. */
export type ScanCache = Map<string, string>;

/**
 * Stages every file in the watched folders whose content is neither pending nor decided. A file
 * that cannot be read (or changes while staged) is reported and left for the next scan.
 */
export async function scanWatched(store: InboxStore, publicKey: Uint8Array, folders: readonly string[], cache?: ScanCache): Promise<{ staged: { id: string; meta: StagedMeta }[]; problems: string[] }> {
  const known = new KnownContent(store, publicKey);
  const staged: { id: string; meta: StagedMeta }[] = [];
  const problems: string[] = [];
  for (const folder of folders) {
    const files: string[] = [];
    walk(folder, files);
    for (const f of files) {
      let sig: string;
      try {
        const st = fs.statSync(f);
        sig = `${st.size}:${Math.trunc(st.mtimeMs)}`;
      } catch {
        continue;
      }
      if (cache?.get(f) === sig) continue;
      try {
        const r = await stageFile(store, publicKey, f, { source: `watch:${folder}`, keepPath: true, known });
        if (!r.known) staged.push({ id: r.id, meta: r.meta });
        cache?.set(f, sig);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
  }
  return { staged, problems };
}

/** Opens a staged item's meta (needs the private key). */
export function readStagedMeta(store: InboxStore, opener: InboxOpener, id: string): StagedMeta {
  const sealed = store.readStaged(id, 'meta');
  if (!sealed) throw new CofferError('bad-input', `no pending inbox item ${id}`);
  return decodeMeta(opener.open(sealed, `inbox item ${id} meta`), `inbox item ${id} meta`);
}

/** A staged item's sealed data as a backup source entry (read from the file as the archiver asks). */
export function stagedEntry(store: InboxStore, id: string, meta: StagedMeta): StagedEntry {
  const file = store.stagedPath(id, 'data');
  const sealedLength = fs.statSync(file).size;
  return {
    id,
    meta,
    sealedLength,
    read: async (offset, length) => {
      const fh = await fs.promises.open(file, 'r');
      try {
        const buf = Buffer.alloc(length);
        const { bytesRead } = await fh.read(buf, 0, length, offset);
        if (bytesRead !== length) throw new CofferError('corrupt', `inbox item ${id}: its data is cut short`);
        return new Uint8Array(buf.buffer, buf.byteOffset, length);
      } finally {
        await fh.close();
      }
    },
  };
}

/** The old plaintext inbox (`$XDG_STATE_HOME/coffer/inbox/`, before items were sealed). */
export function legacyInboxDir(env: Env = process.env): string {
  return path.join(stateDir(env), 'inbox');
}

interface LegacyIndex {
  items?: { name?: string; sha256?: string; source?: string; path?: string; staged?: string }[];
  decisions?: { sha256?: string; decision?: string; time?: string; snapshot?: string }[];
}

/**
 * Moves the old plaintext inbox into the sealed staging store, then deletes it: pending items
 * whose file is still there (the inbox's own copy, or the watched file unchanged) are staged
 * sealed, the decision log is carried over; the rest is dropped and counted.
 */
export async function migrateLegacyInbox(env: Env, store: InboxStore, publicKey: Uint8Array): Promise<{ moved: number; dropped: number } | undefined> {
  const dir = legacyInboxDir(env);
  const indexFile = path.join(dir, 'index.json');
  if (!fs.existsSync(indexFile)) return undefined;
  let old: LegacyIndex;
  try {
    old = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as LegacyIndex;
  } catch {
    old = {};
  }
  const decisions: DecisionEntry[] = [];
  for (const d of old.decisions ?? []) {
    if (typeof d.sha256 === 'string' && /^[0-9a-f]{64}$/.test(d.sha256) && (d.decision === 'approve' || d.decision === 'private' || d.decision === 'reject')) {
      decisions.push({ sha256: d.sha256, decision: d.decision, time: typeof d.time === 'string' ? d.time : new Date().toISOString(), ...(d.snapshot ? { snapshot: d.snapshot } : {}) });
    }
  }
  const have = new Set(store.readDecisions().map((d) => d.sha256));
  store.logDecisions(decisions.filter((d) => !have.has(d.sha256)));
  const known = new KnownContent(store, publicKey);
  let moved = 0;
  let dropped = 0;
  for (const it of old.items ?? []) {
    const file = it.staged ? path.join(dir, it.staged) : it.path;
    try {
      if (!file || !it.sha256 || (await hashFile(file)).sha256 !== it.sha256) throw new Error('gone or changed');
      const watch = it.source?.startsWith('watch:') ? it.source : undefined;
      const r = await stageFile(store, publicKey, file, { source: watch ?? `add:${os.hostname()}`, keepPath: !!watch, known });
      if (!r.known) moved++;
    } catch {
      dropped++;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { moved, dropped };
}
