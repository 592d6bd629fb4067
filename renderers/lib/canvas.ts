/** Canvas helpers: HiDPI sizing and the time axis drawn under the spectrogram and the event roll. */
import { formatTime, niceTicks } from './ticks';
import type { ThemeColors } from './theme';

/** Size `canvas` to `w × h` CSS pixels at the device pixel ratio; returns a context in CSS pixels. */
export function sizeCanvas(canvas: HTMLCanvasElement, w: number, h: number): CanvasRenderingContext2D {
  const dpr = window.devicePixelRatio || 1;
  const W = Math.max(1, Math.round(w * dpr));
  const H = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== W || canvas.height !== H) {
    canvas.width = W;
    canvas.height = H;
  }
  canvas.style.width = `${w}px`;
  canvas.style.height = `${h}px`;
  const ctx = canvas.getContext('2d')!;
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  return ctx;
}

/** Ticks and labels of the time window [t0, t1] along y = `y`, between x and x + w. */
export function drawTimeAxis(ctx: CanvasRenderingContext2D, x: number, y: number, w: number, t0: number, t1: number, colors: ThemeColors): void {
  const span = t1 - t0;
  const count = Math.max(2, Math.floor(w / 90));
  let ticks = niceTicks(t0, t1, count);
  // Clock-style labels read best on whole seconds/minutes.
  if (span >= 120) {
    const steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200];
    const step = steps.find((s) => span / s <= count) ?? 7200;
    ticks = [];
    for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) ticks.push(t);
  }
  ctx.strokeStyle = colors.muted;
  ctx.fillStyle = colors.fg;
  ctx.font = colors.font;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'top';
  ctx.beginPath();
  ctx.moveTo(x, y + 0.5);
  ctx.lineTo(x + w, y + 0.5);
  for (const t of ticks) {
    const px = Math.round(x + ((t - t0) / span) * w) + 0.5;
    ctx.moveTo(px, y);
    ctx.lineTo(px, y + 4);
    ctx.fillText(formatTime(t, span), Math.min(x + w - 20, Math.max(x + 20, px)), y + 5);
  }
  ctx.stroke();
}
