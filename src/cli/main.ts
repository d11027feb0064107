/**
 * @module cli/main
 * The `coffer` command line: finds the command, parses its flags together with the global ones,
 * runs it, and maps every error to restic's exit codes in one place. The only process.exit.
 */
import { parseArgs } from 'node:util';
import { CofferError, isCofferError } from '../core/errors.js';
import { GLOBAL_HELP, GLOBAL_OPTIONS, type Command, type OptionSpecs } from './command.js';
import { Cli } from './context.js';
import { EXIT_FATAL, exitCodeFor } from './exit-codes.js';

/** Command name -> one-line summary; each lives in commands/<name>.ts, loaded on use. */
const COMMANDS: Record<string, string> = {
  init: 'create a repository',
  backup: 'back up files and folders',
  snapshots: 'list snapshots',
  ls: 'list files in a snapshot',
  restore: 'restore a snapshot',
  dump: 'print one file of a snapshot to stdout',
  diff: 'show what changed between two snapshots',
  find: 'find files, blobs, trees or packs',
  stats: 'count sizes and files',
  check: 'check the repository for errors',
  forget: 'remove snapshots by a retention policy',
  prune: 'remove data no snapshot needs',
  copy: 'copy snapshots from another repository',
  key: 'manage keys (passwords)',
  repair: 'rebuild the index or repair snapshots',
  'rebuild-index': 'alias of "repair index"',
  cat: 'print internal repository objects',
  unlock: 'remove stale locks',
  otp: 'keep 2FA codes in an encrypted Aegis vault inside the repository',
  serve: "serve repositories over restic's REST protocol",
  copies: "manage the primary's copies (add, list, remove, policy, purge)",
  sync: 'bring every copy up to date and verify it',
  status: 'am I safe? every copy, the kit, drills, with reasons',
  kit: 'print the recovery kit (a new recovery key in every copy); --join, --verify',
  drill: 'prove the kit restores every copy, as a stranger would',
  secret: 'keep small secrets (recovery keys, 2FA codes) in every copy',
  recover: 'rebuild the config and a new primary from one copy and the kit',
  gallery: 'build the encrypted photo gallery inside the repository (gallery build)',
  import: 'import a Google Photos Takeout or a plain photo export (folder or zip) into the repository and the gallery',
  schedule: 'run backup, sync, checks and drills on a timer',
  alert: 'where to send alerts (command, e-mail, webhook)',
  'run-scheduled': 'what the schedule runs (backup, sync, check, drill, status)',
  web: 'open the repository in the web app (decrypts in the browser)',
  share: 'share files by an end-to-end encrypted link that expires (create, list, revoke)',
  inbox: 'review new files before they are stored (add, watch, scan, list, approve, private, reject)',
  version: 'print the version',
};

async function loadCommand(name: string): Promise<Command | undefined> {
  if (!Object.hasOwn(COMMANDS, name)) return undefined;
  try {
    return ((await import(`./commands/${name}.js`)) as { default: Command }).default;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && String((e as Error).message).includes(`commands/${name}.js`)) return undefined;
    throw e;
  }
}

function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, s]) => `  ${n.padEnd(14)} ${s}`);
  return `Coffer: backups you cannot lose, in restic's repository format.

Usage: coffer [global options] COMMAND [options] [arguments]

Commands:
${lines.join('\n')}

Run "coffer COMMAND --help" for a command's options.

${GLOBAL_HELP}
`;
}

/** Finds the command name: the first argument that is neither a flag nor a global flag's value. */
function splitCommand(argv: readonly string[]): { name: string | undefined; rest: string[] } {
  const takesValue = new Set<string>();
  for (const [long, spec] of Object.entries(GLOBAL_OPTIONS)) {
    if (spec.type === 'string') {
      takesValue.add(`--${long}`);
      if ('short' in spec) takesValue.add(`-${spec.short}`);
    }
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    if (a.startsWith('-')) {
      if (takesValue.has(a)) i++;
      continue;
    }
    return { name: a, rest: [...argv.slice(0, i), ...argv.slice(i + 1)] };
  }
  return { name: undefined, rest: [...argv] };
}

function describeError(e: unknown, verbose: boolean): string {
  if (isCofferError(e)) return e.message;
  if (e instanceof Error) return verbose && e.stack ? e.stack : `unexpected error: ${e.message}`;
  return `unexpected error: ${String(e)}`;
}

export async function main(argv: string[]): Promise<never> {
  const controller = new AbortController();
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\nsignal interrupt received, cleaning up\n');
    controller.abort();
  });
  process.on('SIGTERM', () => controller.abort());
  // A closed pipe (coffer ls | head) is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
  });

  let json = false;
  let verbose = false;
  let code: number;
  let cmd: Command | undefined;
  try {
    const { name, rest } = splitCommand(argv);
    if (!name || name === 'help') {
      process.stdout.write(usage());
      process.exit(name ? 0 : argv.includes('--help') || argv.includes('-h') ? 0 : 1);
    }
    cmd = await loadCommand(name);
    if (!cmd) throw new CofferError('usage', `unknown command "${name}" (run "coffer help")`);
    const options: OptionSpecs = { ...GLOBAL_OPTIONS, ...cmd.options };
    let parsed;
    try {
      parsed = parseArgs({ args: rest, options, allowPositionals: true, strict: true });
    } catch (e) {
      throw new CofferError('usage', `${(e as Error).message.replace(/\. To specify a positional argument.*$/s, '')} (see "coffer ${name} --help")`);
    }
    const values = parsed.values as Record<string, string | boolean | (string | boolean)[] | undefined>;
    json = values.json === true;
    verbose = Array.isArray(values.verbose) && values.verbose.length > 0;
    if (values.help) {
      process.stdout.write(`Usage: coffer ${cmd.name} ${cmd.usage}\n\n${cmd.summary}\n${cmd.help ? `\n${cmd.help}\n` : ''}\n${GLOBAL_HELP}\n`);
      process.exit(0);
    }
    const cli = new Cli(values, process.env, { stdout: process.stdout, stderr: process.stderr, stdinIsTTY: !!process.stdin.isTTY }, controller.signal);
    try {
      code = await cmd.run(cli, values, parsed.positionals);
    } finally {
      // Release sessions and child processes; a close that hangs must not hold the exit.
      await Promise.race([cli.close(), new Promise((r) => setTimeout(r, 5000).unref())]);
    }
  } catch (e) {
    const c = !isCofferError(e) ? EXIT_FATAL : e.code === 'usage' && cmd?.usageExitCode ? cmd.usageExitCode : exitCodeFor(e.code);
    const message = describeError(e, verbose);
    if (json) process.stderr.write(JSON.stringify({ message_type: 'exit_error', code: c, message }) + '\n');
    else process.stderr.write(`${c === 130 ? '' : 'coffer: '}${message}\n`);
    code = c;
  }
  // Let pending writes to stdout drain before exiting.
  await new Promise<void>((resolve) => (process.stdout.writableLength === 0 ? resolve() : process.stdout.once('drain', () => resolve())));
  process.exit(code);
}
