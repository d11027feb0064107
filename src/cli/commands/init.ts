/** `coffer init`: create a repository (restic init). */
import * as os from 'node:os';
import { CofferError } from '../../core/errors.js';
import { initRepository } from '../../core/repository/open.js';
import type { Repository } from '../../core/repository/repository.js';
import { str, type Command } from '../command.js';
import { newKeyKdf, type Cli } from '../context.js';
import { FROM_HELP, FROM_OPTIONS, openFromRepository } from './copy.js';

/** Creates the repository the CLI points at, asking for a new password. Shared with backup's first run. */
export async function createRepository(cli: Cli, version: 1 | 2, extra: { chunkerPolynomial?: bigint } = {}): Promise<Repository> {
  const backend = cli.backend();
  const platform = await cli.platform();
  const password = await cli.newPassword();
  const kdf = await newKeyKdf(cli);
  const repo = await initRepository(backend, platform, {
    password,
    version,
    kdf,
    username: os.userInfo().username,
    hostname: os.hostname(),
    ...cli.repositoryOptions(),
    ...extra,
  });
  if (cli.json) cli.jsonLine({ message_type: 'initialized', id: repo.config.id, repository: backend.location });
  else {
    cli.info(`created restic repository ${repo.config.id.slice(0, 10)} at ${backend.location}`);
    cli.info('');
    cli.info('Please note that knowledge of your password is required to access');
    cli.info('the repository. Losing your password means that your data is');
    cli.info('irrecoverably lost.');
  }
  return repo;
}

const command: Command = {
  name: 'init',
  summary: 'Create a new repository.',
  usage: '[--repository-version 1|2] [--from-repo REPO --copy-chunker-params]',
  help: `Options:
      --repository-version V   repository format version: 2 (default, with compression) or 1
      --copy-chunker-params    use the chunker polynomial of --from-repo, so that data copied
                               between the two repositories deduplicates
${FROM_HELP}`,
  options: { 'repository-version': { type: 'string' }, 'copy-chunker-params': { type: 'boolean' }, ...FROM_OPTIONS },
  async run(cli, values) {
    const v = str(values['repository-version']) ?? '2';
    if (v !== '1' && v !== '2' && v !== 'latest' && v !== 'stable') {
      throw new CofferError('usage', `unsupported repository version "${v}" (use 1 or 2)`);
    }
    let chunkerPolynomial: bigint | undefined;
    if (values['copy-chunker-params'] === true) {
      const from = await openFromRepository(cli, values);
      if (!from) throw new CofferError('usage', '--copy-chunker-params needs --from-repo (or $COFFER_FROM_REPOSITORY)');
      chunkerPolynomial = from.config.chunkerPolynomial;
    }
    await createRepository(cli, v === '1' ? 1 : 2, chunkerPolynomial === undefined ? {} : { chunkerPolynomial });
    return 0;
  },
};
export default command;
