/**
 * `coffer drill --kit FILE [--copy NAME | --all] [--sample N | --full] [--json] [--no-record]`:
 * a restore by a stranger (../shared/design/no-lockout.md §6). It never reads the config or a
 * cache: the kit is the only input, and the copies' backends get a fresh environment — a
 * temporary HOME, XDG folders and TMPDIR (deleted at the end) plus only the storage credential
 * variables (AWS_*, S3_*, RESTIC_REST_*, SSH_AUTH_SOCK, COFFER_S3_/SFTP_/RCLONE_*, RCLONE_*, and
 * the kit's Needs-Env names). The drill itself runs in this process (engine/drill).
 *
 * Exit: 0 every copy passed; 1 a copy failed (one stderr line per failed copy); 2 unusable kit
 * or mistyped key, before anything is contacted.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { CofferError } from '../../core/errors.js';
import { DEFAULT_SAMPLE, runDrill, type DrillSink } from '../../core/engine/drill/drill.js';
import type { RelPath } from '../../core/engine/restore/sink.js';
import { toUnixNanos } from '../../core/format/go-time.js';
import type { TreeNode } from '../../core/format/types.js';
import type { KitCopy } from '../../core/kit/kit-text.js';
import { appendDrill } from '../../node/config.js';
import { FsRestoreSink } from '../../node/fs-sink.js';
import { copyBackend } from '../../node/open-copy.js';
import { flag, str, type Command } from '../command.js';
import type { Cli } from '../context.js';
import { entryOfKitCopy, kitCopy, kitKey, readKitFile } from './kit.js';

/** The scratch target on disk, able to compare restored metadata with the snapshot. */
export class DrillFsSink extends FsRestoreSink implements DrillSink {
  constructor(private readonly rootDir: string) {
    super(rootDir);
  }

  async checkMetadata(p: RelPath, node: TreeNode): Promise<string | undefined> {
    const full = Buffer.concat([Buffer.from(this.rootDir), ...p.flatMap((n) => [Buffer.from('/'), Buffer.from(n)])]);
    let st: fs.BigIntStats;
    try {
      st = await fs.promises.lstat(full, { bigint: true });
    } catch (e) {
      return `not restored (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`;
    }
    if (node.type === 'symlink') {
      if (!st.isSymbolicLink()) return 'restored, but not as a symlink';
      const target = Buffer.from(await fs.promises.readlink(full, { encoding: 'buffer' }));
      const want = node.linktargetRaw ?? Buffer.from(node.linktarget ?? '', 'utf8');
      return target.equals(Buffer.from(want)) ? undefined : `symlink target differs from the snapshot`;
    }
    if (!st.isFile()) return 'restored, but not as a file';
    if (node.size !== undefined && st.size !== BigInt(node.size)) return `size ${st.size}, the snapshot says ${node.size}`;
    if (node.mode !== undefined && (Number(st.mode) & 0o777) !== (node.mode & 0o777)) {
      return `mode ${(Number(st.mode) & 0o777).toString(8)}, the snapshot says ${(node.mode & 0o777).toString(8)}`;
    }
    const want = toUnixNanos(node.mtime);
    const diff = st.mtimeNs > want ? st.mtimeNs - want : want - st.mtimeNs;
    if (diff >= 1000n) return `modification time differs from the snapshot by ${diff} ns`; // utimes keeps microseconds
    return undefined;
  }
}

const CREDENTIAL_VARS = /^(AWS_|S3_|RESTIC_REST_|RCLONE_|COFFER_S3_|COFFER_SFTP_|COFFER_RCLONE_)|^SSH_AUTH_SOCK$|^PATH$|^LANG$|^TZ$/;

/** The drill's environment: a fresh home plus storage credentials only. */
export function drillEnv(parent: NodeJS.ProcessEnv, home: string, copies: readonly KitCopy[]): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  const named = new Set(copies.flatMap((c) => c.needsEnv));
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && (CREDENTIAL_VARS.test(k) || named.has(k))) env[k] = v;
  for (const d of ['config', 'cache', 'data', 'state', 'tmp']) fs.mkdirSync(path.join(home, d), { recursive: true, mode: 0o700 });
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, 'config'),
    XDG_CACHE_HOME: path.join(home, 'cache'),
    XDG_DATA_HOME: path.join(home, 'data'),
    XDG_STATE_HOME: path.join(home, 'state'),
    TMPDIR: path.join(home, 'tmp'),
  };
}

