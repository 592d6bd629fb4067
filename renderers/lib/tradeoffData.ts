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
  psds1: number;
}

export function parseTradeoff(mime: string, header: Record<string, unknown>): { rows: TradeoffRow[]; x: Measure; title?: string } {
  const f = new Fields(mime, header);
  const raw = f.list('rows');
  if (raw.length === 0) throw new PayloadError(`${mime}: "rows" is empty`);
  const rows = raw.map((r, i) => {
    if (!r || typeof r !== 'object' || Array.isArray(r)) throw new PayloadError(`${mime}: "rows"[${i}] must be an object`);
    const rf = new Fields(`${mime} rows[${i}]`, r as Record<string, unknown>);
    const positive = (k: Measure) => (rf.has(k) ? rf.num(k, undefined, (v) => v > 0, 'a positive number (log axis)') : undefined);
    return { model: rf.str('model'), seq: rf.str('seq', 'none'), params: positive('params'), macs: positive('macs'), throughput: positive('throughput'), psds1: rf.num('psds1') };
  });
  const x = f.oneOf('x', MEASURES, 'params');
  if (!MEASURES.some((m) => rows.some((r) => r[m] !== undefined))) throw new PayloadError(`${mime}: no row has params, macs or throughput`);
  return { rows, x, title: f.has('title') ? f.str('title') : undefined };
}

/**
 * Models not dominated by another: better or equal PSDS1 at lower cost (params, MACs) or higher
 * throughput. Returned in order of increasing cost (decreasing throughput).
 */
export function paretoFront(rows: TradeoffRow[], m: Measure): TradeoffRow[] {
  const have = rows.filter((r) => r[m] !== undefined);
  const cheaperFirst = m === 'throughput' ? (a: TradeoffRow, b: TradeoffRow) => b[m]! - a[m]! : (a: TradeoffRow, b: TradeoffRow) => a[m]! - b[m]!;
  const sorted = [...have].sort((a, b) => cheaperFirst(a, b) || b.psds1 - a.psds1);
  const front: TradeoffRow[] = [];
  let best = -Infinity;
  for (const r of sorted) {
    if (r.psds1 > best) {
      front.push(r);
      best = r.psds1;
    }
  }
  return front;
}
