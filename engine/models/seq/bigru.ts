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
 * directions advance together in one batched [2,B,D]×[2,D,3D] matmul, and each step is its own tidy so
 * memory stays O(B·T·D).
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

function gruLayer(p: ParamGetter, l: number, x: tf.Tensor3D, D: number): tf.Tensor3D {
  const [B, T, inDim] = x.shape;
  const key = (name: string, dir: string): tf.Tensor => p(`seq_model.0.gru.${name}_l${l}${dir}`);
  // Input projections of every frame, [2,T,B,3D]; the backward direction is time-reversed so step t
  // reads index t for both. b_hr, b_hz are added here; b_hn must stay inside r ⊙ (W_hn h + b_hn).
  const rzMask = tf.concat([tf.ones([2 * D]), tf.zeros([D])]);
  const gi = tf.stack(DIRS.map((dir) => {
    const bias = tf.add(key('bias_ih', dir), tf.mul(key('bias_hh', dir), rzMask));
    const g = tf.reshape(tf.fused.matMul({ a: tf.reshape(x, [B * T, inDim]) as tf.Tensor2D, b: key('weight_ih', dir) as tf.Tensor2D, bias }), [B, T, 3 * D]);
    return tf.transpose(dir ? tf.reverse(g, 1) : g, [1, 0, 2]); // [T,B,3D]
  }), 1); // [T,2,B,3D]
  const giRz = tf.unstack(tf.slice(gi, [0, 0, 0, 0], [T, 2, B, 2 * D]));
  const giN = tf.unstack(tf.slice(gi, [0, 0, 0, 2 * D], [T, 2, B, D]));
  const whh = tf.stack(DIRS.map((dir) => key('weight_hh', dir))) as tf.Tensor3D; // [2,D,3D]
  // Only b_hn enters the hidden-side matmul bias (r/z parts zero).
  const bhh = tf.reshape(tf.stack(DIRS.map((dir) => tf.mul(key('bias_hh', dir), tf.sub(1, rzMask)))), [2, 1, 3 * D]);
  let h: tf.Tensor3D = tf.zeros([2, B, D]);
  const outs: tf.Tensor3D[] = [];
  for (let t = 0; t < T; t++) {
    const next = tf.tidy(() => {
      const gh = tf.add(tf.matMul(h, whh), bhh); // [2,B,3D] (wasm's fused matmul takes rank-1 biases only)
      const rz = tf.sigmoid(tf.add(giRz[t], tf.slice(gh, [0, 0, 0], [2, B, 2 * D])));
      const r = tf.slice(rz, [0, 0, 0], [2, B, D]);
      const z = tf.slice(rz, [0, 0, D], [2, B, D]);
      const n = tf.tanh(tf.add(giN[t], tf.mul(r, tf.slice(gh, [0, 0, 2 * D], [2, B, D]))));
      return tf.add(n, tf.mul(z, tf.sub(h, n))) as tf.Tensor3D;
    });
    outs.push(next);
    h = next;
  }
  const hs = tf.stack(outs, 2) as tf.Tensor4D; // [2,B,T,D]
  for (const o of outs) o.dispose();
  const [fwd, bwdRev] = tf.unstack(hs) as tf.Tensor3D[];
  return tf.concat([fwd, tf.reverse(bwdRev, 1)], 2);
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
