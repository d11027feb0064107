/**
 * @module cli/progress
 * Progress for long work: a redrawn status line on a terminal (files, bytes, rate, ETA, current
 * file), JSON status lines with --json (restic's "status" messages), nothing otherwise.
 */
import type { Cli } from './context.js';
import { formatBytes, formatDuration } from './format.js';

export class Progress {
  filesDone = 0;
  bytesDone = 0;
  errors = 0;
  totalFiles: number | undefined;
  totalBytes: number | undefined;
  current = '';
  private readonly started = Date.now();
  private timer: ReturnType<typeof setInterval> | undefined;
  private drawn = false;

  constructor(
    private readonly cli: Cli,
    private readonly kind: 'backup' | 'restore',
  ) {}

  start(): void {
    const tty = !!this.cli.io.stdout.isTTY;
    if (this.cli.json) this.timer = setInterval(() => this.emitJson(), 1000);
    else if (tty && !this.cli.quiet) this.timer = setInterval(() => this.draw(), 250);
    (this.timer as { unref?: () => void } | undefined)?.unref?.();
  }

  get elapsedSeconds(): number {
    return (Date.now() - this.started) / 1000;
  }

  private eta(): number | undefined {
    const rate = this.bytesDone / Math.max(this.elapsedSeconds, 0.001);
    if (this.totalBytes === undefined || rate <= 0 || this.bytesDone === 0) return undefined;
    return Math.max(0, (this.totalBytes - this.bytesDone) / rate);
  }

  private percent(): number {
    if (!this.totalBytes) return 0;
    return Math.min(1, this.bytesDone / this.totalBytes);
  }

  private emitJson(): void {
    const eta = this.eta();
    if (this.kind === 'backup') {
      this.cli.jsonLine({
        message_type: 'status',
        seconds_elapsed: Math.floor(this.elapsedSeconds),
        ...(eta !== undefined ? { seconds_remaining: Math.round(eta) } : {}),
        percent_done: this.percent(),
        total_files: this.totalFiles ?? 0,
        files_done: this.filesDone,
        total_bytes: this.totalBytes ?? 0,
        bytes_done: this.bytesDone,
        error_count: this.errors,
        ...(this.current ? { current_files: [this.current] } : {}),
      });
    } else {
      this.cli.jsonLine({
        message_type: 'status',
        seconds_elapsed: Math.floor(this.elapsedSeconds),
        percent_done: this.percent(),
        total_files: this.totalFiles ?? 0,
        files_restored: this.filesDone,
        total_bytes: this.totalBytes ?? 0,
        bytes_restored: this.bytesDone,
      });
    }
  }

  private draw(): void {
    const el = this.elapsedSeconds;
    const rate = this.bytesDone / Math.max(el, 0.001);
    const eta = this.eta();
    const pct = this.totalBytes ? `${(this.percent() * 100).toFixed(2)}%  ` : '';
    const total = this.totalFiles !== undefined ? `, total ${this.totalFiles} files ${formatBytes(this.totalBytes ?? 0)}` : '';
    let line =
      `[${formatDuration(el)}] ${pct}${this.filesDone} files ${formatBytes(this.bytesDone)}${total}, ` +
      `${formatBytes(rate)}/s, ${this.errors} errors${eta !== undefined ? `, ETA ${formatDuration(eta)}` : ''}`;
    const cols = this.cli.io.stdout.columns ?? 100;
    if (this.current) {
      const room = cols - line.length - 3;
      if (room > 10) line += `  ${this.current.length > room ? '…' + this.current.slice(-(room - 1)) : this.current}`;
    }
    this.cli.io.stdout.write(`\r\x1b[K${line.slice(0, cols - 1)}`);
    this.drawn = true;
  }

  /** Stops updates and clears the status line. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.cli.io.stdout.write('\r\x1b[K');
  }
}
