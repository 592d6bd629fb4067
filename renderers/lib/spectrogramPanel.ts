/**
 * A spectrogram drawn over a shared TimeView: tiled colormapped image, frequency axis in Hz (mel rows
 * are evenly spaced, so ticks sit at interpolated positions), optional time axis, a playback cursor
 * and a hover read-out (time, frequency, dB). The cursor lives on an overlay canvas so moving it
 * never repaints the image.
 */
import { drawTimeAxis, sizeCanvas } from './canvas';
import { colormapLut } from './colormap';
import type { Resources } from './host';
import type { SpectrogramData } from './spectrogramData';
import { rowOfHz } from './spectrogramData';
import { themeColors } from './theme';
import { formatHz, formatTime, logTicks, niceTicks } from './ticks';
import { TiledImage } from './tiledImage';
import type { TimeView } from './timeView';

export const AXIS_LEFT = 64;
export const RIGHT = 10;
const TOP = 4;
const TIME_AXIS = 20;

export interface HoverInfo {
  t: number;
  hz: number;
  db: number;
}

export class SpectrogramPanel {
  readonly el: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  readonly overlay: HTMLCanvasElement;
  readonly image: TiledImage;
  private cursor: number | null = null;
  private width = 0;
  /** Level of detail used by the last draw (0 = full resolution), for tests and the benchmark. */
  lastLevel = 0;

  constructor(res: Resources, parent: HTMLElement, readonly spec: SpectrogramData, readonly view: TimeView, readonly height: number, private timeAxis: boolean, onHover?: (h: HoverInfo | null) => void, private left = AXIS_LEFT) {
    this.el = document.createElement('div');
    this.el.className = 'sed-spectrogram';
    this.el.style.position = 'relative';
    this.canvas = document.createElement('canvas');
    this.overlay = document.createElement('canvas');
    this.overlay.style.cssText = 'position:absolute;left:0;top:0;touch-action:none;cursor:crosshair';
    this.el.append(this.canvas, this.overlay);
    parent.append(this.el);
    this.image = new TiledImage(spec.levels, spec.rows, spec.cols, spec.hop, spec.t0, colormapLut(spec.colormap), true);
    res.add(() => this.image.dispose());
    if (onHover) {
      res.on(this.overlay, 'pointermove', (ev: PointerEvent) => onHover(this.hoverAt(ev.offsetX, ev.offsetY)));
      res.on(this.overlay, 'pointerleave', () => onHover(null));
    }
  }

  /** The plot rectangle in CSS pixels. */
  get plot() {
    return { x: this.left, y: TOP, w: Math.max(10, this.width - this.left - RIGHT), h: this.height - TOP - (this.timeAxis ? TIME_AXIS : 0) };
  }

  hoverAt(x: number, y: number): HoverInfo | null {
    const p = this.plot;
    if (x < p.x || x >= p.x + p.w || y < p.y || y >= p.y + p.h) return null;
    const t = this.view.t0 + ((x - p.x) / p.w) * this.view.span;
    const row = Math.min(this.spec.rows - 1, Math.floor(((p.y + p.h - y) / p.h) * this.spec.rows));
    const v = this.image.valueAt(row, t);
    if (v === undefined) return null;
    return { t, hz: this.spec.freqs[row], db: this.spec.dbMin + (v / 255) * (this.spec.dbMax - this.spec.dbMin) };
  }

  setColormap(lut: Uint32Array): void {
    this.image.setColormap(lut);
    this.draw();
  }

  draw(width = this.el.clientWidth || this.width): void {
    this.width = Math.max(this.left + RIGHT + 10, width);
    const colors = themeColors(this.el);
    const ctx = sizeCanvas(this.canvas, this.width, this.height);
    sizeCanvas(this.overlay, this.width, this.height);
    ctx.clearRect(0, 0, this.width, this.height);
    const p = this.plot;
    const { t0, t1 } = this.view;
    // Outside the data (before t0 / after the end) stays background.
    const a = Math.max(t0, this.spec.t0);
    const b = Math.min(t1, this.spec.t0 + this.spec.cols * this.spec.hop);
    if (b > a) {
      const x0 = p.x + ((a - t0) / (t1 - t0)) * p.w;
      const x1 = p.x + ((b - t0) / (t1 - t0)) * p.w;
      this.lastLevel = this.image.draw(ctx, a, b, { x: x0, y: p.y, w: x1 - x0, h: p.h });
    }
    this.drawFreqAxis(ctx, colors);
    if (this.timeAxis) drawTimeAxis(ctx, p.x, p.y + p.h, p.w, t0, t1, colors);
    this.drawOverlay();
  }

  private drawFreqAxis(ctx: CanvasRenderingContext2D, colors: ReturnType<typeof themeColors>): void {
    const p = this.plot;
    const { freqs } = this.spec;
    const lo = freqs[0];
    const hi = freqs[freqs.length - 1];
    let ticks = this.spec.kind === 'mel' && lo > 0 ? logTicks(lo, hi) : niceTicks(lo, hi, Math.max(2, Math.floor(p.h / 30)));
    const minGap = 14;
    const yOf = (hz: number) => p.y + p.h - ((rowOfHz(freqs, hz) + 0.5) / this.spec.rows) * p.h;
    ticks = ticks.filter((hz) => yOf(hz) <= p.y + p.h - 5).filter((hz, i, arr) => i === 0 || yOf(arr[i - 1]) - yOf(hz) >= minGap);
    ctx.strokeStyle = colors.muted;
    ctx.fillStyle = colors.fg;
    ctx.font = colors.font;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.beginPath();
    ctx.moveTo(p.x - 0.5, p.y);
    ctx.lineTo(p.x - 0.5, p.y + p.h);
    for (const hz of ticks) {
      const y = Math.round(yOf(hz)) + 0.5;
      ctx.moveTo(p.x - 4, y);
      ctx.lineTo(p.x, y);
      ctx.fillText(formatHz(hz), p.x - 6, y);
    }
    ctx.stroke();
    ctx.save();
    ctx.translate(10, p.y + p.h / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'center';
    ctx.fillStyle = colors.muted;
    ctx.fillText(this.spec.kind === 'mel' ? 'Hz (mel)' : 'Hz', 0, 0);
    ctx.restore();
  }

  /** Playback position in seconds (null hides it). */
  setCursor(t: number | null): void {
    this.cursor = t;
    this.drawOverlay();
  }

  private drawOverlay(): void {
    const ctx = this.overlay.getContext('2d')!;
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    if (this.cursor === null) return;
    const p = this.plot;
    const x = p.x + ((this.cursor - this.view.t0) / this.view.span) * p.w;
    if (x < p.x || x > p.x + p.w) return;
    ctx.strokeStyle = themeColors(this.el).cursor;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.moveTo(x, p.y);
    ctx.lineTo(x, p.y + p.h);
    ctx.stroke();
  }
}

/** "t = 1.23 s   f = 1.5 kHz   -23.4 dB" */
export function formatHover(h: HoverInfo | null): string {
  if (!h) return '';
  return `t = ${formatTime(h.t, 1)}   f = ${formatHz(h.hz)}   ${h.db.toFixed(1)} dB`; // centiseconds at any zoom
}
