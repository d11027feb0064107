/**
 * @module node/pack-verify-worker-entries
 * A pack's index entries as they cross to a verify worker: one string of the concatenated IDs,
 * one Float64Array of offset/length/uncompressed length, one Uint8Array of types. Cloning an
 * array of entry objects cost the worker ~2 µs per blob to rebuild (147 ms for the bench
 * corpus's 73.5k blobs); this form clones as three flat values and rebuilds in ~0.4 µs.
 */
import type { PackedBlob } from '../core/format/types.js';

export interface FlatEntries {
  readonly ids: string;
  readonly nums: Float64Array;
  readonly types: Uint8Array;
}

/** The flat form, or undefined when an ID is not 64 characters (such entries are sent as they are). */
export function flattenEntries(entries: readonly PackedBlob[]): FlatEntries | undefined {
  const n = entries.length;
  const nums = new Float64Array(n * 3);
  const types = new Uint8Array(n);
  const ids: string[] = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const b = entries[i]!;
    if (b.id.length !== 64) return undefined;
    ids[i] = b.id;
    nums[3 * i] = b.offset;
    nums[3 * i + 1] = b.length;
    nums[3 * i + 2] = b.uncompressedLength;
    types[i] = b.type === 'tree' ? 1 : 0;
  }
  return { ids: ids.join(''), nums, types };
}

/** The entries back (each ID a slice of `ids`). */
export function unflattenEntries(f: FlatEntries): PackedBlob[] {
  const n = f.types.length;
  if (f.ids.length !== n * 64 || f.nums.length !== n * 3) throw new RangeError('flattened index entries have inconsistent lengths');
  const out = new Array<PackedBlob>(n);
  for (let i = 0; i < n; i++) {
    out[i] = {
      type: f.types[i] === 1 ? 'tree' : 'data',
      id: f.ids.slice(64 * i, 64 * i + 64),
      offset: f.nums[3 * i]!,
      length: f.nums[3 * i + 1]!,
      uncompressedLength: f.nums[3 * i + 2]!,
    };
  }
  return out;
}
