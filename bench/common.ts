/** Shared helpers for the benchmarks: anchors (reference figures), timing, result files, tables. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SHARED_DIR } from '../test/helpers/paths';
import { writeFileAtomic } from '../engine/io/atomicWrite';

export function readCsv(file: string): Record<string, string>[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l && !l.startsWith('#'));
  const header = lines[0].split(',');
  return lines.slice(1).map((l) => Object.fromEntries(l.split(',').map((v, i) => [header[i], v])));
}

/** Best reference CPU throughput per config (clips/s) over threads × batch, anchors/upstream_throughput_cpu.csv. */
export function referenceCpuBest(): Map<string, number> {
  const best = new Map<string, number>();
  for (const r of readCsv(path.join(SHARED_DIR, 'anchors', 'upstream_throughput_cpu.csv'))) {
    const v = Number(r.clips_per_s);
    if (v > (best.get(r.config) ?? 0)) best.set(r.config, v);
  }
  return best;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Repeats `step` (one batch) after a warm-up until `minSeconds` have passed (3–20 runs); median clips/s. */
export async function measure(batch: number, step: () => Promise<void>, minSeconds: number): Promise<number> {
  await step(); // warm-up: kernel compilation, weight upload, ORT's first-run allocations
  const rates: number[] = [];
  const start = Date.now();
  while (rates.length < 3 || (Date.now() - start) / 1000 < minSeconds) {
    const t0 = performance.now();
    await step();
    rates.push(batch / ((performance.now() - t0) / 1000));
    if (rates.length >= 20) break;
  }
  return median(rates);
}

export function table(rows: Record<string, string | number>[]): string {
  const cols = Object.keys(rows[0] ?? {});
  const fmt = (v: string | number) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(3)) : v);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => fmt(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(width[i])).join('  ');
  return [line(cols), line(width.map((w) => '-'.repeat(w))), ...rows.map((r) => line(cols.map((c) => fmt(r[c]))))].join('\n');
}

export function writeResults(name: string, data: unknown): string {
  const file = path.join('bench', 'results', `${name}.json`);
  writeFileAtomic(file, JSON.stringify({ date: new Date().toISOString(), host: process.env.HOSTNAME ?? '', ...(data as object) }, null, 2) + '\n');
  return file;
}

/** The value after `--<name>` on the command line, or `fallback`. */
export function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
}
