// Progress output for long runs: on a terminal one redrawn line with a bar, the rate and the
// time left; otherwise (logs, pipes, CI) one plain line per update, throttled.
import type { WriteStream } from 'node:tty';

export interface ProgressOptions {
  total: number;
  label: string;
  unit?: string; // what one tick counts ('step', 'sample', ...)
  stream?: NodeJS.WriteStream | WriteStream;
  minIntervalMs?: number; // plain mode: at most one line per interval (the last tick always prints)
  now?: () => number; // for tests
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

function formatField(v: number | string): string {
  if (typeof v === 'string') return v;
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toPrecision(3);
}

export class Progress {
  private readonly stream: NodeJS.WriteStream | WriteStream;
  private readonly tty: boolean;
  private readonly start: number;
  private readonly now: () => number;
  private lastPrint = -Infinity;
  private startDone = 0;
  private drewLine = false;

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean((this.stream as NodeJS.WriteStream).isTTY);
    this.now = opts.now ?? (() => performance.now());
    this.start = this.now();
  }

  // A resumed run starts counting its rate from where it resumed.
  resumeFrom(done: number): void {
    this.startDone = done;
  }

  // The text of one update (exported through line() for tests).
  line(done: number, fields: Record<string, number | string> = {}): string {
    const { total, label } = this.opts;
    const unit = this.opts.unit ?? 'it';
    const elapsed = (this.now() - this.start) / 1000;
    const rate = elapsed > 0 ? (done - this.startDone) / elapsed : 0;
    const eta = rate > 0 ? (total - done) / rate : NaN;
    const extra = Object.entries(fields)
      .map(([k, v]) => `${k} ${formatField(v)}`)
      .join('  ');
    const rateText =
      rate > 0 ? (rate >= 1 ? `${rate.toFixed(2)} ${unit}/s` : `${(1 / rate).toFixed(1)} s/${unit}`) : `- ${unit}/s`;
    const head = `${label} ${done}/${total}`;
    const tail = `${rateText}  elapsed ${formatDuration(elapsed)}  eta ${done >= total ? '0s' : formatDuration(eta)}${extra ? '  ' + extra : ''}`;
    if (!this.tty) return `${head}  ${tail}`;
    const width = 24;
    const filled = total > 0 ? Math.min(width, Math.round((done / total) * width)) : 0;
    return `${head} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${tail}`;
  }

  update(done: number, fields: Record<string, number | string> = {}): void {
    const t = this.now();
    if (this.tty) {
      const cols = (this.stream as NodeJS.WriteStream).columns ?? 120;
      this.stream.write(`\r${this.line(done, fields).slice(0, cols - 1)}\x1b[K`);
      this.drewLine = true;
      return;
    }
    if (done < this.opts.total && t - this.lastPrint < (this.opts.minIntervalMs ?? 0)) return;
    this.lastPrint = t;
    this.stream.write(this.line(done, fields) + '\n');
  }

  // Prints a message without tearing the bar.
  log(message: string): void {
    if (this.tty && this.drewLine) this.stream.write('\r\x1b[K');
    this.stream.write(message + '\n');
  }

  finish(): void {
    if (this.tty && this.drewLine) this.stream.write('\n');
    this.drewLine = false;
  }
}
