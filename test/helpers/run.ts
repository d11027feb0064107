/** Running the coffer CLI and the real restic from tests. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from './paths.js';

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

/** Cheap scrypt for tests (COFFER_KDF), a password, and no inherited repository variables. */
export function testEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('COFFER_') || k.startsWith('RESTIC_')) delete env[k];
  return { ...env, COFFER_KDF: '1024,8,1', COFFER_PASSWORD: 'test-password', RESTIC_PASSWORD: 'test-password', ...extra };
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  cwd?: string;
  uid?: number;
  gid?: number;
}

export function runCoffer(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runProcess(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), ...args], opts);
}

export function runProcess(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? testEnv(),
      cwd: opts.cwd ?? ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(opts.uid !== undefined ? { uid: opts.uid } : {}),
      ...(opts.gid !== undefined ? { gid: opts.gid } : {}),
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const stdoutBytes = Buffer.concat(out);
      resolve({ code: code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1), stdout: stdoutBytes.toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export interface ResticBinary {
  readonly name: string;
  readonly path: string;
}

function works(bin: string): boolean {
  return fs.existsSync(bin) && spawnSync(bin, ['version'], { encoding: 'utf8' }).status === 0;
}

/**
 * The restic binaries to test against: Debian's 0.14 and the current one (RESTIC_LATEST, or
 * the cache the shared restic-latest script fills). In CI (CI=true) a missing one is an error.
 */
export function resticBinaries(): ResticBinary[] {
  const out: ResticBinary[] = [];
  const missing: string[] = [];
  if (works('/usr/bin/restic')) out.push({ name: 'restic-0.14', path: '/usr/bin/restic' });
  else missing.push('/usr/bin/restic (apt-get install restic)');
  const latest = process.env.RESTIC_LATEST ?? path.join(os.homedir(), '.cache', 'restic-latest', 'root', 'usr', 'bin', 'restic');
  if (works(latest)) out.push({ name: 'restic-latest', path: latest });
  else missing.push(`${latest} (bash ../shared/services/restic-latest)`);
  if (missing.length && process.env.CI) throw new Error(`restic binaries missing in CI: ${missing.join(', ')}`);
  return out;
}

export function runRestic(bin: ResticBinary, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<RunResult> {
  return runProcess(bin.path, ['--no-cache', ...args], opts);
}

/** Follows `absPath` from a root tree with `restic cat blob`, returning the folder's tree ID. */
export async function subtreeId(restic: ResticBinary, env: NodeJS.ProcessEnv, root: string, absPath: string): Promise<string> {
  let id = root;
  for (const name of absPath.split('/').filter(Boolean)) {
    const r = await runRestic(restic, ['cat', 'blob', id], { env });
    if (r.code !== 0) throw new Error(`restic cat blob ${id} failed: ${r.stderr}`);
    const node = (JSON.parse(r.stdout) as { nodes: { name: string; subtree?: string }[] }).nodes.find((n) => n.name === name);
    if (!node?.subtree) throw new Error(`no folder ${name} in tree ${id}`);
    id = node.subtree;
  }
  return id;
}
