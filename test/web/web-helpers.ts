/**
 * Helpers for the web app's tests: `coffer web` as a child process (its printed URL and its
 * request log), and a TCP proxy that records every byte between the browser and the server, so
 * a test can assert what crossed the wire whatever the browser's own reporting covers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { runCoffer, testEnv, type RunOptions, type RunResult } from '../helpers/run.js';
import type { Backend } from '../../src/core/backend/backend.js';
import type { LocalBackend } from '../../src/node/local-backend.js';

export interface WebServer {
  /** The printed URL, `http://127.0.0.1:PORT/?token=…` */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  readonly proc: ChildProcess;
  stdout(): string;
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `coffer ARGS` (web or serve --web) and waits for a line matching `ready`. */
export async function startCoffer(args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<{ proc: ChildProcess; line: string; stdout(): string; stderr(): string; stop(): Promise<number | null> }> {
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'coffer.js'), ...args], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr!.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`coffer ${args.join(' ')} did not start:\n${out}\n${err}`)), 20_000);
    const check = (): void => {
      const m = (out + '\n' + err).split('\n').find((l) => ready.test(l));
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    proc.stdout!.on('data', check);
    proc.stderr!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`coffer exited (${code}) before it was ready:\n${out}\n${err}`));
    });
  });
  return {
    proc,
    line,
    stdout: () => out,
    stderr: () => err,
    stop: async () => {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}

export async function startWeb(repo: string, env: NodeJS.ProcessEnv = webEnv()): Promise<WebServer> {
  const c = await startCoffer(['-r', repo, 'web', '--listen', '127.0.0.1:0'], env, /^http:\/\/127\.0\.0\.1:\d+\/\?token=/);
  const u = new URL(c.line.trim());
  return { ...c, url: u.href, port: Number(u.port), token: u.searchParams.get('token')! };
}

/** testEnv without any password variable: `coffer web` must not need one. */
export function webEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env = testEnv(extra);
  for (const k of ['COFFER_PASSWORD', 'RESTIC_PASSWORD']) if (!(k in extra)) delete env[k];
  return env;
}

export interface RecordingProxy {
  readonly port: number;
  /** Everything the browser sent. */
  sent(): Buffer;
  /** Everything the server answered. */
  received(): Buffer;
  close(): Promise<void>;
}

export async function recordingProxy(targetPort: number): Promise<RecordingProxy> {
  const up: Buffer[] = [];
  const down: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      up.push(Buffer.from(d));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      down.push(Buffer.from(d));
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent: () => Buffer.concat(up),
    received: () => Buffer.concat(down),
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs the CLI and fails with its stderr when the exit code is not `code`. */
export async function mustRun(args: string[], opts: RunOptions, code = 0): Promise<RunResult> {
  const r = await runCoffer(args, opts);
  if (r.code !== code) throw new Error(`coffer ${args.join(' ')}: exit ${r.code}, expected ${code}\n${r.stderr.slice(-2000)}`);
  return r;
}

/** The backend as `coffer web` gets it from the CLI: a wrapper without openReadStream, so withStreamedReads streams. */
export function cliLike(b: LocalBackend): Backend {
  return {
    location: b.location,
    connections: b.connections,
    stat: (h, o) => b.stat(h, o),
    get: (h, r, o) => b.get(h, r, o),
    put: (h, d, o) => b.put(h, d, o),
    delete: (h, o) => b.delete(h, o),
    list: (t, o) => b.list(t, o),
    create: (o) => b.create(o),
  };
}
