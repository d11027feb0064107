/**
 * @module node/gallery-render-tools
 * Running the optional Debian decoders the gallery renderer uses (ffmpeg/ffprobe for video
 * posters, libheif's heif-convert for HEIC): a private temporary folder for the plaintext they
 * must read from a file, a bounded run, and a once-per-process warning when a tool is missing.
 *
 * The temporary folder is made by mkdtemp (mode 0700, under $TMPDIR), its files are 0600, and
 * it is removed as soon as the tool has run, whatever happened: a decrypted photo or video sits
 * on disk only while its poster or pixels are made.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

/** A tool that could not even start (not installed): callers fall back to the placeholder. */
export class ToolMissing extends Error {
  constructor(readonly tool: string) {
    super(`${tool} is not installed`);
  }
}

export interface ToolResult {
  readonly code: number | null;
  readonly stdout: Buffer;
  /** The last part of stderr, for the warning when the tool fails. */
  readonly stderr: string;
}

/** The tool's path: the environment may name another binary (COFFER_FFMPEG, ...). */
export function toolPath(name: 'ffmpeg' | 'ffprobe' | 'heif-convert'): string {
  const env = { ffmpeg: 'COFFER_FFMPEG', ffprobe: 'COFFER_FFPROBE', 'heif-convert': 'COFFER_HEIF_CONVERT' }[name];
  return process.env[env] || name;
}

/** Runs `cmd args` without a shell; kills it after `timeoutMs` (a damaged file must not hang a build). */
export function runTool(cmd: string, args: readonly string[], timeoutMs = 120_000, maxStdout = 256 * 1024 * 1024): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let outBytes = 0;
    let err = '';
    let killed = '';
    const timer = setTimeout(() => {
      killed = `${path.basename(cmd)} took over ${timeoutMs / 1000} s`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      if (outBytes > maxStdout) {
        killed = `${path.basename(cmd)} wrote more than ${maxStdout} bytes`;
        child.kill('SIGKILL');
      } else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      err = (err + b.toString('utf8')).slice(-2000);
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(e.code === 'ENOENT' ? new ToolMissing(path.basename(cmd)) : e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (killed) reject(new Error(killed));
      else resolve({ code, stdout: Buffer.concat(out), stderr: err });
    });
  });
}

/** The tool's complaint in one short line (the last non-empty line of its stderr). */
export function lastLine(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  return (lines[lines.length - 1] ?? '').slice(0, 200);
}

/** Runs `fn` with a fresh private folder (0700) that is removed afterwards, even on failure. */
export async function withPrivateDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'coffer-render-'));
  try {
    await fs.chmod(dir, 0o700);
    return await fn(dir);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Writes a file only its owner can read (it holds plaintext); `chunks` are written in order. */
export async function writePrivateFile(file: string, chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<void> {
  const h = await fs.open(file, 'wx', 0o600);
  try {
    for await (const c of chunks) await h.write(c);
  } finally {
    await h.close();
  }
}

const warned = new Set<string>();

/** One line on stderr per process and key: a missing tool is said once, not once per file. */
export function warnOnce(key: string, message: string): void {
  if (warned.has(key)) return;
  warned.add(key);
  process.stderr.write(`gallery: ${message}\n`);
}
