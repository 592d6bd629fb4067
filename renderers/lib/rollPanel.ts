/**
 * The event roll canvas: one row per displayed class with its label, the frame-wise probabilities as a
 * heat strip (tiled, colormapped), detected events as filled boxes, ground truth as dashed outlines, and
 * the playback cursor. Many classes scroll vertically inside a fixed-height box; only the visible rows
 * are drawn (a sticky canvas over a tall spacer keeps native scrolling).
 */
import { drawTimeAxis, sizeCanvas } from './canvas';
import { colormapLut } from './colormap';
import type { EventRollData } from './eventRollData';
import type { RollEvent } from './events';
import type { Resources } from './host';
import { RIGHT } from './spectrogramPanel';
import { themeColors } from './theme';
import { TiledImage } from './tiledImage';
import type { TimeView } from './timeView';

export const LABEL_W = 150;
export const ROW_H = 16;
const MAX_H = 480;
const AXIS_H = 20;

export class RollPanel {
  readonly el: HTMLDivElement;
  readonly scroller: HTMLDivElement;
  readonly canvas: HTMLCanvasElement;
  private spacer: HTMLDivElement;
  private axis: HTMLCanvasElement;
  private heat: TiledImage;
  private width = 0;
  /** Class indices shown, top to bottom. */
  rows: number[] = [];
  events: RollEvent[][] = [];
  cursor: number | null = null;
  private gtByClass: { onset: number; offset: number }[][];

  constructor(res: Resources, parent: HTMLElement, private data: EventRollData, private view: TimeView) {
    this.el = document.createElement('div');
    this.el.className = 'sed-roll';
    this.scroller = document.createElement('div');
    this.scroller.style.cssText = 'overflow-y:auto;overflow-x:hidden;position:relative';
    this.canvas = document.createElement('canvas');
    this.canvas.style.cssText = 'position:sticky;top:0;touch-action:none';
    this.spacer = document.createElement('div');
    this.axis = document.createElement('canvas');
    this.scroller.append(this.canvas, this.spacer);
    this.el.append(this.scroller, this.axis);
    parent.append(this.el);
    this.heat = new TiledImage(data.levels, data.classes.length, data.frames, data.hop, data.t0, colormapLut('magma'), false);
    res.add(() => this.heat.dispose());
    this.gtByClass = data.classes.map(() => []);
    for (const g of data.groundTruth) this.gtByClass[g.cls].push(g);
    res.on(this.scroller, 'scroll', () => this.draw());
  }

  get plot() {
    return { x: LABEL_W, w: Math.max(10, this.width - LABEL_W - RIGHT) };
  }

  get viewportHeight(): number {
    return Math.min(MAX_H, Math.max(ROW_H, this.rows.length * ROW_H));
  }

  setRows(rows: number[]): void {
    this.rows = rows;
    this.spacer.style.height = `${Math.max(0, rows.length * ROW_H - this.viewportHeight)}px`;
    this.scroller.style.height = `${this.viewportHeight}px`;
  }

  /** Class index and time under a point of the canvas (CSS px), or null outside the plot. */
  hit(x: number, y: number): { cls: number; t: number; event?: RollEvent } | null {
    const p = this.plot;
    const i = Math.floor((y + this.scroller.scrollTop) / ROW_H);
    if (x < p.x || x > p.x + p.w || i < 0 || i >= this.rows.length) return null;
    const cls = this.rows[i];
    const t = this.view.t0 + ((x - p.x) / p.w) * this.view.span;
    const event = this.events[cls]?.find((e) => t >= e.onset && t < e.offset);
    return { cls, t, event };
  }

  /** Probability (0–1) of class `cls` at time `t`. */
  probAt(cls: number, t: number): number | undefined {
    const v = this.heat.valueAt(cls, t);
    return v === undefined ? undefined : v / 255;
  }

