/**
 * A Backend decorator that injects faults at seeded rates, for the fault tests and the soak
 * (test/faults). Each call draws from one seeded generator, so a seed replays the same faults
 * for the same sequence of calls. Kinds:
 *
 * - `transient`: the call fails with CofferError 'transient' before reaching storage.
 * - `lostReply`: the call reaches storage (a put is stored, a delete done) and then fails
 *   'transient', as when a connection drops before the answer arrives.
 * - `permanent`: the handle becomes unusable for good (every later call on it fails with
 *   'permission'), as a file the server refuses to serve.
 * - `hang`: the call never answers until its AbortSignal fires (then rejects 'cancelled'); with
 *   no signal it fails 'transient' after `hangMs`, as a server-side timeout.
 * - `slow`: the answer comes after `slowMs`.
 * - `shortRead`: a ranged get silently returns a strict prefix of the range (a broken backend).
 * - `truncate`: a whole-file get silently returns a strict prefix of the file.
 * - `corrupt`: one bit of a get's answer is flipped.
 * - `listBreak`: a listing fails 'transient' part way.
 *
 * Storage itself is never damaged: only answers are. `enabled = false` turns everything off
 * (sticky permanent faults included) so a test can verify the stored repository afterwards.
 */
import type { Backend, ByteRange, CallOpts, FileInfo, FileType, Handle } from '../../src/core/backend/backend.js';
import { describeHandle } from '../../src/core/backend/backend.js';
import { CofferError } from '../../src/core/errors.js';

export type FaultKind = 'transient' | 'lostReply' | 'permanent' | 'hang' | 'slow' | 'shortRead' | 'truncate' | 'corrupt' | 'listBreak';
export type Op = 'stat' | 'get' | 'put' | 'delete' | 'list' | 'create';

export const FAULT_KINDS: readonly FaultKind[] = ['transient', 'lostReply', 'permanent', 'hang', 'slow', 'shortRead', 'truncate', 'corrupt', 'listBreak'];
/** Faults a retrying client is expected to get through. */
export const TRANSIENT_KINDS: readonly FaultKind[] = ['transient', 'lostReply', 'hang', 'slow', 'listBreak'];

export interface FaultOptions {
  readonly seed: number;
  /** Probability per call (0..1) of each kind; kinds that do not apply to an op are skipped. */
  readonly rates: Partial<Record<FaultKind, number>>;
  /** Only these file types get faults (default: all). */
  readonly types?: readonly FileType[];
  /** Only these operations get faults (default: all). */
  readonly ops?: readonly Op[];
  /** Only calls on handles this accepts get faults (listings and create are not asked). */
  readonly match?: (h: Handle) => boolean;
  readonly slowMs?: number;
  readonly hangMs?: number;
}

export interface FaultEvent {
  readonly kind: FaultKind;
  readonly op: Op;
  readonly what: string;
}

