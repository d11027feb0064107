/**
 * @module web/worker/drill
 * The web app's sampled drill (issue 9, no-lockout §6): the same drill engine as `coffer drill`,
 * run in the worker against the repository this page serves. The user gives the kit (its text,
 * html or pdf file; a split kit needs the key typed, e.g. after `coffer kit --join`); the page's
 * own unlock is not used to open anything, only to tell which of the kit's copies this
 * repository is (or that it is the primary, which the kit's key also opens), so the drill proves
 * what a stranger with the kit could do. Restored files go to
 * memory (a sample, not the whole repository) and are verified byte by byte; the result is
 * recorded in the repository, so `coffer status` counts it.
 */
import { RestBackend } from '../../core/backend/rest.js';
import { CofferError } from '../../core/errors.js';
import { runDrill, type DrillReport, type DrillSink } from '../../core/engine/drill/drill.js';
import { parseKit } from '../../core/kit/kit-text.js';
import { parseRecoveryKey } from '../../core/kit/recovery-key.js';
import type { RelPath } from '../../core/engine/restore/sink.js';
import type { Session } from './session.js';

/** Restored files in memory, pieces kept by offset (a restore writes blobs in pack order). */
function memorySink(): DrillSink {
  const files = new Map<string, Map<number, Uint8Array>>();
  const key = (p: RelPath): string => p.map((c) => Array.from(c).join(',')).join('/');
  return {
    mkdir: async () => undefined,
    createFile: async (p) => {
      const pieces = new Map<number, Uint8Array>();
      files.set(key(p), pieces);
      return {
        write: async (offset, data) => void pieces.set(offset, data.slice()),
        close: async () => undefined,
        abandon: async () => {
          files.delete(key(p));
          return undefined;
        },
      };
    },
    createSpecial: async () => undefined,
    hardlink: async () => undefined,
    setMetadata: async () => undefined,
    readFile: async function* (p) {
      const pieces = files.get(key(p));
      if (!pieces) return;
      for (const off of [...pieces.keys()].sort((a, b) => a - b)) yield pieces.get(off)!;
    },
  };
}

export async function webDrill(session: Session, repoUrl: string, kitText: string, typedKey: string | undefined, sample: number): Promise<DrillReport> {
  const platform = session.repo.platform;
  const kit = parseKit(kitText, (d) => platform.crypto.sha256(d));
  const key = typedKey?.trim() ? parseRecoveryKey(typedKey).key : kit.recoveryKey;
  if (!key) throw new CofferError('bad-input', 'this kit is split: type the recovery key (rebuild it with "coffer kit --join" from two shares)');
  const id = session.repo.config.id;
  const url = new URL(repoUrl, self.location.href).href;
  // This repository as the kit names it; the primary (which the kit's key also opens) is not
  // in its copy list. A kit for other repositories then fails the drill with key-rejected.
  const copy = kit.copies.find((c) => c.repositoryId === id) ?? { name: 'this repository', url, repositoryId: id, keyId: '', options: [], needsEnv: [], needs: [] };
  return runDrill(
    { kitId: kit.id, kitCreated: kit.created, recoveryKey: key, copies: [{ ...copy, url }], mode: 'sample', sample, record: true },
    {
      platform,
      backend: () => new RestBackend(url),
      sink: async () => memorySink(),
      now: () => performance.now(),
      owner: { hostname: 'web-app', username: 'coffer-web', pid: 0 },
    },
  );
}
