/**
 * Test access to the shared server scripts (../shared/services) and to external tools:
 * start a private instance (own folder, free port), read its KEY=value output, stop it after.
 * A missing tool skips the test locally and fails it in CI (CI=true).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TestContext } from 'node:test';
import { SHARED } from '../helpers/paths.js';

export const SERVICES = path.join(SHARED, 'services');

/** Skips (locally) or fails (CI) when `missing` names something the test needs. */
export function requireTool(t: TestContext, missing: string | undefined): boolean {
  if (missing === undefined) return true;
  if (process.env.CI) throw new Error(`needed in CI but missing: ${missing}`);
  t.skip(`missing: ${missing}`);
  return false;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

export interface Service {
  readonly env: Record<string, string>;
  stop(): void;
}

/**
 * Starts `script` from the shared services into a fresh folder with `settings` as environment
 * (bash runs it: the shared copy may lack exec bits). Throws with the script's stderr on failure.
 */
export function startService(script: string, settings: Record<string, string>): Service {
  const file = path.join(SERVICES, script);
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), `coffer-${script}-`)), 'svc');
  const env = { ...process.env, ...settings };
  const r = spawnSync('bash', [file, 'start', dir], { env, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${script} start failed (${r.status}): ${r.stderr.slice(-2000)}`);
  const out: Record<string, string> = {};
  for (const line of r.stdout.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) out[m[1]!] = m[2]!;
  }
  return {
    env: out,
    stop: () => {
      spawnSync('bash', [file, 'stop', dir], { env, encoding: 'utf8', timeout: 60_000 });
      fs.rmSync(path.dirname(dir), { recursive: true, force: true });
    },
  };
}

/** Why a shared script cannot run here, or undefined if it can. */
export function serviceMissing(script: string): string | undefined {
  return fs.existsSync(path.join(SERVICES, script)) ? undefined : `${path.join(SERVICES, script)} (the shared services)`;
}
