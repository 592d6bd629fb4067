/**
 * Training curves renderer: `application/vnd.sed-studio.training-curves+json`. Loss (train and
 * validation), learning rate (log axis) and validation PSDS1 per epoch. Live updates, two ways:
 * (1) the extension replaces the output item with more rows; VS Code re-renders the same output id
 * into the same element and the charts are redrawn in place; (2) with a `stream` id in the payload,
 * the extension posts `{ type: 'training-curves/append', stream, rows }` through the renderer
 * messaging channel and the rows are appended without replacing the output.
 */
import type { OutputItem } from 'vscode-notebook-renderer';
import { createRenderer, PayloadError, Resources, type View } from './lib/host';
import { Fields, readPayload } from './lib/payload';
import { chartFrame, linePath, svgEl } from './lib/svgChart';
import { SERIES_COLORS } from './lib/theme';

export interface EpochRow {
  epoch: number;
  loss?: number;
  val_loss?: number;
  lr?: number;
  val_psds1?: number;
}

const SERIES = ['loss', 'val_loss', 'lr', 'val_psds1'] as const;

function parseRows(where: string, raw: unknown[]): EpochRow[] {
  return raw.map((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PayloadError(`${where}: "rows"[${i}] must be an object`);
    const f = new Fields(`${where} rows[${i}]`, r as Record<string, unknown>);
    const row: EpochRow = { epoch: f.num('epoch') };
    for (const k of SERIES) if (f.has(k)) row[k] = f.num(k);
    return row;
  });
}

function parse(item: OutputItem) {
  const f = new Fields(item.mime, readPayload(item).header);
  return {
    rows: parseRows(item.mime, f.list('rows')),
    totalEpochs: f.has('total_epochs') ? f.num('total_epochs', undefined, (v) => v > 0, 'a positive number') : undefined,
    title: f.has('title') ? f.str('title') : undefined,
    stream: f.has('stream') ? f.str('stream') : undefined,
  };
}

export const activate = createRenderer({
  name: 'training curves',
  mount(item, root, _signal, ctx): View {
    let state = parse(item);
    const res = new Resources(root.ownerDocument);
    const title = document.createElement('div');
    title.className = 'sed-title';
    const status = document.createElement('div');
    status.className = 'sed-readout';
    const charts = document.createElement('div');
    charts.style.cssText = 'display:flex;flex-wrap:wrap;gap:8px';
    root.append(title, status, charts);

    const draw = () => {
      const rows = [...state.rows].sort((a, b) => a.epoch - b.epoch);
      const last = rows[rows.length - 1];
      const xMax = Math.max(state.totalEpochs ?? 0, last?.epoch ?? 1, 1);
      const xMin = Math.min(0, rows[0]?.epoch ?? 0);
      title.textContent = `${state.title ?? 'Training'} — epoch ${last?.epoch ?? 0}${state.totalEpochs ? ` / ${state.totalEpochs}` : ''}`;
      const best = rows.filter((r) => r.val_psds1 !== undefined).reduce<EpochRow | undefined>((b, r) => (!b || r.val_psds1! > b.val_psds1! ? r : b), undefined);
      status.textContent = [
        last?.loss !== undefined ? `loss ${last.loss.toFixed(4)}` : '',
        last?.lr !== undefined ? `lr ${last.lr.toExponential(2)}` : '',
        best ? `best val PSDS1 ${best.val_psds1!.toFixed(4)} @ epoch ${best.epoch}` : '',
      ].filter(Boolean).join('   ');
      charts.replaceChildren();
      const w = Math.max(260, Math.floor(((root.clientWidth || 900) - 16) / 3));
      const ep = rows.map((r) => r.epoch);
      const panel = (name: string, keys: (keyof EpochRow)[], yLog: boolean, labels: string[]) => {
        const series = keys.map((k) => rows.map((r) => (r[k] === undefined ? NaN : (r[k] as number))));
        const vals = series.flat().filter((v) => isFinite(v) && (!yLog || v > 0));
        if (!vals.length) return;
        let lo = Math.min(...vals);
        let hi = Math.max(...vals);
        if (yLog) [lo, hi] = [lo / 1.2, hi * 1.2];
        else {
          const pad = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
          [lo, hi] = [name === 'PSDS1' ? Math.max(0, lo - pad) : lo - pad, hi + pad];
        }
        const box = document.createElement('div');
        box.className = 'sed-curve';
        box.dataset.chart = name;
        charts.append(box);
        const f = chartFrame(box, { width: w, height: 220, x: [xMin, xMax], y: [lo, hi], yLog, xLabel: 'epoch', yLabel: name, title: name });
        series.forEach((ys, i) => {
          const color = SERIES_COLORS[i % SERIES_COLORS.length];
          svgEl('path', { class: 'sed-series', 'data-series': keys[i], d: linePath(ep, ys, f.x, f.y), fill: 'none', stroke: color, 'stroke-width': 1.8 }, f.plot);
          ys.forEach((v, j) => {
            if (isFinite(v) && (!yLog || v > 0) && rows.length <= 200) svgEl('circle', { cx: f.x(ep[j]).toFixed(2), cy: f.y(v).toFixed(2), r: 2.2, fill: color, 'data-series': keys[i] }, f.plot);
          });
          if (keys.length > 1) {
            svgEl('text', { x: f.box.x + f.box.w - 4, y: f.box.y + 12 + i * 13, 'text-anchor': 'end', style: `fill:${color}` }, f.svg).textContent = labels[i];
          }
        });
      };
      panel('loss', ['loss', 'val_loss'], false, ['train', 'validation']);
      panel('learning rate', ['lr'], true, ['lr']);
      panel('PSDS1', ['val_psds1'], false, ['validation PSDS1']);
      root.dataset.epochs = String(rows.length);
    };

    if (state.stream && ctx.onDidReceiveMessage) {
      const sub = ctx.onDidReceiveMessage((msg: { type?: string; stream?: string; rows?: unknown[] }) => {
        if (msg?.type !== 'training-curves/append' || msg.stream !== state.stream || !Array.isArray(msg.rows)) return;
        try {
          state = { ...state, rows: [...state.rows, ...parseRows('training-curves/append message', msg.rows)] };
          draw();
        } catch (err) {
          status.textContent = (err as Error).message;
        }
      });
      res.add(() => sub.dispose());
    }
    draw();
    return {
      update(next) {
        state = parse(next);
        draw();
        return true;
      },
      dispose: () => res.dispose(),
    };
  },
});
