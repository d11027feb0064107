/**
 * @module server/quota
 * A Backend decorator enforcing a size limit on one repository (`coffer serve --max-size`):
 * a put that would take the repository past `maxBytes` throws 'no-space' (the REST app answers
 * 507). The current size is counted once by listing, then kept up to date by this process's puts
 * and deletes; with several servers on one store each counts its own writes (see the README).
 */
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../core/backend/backend.js';
import { FILE_TYPES } from '../core/backend/backend.js';
import { CofferError, isCofferError } from '../core/errors.js';
import type { StreamingReads } from './rest-app.js';

export class QuotaBackend implements Backend {
  readonly location: string;
  readonly connections: number;
  private used: Promise<number> | undefined;
  private usedNow = 0;

  constructor(
    private readonly inner: Backend,
    readonly maxBytes: number,
  ) {
    this.location = inner.location;
    this.connections = inner.connections;
    // Reads count nothing: a streaming inner backend (rest-app.ts StreamingReads) stays one.
    const streaming = inner as Partial<StreamingReads>;
    if (typeof streaming.openReadStream === 'function') {
      (this as Partial<StreamingReads>).openReadStream = (h, range, o) => streaming.openReadStream!.call(inner, h, range, o);
    }
  }

  /** Bytes stored now (counted on first use). */
  async usage(o?: CallOpts): Promise<number> {
    if (!this.used) {
      this.used = this.count(o).then(
        (n) => {
          this.usedNow += n;
          return n;
        },
        (e: unknown) => {
          this.used = undefined;
          throw e;
        },
      );
    }
    await this.used;
    return this.usedNow;
  }

  private async count(o?: CallOpts): Promise<number> {
    let n = 0;
    for (const t of FILE_TYPES) {
      if (t === 'config') {
        try {
          n += (await this.inner.stat({ type: 'config', name: '' }, o)).size;
        } catch (e) {
          if (!isCofferError(e, 'not-found')) throw e;
        }
        continue;
      }
      try {
        for await (const f of this.inner.list(t, o)) n += f.size;
      } catch (e) {
        if (!isCofferError(e, 'not-found')) throw e;
      }
    }
    return n;
  }

  stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    return this.inner.stat(h, o);
  }

  get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    return this.inner.get(h, range, o);
  }

  list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    return this.inner.list(type, o);
  }

  create(o?: CallOpts): Promise<void> {
    return this.inner.create(o);
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    const used = await this.usage(o);
    if (used + data.length > this.maxBytes) {
      throw new CofferError('no-space', `repository quota exceeded: ${used} + ${data.length} bytes > ${this.maxBytes}`);
    }
    // Reserve before awaiting, so concurrent uploads cannot overshoot together.
    this.usedNow += data.length;
    try {
      await this.inner.put(h, data, o);
    } catch (e) {
      this.usedNow -= data.length;
      throw e;
    }
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    await this.usage(o);
    let size = 0;
    try {
      size = (await this.inner.stat(h, o)).size;
    } catch (e) {
      if (!isCofferError(e, 'not-found')) throw e;
    }
    await this.inner.delete(h, o);
    this.usedNow = Math.max(0, this.usedNow - size);
  }

  close(): Promise<void> {
    return this.inner.close?.() ?? Promise.resolve();
  }
}
