/**
 * @module node/blob-open-worker-messages
 * Flat encodings of what the restorer hands a blob worker per read (node/blob-open-worker.ts):
 * numbers in one Float64Array and names as strings, because the structured clone of an object
 * per target or per file costs both threads more than the work it describes.
 */
import type { DirectWrite } from '../core/engine/restore/restorer.js';
import type { HandOverSpec, PlainMetadata } from './fs-restore.js';

/** Per blob a count, then that many (fd, offset) pairs (OpenJob.writes). */
export function packWrites(writes: readonly (readonly DirectWrite[])[]): Float64Array {
  let n = writes.length;
  for (const w of writes) n += 2 * w.length;
  const out = new Float64Array(n);
  let o = 0;
  for (const w of writes) {
    out[o++] = w.length;
    for (const t of w) {
      out[o++] = t.fd;
      out[o++] = t.offset;
    }
  }
  return out;
}

/** HandOverSpecs with their descriptors, flat: COMPLETION_FIELDS numbers and two names per file. */
export interface PackedCompletions {
  readonly nums: Float64Array;
  /** Per file: real name, partial name (latin1). */
  readonly names: string[];
}
export const COMPLETION_FIELDS = 7;

export function packCompletions(list: readonly { fd: number; spec: HandOverSpec }[]): PackedCompletions {
  const nums = new Float64Array(list.length * COMPLETION_FIELDS);
  const names: string[] = [];
  let o = 0;
  for (const { fd, spec } of list) {
    const m = spec.meta;
    nums[o++] = fd;
    nums[o++] = m.chown ? (m.chown.asRoot ? 2 : 1) : 0;
    nums[o++] = m.chown?.uid ?? 0;
    nums[o++] = m.chown?.gid ?? 0;
    nums[o++] = m.mode ?? -1;
    nums[o++] = m.atime;
    nums[o++] = m.mtime;
    names.push(spec.path, spec.partial);
  }
  return { nums, names };
}

export function completionAt(c: PackedCompletions, i: number): { fd: number; spec: HandOverSpec } {
  const n = c.nums;
  const o = i * COMPLETION_FIELDS;
  const chown = n[o + 1]!;
  const meta: PlainMetadata = {
    chown: chown === 0 ? undefined : { uid: n[o + 2]!, gid: n[o + 3]!, asRoot: chown === 2 },
    mode: n[o + 4]! < 0 ? undefined : n[o + 4]!,
    symlink: false,
    atime: n[o + 5]!,
    mtime: n[o + 6]!,
  };
  return { fd: n[o]!, spec: { path: c.names[2 * i]!, partial: c.names[2 * i + 1]!, meta } };
}
