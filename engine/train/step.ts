/**
 * One training step: host-side batch assembly (wave-mix, per-batch fmin/fmax draw, shift and mixup
 * draws from the seeded RNG), then mel → augment → forward/backward on the active backend, with
 * gradient accumulation. Everything on the device is inside tf.tidy, so the tensor count is the same
 * after every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import './gradients';
import type { EngineSedModel } from '../models/index';
import type { SedModel } from '../models/types';
import { drawMixup, drawShifts, jitteredBand, mixBatch, mixTargets, rollTargets, shiftMel, targetShift, waveMix, type AugmentConfig, type Example, type MixupDraw } from './augment';
import type { Segment } from './data';
import { FRAMES_PER_SEGMENT } from './labels';
import { chunkGradients } from './chunkGradients';
import { splitChunks, type ChunkRange, type GradientWorkers, type RemoteResult } from './gradientWorkers';
import type { GroupedAdam } from './optimizer';
import type { Rng } from './rng';
import type { MelFn } from './validation';
import { readBack } from '../backend/gpuErrors';

export interface HostBatch {
  size: number;
  samples: number;
  waves: Float32Array;
  targets: Float32Array;
  teacher?: Float32Array;
  band: { fminHz: number; fmaxHz: number };
  shifts: number[];
  mixup: MixupDraw | null;
}

/** Assemble a batch of segments `idx` (draws in a fixed order so a resumed run repeats them). */
export function assembleBatch(all: Segment[], idx: number[], aug: AugmentConfig, rng: Rng, baseBand: { fminHz: number; fmaxHz: number }, withTeacher: boolean): HostBatch {
  const examples: Example[] = idx.map((i) => {
    const s = all[i];
    const ex: Example = { wave: s.wave, targets: s.targets, teacher: withTeacher ? s.teacher : undefined };
    return waveMix(ex, () => {
      const o = all[rng.int(0, all.length)];
      return { wave: o.wave, targets: o.targets, teacher: withTeacher ? o.teacher : undefined };
    }, aug, rng);
  });
  const n = examples[0].wave.length;
  const per = examples[0].targets.length;
  const waves = new Float32Array(examples.length * n);
  const targets = new Float32Array(examples.length * per);
  const teacher = withTeacher ? new Float32Array(examples.length * per) : undefined;
  examples.forEach((e, k) => {
    waves.set(e.wave, k * n);
    targets.set(e.targets, k * per);
    if (teacher) teacher.set(e.teacher!, k * per);
  });
  const band = jitteredBand(baseBand, aug, rng);
  const shifts = drawShifts(examples.length, aug, rng);
  const mixup = drawMixup(examples.length, aug, rng);
  return { size: examples.length, samples: n, waves, targets, teacher, band, shifts, mixup };
}

export interface StepContext {
  model: SedModel;
  classes: number;
  /** Trainable parameter names and their variables. */
  names: string[];
  optimizer: GroupedAdam;
  melOf: MelFn;
  kdWeight: number;
  /** Online teacher: probabilities [b,250,C] for an (augmented) mel chunk. */
  teacherProbs?: (mel: tf.Tensor4D) => tf.Tensor3D;
  /**
   * Clips per forward/backward pass. A batch is split into chunks of this size whose gradients are
   * summed (weighted by chunk size) — needed on wasm, whose 4 GB heap holds the gradient tape of only
   * a few 10 s clips. BatchNorm statistics are then per chunk (the one difference to a whole batch).
   */
  microBatch: number;
  /** Worker threads that take a share of each batch's chunks (CPU backends; see gradientWorkers.ts). */
  workers?: GradientWorkers;
  /** The workers also compute their share of each batch's mel (only when `melOf` is the default frontend). */
  melOnWorkers?: boolean;
}

/** Gradient sums between optimizer steps (kept tensors), each contribution weighted. */
export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  /** Total weight added (one per full batch: chunk weights are chunk size / batch size). */
  weight = 0;
  /** Batches accumulated since the last optimizer step. */
  batches = 0;

  add(grads: Map<string, tf.Tensor>, weight: number): void {
    this.accumulate(grads, weight, weight);
  }

  /** Adds gradients already multiplied by their weights (a worker's sum over chunks), which total `weight`. */
  addWeightedSum(grads: Map<string, tf.Tensor>, weight: number): void {
    this.accumulate(grads, 1, weight);
  }

  private accumulate(grads: Map<string, tf.Tensor>, scale: number, weight: number): void {
    tf.tidy(() => {
      for (const [k, g] of grads) {
        const old = this.sums.get(k);
        const scaled = scale === 1 ? g : tf.mul(g, scale);
        this.sums.set(k, tf.keep(old ? tf.add(old, scaled) : scaled === g ? g.clone() : scaled));
        old?.dispose();
      }
    });
    this.weight += weight;
  }

  /** The weighted mean gradient (call inside a tidy), then `reset()`. */
  mean(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, s] of this.sums) out.set(k, this.weight === 1 ? s : tf.div(s, this.weight));
    return out;
  }

  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.weight = 0;
    this.batches = 0;
  }
}

