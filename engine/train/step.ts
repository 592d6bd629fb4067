/**
 * One training step: host-side batch assembly (wave-mix, per-batch fmin/fmax draw, shift and mixup
 * draws from the seeded RNG), then mel → augment → forward/backward on the active backend, with
 * gradient accumulation. Everything on the device is inside tf.tidy, so the tensor count is the same
 * after every step.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import type { EngineSedModel } from '../models/index';
import type { SedModel } from '../models/types';
import { drawMixup, drawShifts, jitteredBand, mixBatch, mixTargets, rollTargets, shiftMel, targetShift, waveMix, type AugmentConfig, type Example, type MixupDraw } from './augment';
import type { Segment } from './data';
import { FRAMES_PER_SEGMENT } from './labels';
import { distillationLoss } from './loss';
import type { GroupedAdam } from './optimizer';
import type { Rng } from './rng';
import type { MelFn } from './validation';

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
  /** Online teacher: probabilities [B,250,C] for an (augmented) mel batch. */
  teacherProbs?: (mel: tf.Tensor4D) => tf.Tensor3D;
  /** Micro-batches per optimizer step. */
  accumulate: number;
}

/** Gradient sums between optimizer steps (kept tensors). */
export class GradAccumulator {
  private sums = new Map<string, tf.Tensor>();
  count = 0;

  add(grads: Map<string, tf.Tensor>): void {
    for (const [k, g] of grads) {
      const old = this.sums.get(k);
      this.sums.set(k, tf.keep(old ? tf.add(old, g) : g.clone()));
      old?.dispose();
    }
    this.count++;
  }

  /** The mean gradient (inside a tidy) — callers then `reset()`. */
  mean(): Map<string, tf.Tensor> {
    const out = new Map<string, tf.Tensor>();
    for (const [k, s] of this.sums) out.set(k, this.count === 1 ? s : tf.div(s, this.count));
    return out;
  }

  reset(): void {
    for (const s of this.sums.values()) s.dispose();
    this.sums.clear();
    this.count = 0;
  }
}

/** Forward/backward of one micro-batch; returns its loss and leaves the gradients in `acc`. */
export function microStep(ctx: StepContext, b: HostBatch, acc: GradAccumulator): number {
  const frames = FRAMES_PER_SEGMENT;
  const c = ctx.classes;
  const vars = ctx.names.map((n) => ctx.model.params.get(n)!);
  const nameOf = new Map(vars.map((v, i) => [v.name, ctx.names[i]]));
  const loss = tf.tidy(() => {
    let mel = ctx.melOf(tf.tensor2d(b.waves, [b.size, b.samples]), b.band);
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
    if (ctx.teacherProbs) soft = ctx.teacherProbs(mel);
    const { value, grads } = tf.variableGrads(() => distillationLoss(ctx.model.forward(mel, { training: true }).strongLogits, hard, soft, ctx.kdWeight), vars);
    const named = new Map<string, tf.Tensor>();
    for (const [vn, g] of Object.entries(grads)) named.set(nameOf.get(vn)!, g);
    acc.add(named);
    return value;
  });
  // BatchNorm running statistics of this training forward (PyTorch updates them in train mode). Inside
  // a tidy so the new running values' temporaries (assigned into the variables) are released.
  tf.tidy(() => {
    (ctx.model as Partial<EngineSedModel>).applyBatchNormUpdate?.();
  });
  const v = loss.dataSync()[0];
  loss.dispose();
  if (!Number.isFinite(v)) throw new Error(`training loss became ${v} (learning rate too high, or bad input audio)`);
  return v;
}

/** Apply the accumulated gradients with LR factor `factor`. */
export function optimizerStep(ctx: StepContext, acc: GradAccumulator, factor: number): void {
  tf.tidy(() => ctx.optimizer.apply(acc.mean(), factor));
  acc.reset();
}
