/**
 * The native matrix products of the wasm backend (engine/backend/wasmMatMul.ts) against the cpu backend:
 * batch matmuls (row and column tails, transposed b, aᵀ·b, either operand broadcast over the batch),
 * linear layers with bias and ReLU, 1×1 convs and their input gradients. Each case first checks whether
 * its plan is native or the fallback, so a silent fallback (or a wrong native path) fails.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { MATMUL_KERNELS, matMulPlan } from '../../engine/backend/wasmMatMul';
import { nativeWasmMatMul } from '../../engine/backend/wasmTraining';
import { relErr } from '../helpers/batchNormCases';

interface Case {
  name: string;
  /** The kernel and its inputs' shapes and attributes, for the plan check. */
  kernel: string;
  inputs: Record<string, number[]>;
  attrs: Record<string, unknown>;
  native: boolean;
  /** The computation (on the active backend), from seeded inputs of those shapes. */
  run: (t: Record<string, tf.Tensor>) => tf.Tensor;
}

const matMulCase = (a: number[], b: number[], transposeA: boolean, transposeB: boolean, native: boolean): Case => ({
  name: `matMul [${a}]${transposeA ? 'ᵀ' : ''} · [${b}]${transposeB ? 'ᵀ' : ''}`,
  kernel: 'BatchMatMul',
  inputs: { a, b },
  attrs: { transposeA, transposeB },
  native,
  run: (t) => tf.matMul(t.a, t.b, transposeA, transposeB),
});

const linearCase = (a: number[], b: number[], bias: boolean, activation: tf.fused.Activation, native: boolean): Case => ({
  name: `fused matMul [${a}] · [${b}]${bias ? ' + bias' : ''}, ${activation}`,
  kernel: '_FusedMatMul',
  inputs: bias ? { a, b, bias: [b[b.length - 1]] } : { a, b },
  attrs: { transposeA: false, transposeB: false, activation },
  native,
  run: (t) => tf.fused.matMul({ a: t.a, b: t.b, bias: t.bias, activation }),
});

const convCase = (x: number[], k: number, co: number, stride: number, native: boolean): Case => ({
  name: `conv ${k}×${k} stride ${stride} [${x}] → ${co}: output and input gradient`,
  kernel: 'Conv2D',
  inputs: { x, filter: [k, k, x[3], co] },
  attrs: { strides: stride, pad: 'same', dilations: 1, dataFormat: 'NHWC' },
  native,
  run: (t) => {
    const conv = (v: tf.Tensor) => tf.conv2d(v as tf.Tensor4D, t.filter as tf.Tensor4D, stride, 'same');
    const up = tf.randomNormal(conv(t.x).shape, 0, 1, 'float32', 99);
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(conv(v), up)))(t.x);
    return tf.concat([tf.reshape(conv(t.x), [-1]), tf.reshape(dx, [-1])]);
  },
});

const CASES: Case[] = [
  matMulCase([13, 20], [20, 9], false, false, true), // row tail 1, column tail 1
  matMulCase([6, 5], [9, 5], false, true, true), // transposed b, row tail 2
  matMulCase([3, 7, 16], [3, 16, 250], false, false, true), // attention scores' shape, row tail 3
  matMulCase([2, 250, 16], [2, 250, 16], false, true, true),
  matMulCase([4, 10, 12], [12, 8], false, false, true), // b broadcast over a's batch
  matMulCase([10, 12], [4, 12, 8], false, false, true), // a broadcast over b's batch
  matMulCase([9, 1], [1, 17], false, false, true), // K = 1
  matMulCase([10, 12], [1, 12, 8], false, false, true), // a batch of one: the output keeps its batch dim
  matMulCase([37, 250], [37, 16], true, false, true), // aᵀ·b: a weight gradient
  matMulCase([2, 3, 50, 13], [2, 3, 50, 7], true, false, true),
  matMulCase([12, 10], [8, 12], true, true, false),
  matMulCase([2, 1, 4, 5], [1, 3, 5, 6], false, false, false), // both batches broadcast: [2, 3]
  linearCase([20, 24], [24, 11], true, 'linear', true),
  linearCase([3, 7, 24], [24, 13], true, 'relu', true),
  linearCase([20, 24], [24, 11], false, 'relu', true),
  linearCase([20, 24], [24, 11], true, 'elu', false),
  convCase([2, 3, 50, 24], 1, 8, 1, true),
  convCase([1, 2, 37, 13], 1, 7, 1, true),
  convCase([2, 4, 21, 40], 1, 18, 2, false), // strided 1×1
  convCase([2, 5, 9, 4], 3, 6, 1, false),
];

function seeded(c: Case, seed: number): Record<string, tf.Tensor> {
  // seed ≥ 1: tfjs draws unseeded for a seed of 0
  return Object.fromEntries(Object.entries(c.inputs).map(([k, shape], i) => [k, tf.randomNormal(shape, 0, 1, 'float32', seed + i)]));
}

describe('native matrix products on wasm', function () {
  this.timeout(120_000);
  const reference: Array<{ shape: number[]; data: Float32Array }> = [];

  before(async () => {
    await initBackend('cpu');
    for (const [i, c] of CASES.entries()) {
      const t = tf.tidy(() => c.run(seeded(c, 10 * i + 1)));
      reference.push({ shape: t.shape, data: (await t.data()) as Float32Array });
      t.dispose();
    }
    await initBackend('wasm');
  });

  it('registers its kernels on wasm', () => {
    for (const name of MATMUL_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
    assert.ok(nativeWasmMatMul(), 'BatchMatMul is the native one (attention then runs batched)');
  });

  for (const [i, c] of CASES.entries()) {
    it(`${c.name}: ${c.native ? 'native' : 'the fallback'}, as on cpu`, async () => {
      const infos = Object.fromEntries(Object.entries(c.inputs).map(([k, shape]) => [k, { shape, dtype: 'float32', dataId: {} } as tf.TensorInfo]));
      assert.equal(!!matMulPlan(c.kernel, infos, c.attrs), c.native, 'native plan');
      const got = tf.tidy(() => c.run(seeded(c, 10 * i + 1)));
      assert.deepEqual(got.shape, reference[i].shape);
      const e = relErr((await got.data()) as Float32Array, reference[i].data);
      got.dispose();
      assert.ok(e < 1e-5, `relative error ${e}`);
    });
  }

  it('the 1×1 conv input gradient runs natively (dy · Wᵀ)', () => {
    const attrs = { strides: 1, pad: 'same', dilations: 1, dataFormat: 'NHWC', inputShape: [2, 3, 50, 24] };
    const dy = { shape: [2, 3, 50, 8], dtype: 'float32', dataId: {} } as tf.TensorInfo;
    const filter = { shape: [1, 1, 24, 8], dtype: 'float32', dataId: {} } as tf.TensorInfo;
    const plan = matMulPlan('Conv2DBackpropInput', { dy, filter }, attrs);
    assert.ok(plan?.kind === 'gemm' && plan.transB && plan.M === 300 && plan.K === 8 && plan.N === 24, JSON.stringify(plan && { ...plan, a: 0, b: 0 }));
  });

  it('leaks no tensors', () => {
    const c = CASES[15];
    const t = seeded(c, 1);
    tf.tidy(() => c.run(t)).dispose();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) tf.tidy(() => c.run(t)).dispose();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(Object.values(t));
  });
});
