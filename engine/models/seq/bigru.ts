/**
 * BiGRU (MODEL_SPEC §3.3): torch.nn.GRU(E, D, num_layers=2, bidirectional=True, batch_first) with no
 * input projection. Output per frame = [forward h, backward h] → F = 2D.
 *   z [B,T,E] → layer 0 → [B,T,2D] → layer 1 → [B,T,2D]
 * Gate order in the stacked weights: r, z, n.
 *   r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
 *   n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, h₀ = 0.
 *
 * The input projections of all frames come from one matmul per direction beforehand (with b_hr, b_hz
 * folded in); the time loop is scan.ts `biGruScan`. Inference on webgpu runs the fused ops
 * (webgpuSeqInference.ts) instead: 2 dispatches per layer, one GEMM for both directions' projections and
 * one for the whole recurrence.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from '../params';
import { torchDefaultBound } from '../init';
import type { ForwardContext } from '../layers';
import { biGruScan } from '../scan';
import { fusedBiGru, fusedLinear, seqKernelsActive } from '../../backend/webgpuSeqInference';
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

/** A layer's parameters of one direction ('' or '_reverse'). */
const param = (p: ParamGetter, l: number, name: string, dir: string): tf.Tensor => p(`seq_model.0.gru.${name}_l${l}${dir}`);

/** Bias of the input projection: b_ih + [b_hr, b_hz, 0] (b_hn stays inside r ⊙ (W_hn h + b_hn)). */
function projectionBias(bih: tf.Tensor, bhh: tf.Tensor, D: number): tf.Tensor {
  return tf.add(bih, tf.concat([tf.slice(bhh, [0], [2 * D]), tf.zeros([D])]));
}

/** b_hn, the part of b_hh inside r ⊙ (W_hn h + b_hn). */
const hiddenBias = (bhh: tf.Tensor, D: number): tf.Tensor => tf.slice(bhh, [2 * D], [D]);

function gruLayer(p: ParamGetter, l: number, x: tf.Tensor3D, D: number): tf.Tensor3D {
  const [B, T, inDim] = x.shape;
  const key = (name: string, dir: string): tf.Tensor => param(p, l, name, dir);
  // One matmul per direction; the backward one is time-reversed so step t reads frame t for both.
  const xs = tf.reshape(x, [B * T, inDim]) as tf.Tensor2D;
  const [giF, giB] = DIRS.map((dir) => {
    const bias = projectionBias(key('bias_ih', dir), key('bias_hh', dir), D);
    const g = tf.reshape(tf.fused.matMul({ a: xs, b: key('weight_ih', dir) as tf.Tensor2D, bias }), [B, T, 3 * D]) as tf.Tensor3D;
    return dir ? tf.reverse(g, 1) : g;
  });
  const [wf, wb] = DIRS.map((dir) => key('weight_hh', dir));
  const [bf, bb] = DIRS.map((dir) => hiddenBias(key('bias_hh', dir), D));
  return biGruScan(giF, giB, [wf, wb], [bf, bb]);
}

/**
 * A layer as fused ops: one GEMM for the input projections of both directions (weights and biases joined
 * once into the derived cache, forward then backward), then both recurrences in one dispatch.
 */
function gruLayerFused(p: ParamGetter, l: number, x: tf.Tensor3D, D: number, ctx: ForwardContext): tf.Tensor3D {
  const sources = DIRS.flatMap((dir) => ['weight_ih', 'bias_ih', 'weight_hh', 'bias_hh'].map((name) => param(p, l, name, dir)));
  const join = (): tf.Tensor[] => {
    const [wif, bif, whf, bhf, wib, bib, whb, bhb] = sources;
    return [
      tf.concat([wif, wib], 1),
      tf.concat([projectionBias(bif, bhf, D), projectionBias(bib, bhb, D)]),
      tf.concat([whf, whb], 1),
      tf.concat([hiddenBias(bhf, D), hiddenBias(bhb, D)]),
    ];
  };
  const [wih, bias, whh, bhn] = ctx.derived ? ctx.derived.get(`seq_model.0.gru.l${l}`, sources, join) : join();
  return fusedBiGru(fusedLinear(x, wih, bias), whh, bhn);
}

export const bigruModel: SeqModelDef = {
  specs(E, D) {
    const specs: ParamSpec[] = [];
    for (let l = 0; l < LAYERS; l++) specs.push(...layerSpecs(l, l === 0 ? E : 2 * D, D));
    return specs;
  },
  outDim: (D) => 2 * D,
  forward(p, _E, D, z, ctx: ForwardContext) {
    const fused = !ctx.training && seqKernelsActive();
    let x = z;
    for (let l = 0; l < LAYERS; l++) x = fused ? gruLayerFused(p, l, x, D, ctx) : gruLayer(p, l, x, D);
    return { seq: x };
  },
  macs(E, D, T) {
    let macs = 0;
    for (let l = 0; l < LAYERS; l++) macs += 2 * T * 3 * ((l === 0 ? E : 2 * D) * D + D * D);
    return macs;
  },
};
