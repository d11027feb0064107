/** `coffer cat`: print internal objects (restic cat): config, snapshot, index, key, masterkey, lock, pack, blob, tree. */
import { toBase64, utf8Decode } from '../../core/bytes.js';
import { CofferError } from '../../core/errors.js';
import { loadBlob } from '../../core/repository/blob-loader.js';
import { loadMasterIndex } from '../../core/repository/master-index.js';
import type { Repository } from '../../core/repository/repository.js';
import type { FileType } from '../../core/backend/backend.js';
import { formatPolynomial } from '../../core/chunker/polynomial.js';
import type { Command } from '../command.js';
import { withLock } from '../context.js';
import { resolveSnapshotArg } from '../snapshot-arg.js';

const KINDS = ['config', 'masterkey', 'snapshot', 'index', 'key', 'lock', 'pack', 'blob', 'tree'] as const;
const DIRS: Partial<Record<string, FileType>> = { snapshot: 'snapshots', index: 'index', key: 'keys', lock: 'locks', pack: 'data' };

/** Expands a unique prefix to a full file name. */
async function resolveFile(repo: Repository, type: FileType, prefix: string): Promise<string> {
  if (!/^[0-9a-f]+$/.test(prefix)) throw new CofferError('usage', `invalid ID "${prefix}"`);
  if (prefix.length === 64) return prefix;
  const hits = (await repo.listIds(type)).filter((id) => id.startsWith(prefix));
  if (hits.length === 0) throw new CofferError('usage', `no ${type} file with ID ${prefix}`);
  if (hits.length > 1) throw new CofferError('usage', `ID prefix ${prefix} is ambiguous`);
  return hits[0]!;
}

const indent = (jsonText: string) => JSON.stringify(JSON.parse(jsonText), null, 2);

const command: Command = {
  name: 'cat',
  summary: 'Print internal repository objects.',
  usage: `${KINDS.join('|')} [ID]`,
  options: {},
  async run(cli, _values, positionals) {
    const [kind, id] = positionals;
    if (!kind || !(KINDS as readonly string[]).includes(kind)) throw new CofferError('usage', `give the type of object: ${KINDS.join(', ')}`);
    if (kind !== 'config' && kind !== 'masterkey' && !id) throw new CofferError('usage', `give the ID of the ${kind}`);
    const repo = await cli.openRepository();
    const write = (b: Uint8Array | string) => process.stdout.write(b);
    return withLock(cli, repo, false, async () => {
      switch (kind) {
        case 'config':
          cli.out(JSON.stringify({ version: repo.config.version, id: repo.config.id, chunker_polynomial: formatPolynomial(repo.config.chunkerPolynomial) }, null, 2));
          return 0;
        case 'masterkey':
          cli.out(JSON.stringify({ mac: { k: toBase64(repo.key.macK), r: toBase64(repo.key.macR) }, encrypt: toBase64(repo.key.encrypt) }, null, 2));
          return 0;
        case 'key': {
          const name = await resolveFile(repo, 'keys', id!);
          cli.out(indent(utf8Decode(await repo.backend.get({ type: 'keys', name }))));
          return 0;
        }
        case 'snapshot':
        case 'lock':
        case 'index': {
          const type = DIRS[kind]!;
          const name = kind === 'snapshot' ? (await resolveSnapshotArg(repo, await loadMasterIndex(repo), id!)).entry.id : await resolveFile(repo, type, id!);
          const text = utf8Decode(await repo.loadUnpacked(type, name));
          cli.out(kind === 'index' ? text.replace(/\n$/, '') : indent(text));
          return 0;
        }
        case 'pack': {
          const name = await resolveFile(repo, 'data', id!);
          write(await repo.loadVerified({ type: 'data', name }));
          return 0;
        }
        case 'blob':
        case 'tree': {
          const index = await loadMasterIndex(repo);
          let blobId = id!;
          let type: 'data' | 'tree' = kind === 'tree' ? 'tree' : 'data';
          if (kind === 'tree' && (id!.includes(':') || !index.has('tree', id!))) {
            blobId = (await resolveSnapshotArg(repo, index, id!)).tree; // SNAPSHOT[:FOLDER]
          } else if (kind === 'blob' && !index.has('data', blobId) && index.has('tree', blobId)) {
            type = 'tree';
          }
          if (!index.has(type, blobId)) throw new CofferError('usage', `blob ${blobId} not found in the index`);
          write(await loadBlob(repo, index, type, blobId));
          return 0;
        }
      }
      return 1;
    });
  },
};
export default command;
