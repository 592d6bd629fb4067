/**
 * Trade-off chart payloads (`application/vnd.sed-studio.tradeoff+json`, renderers/README.md:
 * `{ title?, x?, y?, rows: [{ model, seq, params, macs, throughput?, psds1? }] }`) from profiling rows and
 * sweep files, and the markdown table shown beside the chart.
 */
import type { ProfileRow } from '../../engine/protocol/protocol';
import type { TradeoffRow } from '../../renderers/lib/tradeoffData';

export type { TradeoffRow };

export interface TradeoffChart {
  title?: string;
  x?: 'params' | 'macs' | 'throughput';
  y?: 'psds1' | 'params' | 'macs' | 'throughput';
  rows: TradeoffRow[];
}

/** `fmn10+tf:256` → 'tf'; a bare backbone → 'none'. */
export function seqFamily(name: string): string {
  const m = /\+([a-z]+)/i.exec(name);
  return m ? m[1] : 'none';
}

export function chartFromProfile(rows: ProfileRow[], title: string): TradeoffChart {
  return {
    title,
    x: 'params',
    y: 'macs',
    rows: rows.map((r) => ({ model: r.name, seq: seqFamily(r.name), params: r.params, macs: r.macs, ...(r.ms ? { throughput: 1000 / r.ms } : {}) })),
  };
}

export function rowsMarkdown(chart: TradeoffChart, backend?: string): string {
  const rows = chart.rows;
  const timed = rows.some((r) => r.throughput !== undefined);
  const psds = rows.some((r) => r.psds1 !== undefined);
  const head = ['model', 'params (M)', 'MACs (G / 10 s)', ...(timed ? [`clips / s${backend ? ` (${backend})` : ''}`] : []), ...(psds ? ['PSDS1'] : [])];
  const num = (v: number | undefined, scale: number, digits: number) => (v === undefined ? '' : (v / scale).toFixed(digits));
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const r of rows) {
    lines.push(`| ${[r.model, num(r.params, 1e6, 3), num(r.macs, 1e9, 3), ...(timed ? [num(r.throughput, 1, 1)] : []), ...(psds ? [num(r.psds1, 1, 3)] : [])].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Reads a trade-off chart file (what `sed/sweep` writes, possibly with `psds1` merged in per row).
 * `points` and `name` are accepted as aliases of `rows` and `model`, as the renderer does.
 */
export function parseTradeoffFile(text: string, file: string): TradeoffChart {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const raw = (Array.isArray(data) ? data : (data?.rows ?? data?.points)) as unknown;
  if (!Array.isArray(raw) || !raw.length) throw new Error(`${file}: expected a trade-off chart ({ "rows": [...] }, as written by sed/sweep) with at least one row`);
  const rows = raw.map((r: Record<string, unknown>, i: number): TradeoffRow => {
    const model = (r?.model ?? r?.name) as unknown;
    if (typeof model !== 'string') throw new Error(`${file}: row ${i + 1} needs "model" (a string)`);
    for (const k of ['params', 'macs', 'throughput', 'psds1']) {
      if (r[k] !== undefined && typeof r[k] !== 'number') throw new Error(`${file}: row ${i + 1} "${k}" must be a number`);
    }
    return { ...(r as object), model, seq: typeof r.seq === 'string' ? r.seq : seqFamily(model) } as TradeoffRow;
  });
  const chart: TradeoffChart = { ...(Array.isArray(data) ? {} : data), rows } as TradeoffChart;
  delete (chart as { points?: unknown }).points;
  if (!chart.y) chart.y = rows.every((r) => r.psds1 !== undefined) ? 'psds1' : 'macs';
  return chart;
}
