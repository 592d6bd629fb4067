/**
 * The fused training BatchNorm (engine/backend/webgpuTraining.ts) on the webgpu backend against what the
 * backbone runs on the cpu backend (fmn.ts batchNormTrain, the activation's tfjs ops, the residual add,
 * through autodiff): output, dy/dx, dγ, dβ, d(residual) and the recorded statistics, on shapes with
 * channel counts that are not multiples of 4 or of the channel lanes, row counts that are not multiples
 * of the workgroup and span several chunks, and a mean far from zero (where Σx, Σx² would cancel); the
 * fused squeeze-excitation (x·gate(x)) against seGateOps. Then the dispatch counts. Runs on Mesa's
 * software adapter without a GPU: shapes stay small.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { batchNormAct, fusedBatchNormAct, fusedSeExcite, seExcite, type TrainAct } from '../../engine/backend/webgpuTraining';
import { seGateOps } from '../../engine/backend/webgpuInference';
import { batchNormTrain } from '../../engine/models/fmn';
import { hardswish } from '../../engine/models/layers';
import { countDispatches } from '../helpers/webgpuDispatches';
import { initTestWebgpu } from '../helpers/webgpuCases';

const EPS = 1e-3;

interface Case {
  shape: [number, number, number, number];
  act: TrainAct;
  residual: boolean;
  /** Mean of the input (its std is 2). */
  offset: number;
}

const CASES: Case[] = [
  { shape: [2, 3, 5, 6], act: 'relu', residual: false, offset: 0.5 }, // one chunk, C < 8 channel lanes
  { shape: [3, 17, 29, 5], act: 'hardswish', residual: false, offset: 0 }, // 1479 rows: 2 chunks
  { shape: [2, 33, 40, 37], act: 'linear', residual: true, offset: 0 }, // 2640 rows: 3 chunks, 2 groups of 32 lanes
  { shape: [4, 19, 23, 11], act: 'hardswish', residual: true, offset: 50 }, // |mean| ≫ std, 2 groups of 8 lanes
];

interface Result {
  out: Float32Array;
  grads: Float32Array[]; // y, γ, β (, residual)
  mean: Float32Array;
  variance: Float32Array;
}

