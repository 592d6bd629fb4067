/**
 * Parallel scan of the first-order linear recurrence h_t = a_t·h_{t−1} + b_t (h_{−1} = 0) along axis 1,
 * Hillis–Steele style: ⌈log₂T⌉ levels, each composing every element's affine map with the one `s` steps
 * earlier (b ← b + a·shift_s(b), a ← a·shift_s(a), shifts padded with the identity map a=1, b=0).
 *
 * This is the minGRU scan that upstream computes in log space (Heinsen: cumsum + logcumsumexp). Here it
 * stays in linear space on purpose: a_t = 1 − z_t ∈ (0,1) and b_t = z_t·g̃(ĥ_t) > 0 are computed directly,
 * products of a's can only underflow towards 0 (which is their true limit), and no exp of a cumulative
 * sum can overflow — tfjs has no logcumsumexp, and exp(−cumsum(log a)) overflows float32 after a few
 * dozen saturated gates. Every op is elementwise/slice/pad, so it runs and differentiates on all backends.
 */
import * as tf from '@tensorflow/tfjs-core';

export function linearScan(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  const [B, T, D] = a.shape;
  let A = a;
  let H = b;
  for (let s = 1; s < T; s *= 2) {
    const hPrev = tf.pad(tf.slice(H, [0, 0, 0], [B, T - s, D]), [[0, 0], [s, 0], [0, 0]], 0);
    H = tf.add(H, tf.mul(A, hPrev));
    if (2 * s < T) A = tf.mul(A, tf.pad(tf.slice(A, [0, 0, 0], [B, T - s, D]), [[0, 0], [s, 0], [0, 0]], 1));
  }
  return H;
}
