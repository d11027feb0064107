/** Where the tests find the shared spec material and scratch space. Tests run from the repo root. */
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';

export const ROOT = process.cwd();
export const SHARED = process.env.COFFER_SHARED ?? path.resolve(ROOT, '..', 'shared');
export const VECTORS = path.join(SHARED, 'spec', 'vectors');

export function readVector<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(VECTORS, name), 'utf8')) as T;
}

/** A fresh temporary directory, removed when the process exits. */
export function tempDir(prefix = 'coffer-test-'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}
