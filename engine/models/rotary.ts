/**
 * Rotary position embedding as in rotary_embedding_torch (freqs_for='lang', theta 10000), applied to the
 * whole head dimension with **interleaved pairs**: channels (2i, 2i+1) share inv_freq_i, positions 0..T−1,
 * rotate_half maps (x0, x1, x2, x3, …) → (−x1, x0, −x3, x2, …); x' = x·cos + rotate_half(x)·sin.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamSpec } from './params';
import { fusedTrainingOps, rotaryFused } from '../backend/webgpuTrainingOps';

/** inv_freq_i = 1 / 10000^(2i/d), i = 0..d/2−1 (upstream stores them as the parameter `freqs`). */
export function rotaryFreqs(headDim: number): Float32Array {
  const out = new Float32Array(headDim / 2);
  for (let i = 0; i < out.length; i++) out[i] = 1 / Math.pow(10000, (2 * i) / headDim);
  return out;
}

export function rotarySpec(key: string, headDim: number): ParamSpec {
  return { key, shape: [headDim / 2], layout: 'plain', role: 'freqs', init: { kind: 'custom', fill: () => rotaryFreqs(headDim) } };
}

/** cos/sin tables [T, d] for the stored `freqs` [d/2]. */
export function rotaryTables(freqs: tf.Tensor, length: number): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const half = freqs.shape[0];
  const angles = tf.outerProduct(tf.range(0, length, 1, 'float32') as tf.Tensor1D, freqs as tf.Tensor1D); // [T, d/2]
  const inter = tf.reshape(tf.tile(tf.reshape(angles, [length, half, 1]), [1, 1, 2]), [length, 2 * half]) as tf.Tensor2D;
  return { cos: tf.cos(inter), sin: tf.sin(inter) };
}

/**
 * The signed permutation R [d,d] with x·R = rotate_half(x): (x0, x1, …) → (−x1, x0, …). Applied as one
 * matmul because slicing the interleaved pairs needs 5-D slices, which the wasm backend runs very slowly.
 */
export function rotateHalfMatrix(d: number): tf.Tensor2D {
  const r = new Float32Array(d * d);
  for (let i = 0; i < d; i += 2) {
    r[(i + 1) * d + i] = -1; // out[i] = −x[i+1]
    r[i * d + i + 1] = 1; // out[i+1] = x[i]
  }
  return tf.tensor2d(r, [d, d]);
}

/** x [B,h,T,d] → x·cos + rotate_half(x)·sin, with `rot` = rotateHalfMatrix(d). */
export function applyRotary(x: tf.Tensor4D, cos: tf.Tensor2D, sin: tf.Tensor2D, rot: tf.Tensor2D): tf.Tensor4D {
  if (fusedTrainingOps()) return rotaryFused(x, cos, sin);
  const [B, H, T, d] = x.shape;
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [B * H * T, d]), rot), [B, H, T, d]);
  return tf.add(tf.mul(x, cos), tf.mul(rotated, sin));
}
