/** `coffer rebuild-index`: restic's old name for "repair index". */
import { type Command } from '../command.js';
import { runRepairIndex } from './repair.js';

const command: Command = {
  name: 'rebuild-index',
  summary: 'Alias of "repair index": write a new index from the packs that exist, then remove the old index files.',
  usage: '[--read-all-packs]',
  options: { 'read-all-packs': { type: 'boolean' } },
  run: (cli, values) => runRepairIndex(cli, values),
};
export default command;