/** mulberry32: a small seeded generator (test randomness only). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultyBackend implements Backend {
  enabled = true;
  /** Every fault injected, in order. */
  readonly events: FaultEvent[] = [];
  /** Hangs that ended because the caller's signal fired. */
  hangsAborted = 0;
  private readonly random: () => number;
  private readonly dead = new Set<string>();

  constructor(
    readonly inner: Backend,
    private readonly opts: FaultOptions,
  ) {
    this.random = prng(opts.seed);
  }

  get location(): string {
    return this.inner.location;
  }
  get connections(): number {
    return this.inner.connections;
  }

  /** Faults injected so far, by kind. */
  counts(): Record<FaultKind, number> {
    const c = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
    for (const e of this.events) c[e.kind]++;
    return c;
  }

  /** Makes a handle fail for good from now on (a chosen permanent fault). */
  kill(h: Handle): void {
    this.dead.add(`${h.type}/${h.name}`);
    this.events.push({ kind: 'permanent', op: 'get', what: describeHandle(h) });
  }

  get injected(): number {
    return this.events.length;
  }

  /** Picks at most one fault for this call among the kinds that apply to it. */
  private draw(op: Op, type: FileType | undefined, what: string, kinds: readonly FaultKind[]): FaultKind | undefined {
    if (!this.enabled) return undefined;
    if (this.opts.ops && !this.opts.ops.includes(op)) return undefined;
    if (type && this.opts.types && !this.opts.types.includes(type)) return undefined;
    for (const k of kinds) {
      const rate = this.opts.rates[k] ?? 0;
      // Always draw, so the sequence does not depend on which rates are zero.
      const r = this.random();
      if (rate > 0 && r < rate) {
        this.events.push({ kind: k, op, what });
        return k;
      }
    }
    return undefined;
  }

  private async before(op: Op, h: Handle | FileType | undefined, o: CallOpts | undefined, kinds: readonly FaultKind[]): Promise<FaultKind | undefined> {
    const type = typeof h === 'string' ? h : h?.type;
    const what = typeof h === 'object' ? describeHandle(h) : `${op}${type ? ' ' + type : ''}`;
    const key = typeof h === 'object' ? `${h.type}/${h.name}` : undefined;
    if (this.enabled && key && this.dead.has(key)) throw permanentError(op, what);
    const k = typeof h === 'object' && this.opts.match && !this.opts.match(h) ? undefined : this.draw(op, type, what, kinds);
    switch (k) {
      case 'transient':
        throw new CofferError('transient', `injected fault: ${op} ${what}: connection reset`);
      case 'permanent':
        if (key) this.dead.add(key);
        throw permanentError(op, what);
      case 'hang':
        await this.hang(op, what, o);
        return undefined;
      case 'slow':
        await delay(this.opts.slowMs ?? 20, o);
        return undefined;
      default:
        return k;
    }
  }

  private hang(op: string, what: string, o: CallOpts | undefined): Promise<never> {
    return new Promise<never>((_, reject) => {
      const signal = o?.signal;
      if (signal?.aborted) {
        this.hangsAborted++;
        return reject(new CofferError('cancelled', `injected hang: ${op} ${what}: aborted`));
      }
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        reject(new CofferError('transient', `injected hang: ${op} ${what}: server timed out`));
      }, this.opts.hangMs ?? 2000);
      const onAbort = (): void => {
        clearTimeout(timer);
        this.hangsAborted++;
        reject(new CofferError('cancelled', `injected hang: ${op} ${what}: aborted`));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async after<T>(k: FaultKind | undefined, op: Op, h: Handle | undefined, p: Promise<T>): Promise<T> {
    const v = await p;
    if (k === 'lostReply') throw new CofferError('transient', `injected fault: ${op} ${h ? describeHandle(h) : ''}: reply lost`);
    return v;
  }

  async stat(h: Handle, o?: CallOpts): Promise<FileInfo> {
    const k = await this.before('stat', h, o, ['permanent', 'transient', 'lostReply', 'hang', 'slow']);
    return this.after(k, 'stat', h, this.inner.stat(h, o));
  }

  async get(h: Handle, range?: ByteRange, o?: CallOpts): Promise<Uint8Array> {
    const ranged = range !== undefined && (range.offset > 0 || range.length !== undefined);
    const k = await this.before('get', h, o, ['permanent', 'transient', 'lostReply', 'hang', 'slow', ranged ? 'shortRead' : 'truncate', 'corrupt']);
    const data = await this.after(k, 'get', h, this.inner.get(h, range, o));
    if ((k === 'shortRead' || k === 'truncate') && data.length > 0) {
      return data.slice(0, Math.floor(this.random() * data.length));
    }
    if (k === 'corrupt' && data.length > 0) {
      const out = new Uint8Array(data);
      const bit = Math.floor(this.random() * out.length * 8);
      out[bit >> 3]! ^= 1 << (bit & 7);
      return out;
    }
    return data;
  }

  async put(h: Handle, data: Uint8Array, o?: CallOpts): Promise<void> {
    const k = await this.before('put', h, o, ['permanent', 'transient', 'lostReply', 'hang', 'slow']);
    return this.after(k, 'put', h, this.inner.put(h, data, o));
  }

  async delete(h: Handle, o?: CallOpts): Promise<void> {
    const k = await this.before('delete', h, o, ['permanent', 'transient', 'lostReply', 'hang', 'slow']);
    return this.after(k, 'delete', h, this.inner.delete(h, o));
  }

  async create(o?: CallOpts): Promise<void> {
    await this.before('create', undefined, o, ['transient', 'slow']);
    return this.inner.create(o);
  }

  async *list(type: FileType, o?: CallOpts): AsyncIterable<FileInfo> {
    const k = await this.before('list', type, o, ['transient', 'hang', 'slow', 'listBreak']);
    // A break happens after a random number of entries (possibly none).
    const breakAfter = k === 'listBreak' ? Math.floor(this.random() * 8) : -1;
    let n = 0;
    for await (const fi of this.inner.list(type, o)) {
      if (n++ === breakAfter) throw new CofferError('transient', `injected fault: list ${type}: connection reset after ${breakAfter} entries`);
      yield fi;
    }
  }

  close(): Promise<void> {
    return this.inner.close ? this.inner.close() : Promise.resolve();
  }
}

function permanentError(op: string, what: string): CofferError {
  return new CofferError('permission', `injected fault: ${op} ${what}: permission denied by the storage`);
}

function delay(ms: number, o: CallOpts | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const signal = o?.signal;
    if (signal?.aborted) return reject(new CofferError('cancelled', 'operation cancelled'));
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new CofferError('cancelled', 'operation cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
