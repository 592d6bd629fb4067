/**
 * A one-line progress bar with ETA for stderr: redrawn in place on a TTY, otherwise printed at most
 * every `intervalMs` so logs stay readable.
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
}

export class ProgressBar {
  private last = 0;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr, private readonly intervalMs = 10000, private readonly width = 24) {}

  update(fraction: number, label: string, etaSeconds: number, force = false): void {
    const now = Date.now();
    const tty = !!this.stream.isTTY;
    if (!force && !tty && now - this.last < this.intervalMs) return;
    if (!force && tty && now - this.last < 100) return;
    this.last = now;
    const f = Math.max(0, Math.min(1, fraction));
    const filled = Math.round(f * this.width);
    const bar = `[${'#'.repeat(filled)}${'.'.repeat(this.width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${label} ETA ${formatDuration(etaSeconds)}`;
    this.stream.write(tty ? `\r${bar}\x1b[K` : `${bar}\n`);
  }

  /** End the in-place line (TTY) and print `line`. */
  log(line: string): void {
    this.stream.write(this.stream.isTTY ? `\r\x1b[K${line}\n` : `${line}\n`);
  }
}
