/**
 * @module node/alerts/sendmail
 * E-mail alerts through the local `sendmail -t` (path from COFFER_SENDMAIL, default
 * /usr/sbin/sendmail): headers and body on stdin, the payload's JSON after the text.
 */
import { spawn } from 'node:child_process';
import { alertText, alertTitle, type AlertPayload } from './payload.js';

export function mailMessage(to: string, p: AlertPayload): string {
  // Header injection: an address or subject never spans lines.
  const clean = (s: string) => s.replace(/[\r\n]+/g, ' ');
  return [`To: ${clean(to)}`, `Subject: ${clean(alertTitle(p))}`, 'Content-Type: text/plain; charset=utf-8', 'X-Coffer-Event: ' + p.event, '', alertText(p), '', JSON.stringify(p), ''].join('\n');
}

export function sendMail(to: string, p: AlertPayload, env: NodeJS.ProcessEnv = process.env, timeoutMs = 30_000): Promise<void> {
  const bin = env.COFFER_SENDMAIL || '/usr/sbin/sendmail';
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['-t'], { stdio: ['pipe', 'ignore', 'pipe'], env, timeout: timeoutMs });
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', (e) => reject(new Error(`cannot run ${bin}: ${(e as NodeJS.ErrnoException).code ?? e.message}`)));
    child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(`${bin} -t failed (${signal ?? `exit ${code}`}): ${err.trim().slice(0, 200)}`))));
    child.stdin.on('error', () => undefined);
    child.stdin.end(mailMessage(to, p));
  });
}
