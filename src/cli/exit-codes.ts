/**
 * @module cli/exit-codes
 * The one table from error codes to exit codes, with restic's numbers:
 * 0 ok, 1 fatal, 3 backup written but some sources unreadable, 10 no repository,
 * 11 lock failed, 12 wrong password, 130 interrupted; and 2 for input refused before any work
 * (a mistyped recovery key, an unreadable kit: docs of the no-lock-out layer).
 */
import type { ErrorCode } from '../core/errors.js';

export const EXIT_OK = 0;
export const EXIT_FATAL = 1;
export const EXIT_PARTIAL = 3;

const TABLE: Partial<Record<ErrorCode, number>> = {
  'bad-input': 2,
  source: EXIT_PARTIAL,
  'no-repository': 10,
  locked: 11,
  'wrong-password': 12,
  cancelled: 130,
};

export function exitCodeFor(code: ErrorCode): number {
  return TABLE[code] ?? EXIT_FATAL;
}
