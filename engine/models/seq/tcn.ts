/**
 * TCN (MODEL_SPEC §3.4): seq_model.0 Linear(E→D), then 2 × { x += TemporalConvNet(x) }.
 * TemporalConvNet = 5 TemporalBlocks with dilation 1, 2, 4, 8, 16; each block:
 *   out = drop(relu(chomp(conv2(drop(relu(chomp(conv1(x))))))));  x = relu(out + x)
 * conv1/conv2: weight-normed Conv1d(D→D, k=3, dilation d, padding 2d) + bias, W = g·v/‖v‖ (norm over
 * in×k per output channel). Padding 2d on both sides then chomping the last 2d frames = a causal conv:
 *   y_t = W₀ x_{t−2d} + W₁ x_{t−d} + W₂ x_t + b,
 * computed here as one matmul over the three shifted copies ([B,T,3D] @ [3D,D]) — plain differentiable
 * ops (tfjs conv gradients do not support dilation). Works on [B,T,D] directly (no permutes needed).
 * State dict: each conv appears twice (`conv1.*` = `net.0.*`, `conv2.*` = `net.4.*`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from '../params';
import { torchDefaultBound } from '../init';
import { dropout, type ForwardContext } from '../layers';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const BLOCKS = 5;
const KERNEL = 3;
const DROPOUT = 0.2;

/** ‖v‖ per output channel of a PyTorch [out,in,k] weight, shaped like weight_g [out,1,1]. */
function rowNorms(v: Float32Array, shape: number[]): Float32Array {
  const [out, inDim, k] = shape;
  const g = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let s = 0;
    for (let i = 0; i < inDim * k; i++) s += v[o * inDim * k + i] ** 2;
    g[o] = Math.sqrt(s);
  }
  return g;
}

function convSpecs(pre: string, alias: string, D: number): ParamSpec[] {
  // weight_norm wraps a default-initialised Conv1d: v ~ U(±1/√(D·k)), g = ‖v‖ (upstream's later
  // `conv.weight.data.normal_` touches the derived weight only and has no effect).
  const bound = torchDefaultBound(D * KERNEL);
  return [
    { key: `${pre}.bias`, aliases: [`${alias}.bias`], shape: [D], layout: 'plain', role: 'param', init: { kind: 'uniform', bound } },
    { key: `${pre}.weight_g`, aliases: [`${alias}.weight_g`], shape: [D, 1, 1], layout: 'vector', role: 'param', init: { kind: 'const', value: 1 },
      derive: { from: `${pre}.weight_v`, fn: rowNorms } },
    { key: `${pre}.weight_v`, aliases: [`${alias}.weight_v`], shape: [D, D, KERNEL], layout: 'conv1d', role: 'param', init: { kind: 'uniform', bound } },
  ];
}

/** Causal dilated conv with weight norm; x [B,T,D]. */
function causalConv(p: ParamGetter, pre: string, x: tf.Tensor3D, dilation: number): tf.Tensor3D {
  const [B, T, D] = x.shape;
  const v = p(`${pre}.weight_v`); // [k,in,out]
  const w = tf.reshape(tf.mul(v, tf.div(p(`${pre}.weight_g`), tf.sqrt(tf.sum(tf.square(v), [0, 1])))), [KERNEL * D, D]);
  const xp = tf.pad(x, [[0, 0], [(KERNEL - 1) * dilation, 0], [0, 0]]);
  const taps = Array.from({ length: KERNEL }, (_, j) => tf.slice(xp, [0, j * dilation, 0], [B, T, D]));
  const y = tf.fused.matMul({ a: tf.reshape(tf.concat(taps, 2), [B * T, KERNEL * D]) as tf.Tensor2D, b: w as tf.Tensor2D, bias: p(`${pre}.bias`) });
  return tf.reshape(y, [B, T, D]);
}

function temporalConvNet(p: ParamGetter, pre: string, x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  for (let j = 0; j < BLOCKS; j++) {
    const d = 2 ** j;
    const b = `${pre}.network.${j}`;
    const h = dropout(tf.relu(causalConv(p, `${b}.conv1`, x, d)), DROPOUT, ctx);
    const out = dropout(tf.relu(causalConv(p, `${b}.conv2`, h, d)), DROPOUT, ctx);
    x = tf.relu(tf.add(out, x) as tf.Tensor3D);
  }
  return x;
}

export const tcnModel: SeqModelDef = {
  specs(E, D) {
    const specs = projectionSpecs(E, D);
    for (let i = 0; i < LAYERS; i++) {
      for (let j = 0; j < BLOCKS; j++) {
        const b = `seq_model.1.layers.${i}.network.${j}`;
        specs.push(...convSpecs(`${b}.conv1`, `${b}.net.0`, D), ...convSpecs(`${b}.conv2`, `${b}.net.4`, D));
      }
    }
    return specs;
  },
  outDim: (D) => D,
  forward(p, E, D, z, ctx) {
    const projected = project(p, E, D, z);
    let x = projected ?? z;
    for (let i = 0; i < LAYERS; i++) x = tf.add(x, temporalConvNet(p, `seq_model.1.layers.${i}`, x, ctx));
    return { projected, seq: x };
  },
  macs(E, D, T) {
    // Counted as PyTorch computes it: each conv produces T + 2d frames before the chomp.
    let perLayer = 0;
    for (let j = 0; j < BLOCKS; j++) perLayer += 2 * (T + 2 * 2 ** j) * D * D * KERNEL;
    return projectionMacs(E, D, T) + LAYERS * perLayer;
  },
};
