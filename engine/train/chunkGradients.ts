/** Forward/backward of one chunk of a batch: shared by the training thread and the data-parallel workers. */
import * as tf from '@tensorflow/tfjs-core';
import './gradients';
import type { SedModel } from '../models/types';
import { distillationLoss } from './loss';

/**
 * The chunk's mean loss and the gradients of the parameters `names` (by name; a parameter the loss does
 * not reach has none), with the model in training mode. Call inside tf.tidy.
 */
export function chunkGradients(model: SedModel, names: string[], mel: tf.Tensor4D, hard: tf.Tensor3D, soft: tf.Tensor3D | null, kdWeight: number): { loss: tf.Scalar; grads: Map<string, tf.Tensor> } {
  const vars = names.map((n) => model.params.get(n)!);
  const nameOf = new Map(vars.map((v, i) => [v.name, names[i]]));
  const { value, grads } = tf.variableGrads(() => distillationLoss(model.forward(mel, { training: true }).strongLogits, hard, soft, kdWeight), vars);
  const named = new Map<string, tf.Tensor>();
  for (const [vn, g] of Object.entries(grads)) named.set(nameOf.get(vn)!, g);
  return { loss: value, grads: named };
}
