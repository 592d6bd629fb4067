/**
 * BiGRU (MODEL_SPEC §3.3): torch.nn.GRU(E, D, num_layers=2, bidirectional=True, batch_first) with no
 * input projection. Output per frame = [forward h, backward h] → F = 2D.
 *   z [B,T,E] → layer 0 → [B,T,2D] → layer 1 → [B,T,2D]
 * Gate order in the stacked weights: r, z, n.
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, h₀ = 0.
 *
 * The recurrence is inherently sequential, so per time step it does the minimum: the input projections
 * of all frames come from one matmul per direction beforehand (with b_hr, b_hz folded in), both
 * directions advance together through one [B,2D]×[2D,6D] block-diagonal matmul, and each step is its own
 * tidy so memory stays O(B·T·D).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from '../params';
import { torchDefaultBound } from '../init';
import type { ForwardContext } from '../layers';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const DIRS = ['', '_reverse'];

function layerSpecs(l: number, inDim: number, D: number): ParamSpec[] {
  const bound = torchDefaultBound(D);
  const init = { kind: 'uniform' as const, bound };
  const specs: ParamSpec[] = [];
  for (const dir of DIRS) {
    const pre = `seq_model.0.gru`;
    specs.push(
      { key: `${pre}.weight_ih_l${l}${dir}`, shape: [3 * D, inDim], layout: 'linear', role: 'param', init },
      { key: `${pre}.weight_hh_l${l}${dir}`, shape: [3 * D, D], layout: 'linear', role: 'param', init },
      { key: `${pre}.bias_ih_l${l}${dir}`, shape: [3 * D], layout: 'plain', role: 'param', init },
      { key: `${pre}.bias_hh_l${l}${dir}`, shape: [3 * D], layout: 'plain', role: 'param', init },
    );
  }
  return specs;
}

/** Columns [from, from+D) of a [rows, 3D] matrix (gate r, z or n of a stacked GRU weight). */
function gate(w: tf.Tensor, g: number, D: number): tf.Tensor {
  return tf.slice(w, [0, g * D], [w.shape[0], D]);
}

function gruLayer(p: ParamGetter, l: number, x: tf.Tensor3D, D: number): tf.Tensor3D {
  const [B, T, inDim] = x.shape;
  const key = (name: string, dir: string): tf.Tensor => p(`seq_model.0.gru.${name}_l${l}${dir}`);
  // Both directions advance together on a [B, 2D] state h = [h_fwd, h_bwd]; gate columns are laid out
  // [r_f, r_b, z_f, z_b, n_f, n_b] so r, z and n of both directions are contiguous slices.
  // Input projections of all frames, one matmul per direction; the backward one is time-reversed so
  // step t reads frame t for both. b_hr, b_hz are added here; b_hn stays inside r ⊙ (W_hn h + b_hn).
  const xs = tf.reshape(x, [B * T, inDim]) as tf.Tensor2D;
  const gi = DIRS.map((dir) => {
    const bias = tf.add(key('bias_ih', dir), tf.concat([tf.slice(key('bias_hh', dir), [0], [2 * D]), tf.zeros([D])]));
    const g = tf.reshape(tf.fused.matMul({ a: xs, b: key('weight_ih', dir) as tf.Tensor2D, bias }), [B, T, 3 * D]);
    return dir ? tf.reverse(g, 1) : g;
  });
  const cols = (t: tf.Tensor, g: number): tf.Tensor => tf.slice(t, [0, 0, g * D], [B, T, D]);
  const giRz = tf.unstack(tf.transpose(tf.concat([cols(gi[0], 0), cols(gi[1], 0), cols(gi[0], 1), cols(gi[1], 1)], 2), [1, 0, 2])); // T × [B,4D]
  const giN = tf.unstack(tf.transpose(tf.concat([cols(gi[0], 2), cols(gi[1], 2)], 2), [1, 0, 2])); // T × [B,2D]
  // Block-diagonal hidden weight [2D, 6D]: one plain 2-D matmul per step (the wasm backend runs batched
  // matmuls on a much slower path than 2-D ones); the zero blocks double its MACs but not its time.
  const [wf, wb] = DIRS.map((dir) => key('weight_hh', dir));
  const zero = tf.zeros([D, D]);
  const whh = tf.concat([
    tf.concat([gate(wf, 0, D), zero, gate(wf, 1, D), zero, gate(wf, 2, D), zero], 1),
    tf.concat([zero, gate(wb, 0, D), zero, gate(wb, 1, D), zero, gate(wb, 2, D)], 1),
  ], 0) as tf.Tensor2D;
  const bhn = tf.concat([tf.zeros([4 * D]), ...DIRS.map((dir) => tf.slice(key('bias_hh', dir), [2 * D], [D]))]);
  let h: tf.Tensor2D = tf.zeros([B, 2 * D]);
  const outs: tf.Tensor2D[] = [];
  for (let t = 0; t < T; t++) {
    const prev = h;
    const next = tf.tidy(() => {
      const gh = tf.fused.matMul({ a: prev, b: whh, bias: bhn }); // [B,6D]
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

export const bigruModel: SeqModelDef = {
  specs(E, D) {
    const specs: ParamSpec[] = [];
    for (let l = 0; l < LAYERS; l++) specs.push(...layerSpecs(l, l === 0 ? E : 2 * D, D));
    return specs;
  },
  outDim: (D) => 2 * D,
  forward(p, _E, D, z, _ctx: ForwardContext) {
    let x = z;
    for (let l = 0; l < LAYERS; l++) x = gruLayer(p, l, x, D);
    return { seq: x };
  },
  macs(E, D, T) {
    let macs = 0;
    for (let l = 0; l < LAYERS; l++) macs += 2 * T * 3 * ((l === 0 ? E : 2 * D) * D + D * D);
    return macs;
  },
};
