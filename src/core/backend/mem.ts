/**
 * @module backend/mem
 * An in-memory Backend for tests and the browser. It keeps every obligation of the contract
 * (backend.ts) so code tested against it behaves the same on real storage: copies on put and get
 * (callers may reuse their buffers), 'not-found' and 'range' errors, list each file once.
 */
import { CofferError } from '../errors.js';
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from './backend.js';
import { describeHandle } from './backend.js';
import { checkHandle } from './layout.js';
import { resolveRange } from './range.js';

export class MemBackend implements Backend {
  readonly location: string;
  readonly connections: number;
  private readonly files = new Map<FileType, Map<string, Uint8Array>>();

  constructor(opts: { location?: string; connections?: number } = {}) {
    this.location = opts.location ?? 'mem:';
    this.connections = opts.connections ?? 4;
  }

  async create(o?: CallOpts): Promise<void> {
    checkAbort(o);
    if (this.files.get('config')?.has('')) throw new CofferError('already-exists', `${this.location}: config already exists`);
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    checkAbort(o);
    return { name: h.name, size: this.file(h).length };
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    checkAbort(o);
    const data = this.file(h);
    if (!range) return new Uint8Array(data);
    const { start, end } = resolveRange(range, data.length, describeHandle(h));
    return new Uint8Array(data.subarray(start, end));
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    checkHandle(h);
    checkAbort(o);
    let m = this.files.get(h.type);
    if (!m) this.files.set(h.type, (m = new Map()));
    // A real copy as a plain Uint8Array: the caller may reuse its buffer (Buffer#slice would be a view).
    m.set(h.name, new Uint8Array(data));
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    checkAbort(o);
    if (!this.files.get(h.type)?.delete(h.name)) throw notFound(h);
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    checkAbort(o);
    if (type === 'config') return; // config is a single fixed file, not a listable type
    // Snapshot the names first: puts and deletes during iteration must not repeat or skip entries.
    const entries = [...(this.files.get(type) ?? new Map<string, Uint8Array>()).entries()];
    for (const [name, data] of entries) {
      checkAbort(o);
      yield { name, size: data.length };
    }
  }

  /** Test hook: replaces a stored file's bytes without the put checks (simulate corruption). */
  corrupt(h: Handle, data: Uint8Array): void {
    this.file(h);
    this.files.get(h.type)!.set(h.name, new Uint8Array(data));
  }

  private file(h: Handle): Uint8Array {
    const d = this.files.get(h.type)?.get(h.name);
    if (!d) throw notFound(h);
    return d;
  }
}

function notFound(h: Handle): CofferError {
  return new CofferError('not-found', `${describeHandle(h)} does not exist`);
}

function checkAbort(o: CallOpts | undefined): void {
  if (o?.signal?.aborted) throw new CofferError('cancelled', 'operation cancelled', { cause: o.signal.reason });
}
