/**
 * Complexity profiling: parameter count, MACs per 10 s clip (complexity.ts conventions) and measured
 * throughput (clips/s of model forward passes on the active tfjs backend, mel input given, frontend
 * excluded; warm-up runs excluded; median over repeats).
 */
import * as tf from '@tensorflow/tfjs-core';
import { createModel, type EngineSedModel } from './predictionsWrapper';
import { countMacs, countParams } from './complexity';
import { parseModelName } from './names';
import type { ModelConfig } from './types';
import { Rng } from './init';

export interface ThroughputResult {
  /** Clips per second (batch / median seconds per batch). */
  clipsPerSecond: number;
  medianMs: number;
  /** Milliseconds of each timed batch. */
  runsMs: number[];
}

export interface ThroughputOptions {
  batch?: number;
  warmup?: number;
  repeats?: number;
}

/** Time forward passes of `model` on a fixed random mel batch [batch,128,1000,1]. */
export async function measureThroughput(model: EngineSedModel, opts: ThroughputOptions = {}): Promise<ThroughputResult> {
  const batch = opts.batch ?? 64;
  const warmup = opts.warmup ?? 1;
  const repeats = opts.repeats ?? 3;
  if (!(batch >= 1) || !(repeats >= 1) || !(warmup >= 0)) throw new Error(`throughput: batch (${batch}) and repeats (${repeats}) must be ≥ 1, warm-up (${warmup}) ≥ 0`);
  const mel = tf.tensor4d(new Rng(1234).normal(batch * 128 * 1000, 1), [batch, 128, 1000, 1]);
  const runsMs: number[] = [];
  try {
    for (let i = 0; i < warmup + repeats; i++) {
      const t0 = performance.now();
      const logits = tf.tidy(() => model.forward(mel).strongLogits);
      await logits.data(); // waits for asynchronous backends (webgpu) to finish
      logits.dispose();
      if (i >= warmup) runsMs.push(performance.now() - t0);
    }
  } finally {
    mel.dispose();
  }
  const sorted = [...runsMs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { clipsPerSecond: (batch * 1000) / medianMs, medianMs, runsMs };
}

export interface ProfileRow {
  model: string;
  classes: number;
  params: number;
  /** MACs per 10 s clip. */
  macs: number;
  /** Clips/s at `batch`, or null when throughput was not measured. */
  throughput: number | null;
  batch: number | null;
  backend: string;
  medianMs?: number;
}

export interface ProfileOptions extends ThroughputOptions {
  classes?: number;
  /** Measure throughput (default true). */
  throughput?: boolean;
  /** Called with each finished row (progress for long sweeps). */
  onRow?: (row: ProfileRow) => void;
}

/** Profile each model name in turn (one model in memory at a time). */
export async function profileModels(names: string[], opts: ProfileOptions = {}): Promise<ProfileRow[]> {
  const configs: ModelConfig[] = names.map((n) => parseModelName(n, opts.classes ?? 447)); // validate all names first
  const rows: ProfileRow[] = [];
  for (const config of configs) {
    const row: ProfileRow = {
      model: config.name, classes: config.numClasses, params: countParams(config), macs: countMacs(config),
      throughput: null, batch: null, backend: tf.getBackend(),
    };
    if (opts.throughput !== false) {
      const model = createModel(config, { seed: 0 });
      try {
        const r = await measureThroughput(model, opts);
        row.throughput = r.clipsPerSecond;
        row.batch = opts.batch ?? 64;
        row.medianMs = r.medianMs;
      } finally {
        model.dispose();
      }
    }
    opts.onRow?.(row);
    rows.push(row);
  }
  return rows;
}

/** The configurations of the paper's trade-off figures and anchors/upstream_params_macs.csv. */
export const PAPER_CONFIGS: string[] = [
  'fmn04', 'fmn06', 'fmn10', 'fmn20', 'fmn30',
  ...['tf', 'att', 'bigru', 'tcn', 'mamba', 'hybrid'].flatMap((s) => [128, 256, 512, 1024].map((d) => `fmn10+${s}:${d}`)),
  ...['tf', 'hybrid', 'bigru'].flatMap((s) => [`fmn04+${s}:104`, `fmn06+${s}:160`, `fmn20+${s}:512`, `fmn30+${s}:768`]),
];

const CSV_COLUMNS = ['model', 'backbone', 'seq', 'hidden', 'classes', 'params', 'macs', 'mmacs', 'throughput', 'batch', 'backend'] as const;

/** Flat rows for charts: backbone / seq / hidden split out, MACs also in millions. */
export function tableRows(rows: ProfileRow[]): Array<Record<(typeof CSV_COLUMNS)[number], string | number | null>> {
  return rows.map((r) => {
    const config = parseModelName(r.model, r.classes);
    return {
      model: r.model, backbone: r.model.split('+')[0], seq: config.seqType ?? 'none', hidden: config.seqHidden, classes: r.classes,
      params: r.params, macs: r.macs, mmacs: Math.round(r.macs / 1e5) / 10, throughput: r.throughput === null ? null : Math.round(r.throughput * 100) / 100,
      batch: r.batch, backend: r.backend,
    };
  });
}

export function toCsv(rows: ProfileRow[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const r of tableRows(rows)) lines.push(CSV_COLUMNS.map((c) => (r[c] === null ? '' : String(r[c]))).join(','));
  return lines.join('\n') + '\n';
}
