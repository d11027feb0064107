/**
 * @module web/worker/opener
 * A nested dedicated worker of the session worker (open-pool.ts): it fetches one planned read
 * of a download at a time per job and opens its blobs with open-group.ts (the core's openBlob:
 * MAC, decryption, decompression, SHA-256 against the blob ID), then transfers the plaintexts
 * back. It holds a copy of the master key in memory only, received once from its parent, and
 * lives exactly as long as the parent lets it (terminated with the session).
 */
import { RestBackend } from '../../core/backend/rest.js';
import { isCofferError } from '../../core/errors.js';
import { Repository } from '../../core/repository/repository.js';
import { openGroup, preparedPlatform } from './open-group.js';
import type { OpenerMessage, OpenerReply } from './open-pool.js';
import { fetchRange } from './range-fetch.js';

interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent) => void) | null;
}
const scope = self as unknown as WorkerScope;

let repo: Promise<{ repo: Repository; data: string }> | undefined;

/**
 * Read buffers kept for the next reads: a fresh buffer's pages cost more CPU to fault in and zero
 * than the bytes cost to fetch. A read's buffer comes back only after all its blobs opened
 * (what is sent is copied out of the plaintext buffer, or is a new buffer). At most four are kept,
 * and none once reads stop for a few seconds (the memory goes back with the download).
 */
const READ_MIN = 16 * 1024 * 1024;
/** A read's fetch buffer and its plaintext buffer, for up to two reads in flight. */
const SPARE_MAX = 4;
const spare: ArrayBuffer[] = [];
let dropSpare: ReturnType<typeof setTimeout> | undefined;
function takeBuffer(length: number): ArrayBuffer {
  const i = spare.findIndex((b) => b.byteLength >= length);
  return i >= 0 ? spare.splice(i, 1)[0]! : new ArrayBuffer(Math.max(length, READ_MIN));
}
function giveBack(b: ArrayBufferLike): void {
  if (!(b instanceof ArrayBuffer) || b.byteLength < READ_MIN || spare.length >= SPARE_MAX) return;
  spare.push(b);
  clearTimeout(dropSpare);
  dropSpare = setTimeout(() => (spare.length = 0), 5000);
}

async function job(id: number, read: Extract<OpenerMessage, { read: unknown }>['read']): Promise<void> {
  try {
    if (!repo) throw new Error('opener used before init');
    const r = await repo;
    let all: Uint8Array | undefined;
    const plain = new Uint8Array(takeBuffer(read.length), 0, read.length);
    const blobs = await openGroup(r.repo, read, async (packId, offset, length) => (all = await fetchRange(r.data + packId, offset, length, takeBuffer(length))), plain);
    // Whole buffers are transferred as they are; a view into a shared buffer (or into the
    // plaintext buffer kept for the next read) is copied once.
    const seen = new Set<ArrayBufferLike>([plain.buffer]);
    const out = blobs.map((b) => {
      const whole = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer && !seen.has(b.buffer);
      const buf = whole ? (b.buffer as ArrayBuffer) : b.slice().buffer;
      seen.add(buf);
      return buf;
    });
    scope.postMessage({ id, blobs: out } satisfies OpenerReply, out);
    giveBack(plain.buffer);
    if (all) giveBack(all.buffer);
  } catch (e) {
    const error = { code: isCofferError(e) ? e.code : 'internal', message: e instanceof Error ? e.message : String(e), coffer: isCofferError(e) };
    scope.postMessage({ id, error } satisfies OpenerReply);
  }
}

scope.onmessage = (e: MessageEvent<OpenerMessage>) => {
  const m = e.data;
  if ('init' in m) {
    const { key, config, repo: url } = m.init;
    // The backend is never called (reads go through fetchRange); Repository just needs one.
    const backend = new RestBackend(url);
    repo = preparedPlatform().then((p) => ({ repo: new Repository(backend, p, key, '', config), data: `${backend.location.slice(5)}data/` }));
    repo.catch(() => undefined);
    return;
  }
  void job(m.id, m.read);
};
