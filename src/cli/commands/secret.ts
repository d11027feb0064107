/**
 * `coffer secret add|list|show|remove`: small secrets (a BitLocker or LUKS recovery key, 2FA
 * recovery codes) kept encrypted as the `secrets` record (engine/secrets) in the primary and,
 * copied as the same snapshot, in every copy (design §8). On a new machine,
 * `secret show NAME --kit KIT --copy NAME` reads them from that copy alone with the recovery key.
 */
import * as fs from 'node:fs';
import { CofferError } from '../../core/errors.js';
import { checkSecretName, readSecrets, withSecret, withoutSecret, writeSecrets, MAX_SECRET_BYTES, type Secrets } from '../../core/engine/secrets/secrets.js';
import type { Repository } from '../../core/repository/repository.js';
import { loadConfig } from '../../node/config.js';
import { str, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { promptHidden } from '../prompt.js';
import { openCopyFor, openPrimary } from './copies.js';
import { kitCopy, kitKey, openKitCopy, pushRecordToCopies, readKitFile } from './kit.js';

async function readValue(cli: Cli, values: Record<string, unknown>): Promise<Uint8Array> {
  const file = str(values.file as string | undefined);
  let data: Uint8Array;
  if (file) {
    try {
      data = new Uint8Array(fs.readFileSync(file));
    } catch (e) {
      throw new CofferError('bad-input', `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  } else if (values.stdin === true) {
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of process.stdin) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n > MAX_SECRET_BYTES) throw new CofferError('bad-input', `the secret is larger than ${MAX_SECRET_BYTES} bytes (64 KiB)`);
    }
    data = new Uint8Array(Buffer.concat(chunks));
  } else {
    if (!cli.io.stdinIsTTY) throw new CofferError('usage', 'give the secret with --file F or --stdin, or run on a terminal');
    data = new TextEncoder().encode(await promptHidden('secret (not shown): '));
  }
  if (data.length === 0) throw new CofferError('bad-input', 'the secret is empty');
  return data;
}

/** The repository to read from: a copy opened with a kit, or the primary with the password. */
async function openSource(cli: Cli, values: Record<string, unknown>): Promise<Repository> {
  const kitFile = str(values.kit as string | undefined);
  const copyName = str(values.copy as string | undefined);
  if (kitFile) {
    const kit = readKitFile(kitFile);
    const c = copyName ? kitCopy(kit, copyName) : kit.copies[0];
    if (!c) throw new CofferError('bad-input', 'the kit names no copies');
    return openKitCopy(cli, c, await kitKey(cli, kit));
  }
  const config = loadConfig(cli.env);
  if (copyName) {
    if (!config) throw new CofferError('bad-input', `no config: to read from copy ${copyName} give the kit (--kit KIT)`);
    const c = config.copies.find((x) => x.name === copyName);
    if (!c) throw new CofferError('bad-input', `unknown copy "${copyName}"`);
    return openCopyFor(cli, c);
  }
  return openPrimary(cli, config);
}

/** Writes the new state to the primary, then copies that record into every reachable copy. */
async function save(cli: Cli, next: Secrets): Promise<number> {
  const config = loadConfig(cli.env);
  const primary = await openPrimary(cli, config);
  const owner = cli.lockOwner();
  const id = await writeSecrets(primary, next, { owner, signal: cli.signal });
  const failed = await pushRecordToCopies(cli, primary, config, id, 'secrets');
  cli.info(`secrets saved (record ${id.slice(0, 8)}) in the primary${config?.copies.length ? ` and ${config.copies.length - failed.length} of ${config.copies.length} copies` : ''}`);
  return 0;
}

async function current(cli: Cli): Promise<{ secrets: Secrets; sha256: (d: Uint8Array) => Uint8Array }> {
  const primary = await openPrimary(cli, loadConfig(cli.env));
  return { secrets: await readSecrets(primary, { signal: cli.signal }), sha256: (d) => primary.platform.crypto.sha256(d) };
}

const command: Command = {
  name: 'secret',
  summary: 'Keep small secrets (recovery keys, 2FA codes) encrypted in every copy.',
  usage: 'add NAME [--file F | --stdin] | list [--json] | show NAME | remove NAME   [--kit KIT --copy NAME]',
  help: `Subcommands:
  add NAME        keep a secret (at most 64 KiB) from --file F, --stdin, or a prompt
  list            names, sizes, SHA-256 and when each was added (--json)
  show NAME       print the secret's bytes exactly
  remove NAME     stop keeping it (older records still hold it until forgotten)
Reading (list, show) from one copy on a new machine: --kit KIT --copy NAME.`,
  usageExitCode: 2,
  options: {
    file: { type: 'string' },
    stdin: { type: 'boolean' },
    kit: { type: 'string' },
    copy: { type: 'string' },
  },
  async run(cli, values, positionals) {
    const [sub, name, ...extra] = positionals;
    if (extra.length) throw new CofferError('usage', `unexpected argument "${extra[0]}"`);
    switch (sub) {
      case 'add': {
        if (!name) throw new CofferError('usage', 'coffer secret add NAME [--file F | --stdin]');
        checkSecretName(name);
        const value = await readValue(cli, values);
        const { secrets, sha256 } = await current(cli);
        return save(cli, withSecret(secrets, name, value, sha256));
      }
      case 'remove': {
        if (!name) throw new CofferError('usage', 'coffer secret remove NAME');
        const { secrets } = await current(cli);
        return save(cli, withoutSecret(secrets, name));
      }
      case 'list': {
        const repo = await openSource(cli, values);
        const { index } = await readSecrets(repo, { signal: cli.signal });
        if (cli.json) cli.out(JSON.stringify(index.map((s) => ({ name: s.name, size: s.size, sha256: s.sha256, addedAt: s.addedAt }))));
        else for (const s of index) cli.out(`${s.name.padEnd(32)} ${String(s.size).padStart(6)} bytes  added ${s.addedAt}`);
        return 0;
      }
      case 'show': {
        if (!name) throw new CofferError('usage', 'coffer secret show NAME');
        const repo = await openSource(cli, values);
        const { values: all } = await readSecrets(repo, { signal: cli.signal });
        const v = all.get(name);
        if (!v) throw new CofferError('bad-input', `no secret named "${name}" (known: ${[...all.keys()].join(', ') || 'none'})`);
        await new Promise<void>((res, rej) => cli.io.stdout.write(v, (e) => (e ? rej(e) : res())));
        return 0;
      }
      default:
        throw new CofferError('usage', 'coffer secret add|list|show|remove (see "coffer secret --help")');
    }
  },
};

export default command;
