/** `coffer version`. */
import { PROGRAM_VERSION } from '../../core/engine/backup/backup.js';
import type { Command } from '../command.js';

const command: Command = {
  name: 'version',
  summary: 'Print version information.',
  usage: '',
  options: {},
  async run(cli) {
    if (cli.json) cli.jsonLine({ message_type: 'version', version: PROGRAM_VERSION.split(' ')[1], node_version: process.version, os: process.platform, arch: process.arch });
    else cli.out(`${PROGRAM_VERSION} (restic repository format 1 and 2) on node ${process.version} ${process.platform}/${process.arch}`);
    return 0;
  },
};
export default command;
