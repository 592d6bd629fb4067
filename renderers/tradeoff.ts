/**
 * Trade-off renderer: `application/vnd.sed-studio.tradeoff+json`. The paper's Fig. 1/2 made
 * interactive with vega-lite (bundled, no network): PSDS1 against parameters, MACs or throughput
 * (switchable, log x axis), one colour per sequence model, each family's scaling line, the Pareto
 * front, hover tooltips. Expressions run through vega's interpreter (no eval), as webview CSPs require.
 */
import embed, { type Result } from 'vega-embed';
import { expressionInterpreter } from 'vega-interpreter';
import type { TopLevelSpec } from 'vega-lite';
import { createRenderer, Resources, type View } from './lib/host';
import { readPayload } from './lib/payload';
import { themeColors } from './lib/theme';
import { MEASURES, paretoFront, parseTradeoff, type Measure, type TradeoffRow, type YMeasure } from './lib/tradeoffData';

const AXIS: Record<YMeasure, string> = { psds1: 'PSDS1', params: 'Parameters', macs: 'MACs per 10 s clip', throughput: 'Throughput (clips/s)' };

export const activate = createRenderer({
  name: 'trade-off chart',
  async mount(item, root, signal): Promise<View> {
    const data = parseTradeoff(item.mime, readPayload(item).header);
    const res = new Resources(root.ownerDocument);
    let result: Result | undefined;
    res.add(() => result?.finalize());
    const title = document.createElement('div');
    title.className = 'sed-title';
    title.textContent = data.title ?? 'Performance–complexity trade-off';
    const toolbar = document.createElement('div');
    toolbar.className = 'sed-toolbar';
    const select = document.createElement('select');
    select.title = 'Complexity measure (x axis)';
    for (const m of MEASURES) if (m !== data.y && data.rows.some((r) => r[m] !== undefined)) select.append(new Option(AXIS[m], m, false, m === data.x));
    toolbar.append(`${AXIS[data.y]} vs `, select);
    const chart = document.createElement('div');
    chart.className = 'sed-vega';
    root.append(title, toolbar, chart);

    const draw = async (m: Measure) => {
      result?.finalize();
      result = undefined;
      chart.replaceChildren();
      const r = await embed(chart, spec(data.rows, m, data.y, themeColors(root), Math.max(360, (root.clientWidth || 640) - 200)), {
        actions: false, renderer: 'svg', ast: true, expr: expressionInterpreter, tooltip: { theme: 'dark' },
      });
      if (signal.aborted) r.finalize();
      else result = r;
      root.dataset.x = m;
      root.dataset.pareto = data.y === 'psds1' ? paretoFront(data.rows, m).map((p) => p.model).join(',') : '';
    };
    res.on(select, 'change', () => { draw(select.value as Measure).catch((e) => { chart.textContent = `cannot draw: ${(e as Error).message}`; }); });
    try {
      await draw((select.value || data.x) as Measure);
    } catch (err) {
      res.dispose();
      throw err;
    }
    return {
      retheme: () => { draw((select.value || data.x) as Measure).catch((e) => { chart.textContent = `cannot draw: ${(e as Error).message}`; }); },
      dispose: () => res.dispose(),
    };
  },
});

function spec(rows: TradeoffRow[], m: Measure, yField: YMeasure, c: ReturnType<typeof themeColors>, width: number): TopLevelSpec {
  const values = rows.filter((r) => r[m] !== undefined).map((r) => ({ ...r, x: r[m]!, y: r[yField]! }));
  // The Pareto front is a performance–cost notion: only with PSDS1 on the y axis.
  const front = yField === 'psds1' ? paretoFront(rows, m).map((r) => ({ model: r.model, x: r[m]!, y: r.psds1! })) : [];
  const x = { field: 'x', type: 'quantitative' as const, title: AXIS[m], scale: { type: 'log' as const, nice: false, padding: 12 }, axis: { format: '~s' } };
  const y = { field: 'y', type: 'quantitative' as const, title: AXIS[yField], scale: yField === 'psds1' ? { zero: false, padding: 12 } : { type: 'log' as const, nice: false, padding: 12 }, ...(yField === 'psds1' ? {} : { axis: { format: '~s' } }) };
  const tooltip = [
    { field: 'model', title: 'model' }, { field: 'seq', title: 'sequence model' }, { field: 'psds1', title: 'PSDS1', format: '.4f' },
    { field: 'params', title: 'params', format: ',' }, { field: 'macs', title: 'MACs', format: '.4~s' }, { field: 'throughput', title: 'clips/s', format: ',.1f' },
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width, height: 340, background: 'transparent',
    config: {
      axis: { labelColor: c.fg, titleColor: c.fg, gridColor: c.grid, domainColor: c.muted, tickColor: c.muted },
      legend: { labelColor: c.fg, titleColor: c.fg },
      view: { stroke: null },
    },
    layer: [
      { name: 'families', data: { values }, mark: { type: 'line', strokeWidth: 1.2, opacity: 0.6 }, encoding: { x, y, color: { field: 'seq', type: 'nominal', title: 'sequence model' }, order: { field: 'x' } } },
      ...(front.length ? [{ name: 'pareto', data: { values: front }, mark: { type: 'line', color: c.fg, strokeDash: [5, 3], strokeWidth: 1.5, point: false }, encoding: { x, y, order: { field: 'x' } } }] : []),
      { name: 'models', data: { values }, mark: { type: 'point', filled: true, size: 80, opacity: 0.95 }, encoding: { x, y, color: { field: 'seq', type: 'nominal', title: 'sequence model' }, tooltip } },
    ],
  } as TopLevelSpec;
}
