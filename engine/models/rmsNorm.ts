/**
 * Upstream's RMSNorm (models/sequence_models/helper.py): y = x / max(‖x‖₂, 1e-12) · √dim · γ over the
 * last axis (F.normalize semantics: the eps bounds the norm, not the mean square). Key `<prefix>.gamma`.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from './params';
import { fusedTrainingOps, rmsNormFused } from '../backend/webgpuTrainingOps';

export function rmsNorm<T extends tf.Tensor>(p: ParamGetter, prefix: string, x: T): T {
  return rmsNormWith(x, p(`${prefix}.gamma`));
}

/** RMSNorm with the gain γ given as a tensor. */
export function rmsNormWith<T extends tf.Tensor>(x: T, gamma: tf.Tensor): T {
  if (fusedTrainingOps()) return rmsNormFused(x, gamma);
  const dim = x.shape[x.rank - 1];
  const norm = tf.sqrt(tf.sum(tf.square(x), -1, true));
  return tf.mul(tf.div(x, tf.maximum(norm, 1e-12)), tf.mul(gamma, Math.sqrt(dim))) as T;
}

export function rmsNormSpecs(prefix: string, dim: number): ParamSpec[] {
  return [{ key: `${prefix}.gamma`, shape: [dim], layout: 'plain', role: 'param', init: { kind: 'const', value: 1 } }];
}
