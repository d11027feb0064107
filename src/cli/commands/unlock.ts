/** `coffer unlock`: remove stale locks (restic unlock). */
import * as os from 'node:os';
import { removeLocks } from '../../core/repository/locks.js';
import { flag, type Command } from '../command.js';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const command: Command = {
  name: 'unlock',
  summary: 'Remove stale locks (older than 30 minutes, or left by a dead process on this host).',
  usage: '[--remove-all]',
  help: `Options:
      --remove-all   remove every lock, also ones other clients may still hold`,
  options: { 'remove-all': { type: 'boolean' } },
  async run(cli, values) {
    const repo = await cli.openRepository();
    const removed = await removeLocks(repo, { all: flag(values['remove-all']), hostname: os.hostname(), processAlive });
    if (cli.json) cli.jsonLine({ message_type: 'unlock', removed_locks: removed });
    else cli.info(`successfully removed ${removed.length} lock${removed.length === 1 ? '' : 's'}`);
    return 0;
  },
};
export default command;