/** Augmented network inputs of a whole batch (kept tensors; `dispose()` when done). */
export interface BatchInputs {
  mel: tf.Tensor4D;
  hard: tf.Tensor3D;
  soft: tf.Tensor3D | null;
  dispose(): void;
}

/**
 * The batch's mel spectrograms, [B, mels, frames, 1] (kept). With `ctx.melOnWorkers` the clips are shared out
 * like the chunks: each worker computes its share while this thread computes the first.
 */
export async function batchMel(ctx: StepContext, b: HostBatch): Promise<tf.Tensor4D> {
  // Shared only when every thread gets a clip (a short last batch stays here).
  if (!ctx.workers || !ctx.melOnWorkers || b.size <= ctx.workers.count) return tf.tidy(() => ctx.melOf(tf.tensor2d(b.waves, [b.size, b.samples]), b.band));
  const shares = splitChunks(Array.from({ length: b.size }, (_, i) => ({ start: i, n: 1 })), ctx.workers.count + 1).map((g) => ({ start: g[0]?.start ?? 0, n: g.length }));
  const clipsOf = ({ start, n }: ChunkRange) => b.waves.slice(start * b.samples, (start + n) * b.samples);
  const remote = ctx.workers.mels(shares.slice(1).map(clipsOf), b.samples, b.band);
  remote.catch(() => undefined); // awaited below; meanwhile a failure must not count as unhandled
  const own = tf.tidy(() => ctx.melOf(tf.tensor2d(clipsOf(shares[0]), [shares[0].n, b.samples]), b.band));
  let parts: Array<{ mel: Float32Array; shape: number[] }>;
  try {
    parts = await remote;
  } catch (err) {
    own.dispose();
    throw err;
  }
  const mel = tf.tidy(() => tf.concat([own, ...parts.map((p) => tf.tensor4d(p.mel, p.shape as [number, number, number, number]))], 0));
  own.dispose();
  return mel;
}

/**
 * Mel (`batchMel`, passed in) → frame shift → mixup (+ online teacher) for the whole batch, outside the
 * gradient tape, so mixup pairs span the batch however it is chunked for backprop. Takes over (disposes)
 * `batchMelSpec`.
 */
export function prepareInputs(ctx: StepContext, b: HostBatch, batchMelSpec: tf.Tensor4D): BatchInputs {
  const frames = FRAMES_PER_SEGMENT;
  const c = ctx.classes;
  const [keptMel, keptHard, keptSoft] = tf.tidy((): tf.Tensor[] => {
    let mel = batchMelSpec;
    const ratio = mel.shape[2] / frames;
    mel = shiftMel(mel, b.shifts);
    const roll = (host: Float32Array) => {
      const out = new Float32Array(host.length);
      for (let k = 0; k < b.size; k++) out.set(rollTargets(host.subarray(k * frames * c, (k + 1) * frames * c), frames, c, targetShift(b.shifts[k], ratio)), k * frames * c);
      return tf.tensor3d(out, [b.size, frames, c]);
    };
    let hard: tf.Tensor3D = roll(b.targets);
    let soft: tf.Tensor3D | null = b.teacher ? roll(b.teacher) : null;
    if (b.mixup) {
      mel = mixBatch(mel, b.mixup);
      hard = mixTargets(hard, b.mixup);
      if (soft) soft = mixTargets(soft, b.mixup);
    }
    return soft ? [mel, hard, soft] : [mel, hard];
  }) as [tf.Tensor4D, tf.Tensor3D, tf.Tensor3D | undefined];
  if (keptMel !== batchMelSpec) batchMelSpec.dispose();
  const kept = { mel: keptMel, hard: keptHard, soft: keptSoft ?? null };
  let soft = kept.soft;
  if (ctx.teacherProbs) {
    // Chunked too: an inference forward inside one tidy keeps all its intermediates until the end.
    const parts: tf.Tensor3D[] = [];
    for (let s = 0; s < b.size; s += ctx.microBatch) {
      const n = Math.min(ctx.microBatch, b.size - s);
      parts.push(tf.tidy(() => ctx.teacherProbs!(tf.slice(kept.mel, [s, 0, 0, 0], [n, -1, -1, -1]))));
    }
    soft = parts.length === 1 ? parts[0] : tf.tidy(() => tf.concat(parts, 0));
    if (parts.length > 1) parts.forEach((p) => p.dispose());
  }
  return {
    mel: kept.mel,
    hard: kept.hard,
    soft,
    dispose() {
      kept.mel.dispose();
      kept.hard.dispose();
      kept.soft?.dispose();
      if (soft !== kept.soft) soft?.dispose();
    },
  };
}

