/**
 * @module gallery/tiff
 * The TIFF structure that both the EXIF reader (exif.ts) and the RAW preview finder (raw.ts)
 * walk: a bounds-checked view in the block's byte order and one IFD reader. Pure and defensive:
 * a read out of range gives 0, an IFD is cut at 512 entries, and an entry whose value lies
 * outside the block is left out (unless the caller checks that value itself).
 */

/** Bytes per value of each TIFF field type (13 = IFD, a LONG that points to a sub-IFD). */
const TYPE_SIZE: Record<number, number> = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4 };
const MAX_ENTRIES = 512;

export class TiffView {
  private readonly v: DataView;
  constructor(
    readonly b: Uint8Array,
    readonly le: boolean,
  ) {
    this.v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  ok(off: number, n: number): boolean {
    return Number.isSafeInteger(off) && off >= 0 && n >= 0 && off + n <= this.b.length;
  }
  u16(off: number): number {
    return this.ok(off, 2) ? this.v.getUint16(off, this.le) : 0;
  }
  u32(off: number): number {
    return this.ok(off, 4) ? this.v.getUint32(off, this.le) : 0;
  }
  i32(off: number): number {
    return this.ok(off, 4) ? this.v.getInt32(off, this.le) : 0;
  }
}

export interface IfdEntry {
  readonly type: number;
  readonly count: number;
  /** Offset of the value bytes in the block. */
  readonly at: number;
}

export interface Ifd {
  /** The first entry of each tag. */
  readonly entries: Map<number, IfdEntry>;
  /** Offset of the next IFD in the chain, 0 at the end. */
  readonly next: number;
}

export interface ReadIfdOptions {
  /** Entries with more values are left out (default: no limit). */
  readonly maxCount?: number;
  /** Tags kept even when their value lies past the block or over maxCount: the caller checks them. */
  readonly unchecked?: readonly number[];
}

/** The IFD at `off`, or undefined when its entry count is out of bounds. */
export function readIfd(t: TiffView, off: number, o: ReadIfdOptions = {}): Ifd | undefined {
  if (!t.ok(off, 2)) return undefined;
  const maxCount = o.maxCount ?? Infinity;
  const entries = new Map<number, IfdEntry>();
  const n = Math.min(t.u16(off), MAX_ENTRIES);
  for (let i = 0; i < n; i++) {
    const e = off + 2 + i * 12;
    if (!t.ok(e, 12)) break;
    const tag = t.u16(e);
    const type = t.u16(e + 2);
    const count = t.u32(e + 4);
    const size = TYPE_SIZE[type];
    if (!size) continue;
    const bytes = size * count;
    const at = bytes <= 4 ? e + 8 : t.u32(e + 8);
    if (!o.unchecked?.includes(tag) && (count > maxCount || !t.ok(at, bytes))) continue;
    if (!entries.has(tag)) entries.set(tag, { type, count, at });
  }
  const nextAt = off + 2 + n * 12;
  return { entries, next: t.u32(nextAt) };
}
