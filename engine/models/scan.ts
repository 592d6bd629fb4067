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

/**
 * Bidirectional minGRU (hybrid.ts) from the input projections ĥ ‖ g [B,T,2D] of the forward input and
 * of the time-flipped input: z = σ(g), h_t = (1−z_t)·h_{t−1} + z_t·g̃(ĥ_t) with g̃(x) = x + 0.5 if x ≥ 0
 * else σ(x), both directions stacked on the batch axis for one scan → forward ‖ backward (flipped back).
 */
export function biMinGruScan(fwd: tf.Tensor3D, bwdFlipped: tf.Tensor3D): tf.Tensor3D {
  const [B, T, D2] = fwd.shape;
  const D = D2 / 2;
  const hg = tf.concat([fwd, bwdFlipped], 0); // [2B,T,2D]
  const hidden = tf.slice(hg, [0, 0, 0], [2 * B, T, D]);
  const gate = tf.slice(hg, [0, 0, D], [2 * B, T, D]);
  const candidate = tf.where(tf.greaterEqual(hidden, 0), tf.add(hidden, 0.5), tf.sigmoid(hidden));
  const h = linearScan(tf.sigmoid(tf.neg(gate)), tf.mul(tf.sigmoid(gate), candidate));
  const hf = tf.slice(h, [0, 0, 0], [B, T, D]);
  const hb = tf.reverse(tf.slice(h, [B, 0, 0], [B, T, D]), 1);
  return tf.concat([hf, hb], 2);
}