/** Thrown by batchStep when the signal fires between chunks (the partial gradient must be dropped). */
export class StopRequested extends Error {
  constructor() {
    super('training stopped');
  }
}

/**
 * Forward/backward of a batch, chunk by chunk; leaves the batch-mean gradient (weight 1 in total) in
 * `acc` and returns the batch-mean loss. With `ctx.workers` the later chunks run on worker threads while
 * this thread runs the first ones. Between chunks it yields to the event loop (so a JSON-RPC cancel or
 * Ctrl-C is read: a batch can take half a minute on wasm) and throws StopRequested when `signal` has fired.
 */
export async function batchStep(ctx: StepContext, b: HostBatch, acc: GradAccumulator, signal?: AbortSignal): Promise<number> {
  const inputs = prepareInputs(ctx, b, await batchMel(ctx, b));
  const ranges: ChunkRange[] = [];
  for (let s = 0; s < b.size; s += ctx.microBatch) ranges.push({ start: s, n: Math.min(ctx.microBatch, b.size - s) });
  const parts = ctx.workers && ranges.length > 1 ? splitChunks(ranges, ctx.workers.count + 1) : [ranges];
  const remote = parts.length > 1 ? ctx.workers!.run(ctx.model as EngineSedModel, ctx.optimizer.step, b.size, inputs, parts.slice(1)) : undefined;
  remote?.catch(() => undefined); // awaited after this thread's chunks; meanwhile a failure must not count as unhandled
  let lossSum = 0;
  try {
    for (const { start, n } of parts[0]) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (signal?.aborted) throw new StopRequested();
      const loss = tf.tidy(() => {
        const take = <T extends tf.Tensor>(t: T) => (n === b.size ? t : (tf.slice(t, start, n) as T));
        const { loss, grads } = chunkGradients(ctx.model, ctx.names, take(inputs.mel), take(inputs.hard), inputs.soft ? take(inputs.soft) : null, ctx.kdWeight);
        acc.add(grads, n / b.size);
        return loss;
      });
      // BatchNorm running statistics of this training forward (PyTorch updates them in train mode).
      // Inside a tidy so the new running values' temporaries (assigned into the variables) are released.
      tf.tidy(() => {
        (ctx.model as Partial<EngineSedModel>).applyBatchNormUpdate?.();
      });
      lossSum += checkedLoss((await readBack(loss, 'training step'))[0]) * n; // async: webgpu in Node has no synchronous read-back
      loss.dispose();
    }
    for (const result of remote ? await remote : []) lossSum += applyRemote(ctx, result, b.size, acc);
  } catch (err) {
    await remote?.catch(() => undefined); // a stopped batch is dropped whole: let the workers finish it first
    throw err;
  } finally {
    inputs.dispose();
  }
  acc.batches++;
  return lossSum / b.size;
}

function checkedLoss(v: number): number {
  if (!Number.isFinite(v)) throw new Error(`training loss became ${v} (learning rate too high, or bad input audio)`);
  return v;
}

/** A worker's share: its gradient sum into `acc`, its chunks' BN statistics in chunk order; returns Σ loss·n. */
function applyRemote(ctx: StepContext, r: RemoteResult, batchSize: number, acc: GradAccumulator): number {
  const clips = r.chunks.reduce((sum, c) => sum + c.n, 0);
  tf.tidy(() => acc.addWeightedSum(new Map(ctx.names.map((name, i) => [name, tf.tensor(r.grads[i], ctx.model.params.get(name)!.shape)])), clips / batchSize));
  let lossSum = 0;
  for (const c of r.chunks) {
    const model = ctx.model as EngineSedModel;
    model.queueBatchNormStats(new Map(Object.entries(c.batchNorm).map(([prefix, st]) => [prefix, { mean: tf.tensor1d(st.mean), variance: tf.tensor1d(st.variance) }])));
    tf.tidy(() => {
      model.applyBatchNormUpdate();
    });
    lossSum += checkedLoss(c.loss) * c.n;
  }
  return lossSum;
}

/** Apply the accumulated gradients with LR factor `factor`. */
export function optimizerStep(ctx: StepContext, acc: GradAccumulator, factor: number): void {
  tf.tidy(() => ctx.optimizer.apply(acc.mean(), factor));
  acc.reset();
}
