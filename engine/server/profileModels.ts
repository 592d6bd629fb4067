/** Parameter/MAC counts per architecture, optionally with timed forward passes on the active backend. */
import * as tf from '@tensorflow/tfjs-core';
import { countMacs, countParams, createModel, type EngineSedModel, type ModelConfig } from '../models/index';
import type { ProfileRow } from '../protocol/protocol';

const MEL_FRAMES_PER_SECOND = 100;

/** Lets queued light requests through between forward passes (tfjs ops on wasm/cpu are synchronous). */
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

/** Median wall time (ms) of `repeats` forward passes on one clip of `frames` mel frames, after a warm-up. */
async function timeForward(config: ModelConfig, frames: number, repeats: number, signal?: AbortSignal): Promise<number> {
  let model!: EngineSedModel;
  // tidy: model construction makes intermediate tensors besides the variables; only the variables stay.
  tf.tidy(() => {
    model = createModel(config, { seed: 1 });
  });
  const input = tf.zeros([1, 128, frames, 1]) as tf.Tensor4D;
  try {
    const times: number[] = [];
    for (let i = 0; i <= repeats; i++) {
      if (signal?.aborted) throw new Error(`profiling ${config.name} was cancelled`);
      const t0 = performance.now();
      const out = tf.tidy(() => model.forward(input, { training: false }).strongLogits);
      await out.data();
      out.dispose();
      // The first pass compiles kernels / allocates: a warm-up, not a measurement.
      if (i > 0) times.push(performance.now() - t0);
      await yieldToEventLoop();
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    input.dispose();
    model.dispose();
  }
}

export interface ProfileOptions {
  time?: boolean;
  /** Clip length in seconds (default 10). */
  seconds?: number;
  repeats?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number, name: string) => void;
}

export async function profileModels(configs: ModelConfig[], o: ProfileOptions = {}): Promise<ProfileRow[]> {
  const frames = Math.round((o.seconds ?? 10) * MEL_FRAMES_PER_SECOND);
  const rows: ProfileRow[] = [];
  for (const [i, config] of configs.entries()) {
    if (o.signal?.aborted) throw new Error('profiling cancelled');
    const row: ProfileRow = { name: config.name, params: countParams(config), macs: countMacs(config, frames) };
    if (o.time) row.ms = await timeForward(config, frames, o.repeats ?? 3, o.signal);
    rows.push(row);
    o.onProgress?.(i + 1, configs.length, config.name);
    await yieldToEventLoop();
  }
  return rows;
}
