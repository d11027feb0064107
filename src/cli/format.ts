/**
 * @module cli/format
 * Human-readable renderings shared by commands: sizes, durations, times, Go mode strings.
 */
import type { GoTime } from '../core/format/types.js';
import { toUnixNanos } from '../core/format/go-time.js';

/** restic style: "1.234 MiB". */
export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} B` : `${v.toFixed(3)} ${units[u]}`;
}

export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const mm = String(m).padStart(h > 0 ? 2 : 1, '0');
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** "2006-01-02 15:04:05" in the machine's local time zone, as restic prints. */
export function formatTime(t: GoTime): string {
  const d = new Date(Number(toUnixNanos(t) / 1_000_000n));
  const p = (x: number) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const TYPE_LETTERS: [number, string][] = [
  [0x80000000, 'd'],
  [0x40000000, 'a'],
  [0x20000000, 'l'],
  [0x10000000, 'T'],
  [0x08000000, 'L'],
  [0x04000000, 'D'],
  [0x02000000, 'p'],
  [0x01000000, 'S'],
  [0x00800000, 'u'],
  [0x00400000, 'g'],
  [0x00200000, 'c'],
  [0x00100000, 't'],
  [0x00080000, '?'],
];

/** Go's os.FileMode.String(), e.g. "drwxr-xr-x", "Lrwxrwxrwx", "-rw-r--r--". */
export function goModeString(mode: number): string {
  let s = '';
  for (const [bit, letter] of TYPE_LETTERS) if ((mode & bit) >>> 0 !== 0) s += letter;
  if (s === '') s = '-';
  const rwx = 'rwxrwxrwx';
  for (let i = 0; i < 9; i++) s += mode & (1 << (8 - i)) ? rwx[i] : '-';
  return s;
}
