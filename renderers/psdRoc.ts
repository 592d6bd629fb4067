/**
 * PSD-ROC renderer: `application/vnd.sed-studio.psd-roc+json`. Overall PSD-ROC (eFPR per hour vs
 * effective TPR) as a step curve with the area (= PSDS × max eFPR) shaded, per-class ROCs on demand,
 * PSDS in the title and legend, several runs in one chart, hover read-out of every run at an eFPR.
 */
import { createRenderer, Resources, type View } from './lib/host';
import { readPayload } from './lib/payload';
import { parsePsdRoc, type RocCurve, type RocRun } from './lib/psdRocData';
import { chartFrame, svgEl, type Scale } from './lib/svgChart';
import { SERIES_COLORS } from './lib/theme';

export const activate = createRenderer({
  name: 'PSD-ROC',
  mount(item, root): View {
    const p = readPayload(item);
    const data = parsePsdRoc(item.mime, p.header);
    const res = new Resources(root.ownerDocument);
    build(res, root, data.runs, data.title);
    return { dispose: () => res.dispose() };
  },
});

/** Post-step path of a ROC (the value holds until the next point), extended to `xMax`. */
function stepPath(c: RocCurve, x: Scale, y: Scale, xMax: number): string {
  let d = `M${x(c.efpr[0]).toFixed(2)},${y(c.tpr[0]).toFixed(2)}`;
  for (let i = 1; i < c.efpr.length; i++) {
    if (c.efpr[i - 1] >= xMax) break;
    d += `H${x(Math.min(c.efpr[i], xMax)).toFixed(2)}V${y(c.tpr[i]).toFixed(2)}`;
  }
  if (c.efpr[c.efpr.length - 1] < xMax) d += `H${x(xMax).toFixed(2)}`;
  return d;
}

/** The curve's value at eFPR `e` (post-step). */
function valueAt(c: RocCurve, e: number): number {
  let v = c.tpr[0];
  for (let i = 0; i < c.efpr.length && c.efpr[i] <= e; i++) v = c.tpr[i];
  return v;
}

