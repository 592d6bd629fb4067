/**
 * The reference's training augmentations (MODEL_SPEC §4), with the knobs the CLI exposes:
 * - wave-mix (dataset level): with probability p, mix the clip with a random other clip,
 *   λ ~ Beta(α,α), λ = max(λ, 1−λ), both zero-meaned before and the mix after; hard labels and teacher
 *   targets mixed with the same λ;
 * - fmin/fmax jitter of the mel filterbank, one draw per batch (fmin + U{0..9} Hz,
 *   fmax + 1000 − U{0..1999} Hz);
 * - frame shift: each clip's mel rolled in time by round(N(0, σ)) frames, its targets by
 *   round(shift / (mel frames per target frame));
 * - mel mixup with probability p per batch: a random pairing, c ~ Beta(α,α) per clip,
 *   c = max(c, 1−c), targets mixed alike and clipped to [0, 1].
 * Host-side steps work on typed arrays; the mel steps on tensors (no gradients flow through them).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng';

export interface AugmentConfig {
  waveMixP: number;
  waveMixAlpha: number;
  /** Standard deviation of the mel frame shift in mel frames (0 = off); reference 0.125·1000. */
  frameShiftSigma: number;
  melMixupP: number;
  melMixupAlpha: number;
  /** fmin/fmax jitter on (training only). */
  freqJitter: boolean;
}

export const REFERENCE_AUGMENT: Readonly<AugmentConfig> = Object.freeze({
  waveMixP: 0.5,
  waveMixAlpha: 2,
  frameShiftSigma: 125,
  melMixupP: 0.3,
  melMixupAlpha: 0.2,
  freqJitter: true,
});

export const NO_AUGMENT: Readonly<AugmentConfig> = Object.freeze({ waveMixP: 0, waveMixAlpha: 2, frameShiftSigma: 0, melMixupP: 0, melMixupAlpha: 0.2, freqJitter: false });

const meanOf = (x: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
};

/**
 * zeroMean(lam · zeroMean(a) + (1 − lam) · zeroMean(b)) in one buffer, with the float32 roundings of the
 * step-by-step version (a batch's wave mixes allocated ~100 MB of temporaries when written that way).
 */
function mixedZeroMean(a: Float32Array, b: Float32Array, lam: number): Float32Array {
  const [ma, mb] = [meanOf(a), meanOf(b)];
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = lam * Math.fround(a[i] - ma) + (1 - lam) * Math.fround(b[i] - mb);
  const m = meanOf(out);
  for (let i = 0; i < out.length; i++) out[i] -= m;
  return out;
}

function mixArrays(a: Float32Array, b: Float32Array, lam: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = lam * a[i] + (1 - lam) * b[i];
  return out;
}

export interface Example {
  wave: Float32Array;
  targets: Float32Array;
  teacher?: Float32Array;
}

/** Wave-mix one example with `other` (both same length) when the draw says so. */
export function waveMix(ex: Example, pickOther: () => Example, cfg: AugmentConfig, rng: Rng): Example {
  if (!(cfg.waveMixP > 0) || rng.next() >= cfg.waveMixP) return ex;
  const other = pickOther();
  let lam = rng.beta(cfg.waveMixAlpha, cfg.waveMixAlpha);
  lam = Math.max(lam, 1 - lam);
  const wave = mixedZeroMean(ex.wave, other.wave, lam);
  const targets = mixArrays(ex.targets, other.targets, lam);
  const teacher = ex.teacher && other.teacher ? mixArrays(ex.teacher, other.teacher, lam) : undefined;
  return { wave, targets, teacher };
}

/** fmin/fmax of the mel filterbank for this batch. */
export function jitteredBand(base: { fminHz: number; fmaxHz: number }, cfg: AugmentConfig, rng: Rng): { fminHz: number; fmaxHz: number } {
  if (!cfg.freqJitter) return { ...base };
  return { fminHz: base.fminHz + rng.int(0, 10), fmaxHz: base.fmaxHz + 1000 - rng.int(0, 2000) };
}

/** Per-clip mel frame shifts (in mel frames). */
export function drawShifts(batch: number, cfg: AugmentConfig, rng: Rng): number[] {
  return Array.from({ length: batch }, () => (cfg.frameShiftSigma > 0 ? Math.round(rng.normal() * cfg.frameShiftSigma) : 0));
}

/**
 * Roll each clip of mel [B,F,T,1] in time by its shift, torch.roll semantics (out[t] = x[(t − shift) mod T]),
 * as one gather: per-clip slices and concats cost ~100 kernels a batch, and on the GPU dispatches bound a step.
 */
export function shiftMel(mel: tf.Tensor4D, shifts: number[]): tf.Tensor4D {
  if (shifts.every((s) => s === 0)) return mel;
  const t = mel.shape[2];
  const idx = new Int32Array(shifts.length * t);
  shifts.forEach((shift, b) => {
    for (let i = 0; i < t; i++) idx[b * t + i] = (((i - shift) % t) + t) % t;
  });
  return tf.tidy(() => tf.gather(mel, tf.tensor2d(idx, [shifts.length, t], 'int32'), 2, 1) as tf.Tensor4D);
}

/** The target shift matching a mel shift: round(shift / ratio) (ratio = mel frames per target frame). */
export function targetShift(melShift: number, ratio: number): number {
  return Math.round(melShift / ratio);
}

/** Roll host frame targets [frames, C] by `shift` frames (torch.roll semantics). */
export function rollTargets(targets: Float32Array, frames: number, classes: number, shift: number): Float32Array {
  const s = ((shift % frames) + frames) % frames;
  if (s === 0) return targets;
  const out = new Float32Array(targets.length);
  for (let f = 0; f < frames; f++) out.set(targets.subarray(f * classes, (f + 1) * classes), ((f + s) % frames) * classes);
  return out;
}

export interface MixupDraw {
  perm: number[];
  lambdas: number[];
}

/** Decide mel mixup for a batch: null = not this batch. */
export function drawMixup(batch: number, cfg: AugmentConfig, rng: Rng): MixupDraw | null {
  if (!(cfg.melMixupP > 0) || rng.next() >= cfg.melMixupP) return null;
  const perm = rng.permutation(batch);
  const lambdas = Array.from({ length: batch }, () => {
    const c = rng.beta(cfg.melMixupAlpha, cfg.melMixupAlpha);
    return Math.max(c, 1 - c);
  });
  return { perm, lambdas };
}

/** x·λ + x[perm]·(1−λ) along the batch axis, for any rank. */
export function mixBatch<T extends tf.Tensor>(x: T, draw: MixupDraw): T {
  return tf.tidy(() => {
    const shape = [draw.lambdas.length, ...x.shape.slice(1).map(() => 1)];
    const lam = tf.tensor(draw.lambdas, shape);
    const other = tf.gather(x, tf.tensor1d(draw.perm, 'int32'), 0);
    return tf.add(tf.mul(x, lam), tf.mul(other, tf.sub(1, lam))) as T;
  });
}

/** Mixed targets, clipped to [0, 1] as the reference does. */
export function mixTargets<T extends tf.Tensor>(y: T, draw: MixupDraw): T {
  return tf.tidy(() => tf.clipByValue(mixBatch(y, draw), 0, 1) as T);
}
