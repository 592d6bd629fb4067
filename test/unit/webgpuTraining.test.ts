/**
 * The fused training BatchNorm (its webgpu kernels: engine/backend/webgpuTraining.ts) on the webgpu backend
 * against what the backbone runs on the cpu backend (fmn.ts batchNormTrain, the activation's tfjs ops, the
 * residual add, through autodiff): output, dy/dx, dγ, dβ, d(residual) and the recorded statistics
 * (test/helpers/batchNormCases.ts); the fused squeeze-excitation (x·gate(x)) against seGateOps; the running
 * statistics' multi-tensor EMA. Then the dispatch counts. Runs on Mesa's
 * software adapter without a GPU: shapes stay small.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { fusedBatchNormAct } from '../../engine/backend/fusedBatchNorm';
import { fusedSeExcite, seExcite } from '../../engine/backend/webgpuTraining';
import { emaMany } from '../../engine/backend/fusedUpdates';
import { seGateOps } from '../../engine/backend/webgpuInference';
import { CASES, assertSameAsReference, inputs, op, relErr, runCase, type Result } from '../helpers/batchNormCases';
import { countDispatches } from '../helpers/webgpuDispatches';
import { initTestWebgpu } from '../helpers/webgpuCases';

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
      assertSameAsReference(await runCase(c, i), reference[i]);
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

  it('running statistics: emaMany gives β·x + (1−β)·y for each pair, several pairs per dispatch', async () => {
    const sizes = [5, 64, 1, 37, 200, 3, 16];
    const host = sizes.map((n, i) => ({ x: Float32Array.from({ length: n }, (_, j) => Math.sin(i + j)), y: Float32Array.from({ length: n }, (_, j) => Math.cos(3 * i + j) * 10) }));
    const betas = sizes.map((_, i) => 0.9 - 0.1 * i);
    const pairs = host.map(({ x, y }, i) => ({ x: tf.tensor1d(x), y: tf.tensor1d(y), beta: betas[i] }));
    const { result, dispatches } = countDispatches(() => emaMany(pairs));
    const perDispatch = Math.floor((tf.backend() as unknown as { device: GPUDevice }).device.limits.maxStorageBuffersPerShaderStage / 3);
    assert.equal(dispatches, Math.ceil(sizes.length / perDispatch));
    for (const [i, t] of result.entries()) {
      assert.deepEqual(t.shape, [sizes[i]]);
      const got = await t.data();
      const e = relErr(got as Float32Array, host[i].x.map((x, j) => betas[i] * x + (1 - betas[i]) * host[i].y[j]));
      assert.ok(e < 1e-6, `pair ${i}: ${e}`);
    }
    tf.dispose([...result, ...pairs.flatMap((p) => [p.x, p.y])]);
  });

  it('squeeze-excitation dispatches 2 kernels forward and 3 backward', () => {
    const ins = seInputs(SE_CASES[1], 1);
    const fwd = countDispatches(() => se(ins[0], ins[1], ins[2], ins[3], ins[4]));
    assert.equal(fwd.dispatches, 2);
    const both = countDispatches(() => tf.grads((x, w1, b1, w2, b2) => tf.sum(tf.mul(se(x, w1, b1, w2, b2), ins[5])))(ins.slice(0, 5)));
    const loss = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, ins[5])))(ins[0]));
    assert.equal(both.dispatches - loss.dispatches, 5);
    tf.dispose([...ins, fwd.result, ...both.result, loss.result]);
  });

  it('dispatches 3 kernels forward and 3 backward (6 with the residual and every gradient): the statistics finish as one dispatch each way', () => {
    const c = CASES[3];
    const ins = inputs(c, 3);
    const stats: tf.Tensor[] = [];
    const record = (m: tf.Tensor1D, v: tf.Tensor1D): number => stats.push(m, v);
    const fwd = countDispatches(() => op(c, ins, record));
    assert.equal(fwd.dispatches, 3);
    assert.deepEqual(fwd.programs, ['ChannelSplitProgram', 'sedBnFinish_moments', 'ElementwiseProgram']);
    const both = countDispatches(() => tf.grads((y: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) =>
      tf.sum(tf.mul(op(c, [y, g, b, r], record), ins[4])))(ins.slice(0, 4)));
    // + the loss: Mul and Sum forward, Sum's gradient broadcast and the Mul gradient back.
    const loss = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, ins[4])))(ins[0]));
    assert.equal(both.dispatches - loss.dispatches, 6);
    assert.ok(both.programs.includes('sedBnFinish_sums'));
    tf.dispose([...ins, fwd.result, ...both.result, loss.result, ...stats]);
  });
});