async function drill(cli: Cli, values: Record<string, unknown>): Promise<number> {
  const kitFile = str(values.kit as string | undefined);
  if (!kitFile) throw new CofferError('bad-input', 'give the kit: coffer drill --kit FILE (a drill uses the kit alone, never the config)');
  const kit = readKitFile(kitFile);
  const key = await kitKey(cli, kit);
  const only = str(values.copy as string | undefined);
  const copies = only ? [kitCopy(kit, only)] : kit.copies;
  if (copies.length === 0) throw new CofferError('bad-input', 'the kit names no copies');
  const full = flag(values.full as boolean | undefined);
  const sampleArg = str(values.sample as string | undefined);
  if (full && sampleArg) throw new CofferError('usage', '--full and --sample exclude each other');
  const sample = sampleArg === undefined ? DEFAULT_SAMPLE : Number(sampleArg);
  if (!Number.isInteger(sample) || sample < 1) throw new CofferError('usage', `invalid --sample "${sampleArg}" (a positive number of files)`);

  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coffer-drill-'));
  try {
    const env = drillEnv(cli.env, home, copies);
    const platform = await cli.platform();
    let n = 0;
    const report = await runDrill(
      {
        kitId: kit.id,
        kitCreated: kit.created,
        recoveryKey: key,
        copies,
        mode: full ? 'full' : 'sample',
        sample,
        ...(str(values.seed as string | undefined) ? { seed: str(values.seed as string | undefined)! } : {}),
        record: !flag(values['no-record'] as boolean | undefined),
      },
      {
        platform,
        backend: (c) => copyBackend(entryOfKitCopy(c), { env, retry: { retries: 2, baseDelayMs: 300, maxDelayMs: 1000 } }),
        sink: async (label) => new DrillFsSink(path.join(home, 'restore', `${++n}-${label}`)),
        now: () => performance.now(),
        owner: { ...cli.lockOwner(), username: 'coffer-drill' },
        signal: cli.signal,
        log: (l) => {
          if (!cli.quiet) cli.warn(l);
        },
        warn: (l) => cli.warn(`coffer: ${l}`),
      },
    );
    if (cli.json) cli.out(JSON.stringify(report));
    else if (!cli.quiet) {
      for (const c of report.copies) {
        cli.warn(`${c.name}: ${c.verdict.toUpperCase()}${c.verdict === 'pass' ? ` — opened in ${c.openMs} ms, first file ${c.firstFileMs ?? '-'} ms, restored and verified ${c.filesVerified} files (${c.bytesVerified} bytes) in ${c.restoreMs} ms; ${c.packsChecked} packs checked${c.recorded ? '; recorded in the copy' : ''}` : ''}`);
      }
      if (report.seed) cli.warn(`sample seed ${report.seed} (repeat with --seed ${report.seed})`);
    }
    try {
      appendDrill(report, cli.env);
    } catch {
      // the local history is a cache; the record inside the copy is what counts
    }
    for (const c of report.copies) {
      if (c.verdict === 'fail') cli.warn(`coffer: drill failed for copy ${c.name}: ${c.failures[0]?.code ?? c.reason}: ${c.failures[0]?.detail ?? ''}`);
    }
    return report.verdict === 'pass' ? 0 : 1;
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
}

const command: Command = {
  name: 'drill',
  summary: 'Prove the kit restores: open each copy with the recovery key, restore, verify every byte.',
  usage: '--kit FILE [--copy NAME | --all] [--sample N | --full] [--seed HEX] [--json] [--no-record]',
  help: `Runs as a stranger would: no config, no cache, a fresh temporary home; only the kit and the
storage credentials in the environment (AWS_*, S3_*, RESTIC_REST_*, SSH_AUTH_SOCK, the kit's Needs-Env).
Options:
      --kit FILE       the recovery kit (txt or html); a split kit's key comes from COFFER_RECOVERY_KEY or a prompt
      --copy NAME      drill one copy; --all (the default) drills every copy the kit names
      --sample N       restore N files of the newest snapshot (default ${DEFAULT_SAMPLE}) and the settings/secrets/OTP records
      --full           restore the newest snapshot of every host and paths, and every record, completely
      --seed HEX       repeat a sample
      --no-record      do not write the result into the copy
      --json           the drill report as JSON on stdout (human text on stderr)`,
  usageExitCode: 2,
  options: {
    kit: { type: 'string' },
    copy: { type: 'string' },
    all: { type: 'boolean' },
    sample: { type: 'string' },
    full: { type: 'boolean' },
    seed: { type: 'string' },
    'no-record': { type: 'boolean' },
  },
  run(cli, values) {
    return drill(cli, values);
  },
};

export default command;
