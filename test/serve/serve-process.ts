/**
 * Starts `coffer serve` as a child process (node bin/coffer.js serve ...) on a free port and
 * waits until GET /health answers. A server that does not come up fails the test (never skips).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { testEnv } from '../helpers/run.js';
import { freePort } from '../rest/services.js';

export interface ServeProcess {
  readonly port: number;
  /** `http(s)://127.0.0.1:PORT` */
  readonly url: string;
  readonly child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Sends `signal` (default SIGTERM) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export async function startServe(args: string[], opts: { tls?: { ca: string } } = {}): Promise<ServeProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), 'serve', '--listen', `127.0.0.1:${port}`, ...args], { env: testEnv(), cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (gone) throw new Error(`coffer serve exited at start (${child.exitCode}):\n${err}`);
    if (await healthy(url, opts.tls?.ca)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`coffer serve did not answer /health within 15 s:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    url,
    child,
    stdout: () => out,
    stderr: () => err,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!gone) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

async function healthy(url: string, ca?: string): Promise<boolean> {
  try {
    if (!ca) return (await fetch(`${url}/health`)).status === 200;
    return await new Promise<boolean>((resolve) => {
      https.get(`${url}/health`, { ca }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      }).on('error', () => resolve(false));
    });
  } catch {
    return false;
  }
}

/** Writes an htpasswd file with bcrypt entries made by Apache's htpasswd (fails if it is missing in CI). */
export function makeHtpasswd(file: string, users: Record<string, string>): boolean {
  if (spawnSync('htpasswd', ['-h'], { encoding: 'utf8' }).error) return false;
  let first = true;
  for (const [user, pw] of Object.entries(users)) {
    const r = spawnSync('htpasswd', [...(first ? ['-c'] : []), '-b', '-B', '-C', '5', file, user, pw], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`htpasswd failed: ${r.stderr}`);
    first = false;
  }
  return fs.existsSync(file);
}

export function basic(user: string, password: string): Record<string, string> {
  return { Authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}
