/**
 * A small SVG chart frame (scales, axes with ticks and units, grid, clip) for the line charts: PSD-ROC
 * and training curves. SVG keeps the marks inspectable (tests and accessibility) and crisp at any zoom.
 */
import { formatSI, logTicks, niceTicks } from './ticks';

const NS = 'http://www.w3.org/2000/svg';

export function svgEl<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number> = {}, parent?: Element): SVGElementTagNameMap[K] {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  parent?.append(e);
  return e;
}

export interface Scale {
  (v: number): number;
  invert(px: number): number;
  domain: [number, number];
  ticks(): number[];
  log: boolean;
}

export function scale(domain: [number, number], range: [number, number], log = false): Scale {
  const [d0, d1] = log ? [Math.log10(domain[0]), Math.log10(domain[1])] : domain;
  const span = d1 - d0 || 1;
  const f = ((v: number) => range[0] + (((log ? Math.log10(v) : v) - d0) / span) * (range[1] - range[0])) as Scale;
  f.invert = (px) => {
    const d = d0 + ((px - range[0]) / (range[1] - range[0])) * span;
    return log ? 10 ** d : d;
  };
  f.domain = domain;
  f.log = log;
  f.ticks = () => (log ? logTicks(domain[0], domain[1]) : niceTicks(domain[0], domain[1], Math.max(2, Math.round(Math.abs(range[1] - range[0]) / 60))));
  return f;
}

export interface Frame {
  svg: SVGSVGElement;
  /** Group clipped to the plot area, for the marks. */
  plot: SVGGElement;
  x: Scale;
  y: Scale;
  box: { x: number; y: number; w: number; h: number };
}

export interface FrameOptions {
  width: number;
  height: number;
  x: [number, number];
  y: [number, number];
  xLog?: boolean;
  yLog?: boolean;
  xLabel: string;
  yLabel: string;
  xFormat?: (v: number) => string;
  yFormat?: (v: number) => string;
  title?: string;
}

let clipIds = 0;

/** An SVG with axes, grid and a clipped plot group. */
export function chartFrame(parent: HTMLElement, o: FrameOptions): Frame {
  const m = { l: 56, r: 12, t: o.title ? 24 : 8, b: 38 };
  const box = { x: m.l, y: m.t, w: o.width - m.l - m.r, h: o.height - m.t - m.b };
  const svg = svgEl('svg', { width: o.width, height: o.height, viewBox: `0 0 ${o.width} ${o.height}`, role: 'img' });
  parent.append(svg);
  const x = scale(o.x, [box.x, box.x + box.w], o.xLog);
  const y = scale(o.y, [box.y + box.h, box.y], o.yLog);
  const fmt = (log: boolean | undefined, f?: (v: number) => string) => f ?? ((v: number) => (log ? formatSI(v) : `${+v.toPrecision(4)}`));
  const axis = svgEl('g', { class: 'sed-axis' }, svg);
  for (const t of x.ticks()) {
    const px = x(t);
    svgEl('line', { class: 'sed-gridline', x1: px, x2: px, y1: box.y, y2: box.y + box.h }, axis);
    svgEl('text', { x: px, y: box.y + box.h + 14, 'text-anchor': 'middle' }, axis).textContent = fmt(o.xLog, o.xFormat)(t);
  }
  for (const t of y.ticks()) {
    const py = y(t);
    svgEl('line', { class: 'sed-gridline', x1: box.x, x2: box.x + box.w, y1: py, y2: py }, axis);
    svgEl('text', { x: box.x - 6, y: py + 4, 'text-anchor': 'end' }, axis).textContent = fmt(o.yLog, o.yFormat)(t);
  }
  svgEl('path', { d: `M${box.x},${box.y}V${box.y + box.h}H${box.x + box.w}`, fill: 'none' }, axis);
  svgEl('text', { x: box.x + box.w / 2, y: o.height - 6, 'text-anchor': 'middle', class: 'sed-xlabel' }, axis).textContent = o.xLabel;
  svgEl('text', { transform: `translate(12,${box.y + box.h / 2}) rotate(-90)`, 'text-anchor': 'middle', class: 'sed-ylabel' }, axis).textContent = o.yLabel;
  if (o.title) {
    const t = svgEl('text', { x: box.x, y: 15, class: 'sed-chart-title' }, svg);
    t.textContent = o.title;
    t.style.fontWeight = '600';
  }
  const id = `sed-clip-${++clipIds}`;
  const clip = svgEl('clipPath', { id }, svgEl('defs', {}, svg));
  svgEl('rect', { x: box.x, y: box.y - 2, width: box.w, height: box.h + 4 }, clip);
  const plot = svgEl('g', { 'clip-path': `url(#${id})` }, svg);
  return { svg, plot, x, y, box };
}

/** Path through points (skipping non-finite values, which break the line). */
export function linePath(xs: number[], ys: number[], x: Scale, y: Scale): string {
  let d = '';
  let pen = false;
  for (let i = 0; i < xs.length; i++) {
    if (!isFinite(ys[i]) || !isFinite(xs[i]) || (y.log && ys[i] <= 0)) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(xs[i]).toFixed(2)},${y(ys[i]).toFixed(2)}`;
    pen = true;
  }
  return d;
}