function build(res: Resources, root: HTMLElement, runs: RocRun[], title?: string): void {
  const xMax = Math.max(...runs.map((r) => r.maxEfpr));
  const heading = document.createElement('div');
  heading.className = 'sed-title';
  heading.textContent = `${title ?? 'PSD-ROC'} — PSDS1 ${runs.map((r) => (runs.length > 1 ? `${r.name} ${r.psds.toFixed(3)}` : r.psds.toFixed(3))).join(' · ')}`;
  const legend = document.createElement('div');
  legend.className = 'sed-legend';
  const readout = document.createElement('div');
  readout.className = 'sed-readout';
  const chart = document.createElement('div');
  // Names of the per-class curves (one run: one colour per class).
  const classLegend = document.createElement('div');
  classLegend.className = 'sed-legend sed-class-legend';
  root.append(heading, legend, chart, classLegend, readout);

  const hasPerClass = runs.some((r) => r.perClass.length);
  const showClasses = document.createElement('input');
  showClasses.type = 'checkbox';
  showClasses.checked = runs.length === 1 && hasPerClass;
  const runVisible = runs.map(() => true);

  const draw = () => {
    chart.replaceChildren();
    classLegend.replaceChildren();
    if (showClasses.checked && runs.length === 1) {
      runs[0].perClass.forEach((pc, k) => {
        const item = document.createElement('span');
        const sw = document.createElement('span');
        sw.className = 'sed-swatch';
        sw.style.background = SERIES_COLORS[(k + 1) % SERIES_COLORS.length];
        item.append(sw, ` ${pc.name}${pc.psds !== undefined ? ` ${pc.psds.toFixed(3)}` : ''}`);
        classLegend.append(item);
      });
    }
    const f = chartFrame(chart, {
      width: Math.max(420, root.clientWidth || 640), height: 360, x: [0, xMax], y: [0, 1],
      xLabel: 'eFPR (false positives per hour)', yLabel: 'eTPR',
    });
    runs.forEach((r, i) => {
      if (!runVisible[i]) return;
      const color = SERIES_COLORS[i % SERIES_COLORS.length];
      const g = svgEl('g', { class: 'sed-roc-run', 'data-run': i }, f.plot);
      if (showClasses.checked) {
        r.perClass.forEach((pc, k) => {
          const c = runs.length === 1 ? SERIES_COLORS[(k + 1) % SERIES_COLORS.length] : color;
          const path = svgEl('path', { class: 'sed-roc-class', 'data-run': i, 'data-class': pc.name, d: stepPath(pc.curve, f.x, f.y, xMax), fill: 'none', stroke: c, 'stroke-width': 1.2, 'stroke-opacity': 0.75, 'stroke-dasharray': '4 3' }, g);
          svgEl('title', {}, path).textContent = `${r.name} · ${pc.name}${pc.psds !== undefined ? ` (PSDS ${pc.psds.toFixed(3)})` : ''}`;
        });
      }
      const line = stepPath(r.overall, f.x, f.y, r.maxEfpr);
      const base = f.y(0).toFixed(2);
      svgEl('path', { class: 'sed-roc-area', 'data-run': i, d: `${line}V${base}H${f.x(r.overall.efpr[0]).toFixed(2)}Z`, fill: color, 'fill-opacity': runs.length > 1 ? 0.12 : 0.2, stroke: 'none' }, g);
      svgEl('path', { class: 'sed-roc-overall', 'data-run': i, d: line, fill: 'none', stroke: color, 'stroke-width': 2.2 }, g);
    });
    const cursor = svgEl('line', { class: 'sed-roc-cursor', y1: f.box.y, y2: f.box.y + f.box.h, stroke: 'currentColor', 'stroke-opacity': 0, 'stroke-dasharray': '2 2' }, f.svg);
    hover = (ev: PointerEvent) => {
      const r = f.svg.getBoundingClientRect();
      const px = ev.clientX - r.left;
      if (px < f.box.x || px > f.box.x + f.box.w) {
        cursor.setAttribute('stroke-opacity', '0');
        readout.textContent = '';
        return;
      }
      const e = f.x.invert(px);
      cursor.setAttribute('x1', String(px));
      cursor.setAttribute('x2', String(px));
      cursor.setAttribute('stroke-opacity', '0.6');
      readout.textContent = `eFPR ${e.toFixed(1)}/h   ${runs.filter((_, i) => runVisible[i]).map((run) => `${runs.length > 1 ? `${run.name} ` : ''}eTPR ${valueAt(run.overall, e).toFixed(3)}`).join('   ')}`;
    };
  };
  // One listener on the container; `hover` follows the current drawing.
  let hover: (ev: PointerEvent) => void = () => undefined;
  res.on(chart, 'pointermove', (ev: PointerEvent) => hover(ev));

  runs.forEach((r, i) => {
    const label = document.createElement('label');
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.checked = true;
    box.dataset.run = String(i);
    const sw = document.createElement('span');
    sw.className = 'sed-swatch';
    sw.style.background = SERIES_COLORS[i % SERIES_COLORS.length];
    label.append(box, sw, `${r.name}: PSDS1 ${r.psds.toFixed(4)}`);
    res.on(box, 'change', () => { runVisible[i] = box.checked; draw(); });
    legend.append(label);
  });
  if (hasPerClass) {
    const label = document.createElement('label');
    label.append(showClasses, 'per-class curves');
    res.on(showClasses, 'change', draw);
    legend.append(label);
  }
  let lastWidth = 0;
  const ro = new ResizeObserver(() => {
    if (Math.abs(root.clientWidth - lastWidth) < 2) return;
    lastWidth = root.clientWidth;
    draw();
  });
  ro.observe(root);
  res.add(() => ro.disconnect());
  lastWidth = root.clientWidth;
  draw();
}
