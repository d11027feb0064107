/**
 * @module node/alerts/command
 * Command-hook alerts: `sh -c CMD` with the payload's JSON on stdin and COFFER_EVENT /
 * COFFER_VERDICT in the environment. Exit 0 means delivered.
 */
import { spawn } from 'node:child_process';
import type { AlertPayload } from './payload.js';

export function runAlertCommand(cmd: string, p: AlertPayload, env: NodeJS.ProcessEnv = process.env, timeoutMs = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', cmd], {
      stdio: ['pipe', 'ignore', 'pipe'],
      env: { ...env, COFFER_EVENT: p.event, COFFER_VERDICT: p.verdict },
      timeout: timeoutMs,
    });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`cannot run the alert command: ${e.message}`)));
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`the alert command failed (${signal ?? `exit ${code}`})${err.trim() ? `: ${err.trim().slice(0, 200)}` : ''}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(JSON.stringify(p) + '\n');
  });
}
