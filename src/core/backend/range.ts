/**
 * @module backend/range
 * Validation of a ByteRange against a file size, shared by backends that know the size before
 * reading: a range reaching past the end is CofferError 'range', never short data.
 */
import { CofferError } from '../errors.js';
import type { ByteRange } from './backend.js';

/**
 * Validates a range against a file size and returns [start, end). Shared with other backends
 * that hold the whole file: a range reaching past the end is 'range', never short data.
 */
export function resolveRange(range: ByteRange, size: number, what: string): { start: number; end: number } {
  const { offset, length } = checkRange(range, what);
  const end = length === undefined ? size : offset + length;
  if (offset > size || end > size) {
    throw new CofferError('range', `${what}: range ${offset}+${length ?? size - offset} reaches past the end (${size} bytes)`);
  }
  return { start: offset, end };
}

/** Checks that a range is well formed (non-negative safe integers); throws 'range' otherwise. */
export function checkRange(range: ByteRange | undefined, what: string): { offset: number; length: number | undefined } {
  const offset = range?.offset ?? 0;
  const length = range?.length;
  if (!Number.isSafeInteger(offset) || offset < 0 || (length !== undefined && (!Number.isSafeInteger(length) || length < 0))) {
    throw new CofferError('range', `${what}: invalid range offset=${offset} length=${length}`);
  }
  return { offset, length };
}
