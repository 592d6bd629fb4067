/**
 * Trade-off chart payloads (`application/vnd.sed-studio.tradeoff+json`, renderers/README.md) from
 * profiling rows and sweep results, and the markdown table shown beside them.
 */
import type { ProfileRow, SweepResult } from '../../engine/protocol/protocol';

export type TradeoffRow = ProfileRow & { psds?: number; checkpoint?: string };

/** `fmn10+tf:256` → { backbone: 'fmn10', seq: 'tf', hidden: 256 }; bare backbones have seq 'none'. */
export function splitModelName(name: string): { backbone: string; seq: string; hidden?: number } {
  const m = /^([a-z]+\d+)(?:\+([a-z]+)(?::(\d+))?)?$/i.exec(name);
  if (!m) return { backbone: name, seq: 'none' };
  return { backbone: m[1], seq: m[2] ?? 'none', ...(m[3] ? { hidden: Number(m[3]) } : {}) };
}

export function tradeoffPayload(rows: TradeoffRow[], title: string): Record<string, unknown> {
  const points = rows.map((r) => {
    const p = splitModelName(r.name);
    return {
      name: r.name,
      backbone: p.backbone,
      seq: p.seq,
      ...(p.hidden !== undefined ? { hidden: p.hidden } : {}),
      params: r.params,
      macs: r.macs,
      ...(r.ms !== undefined ? { throughput: 1000 / r.ms } : {}),
      ...(r.psds !== undefined ? { psds1: r.psds } : {}),
    };
  });
  const hasPsds = points.some((p) => 'psds1' in p);
  return { title, points, x: 'params', y: hasPsds ? 'psds1' : 'macs' };
}

export function rowsMarkdown(rows: TradeoffRow[], backend?: string): string {
  const timed = rows.some((r) => r.ms !== undefined);
  const psds = rows.some((r) => r.psds !== undefined);
  const head = ['model', 'params (M)', 'MACs (G / 10 s)', ...(timed ? [`ms / clip${backend ? ` (${backend})` : ''}`] : []), ...(psds ? ['PSDS1'] : [])];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`];
  for (const r of rows) {
    const cells = [r.name, (r.params / 1e6).toFixed(3), (r.macs / 1e9).toFixed(3), ...(timed ? [r.ms !== undefined ? r.ms.toFixed(1) : ''] : []), ...(psds ? [r.psds !== undefined ? r.psds.toFixed(3) : ''] : [])];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

/** Reads a sweep result file (SweepResult JSON, or a bare array of rows). */
export function parseSweepFile(text: string, file: string): TradeoffRow[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const rows = Array.isArray(data) ? data : (data as Partial<SweepResult>)?.rows;
  if (!Array.isArray(rows) || !rows.length) throw new Error(`${file}: expected a sweep result ({ "rows": [...] }) with at least one row`);
  rows.forEach((r, i) => {
    if (!r || typeof r.name !== 'string' || typeof r.params !== 'number' || typeof r.macs !== 'number') {
      throw new Error(`${file}: row ${i + 1} needs "name" (string), "params" and "macs" (numbers)`);
    }
  });
  return rows as TradeoffRow[];
}
