/**
 * Training losses on strong logits [B, T, C] (MODEL_SPEC §4): mean BCE-with-logits, and the
 * knowledge-distillation mix w·BCE(student, teacher) + (1−w)·BCE(student, hard labels).
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedTrainingOps, kdLossFused } from '../backend/webgpuTrainingOps';

/** mean(max(x,0) − x·y + log(1 + e^−|x|)) — PyTorch's BCEWithLogitsLoss (mean), stable for large |x|. */
export function bceWithLogits(logits: tf.Tensor, targets: tf.Tensor): tf.Scalar {
  return tf.tidy(() => {
    if (logits.shape.join(',') !== targets.shape.join(',')) throw new Error(`BCE: logits [${logits.shape}] and targets [${targets.shape}] differ in shape`);
    const loss = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    return tf.mean(loss) as tf.Scalar;
  });
}

/**
 * KD loss. `teacher` holds probabilities (sigmoid of the teacher's logits / stored pseudo-labels);
 * without a teacher it is plain BCE on the hard labels.
 */
export function distillationLoss(logits: tf.Tensor, hard: tf.Tensor, teacher: tf.Tensor | null, kdWeight: number): tf.Scalar {
  if (!(kdWeight >= 0 && kdWeight <= 1)) throw new Error(`KD weight must be in [0, 1], got ${kdWeight}`);
  // The fused op reads the targets as flat arrays: shape mismatches take the checked tfjs path below.
  const same = (t: tf.Tensor | null) => !t || t.shape.join(',') === logits.shape.join(',');
  if (fusedTrainingOps() && same(hard) && same(teacher)) return kdLossFused(logits, hard, teacher ?? hard, teacher ? kdWeight : 0);
  if (!teacher) return bceWithLogits(logits, hard);
  return tf.tidy(() => tf.add(tf.mul(bceWithLogits(logits, teacher), kdWeight), tf.mul(bceWithLogits(logits, hard), 1 - kdWeight)) as tf.Scalar);
}