  draw(width = this.el.clientWidth || this.width): void {
    this.width = Math.max(LABEL_W + RIGHT + 10, width);
    const colors = themeColors(this.el);
    const cs = getComputedStyle(this.el);
    const eventColor = cs.getPropertyValue('--vscode-charts-blue').trim() || '#3794ff';
    const gtColor = cs.getPropertyValue('--vscode-charts-green').trim() || '#89d185';
    const h = this.viewportHeight;
    const ctx = sizeCanvas(this.canvas, this.width, h);
    ctx.clearRect(0, 0, this.width, h);
    const p = this.plot;
    const { t0, t1 } = this.view;
    const span = t1 - t0;
    const xOf = (t: number) => p.x + ((t - t0) / span) * p.w;
    const scroll = this.scroller.scrollTop;
    const first = Math.floor(scroll / ROW_H);
    const last = Math.min(this.rows.length - 1, Math.ceil((scroll + h) / ROW_H));
    const a = Math.max(t0, this.data.t0);
    const b = Math.min(t1, this.data.t0 + this.data.frames * this.data.hop);
    ctx.font = colors.font;
    ctx.textBaseline = 'middle';
    for (let i = first; i <= last; i++) {
      const cls = this.rows[i];
      const y = i * ROW_H - scroll;
      if (b > a) this.heat.draw(ctx, a, b, { x: xOf(a), y: y + 1, w: xOf(b) - xOf(a), h: ROW_H - 2 }, cls, 1, false); // smoothing would bleed neighbouring class rows into this one
      ctx.fillStyle = colors.fg;
      ctx.textAlign = 'right';
      ctx.fillText(fit(ctx, this.data.classes[cls], LABEL_W - 8), LABEL_W - 6, y + ROW_H / 2);
      ctx.lineWidth = 2;
      for (const e of this.events[cls] ?? []) {
        if (e.offset < t0 || e.onset > t1) continue;
        const x0 = Math.max(p.x, xOf(e.onset));
        const x1 = Math.min(p.x + p.w, xOf(e.offset));
        ctx.fillStyle = withAlpha(eventColor, 0.35);
        ctx.fillRect(x0, y + 3, Math.max(1, x1 - x0), ROW_H - 6);
        ctx.strokeStyle = eventColor;
        ctx.strokeRect(x0 + 1, y + 4, Math.max(1, x1 - x0 - 2), ROW_H - 8);
      }
      ctx.setLineDash([3, 2]);
      ctx.lineWidth = 1.5;
      ctx.strokeStyle = gtColor;
      for (const g of this.gtByClass[cls]) {
        if (g.offset < t0 || g.onset > t1) continue;
        const x0 = Math.max(p.x, xOf(g.onset));
        const x1 = Math.min(p.x + p.w, xOf(g.offset));
        ctx.strokeRect(x0 + 0.5, y + 1.5, Math.max(1, x1 - x0 - 1), ROW_H - 3);
      }
      ctx.setLineDash([]);
    }
    if (this.cursor !== null && this.cursor >= t0 && this.cursor <= t1) {
      ctx.strokeStyle = colors.cursor;
      ctx.lineWidth = 2;
      ctx.beginPath();
      ctx.moveTo(xOf(this.cursor), 0);
      ctx.lineTo(xOf(this.cursor), h);
      ctx.stroke();
    }
    const actx = sizeCanvas(this.axis, this.width, AXIS_H);
    actx.clearRect(0, 0, this.width, AXIS_H);
    drawTimeAxis(actx, p.x, 0, p.w, t0, t1, colors);
  }
}

function fit(ctx: CanvasRenderingContext2D, s: string, w: number): string {
  if (ctx.measureText(s).width <= w) return s;
  let lo = 0;
  let hi = s.length;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (ctx.measureText(`${s.slice(0, mid)}…`).width <= w) lo = mid;
    else hi = mid;
  }
  return `${s.slice(0, lo)}…`;
}

/** `#rrggbb` (or any CSS colour the canvas accepts) with an alpha, via a hex suffix when possible. */
function withAlpha(color: string, a: number): string {
  if (/^#[0-9a-f]{6}$/i.test(color)) return color + Math.round(a * 255).toString(16).padStart(2, '0');
  return color;
}
