/**
 * The recurrences of the sequence models as tfjs ops: minGRU's linear scan (HYBRID) and the BiGRU time loop.
 *
 * Parallel scan of the first-order linear recurrence h_t = a_t·h_{t−1} + b_t (h_{−1} = 0) along axis 1,
 * Hillis–Steele style: ⌈log₂T⌉ levels, each composing every element's affine map with the one `s` steps
 * earlier (b ← b + a·shift_s(b), a ← a·shift_s(a), shifts padded with the identity map a=1, b=0).
 *
 * This is the minGRU scan that upstream computes in log space (Heinsen: cumsum + logcumsumexp). Here it
 * stays in linear space on purpose: a_t = 1 − z_t ∈ (0,1) and b_t = z_t·g̃(ĥ_t) > 0 are computed directly,
 * products of a's can only underflow towards 0 (which is their true limit), and no exp of a cumulative
 * sum can overflow — tfjs has no logcumsumexp, and exp(−cumsum(log a)) overflows float32 after a few
 * dozen saturated gates. Every op is elementwise/slice/pad, so it runs and differentiates on all backends.
 * On webgpu (training ops registered) the recurrence runs sequentially instead, one pass each way
 * (webgpuTrainingOps.ts `linearScanFused`): the host cost of ~7 dispatches per level is what bounds a step there.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fusedTrainingOps, linearScanFused } from '../backend/webgpuTrainingOps';

export function linearScan(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (fusedTrainingOps()) return linearScanFused(a, b);
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

/** Columns [g·D, (g+1)·D) of a [rows, 3D] matrix (gate r, z or n of a stacked GRU weight). */
function gate(w: tf.Tensor, g: number, D: number): tf.Tensor {
  return tf.slice(w, [0, g * D], [w.shape[0], D]);
}

/**
 * Both directions of a BiGRU layer (bigru.ts) from the input projections of all frames, gi [B,T,3D] per
 * direction (gates r, z, n; b_ih and b_hr, b_hz included; the backward one time-reversed so step t reads
 * frame t for both), the hidden weights whh [D,3D] (engine layout) and b_hn [D] per direction →
 * forward ‖ backward [B,T,2D] (the backward half flipped back).
 *
 * The recurrence is inherently sequential, so per time step it does the minimum: both directions advance
 * together through one [B,2D]×[2D,6D] block-diagonal matmul, and each step is its own tidy so memory stays
 * O(B·T·D).
 */
export function biGruScan(giFwd: tf.Tensor3D, giBwdFlipped: tf.Tensor3D, whh: [tf.Tensor, tf.Tensor], bhn: [tf.Tensor, tf.Tensor]): tf.Tensor3D {
  const [B, T, D3] = giFwd.shape;
  const D = D3 / 3;
  const gi = [giFwd, giBwdFlipped];
  // The state h = [h_fwd, h_bwd] is [B, 2D]; gate columns are laid out [r_f, r_b, z_f, z_b, n_f, n_b] so
  // r, z and n of both directions are contiguous slices.
  const cols = (t: tf.Tensor, g: number): tf.Tensor => tf.slice(t, [0, 0, g * D], [B, T, D]);
  const giRz = tf.unstack(tf.transpose(tf.concat([cols(gi[0], 0), cols(gi[1], 0), cols(gi[0], 1), cols(gi[1], 1)], 2), [1, 0, 2])); // T × [B,4D]
  const giN = tf.unstack(tf.transpose(tf.concat([cols(gi[0], 2), cols(gi[1], 2)], 2), [1, 0, 2])); // T × [B,2D]
  // Block-diagonal hidden weight [2D, 6D]: one plain 2-D matmul per step (the wasm backend runs batched
  // matmuls on a much slower path than 2-D ones); the zero blocks double its MACs but not its time.
  const [wf, wb] = whh;
  const zero = tf.zeros([D, D]);
  const w = tf.concat([
    tf.concat([gate(wf, 0, D), zero, gate(wf, 1, D), zero, gate(wf, 2, D), zero], 1),
    tf.concat([zero, gate(wb, 0, D), zero, gate(wb, 1, D), zero, gate(wb, 2, D)], 1),
  ], 0) as tf.Tensor2D;
  const bias = tf.concat([tf.zeros([4 * D]), ...bhn]);
  let h: tf.Tensor2D = tf.zeros([B, 2 * D]);
  const outs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const prev = h;
    const next = tf.tidy(() => {
      const gh = tf.fused.matMul({ a: prev, b: w, bias }); // [B,6D]
      const rz = tf.sigmoid(tf.add(giRz[t], tf.slice(gh, [0, 0], [B, 4 * D])));
      const r = tf.slice(rz, [0, 0], [B, 2 * D]);
      const z = tf.slice(rz, [0, 2 * D], [B, 2 * D]);
      const n = tf.tanh(tf.add(giN[t], tf.mul(r, tf.slice(gh, [0, 4 * D], [B, 2 * D]))));
      return tf.add(n, tf.mul(z, tf.sub(prev, n))) as tf.Tensor2D;
    });
    outs.push(next);
    h = next;
  }
  const hs = tf.stack(outs, 1) as tf.Tensor3D; // [B,T,2D]; the backward half is in reversed time
  for (const o of outs) o.dispose();
  return tf.concat([tf.slice(hs, [0, 0, 0], [B, T, D]), tf.reverse(tf.slice(hs, [0, 0, D], [B, T, D]), 1)], 2);
}
