/**
 * @module node/cwd
 * Child processes need a working directory as text, but restored and backed-up paths are raw
 * bytes. A path that is not UTF-8 is reached through an open descriptor: /proc/<pid>/fd/<n>.
 */
import * as fs from 'node:fs';

/** Runs `fn` with a cwd string that names `dir` (held open while `fn` runs). */
export async function withDirCwd<T>(dir: string | Buffer, fn: (cwd: string) => Promise<T>): Promise<T> {
  const buf = typeof dir === 'string' ? Buffer.from(dir) : dir;
  const text = buf.toString('utf8');
  if (Buffer.from(text).equals(buf)) return fn(text);
  const fd = fs.openSync(buf, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  try {
    return await fn(`/proc/${process.pid}/fd/${fd}`);
  } finally {
    fs.closeSync(fd);
  }
}
