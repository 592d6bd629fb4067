/**
 * Cases of the fused training BatchNorm → activation (→ residual) op (engine/backend/fusedBatchNorm.ts),
 * run the way the backbone runs it: the fused op where its kernels are registered, else fmn.ts
 * batchNormTrain + the activation's tfjs ops. Shapes have channel counts that are not multiples of 4 or of
 * the webgpu channel lanes, row counts that span several chunks, and a mean far from zero (where Σx, Σx²
 * would cancel). `assertSameAsReference` compares output, gradients and statistics with a cpu run.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { batchNormAct, fusedBatchNormAct, type TrainAct } from '../../engine/backend/fusedBatchNorm';
import { batchNormTrain } from '../../engine/models/fmn';
import { hardswish } from '../../engine/models/layers';

export const EPS = 1e-3;

export interface Case {
  shape: [number, number, number, number];
  act: TrainAct;
  residual: boolean;
  /** Mean of the input (its std is 2). */
  offset: number;
}

export const CASES: Case[] = [
  { shape: [2, 3, 5, 6], act: 'relu', residual: false, offset: 0.5 }, // one chunk, C < 8 channel lanes
  { shape: [3, 17, 29, 5], act: 'hardswish', residual: false, offset: 0 }, // 1479 rows: 2 chunks
  { shape: [2, 33, 40, 37], act: 'linear', residual: true, offset: 0 }, // 2640 rows: 3 chunks, 2 groups of 32 lanes
  { shape: [4, 19, 23, 11], act: 'hardswish', residual: true, offset: 50 }, // |mean| ≫ std, 2 groups of 8 lanes
  // Channels divisible by 4: webgpu's apply reads and writes vec4s.
  { shape: [2, 5, 7, 8], act: 'relu', residual: false, offset: 0.5 },
  { shape: [2, 9, 11, 24], act: 'hardswish', residual: true, offset: 0 },
  { shape: [3, 4, 9, 16], act: 'linear', residual: false, offset: 50 },
];

export interface Result {
  out: Float32Array;
  grads: Float32Array[]; // y, γ, β (, residual)
  mean: Float32Array;
  variance: Float32Array;
}

export function inputs(c: Case, i: number): tf.Tensor[] {
  const C = c.shape[3];
  return [
    tf.add(tf.mul(tf.randomNormal(c.shape, 0, 1, 'float32', 10 * i + 1), 2), c.offset),
    tf.randomNormal([C], 1, 0.3, 'float32', 10 * i + 2),
    tf.randomNormal([C], 0, 0.5, 'float32', 10 * i + 3),
    tf.randomNormal(c.shape, 0, 1, 'float32', 10 * i + 4),
    tf.randomNormal(c.shape, 0, 1, 'float32', 10 * i + 5), // upstream gradient
  ];
}

/** The backbone's training path: the fused op where registered, else batchNormTrain + act (+ residual). */
export function op(c: Case, [y, g, b, r]: tf.Tensor[], record: (m: tf.Tensor1D, v: tf.Tensor1D) => void): tf.Tensor {
  const residual = c.residual ? (r as tf.Tensor4D) : undefined;
  if (fusedBatchNormAct()) return batchNormAct(y as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, { act: c.act, eps: EPS, residual, record });
  const yn = batchNormTrain(y as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, record);
  const out = c.act === 'relu' ? tf.relu(yn) : c.act === 'hardswish' ? hardswish(yn) : yn;
  return residual ? tf.add(out, residual) : out;
}

export async function runCase(c: Case, i: number): Promise<Result> {
  const ins = inputs(c, i);
  const up = ins[4];
  const wrt = ins.slice(0, c.residual ? 4 : 3);
  let stats: tf.Tensor1D[] = [];
  const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
    const [y, g, b, r] = xs;
    return tf.sum(tf.mul(op(c, [y, g, b, r ?? ins[3]], (m, v) => (stats = [m, v])), up));
  })(wrt);
  const out = op(c, ins, () => undefined);
  const result = { out: (await out.data()) as Float32Array, grads: await Promise.all(grads.map(async (t) => (await t.data()) as Float32Array)), mean: (await stats[0].data()) as Float32Array, variance: (await stats[1].data()) as Float32Array };
  tf.dispose([...ins, value, ...grads, out, ...stats]);
  return result;
}

export function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return m / scale;
}

/** Output, statistics and every gradient of `got` within 1e-5 (variance 1e-4) of `ref`, relative to the largest value. */
export function assertSameAsReference(got: Result, ref: Result): void {
  assert.ok(relErr(got.out, ref.out) < 1e-5, `output: ${relErr(got.out, ref.out)}`);
  assert.ok(relErr(got.mean, ref.mean) < 1e-5, `mean: ${relErr(got.mean, ref.mean)}`);
  assert.ok(relErr(got.variance, ref.variance) < 1e-4, `variance: ${relErr(got.variance, ref.variance)}`);
  assert.equal(got.grads.length, ref.grads.length);
  ['dy', 'dγ', 'dβ', 'dresidual'].slice(0, got.grads.length).forEach((name, k) => {
    const e = relErr(got.grads[k], ref.grads[k]);
    assert.ok(e < 1e-5, `${name}: ${e}`);
  });
}
