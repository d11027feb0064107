/**
 * Copies a repository folder in restic's local layout (`data/xx/` shards) into a MemBackend, so
 * REST tests can serve the shared read-only vector repositories without a disk backend.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MemBackend } from '../../src/core/backend/mem.js';

export async function loadRepositoryDir(dir: string, backend = new MemBackend()): Promise<MemBackend> {
  const cfg = path.join(dir, 'config');
  if (fs.existsSync(cfg)) await backend.put({ type: 'config', name: '' }, new Uint8Array(fs.readFileSync(cfg)));
  for (const type of ['keys', 'locks', 'snapshots', 'index', 'data'] as const) {
    const walk = async (d: string): Promise<void> => {
      if (!fs.existsSync(d)) return;
      for (const e of fs.readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) await walk(path.join(d, e.name));
        else if (/^[0-9a-f]{64}$/.test(e.name)) await backend.put({ type, name: e.name }, new Uint8Array(fs.readFileSync(path.join(d, e.name))));
      }
    };
    await walk(path.join(dir, type));
  }
  return backend;
}
