/**
 * @module cli/command
 * The shape of a command module and of the global options every command accepts (restic's
 * persistent flags: they may appear before or after the command name).
 */
import type { ParseArgsConfig } from 'node:util';
import type { Cli } from './context.js';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export interface Command {
  readonly name: string;
  readonly summary: string;
  /** Usage line after "coffer NAME". */
  readonly usage: string;
  /** Extra help text (flags explained). */
  readonly help?: string;
  readonly options: OptionSpecs;
  /**
   * Exit code of a usage error: restic's 1 by default; 2 for the commands of the no-lock-out
   * layer (copies, kit, drill, …), whose design refuses bad input before any work with 2.
   */
  readonly usageExitCode?: number;
  run(cli: Cli, values: Values, positionals: string[]): Promise<number>;
}

export const GLOBAL_OPTIONS = {
  repo: { type: 'string', short: 'r' },
  'password-file': { type: 'string', short: 'p' },
  'password-command': { type: 'string' },
  'key-hint': { type: 'string' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v', multiple: true },
  'no-lock': { type: 'boolean' },
  compression: { type: 'string' },
  'pack-size': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies OptionSpecs;

export const GLOBAL_HELP = `Global options:
  -r, --repo REPOSITORY      repository location (default: $COFFER_REPOSITORY, $RESTIC_REPOSITORY,
                             else $XDG_DATA_HOME/coffer/repo, i.e. ~/.local/share/coffer/repo)
  -p, --password-file FILE   read the password from FILE ($COFFER_PASSWORD_FILE); or set $COFFER_PASSWORD
      --password-command CMD run CMD and use its output as the password
      --key-hint KEY         try this key ID (prefix) first
      --json                 machine-readable output (restic's JSON shapes; progress as JSON lines)
  -q, --quiet                print only errors
  -v, --verbose              say more (repeat for even more)
      --no-lock              do not lock the repository (read-only commands only)
      --compression MODE     auto, off, max, fastest or better (repository version 2)
      --pack-size MiB        target pack size, 4 to 128 (default 16)
  -h, --help                 help for the command
The RESTIC_ equivalents of the COFFER_ variables are honoured when the COFFER_ ones are unset.`;

export function str(v: Values[string]): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function list(v: Values[string]): string[] {
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).filter((x): x is string => typeof x === 'string');
}

export function flag(v: Values[string]): boolean {
  return v === true || (Array.isArray(v) && v.length > 0);
}
