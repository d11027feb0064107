/** Whether the rclone binary is here: locally a missing one skips, in CI it fails. */
import { spawnSync } from 'node:child_process';

export function rcloneMissing(): string | undefined {
  const r = spawnSync('rclone', ['version'], { encoding: 'utf8' });
  const missing = r.status === 0 ? undefined : 'rclone (apt-get install rclone)';
  if (missing && process.env.CI) throw new Error(`needed in CI but missing: ${missing}`);
  return missing;
}
