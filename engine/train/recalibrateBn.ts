/**
 * "Precise BN": BatchNorm running statistics recomputed as the average batch statistics of training-mode
 * forwards over clean (unaugmented) training clips, with the weights fixed. Useful for checkpoints whose
 * running statistics trail their weights: models fine-tuned briefly (running averages move by 1 % per step),
 * trained in small micro-batches, or trained before the running statistics dropped their initial values
 * (`batchNormMomentum`): our first GPU-trained default model kept 0.6 % of the initial running_var of 1,
 * which tripled its depthwise layers' variances (~2e-3) and collapsed eval-mode outputs (validation PSDS1
 * 0.22 → 0.58 mean per-class after recalibration, engine/assets/default-model/MODEL_CARD.md).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { EngineSedModel } from '../models/index';

export interface RecalibrateOptions {
  /** 10 s clips per forward pass. */
  batchSize: number;
  /** Mel frontend: waveforms [B, samples] → mel [B, 128, T, 1]. */
  melOf: (waves: tf.Tensor2D) => tf.Tensor4D;
  onProgress?: (done: number, total: number) => void;
}

/** Replace the model's BN running statistics by the mean batch statistics over `waves`; returns the batch count. */
export async function recalibrateBatchNorm(model: EngineSedModel, waves: Float32Array[], o: RecalibrateOptions): Promise<number> {
  if (!waves.length) throw new Error('BatchNorm recalibration needs at least one clip');
  const samples = waves[0].length;
  const sums = new Map<string, { mean: tf.Tensor; variance: tf.Tensor }>();
  let batches = 0;
  try {
    for (let i = 0; i < waves.length; i += o.batchSize) {
      const chunk = waves.slice(i, i + o.batchSize);
      const host = new Float32Array(chunk.length * samples);
      chunk.forEach((w, k) => host.set(w, k * samples));
      tf.tidy(() => {
        model.forward(o.melOf(tf.tensor2d(host, [chunk.length, samples])), { training: true });
      });
      for (const [prefix, s] of model.takeBatchNormStats()) {
        const old = sums.get(prefix);
        sums.set(prefix, old ? tf.tidy(() => ({ mean: tf.add(old.mean, s.mean), variance: tf.add(old.variance, s.variance) })) : { mean: s.mean, variance: s.variance });
        if (old) tf.dispose([old.mean, old.variance, s.mean, s.variance]);
      }
      batches++;
      o.onProgress?.(Math.min(i + o.batchSize, waves.length), waves.length);
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    for (const [prefix, s] of sums) {
      tf.tidy(() => {
        model.params.get(`${prefix}.running_mean`)!.assign(tf.div(s.mean, batches));
        model.params.get(`${prefix}.running_var`)!.assign(tf.div(s.variance, batches));
      });
    }
  } finally {
    for (const s of sums.values()) tf.dispose([s.mean, s.variance]);
  }
  return batches;
}
