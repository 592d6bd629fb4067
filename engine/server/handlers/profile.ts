/** `sed/profile`: parameters and MACs per architecture, optionally timed forward passes on the active backend. */
import * as tf from '@tensorflow/tfjs-core';
import { countMacs, countParams, createModel, parseModelName, type EngineSedModel } from '../../models/index';
import { ProfileRequest, type ProfileParams, type ProfileRow } from '../../protocol/protocol';
import { optionalBoolean, optionalNumber, ParamError, requireStringArray } from '../errors';
import type { EngineServer } from '../server';

const MEL_FRAMES_PER_SECOND = 100;

/** Lets queued light requests through between forward passes (tfjs ops on wasm/cpu are synchronous). */
const yieldToEventLoop = () => new Promise<void>((r) => setImmediate(r));

async function timeForward(name: string, frames: number, repeats: number, signal: AbortSignal): Promise<number> {
  // tidy: model construction makes intermediate tensors besides the variables; only the variables stay.
  let model!: EngineSedModel;
  tf.tidy(() => {
    model = createModel(parseModelName(name), { seed: 1 });
  });
  try {
    const input = tf.zeros([1, 128, frames, 1]) as tf.Tensor4D;
    const times: number[] = [];
    try {
      for (let i = 0; i <= repeats; i++) {
        if (signal.aborted) throw new Error(`profiling ${name} was cancelled`);
        const t0 = performance.now();
        const out = tf.tidy(() => model.forward(input, { training: false }).strongLogits);
        await out.data();
        out.dispose();
        // The first pass compiles kernels / allocates: a warm-up, not a measurement.
        if (i > 0) times.push(performance.now() - t0);
        await yieldToEventLoop();
      }
    } finally {
      input.dispose();
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  } finally {
    model.dispose();
  }
}

export function register(server: EngineServer): void {
  const m = ProfileRequest.method;
  server.heavy(ProfileRequest, 'profile', (params: ProfileParams) => {
    const names = requireStringArray(m, params, 'models', { nonEmpty: true });
    const time = optionalBoolean(m, params, 'time') ?? false;
    const seconds = optionalNumber(m, params, 'seconds', { min: 0.1, max: 600 }) ?? 10;
    const repeats = optionalNumber(m, params, 'repeats', { min: 1, max: 100, integer: true }) ?? 3;
    const configs = names.map((name, i) => {
      try {
        return parseModelName(name);
      } catch (err) {
        throw new ParamError(m, `models[${i}]`, (err as Error).message);
      }
    });
    const frames = Math.round(seconds * MEL_FRAMES_PER_SECOND);
    return {
      title: `profile ${configs.map((c) => c.name).join(', ')}`.slice(0, 80),
      run: async (job) => {
        const rows: ProfileRow[] = [];
        for (const [i, config] of configs.entries()) {
          if (job.signal.aborted) throw new Error('profile cancelled');
          const row: ProfileRow = { name: config.name, params: countParams(config), macs: countMacs(config, frames) };
          if (time) row.ms = await timeForward(config.name, frames, repeats, job.signal);
          rows.push(row);
          job.progress(i + 1, configs.length, config.name);
        }
        return { rows, backend: tf.getBackend() };
      },
    };
  });
}
