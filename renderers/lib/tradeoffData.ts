/**
 * The trade-off payload (see renderers/README.md): rows `{ model, seq, params, macs, throughput, psds1 }`
 * as `sed profile --json` and `sed eval` give them, and the Pareto front per complexity measure.
 */
import { PayloadError } from './host';
import { Fields } from './payload';

export const MEASURES = ['params', 'macs', 'throughput'] as const;
export type Measure = (typeof MEASURES)[number];

export interface TradeoffRow {
  model: string;
  seq: string;
  params?: number;
  macs?: number;
  throughput?: number;
  psds1?: number;
}

export const Y_MEASURES = ['psds1', ...MEASURES] as const;
export type YMeasure = (typeof Y_MEASURES)[number];

/**
 * `rows` of `{ model, seq, params, macs, throughput, psds1 }`; `points` and `name` are accepted as
 * aliases of `rows` and `model`. `y` is PSDS1 unless a profile without evaluation plots another measure.
 */
export function parseTradeoff(mime: string, header: Record<string, unknown>): { rows: TradeoffRow[]; x: Measure; y: YMeasure; title?: string } {
  const f = new Fields(mime, header);
  const key = f.has('rows') || !f.has('points') ? 'rows' : 'points';
  const raw = f.list(key);
  if (raw.length === 0) throw new PayloadError(`${mime}: "${key}" is empty`);
  const y = f.oneOf('y', Y_MEASURES, 'psds1');
  const rows = raw.map((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PayloadError(`${mime}: "${key}"[${i}] must be an object`);
    const rf = new Fields(`${mime} ${key}[${i}]`, r as Record<string, unknown>);
    const positive = (k: Measure) => (rf.has(k) ? rf.num(k, undefined, (v) => v > 0, 'a positive number (log axis)') : undefined);
    const row: TradeoffRow = { model: rf.has('model') || !rf.has('name') ? rf.str('model') : rf.str('name'), seq: rf.str('seq', 'none'), params: positive('params'), macs: positive('macs'), throughput: positive('throughput') };
    if (rf.has('psds1') || y === 'psds1') row.psds1 = rf.num('psds1');
    if (row[y] === undefined) throw new PayloadError(`${mime}: "${key}"[${i}] has no "${y}" (the y axis)`);
    return row;
  });
  const x = f.oneOf('x', MEASURES, 'params');
  if (!MEASURES.some((m) => m !== y && rows.some((r) => r[m] !== undefined))) throw new PayloadError(`${mime}: no row has params, macs or throughput for the x axis`);
  return { rows, x, y, title: f.has('title') ? f.str('title') : undefined };
}

/**
 * Models not dominated by another: better or equal PSDS1 at lower cost (params, MACs) or higher
 * throughput. Returned in order of increasing cost (decreasing throughput).
 */
export function paretoFront(rows: TradeoffRow[], m: Measure): TradeoffRow[] {
  const have = rows.filter((r) => r[m] !== undefined && r.psds1 !== undefined);
  const cheaperFirst = m === 'throughput' ? (a: TradeoffRow, b: TradeoffRow) => b[m]! - a[m]! : (a: TradeoffRow, b: TradeoffRow) => a[m]! - b[m]!;
  const sorted = [...have].sort((a, b) => cheaperFirst(a, b) || b.psds1! - a.psds1!);
  const front: TradeoffRow[] = [];
  let best = -Infinity;
  for (const r of sorted) {
    if (r.psds1! > best) {
      front.push(r);
      best = r.psds1!;
    }
  }
  return front;
}
