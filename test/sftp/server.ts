/** Starts a private OpenSSH sftp-server (shared script) for one test file; CI fails if it cannot. */
import { freePort, serviceMissing, startService, type Service } from '../rest/services.js';

/** Why the server cannot run here (locally: skip); in CI always undefined so that starting fails loudly. */
export function sftpMissing(): string | undefined {
  const m = serviceMissing('sftp-server');
  if (m && process.env.CI) throw new Error(`needed in CI but missing: ${m}`);
  return m;
}

export async function startSftp(): Promise<Service> {
  const svc = startService('sftp-server', { SFTP_SERVER_PORT: String(await freePort()) });
  // The script quotes this value for shells; we pass it as one argument.
  const cmd = svc.env.SFTP_RESTIC_COMMAND;
  if (cmd) svc.env.SFTP_RESTIC_COMMAND = cmd.replace(/^'(.*)'$/, '$1');
  return svc;
}

/** Environment that points Coffer's SFTP backend at the test server's ssh config (alias sftp-test). */
export function sftpEnv(svc: Service): Record<string, string> {
  return { COFFER_SFTP_CONFIG: svc.env.SFTP_SSH_CONFIG!, SSH_AUTH_SOCK: '' };
}
