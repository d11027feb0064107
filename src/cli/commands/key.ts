/**
 * `coffer key list|add|remove|passwd`: manage the key files (passwords) of a repository, as
 * restic key. Every key wraps the same master key, so adding a key never touches other files;
 * removing one takes an exclusive lock (restic does), and the key in use cannot be removed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import { toHex } from '../../core/bytes.js';
import { CofferError, isCofferError } from '../../core/errors.js';
import { decodeKeyFile } from '../../core/format/key-file.js';
import type { Id, KeyFile } from '../../core/format/types.js';
import { addOtpVaultPassword } from '../../core/otp/store.js';
import { addKey } from '../../core/repository/open.js';
import type { Repository } from '../../core/repository/repository.js';
import { str, type Command, type Values } from '../command.js';
import { newKeyKdf, withLock, type Cli } from '../context.js';
import { formatTime } from '../format.js';
import { promptHidden } from '../prompt.js';

interface KeyEntry {
  readonly id: Id;
  readonly key: KeyFile;
}

async function loadKeys(repo: Repository): Promise<KeyEntry[]> {
  const out: KeyEntry[] = [];
  for (const id of await repo.listIds('keys')) {
    const bytes = await repo.backend.get({ type: 'keys', name: id });
    if (toHex(repo.platform.crypto.sha256(bytes)) !== id) throw new CofferError('corrupt', `keys/${id}: content does not match its name (SHA-256 mismatch)`);
    out.push({ id, key: decodeKeyFile(bytes, `keys/${id}`) });
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** The new password: --new-password-file, COFFER_NEW_PASSWORD / RESTIC_NEW_PASSWORD, else asked twice. */
async function newPassword(cli: Cli, values: Values): Promise<string> {
  const file = str(values['new-password-file']);
  let pw: string | undefined;
  if (file) {
    try {
      pw = fs.readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (e) {
      throw new CofferError('usage', `cannot read new password file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else pw = cli.envVar('NEW_PASSWORD');
  if (pw === undefined) {
    if (!cli.io.stdinIsTTY) throw new CofferError('usage', 'no new password given: use --new-password-file or run on a terminal');
    const ask = async (q: string) => {
      try {
        return await promptHidden(q);
      } catch (e) {
        if ((e as { interrupted?: boolean }).interrupted) throw new CofferError('cancelled', 'interrupted');
        throw e;
      }
    };
    const a = await ask('enter new password: ');
    const b = await ask('enter password again: ');
    if (a !== b) throw new CofferError('usage', 'passwords do not match');
    pw = a;
  }
  if (pw === '') throw new CofferError('usage', 'an empty password is not allowed');
  return pw;
}

async function addNewKey(cli: Cli, repo: Repository, values: Values): Promise<Id> {
  const password = await newPassword(cli, values);
  const kdf = await newKeyKdf(cli);
  const id = await addKey(repo.backend, repo.platform, repo.key, password, kdf, {
    username: str(values.user) ?? os.userInfo().username,
    hostname: str(values.host) ?? os.hostname(),
  }, { signal: cli.signal });
  // The OTP vault opens with the repository's passwords: the new one gets a slot too.
  // (After `passwd` the old password's slot stays, but without its key file it opens nothing.)
  if (await addOtpVaultPassword(repo, await cli.password(), password, { owner: cli.lockOwner(), signal: cli.signal, unlocked: true })) {
    cli.info('added a slot for the new password to the OTP vault');
  }
  return id;
}

/** Resolves a key ID or unique prefix. */
async function findKey(repo: Repository, ref: string): Promise<Id> {
  if (!/^[0-9a-f]+$/.test(ref)) throw new CofferError('usage', `invalid key ID "${ref}"`);
  const hits = (await repo.listIds('keys')).filter((id) => id.startsWith(ref));
  if (hits.length === 0) throw new CofferError('usage', `no key found with ID ${ref}`);
  if (hits.length > 1) throw new CofferError('usage', `key ID prefix "${ref}" is ambiguous (${hits.length} keys match)`);
  return hits[0]!;
}

async function removeKey(repo: Repository, id: Id): Promise<void> {
  if (id === repo.keyId) throw new CofferError('usage', 'refusing to remove key currently used to access repository');
  try {
    await repo.backend.delete({ type: 'keys', name: id });
  } catch (e) {
    if (isCofferError(e, 'not-found')) throw new CofferError('usage', `no key found with ID ${id}`);
    throw e;
  }
}

function printTable(cli: Cli, repo: Repository, keys: readonly KeyEntry[]): void {
  const rows = keys.map((k) => [
    (k.id === repo.keyId ? '*' : ' ') + k.id.slice(0, 8),
    k.key.username,
    k.key.hostname,
    formatTime(k.key.created),
  ]);
  const header = [' ID', 'User', 'Host', 'Created'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  const rule = '-'.repeat(widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1));
  cli.out(line(header));
  cli.out(rule);
  for (const r of rows) cli.out(line(r));
  cli.out(rule);
}

const command: Command = {
  name: 'key',
  summary: 'Manage keys (passwords) of the repository.',
  usage: 'list | add | remove ID | passwd  [--new-password-file FILE] [--user U] [--host H]',
  help: `Subcommands:
  list                     list the keys (* marks the one in use)
  add                      add a key (a new password for the same repository)
  remove ID                remove a key (not the one in use)
  passwd                   change the password: add a new key, then remove the one in use
Options:
      --new-password-file FILE  read the new password from FILE (else $COFFER_NEW_PASSWORD,
                                $RESTIC_NEW_PASSWORD, or asked twice on the terminal)
      --user NAME               user name stored in the new key (default: the current user)
      --host NAME               host name stored in the new key (default: this host)`,
  options: {
    'new-password-file': { type: 'string' },
    user: { type: 'string' },
    host: { type: 'string' },
  },
  async run(cli, values, positionals) {
    const [sub, ...args] = positionals;
    const want = (n: number) => {
      if (args.length !== n) throw new CofferError('usage', `"key ${sub}" takes ${n === 0 ? 'no arguments' : 'one key ID'}`);
    };
    switch (sub) {
      case 'list': {
        want(0);
        const repo = await cli.openRepository();
        const keys = await withLock(cli, repo, false, () => loadKeys(repo));
        if (cli.json) {
          cli.out(JSON.stringify(keys.map((k) => ({
            current: k.id === repo.keyId,
            id: k.id,
            userName: k.key.username,
            hostName: k.key.hostname,
            created: formatTime(k.key.created),
          }))));
        } else printTable(cli, repo, keys);
        return 0;
      }
      case 'add': {
        want(0);
        const repo = await cli.openRepository();
        const id = await withLock(cli, repo, false, () => addNewKey(cli, repo, values));
        cli.info(`saved new key with ID ${id}`);
        return 0;
      }
      case 'remove': {
        want(1);
        const repo = await cli.openRepository();
        await withLock(cli, repo, true, async () => {
          const id = await findKey(repo, args[0]!);
          await removeKey(repo, id);
          cli.info(`removed key ${id}`);
        });
        return 0;
      }
      case 'passwd': {
        want(0);
        const repo = await cli.openRepository();
        await withLock(cli, repo, true, async () => {
          // The new key is written first: at every instant some key opens the repository.
          const id = await addNewKey(cli, repo, values);
          await repo.backend.delete({ type: 'keys', name: repo.keyId });
          cli.info(`saved new key as ${id}`);
        });
        return 0;
      }
      case undefined:
        throw new CofferError('usage', 'give a subcommand: list, add, remove or passwd');
      default:
        throw new CofferError('usage', `unknown subcommand "key ${sub}" (list, add, remove, passwd)`);
    }
  },
};
export default command;