function inputs(c: Case, i: number): tf.Tensor[] {
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
function op(c: Case, [y, g, b, r]: tf.Tensor[], record: (m: tf.Tensor1D, v: tf.Tensor1D) => void): tf.Tensor {
  const residual = c.residual ? (r as tf.Tensor4D) : undefined;
  if (fusedBatchNormAct()) return batchNormAct(y as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, { act: c.act, eps: EPS, residual, record });
  const yn = batchNormTrain(y as tf.Tensor4D, g as tf.Tensor1D, b as tf.Tensor1D, record);
  const out = c.act === 'relu' ? tf.relu(yn) : c.act === 'hardswish' ? hardswish(yn) : yn;
  return residual ? tf.add(out, residual) : out;
}

async function runCase(c: Case, i: number): Promise<Result> {
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

function relErr(a: Float32Array, b: Float32Array): number {
  let m = 0;
  let scale = 1e-6;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return m / scale;
}

const SE_CASES: Array<[number[], number]> = [
  [[3, 5, 7, 20], 8],
  [[2, 3, 9, 37], 12], // odd channel count, 6 lanes of 37 channels
];

/** x·gate(x): the fused op where registered, else the backbone's tfjs ops. */
function se(x: tf.Tensor, w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Tensor {
  const args = [x as tf.Tensor4D, w1 as tf.Tensor2D, b1 as tf.Tensor1D, w2 as tf.Tensor2D, b2 as tf.Tensor1D] as const;
  if (fusedSeExcite(x.shape[3]!, w1.shape[1]!)) return seExcite(...args);
  return tf.mul(x, tf.reshape(seGateOps(...args), [x.shape[0]!, 1, 1, x.shape[3]!]));
}

function seInputs([shape, squeeze]: [number[], number], i: number): tf.Tensor[] {
  const C = shape[3];
  const r = (s: number[], scale: number, k: number): tf.Tensor => tf.randomNormal(s, 0, scale, 'float32', 100 + 10 * i + k);
  return [tf.add(r(shape, 1, 1), 0.3), r([C, squeeze], 0.5, 2), r([squeeze], 0.3, 3), r([squeeze, C], 0.5, 4), r([C], 0.3, 5), r(shape, 1, 6)];
}

/** Output and gradients (x, w1, b1, w2, b2) of Σ se(x)·up. */
async function runSe(c: [number[], number], i: number): Promise<Float32Array[]> {
  const ins = seInputs(c, i);
  const up = ins[5];
  const out = se(ins[0], ins[1], ins[2], ins[3], ins[4]);
  const grads = tf.grads((x, w1, b1, w2, b2) => tf.sum(tf.mul(se(x, w1, b1, w2, b2), up)))(ins.slice(0, 5));
  const result = await Promise.all([out, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...ins, out, ...grads]);
  return result;
}

describe('fused training BatchNorm and squeeze-excitation on webgpu (software adapter on CI)', function () {
  this.timeout(300_000);
  const reference: Result[] = [];
  const seReference: Float32Array[][] = [];

  before(async function () {
    await initBackend('cpu');
    for (const [i, c] of CASES.entries()) reference.push(await runCase(c, i));
    for (const [i, c] of SE_CASES.entries()) seReference.push(await runSe(c, i));
    await initTestWebgpu();
    assert.ok(fusedBatchNormAct(), 'fused kernels registered on webgpu');
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    it(`[${c.shape}] ${c.act}${c.residual ? ' +residual' : ''} mean ${c.offset}: output, gradients and statistics as on cpu`, async () => {
      const got = await runCase(c, i);
      const ref = reference[i];
      assert.ok(relErr(got.out, ref.out) < 1e-5, `output: ${relErr(got.out, ref.out)}`);
      assert.ok(relErr(got.mean, ref.mean) < 1e-5, `mean: ${relErr(got.mean, ref.mean)}`);
      assert.ok(relErr(got.variance, ref.variance) < 1e-4, `variance: ${relErr(got.variance, ref.variance)}`);
      assert.equal(got.grads.length, ref.grads.length);
      ['dy', 'dγ', 'dβ', 'dresidual'].slice(0, got.grads.length).forEach((name, k) => {
        const e = relErr(got.grads[k], ref.grads[k]);
        assert.ok(e < 1e-5, `${name}: ${e}`);
      });
    });
  }

  for (const [i, c] of SE_CASES.entries()) {
    it(`squeeze-excitation [${c[0]}] → ${c[1]}: x·gate and its gradients as on cpu`, async () => {
      assert.ok(fusedSeExcite(c[0][3], c[1]));
      const got = await runSe(c, i);
      ['output', 'dx', 'dw1', 'db1', 'dw2', 'db2'].forEach((name, k) => {
        const e = relErr(got[k], seReference[i][k]);
        assert.ok(e < 1e-5, `${name}: ${e}`);
      });
    });
  }

  it('squeeze-excitation dispatches 2 kernels forward and 6 backward', () => {
    const ins = seInputs(SE_CASES[1], 1);
    const fwd = countDispatches(() => se(ins[0], ins[1], ins[2], ins[3], ins[4]));
    assert.equal(fwd.dispatches, 2);
    const both = countDispatches(() => tf.grads((x, w1, b1, w2, b2) => tf.sum(tf.mul(se(x, w1, b1, w2, b2), ins[5])))(ins.slice(0, 5)));
    const loss = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, ins[5])))(ins[0]));
    assert.equal(both.dispatches - loss.dispatches, 8);
    tf.dispose([...ins, fwd.result, ...both.result, loss.result]);
  });

  it('dispatches 4 kernels forward and 4 backward (8 with the residual and every gradient)', () => {
    const c = CASES[3];
    const ins = inputs(c, 3);
    const stats: tf.Tensor[] = [];
    const record = (m: tf.Tensor1D, v: tf.Tensor1D): number => stats.push(m, v);
    const fwd = countDispatches(() => op(c, ins, record));
    assert.equal(fwd.dispatches, 4);
    const both = countDispatches(() => tf.grads((y: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(op(c, [y, g, b, r], record), ins[4])))(ins.slice(0, 4)));
    // + the loss: Mul and Sum forward, Sum's gradient broadcast and the Mul gradient back.
    const loss = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, ins[4])))(ins[0]));
    assert.equal(both.dispatches - loss.dispatches, 8);
    tf.dispose([...ins, fwd.result, ...both.result, loss.result, ...stats]);
  });
});
