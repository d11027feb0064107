/**
 * Shared pieces of the awkward-source tests: root detection, running a command as an unprivileged
 * user (root reads everything, so unreadable files need another user), tmpfs mounts, and a
 * streaming file hash for files too large to read at once.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export const IS_ROOT = process.getuid?.() === 0;
/** The unprivileged user (nobody) the unreadable-file tests run as when the tests run as root. */
export const NOBODY = 65534;

/**
 * A skip reason for a test that needs root (mounts, devices, another user), or false. In CI
 * (which runs as root) a missing privilege is a failure, not a skip.
 */
export function needsRoot(what: string): string | false {
  if (IS_ROOT) return false;
  if (process.env.CI) throw new Error(`${what} needs root, and CI runs as root`);
  return `${what} needs root`;
}

/** Mounts a tmpfs of `sizeMiB` at `dir` (created). */
export function mountTmpfs(dir: string, sizeMiB: number): void {
  fs.mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMiB}m,mode=0755`, 'tmpfs', dir]);
  // Before tempDir's removal (registered earlier): rm cannot remove a mount point.
  process.prependListener('exit', () => {
    try {
      execFileSync('umount', ['-l', dir], { stdio: 'ignore' });
    } catch {
      // already unmounted
    }
  });
}

export function remount(dir: string, options: string): void {
  execFileSync('mount', ['-o', `remount,${options}`, dir]);
}

export function umount(dir: string): void {
  execFileSync('umount', [dir]);
}

/** SHA-256 of a file read in 8 MiB pieces (for multi-GiB files). */
export function hashFile(p: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(p, 'r');
  const buf = Buffer.alloc(8 * 1024 * 1024);
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** Allocated bytes of a file (st_blocks × 512): how sparse it is. */
export function allocatedBytes(p: string): number {
  return fs.statSync(p).blocks * 512;
}

/** Makes `dir` and its ancestors up to `/tmp` traversable (and `dir` writable) by any user. */
export function openToAll(dir: string): void {
  fs.chmodSync(dir, 0o777);
}
