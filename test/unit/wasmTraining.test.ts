/**
 * The native training kernels of the wasm backend (engine/backend/wasmTraining.ts, SIMD code in
 * engine/backend/native/) against the cpu backend: the fused BatchNorm → activation op's output,
 * statistics and gradients (test/helpers/batchNormCases.ts), the depthwise filter gradient on the
 * backbone's kernel sizes, strides and paddings, the 1×1 conv filter gradient (and the fallback for other
 * convs), depthwise convs and (over 1–2 rows) their input gradients, and the dropout mask's stream (the
 * matrix products: wasmMatMul.test.ts). Each test first checks the native kernel is the one registered, so a
 * silent fallback to tfjs ops fails.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { fusedBatchNormAct } from '../../engine/backend/fusedBatchNorm';
import { dropoutMask } from '../../engine/backend/dropoutMask';
import { WASM_TRAINING_KERNELS, nativeDepthwiseInfo } from '../../engine/backend/wasmTraining';
import { CASES, assertSameAsReference, inputs, op, relErr, runCase, type Result } from '../helpers/batchNormCases';

/** [x shape, kernel, stride (h, w), explicit padding [top, bottom, left, right]] as the fmn blocks use them. */
const DEPTHWISE: Array<[[number, number, number, number], number, [number, number], [number, number, number, number]]> = [
  [[2, 16, 25, 13], 3, [1, 1], [1, 1, 1, 1]],
  [[2, 17, 26, 8], 3, [2, 2], [1, 1, 1, 1]],
  [[3, 9, 31, 20], 5, [2, 1], [2, 2, 2, 2]],
  [[1, 11, 12, 7], 5, [1, 1], [2, 2, 2, 2]],
  [[2, 9, 20, 37], 5, [1, 1], [2, 2, 2, 2]], // wide rows: 16 channels a pass, then 4, then the tail
  [[2, 8, 15, 48], 3, [2, 2], [1, 1, 1, 1]],
];

/**
 * [x shape, output channels, kernel, stride]: 1×1 stride 1 runs natively (channel tails of its 4×8 tiles), as
 * do k×k convs with small filters (the stem); the others fall back.
 */
const CONV: Array<[[number, number, number, number], number, number, number]> = [
  [[2, 3, 50, 24], 8, 1, 1],
  [[1, 2, 37, 13], 7, 1, 1],
  [[3, 4, 21, 40], 18, 1, 1],
  [[2, 16, 20, 1], 8, 3, 2], // the stem
  [[2, 9, 20, 3], 8, 3, 2],
  [[2, 5, 9, 40], 20, 3, 1], // a large filter: the fallback
  [[2, 6, 8, 2], 6, 3, 1], // output channels not in fours
];

function convFilterGrad([shape, co, k, stride]: (typeof CONV)[number], seed: number): tf.Tensor {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const w = tf.randomNormal([k, k, shape[3], co], 0, 1, 'float32', seed + 1);
  const pad = k === 1 ? 'valid' : 'same';
  const y = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, stride, pad);
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
  return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad, dataFormat: 'NHWC', dilations: 1, filterShape: [k, k, shape[3], co] } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** [x shape, kernel, stride, padding]: forward natively; input gradients natively for mostly-padding taps (1–2 rows, 5×5), else the fallback. */
const DEPTHWISE_CONV: Array<[[number, number, number, number], number, [number, number], number]> = [
  [[2, 2, 30, 12], 5, [1, 1], 2],
  [[2, 1, 30, 7], 5, [1, 1], 2],
  [[3, 2, 17, 6], 5, [2, 1], 2],
  [[2, 6, 11, 4], 3, [1, 1], 1], // fallback
];

/** Output and input gradient of a depthwise conv, concatenated. */
function depthwiseConvAndGrad([shape, k, strides, p]: (typeof DEPTHWISE_CONV)[number], seed: number): tf.Tensor {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const w = tf.randomNormal([k, k, shape[3], 1], 0, 1, 'float32', seed + 1) as tf.Tensor4D;
  const pad = [[0, 0], [p, p], [p, p], [0, 0]] as tf.backend_util.ExplicitPadding;
  const y = tf.depthwiseConv2d(x as tf.Tensor4D, w, strides, pad);
  const up = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
  const dx = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(t as tf.Tensor4D, w, strides, pad), up)))(x);
  return tf.concat([tf.reshape(y, [-1]), tf.reshape(dx, [-1])]);
}

function depthwiseFilterGrad([shape, k, strides, [t, b, l, r]]: (typeof DEPTHWISE)[number], seed: number): tf.Tensor {
  const x = tf.randomNormal(shape, 0, 1, 'float32', seed);
  const w = tf.randomNormal([k, k, shape[3], 1], 0, 1, 'float32', seed + 1);
  const pad = [[0, 0], [t, b], [l, r], [0, 0]] as tf.backend_util.ExplicitPadding;
  const y = tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, strides, pad);
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', seed + 2);
  return tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { strides, pad, dilations: 1, filterShape: [k, k, shape[3], 1] } as unknown as tf.NamedAttrMap) as tf.Tensor;
}

describe('native training kernels on wasm', function () {
  this.timeout(120_000);
  const bnReference: Result[] = [];
  const dwReference: Float32Array[] = [];
  const convReference: Float32Array[] = [];
  const depthwiseConvReference: Float32Array[] = [];

  before(async () => {
    await initBackend('cpu');
    for (const [i, c] of CASES.entries()) bnReference.push(await runCase(c, i));
    for (const [i, c] of DEPTHWISE.entries()) dwReference.push((await tf.tidy(() => depthwiseFilterGrad(c, 10 * i + 1)).data()) as Float32Array);
    for (const [i, c] of CONV.entries()) convReference.push((await tf.tidy(() => convFilterGrad(c, 10 * i + 1)).data()) as Float32Array);
    for (const [i, c] of DEPTHWISE_CONV.entries()) depthwiseConvReference.push((await tf.tidy(() => depthwiseConvAndGrad(c, 10 * i + 1)).data()) as Float32Array);
    await initBackend('wasm');
  });

  it('registers its kernels on wasm', () => {
    assert.ok(fusedBatchNormAct(), 'the fused BatchNorm runs on wasm');
    for (const name of WASM_TRAINING_KERNELS) assert.ok(tf.getKernel(name, 'wasm'), name);
    assert.ok(WASM_TRAINING_KERNELS.includes('DepthwiseConv2dNativeBackpropFilter'));
    for (const name of ['Conv2DBackpropFilter', 'BatchMatMul', 'DepthwiseConv2dNative', 'DepthwiseConv2dNativeBackpropInput']) assert.ok(WASM_TRAINING_KERNELS.includes(name), name);
  });

  for (const [i, c] of CASES.entries()) {
    it(`BatchNorm [${c.shape}] ${c.act}${c.residual ? ' +residual' : ''} mean ${c.offset}: output, gradients and statistics as on cpu`, async () => {
      assertSameAsReference(await runCase(c, i), bnReference[i]);
    });
  }

  for (const [i, c] of DEPTHWISE.entries()) {
    it(`depthwise filter gradient x [${c[0]}] k ${c[1]} stride ${c[2]} pad ${c[3]} as on cpu`, async () => {
      const got = tf.tidy(() => depthwiseFilterGrad(c, 10 * i + 1));
      const e = relErr((await got.data()) as Float32Array, dwReference[i]);
      got.dispose();
      assert.ok(e < 1e-5, `relative error ${e}`);
    });
  }

  for (const [i, c] of CONV.entries()) {
    it(`conv filter gradient x [${c[0]}] → ${c[1]} channels, ${c[2]}×${c[2]} stride ${c[3]} as on cpu`, async () => {
      const got = tf.tidy(() => convFilterGrad(c, 10 * i + 1));
      const e = relErr((await got.data()) as Float32Array, convReference[i]);
      got.dispose();
      assert.ok(e < 1e-5, `relative error ${e}`);
    });
  }

  for (const [i, c] of DEPTHWISE_CONV.entries()) {
    it(`depthwise conv x [${c[0]}] ${c[1]}×${c[1]} stride ${c[2]} pad ${c[3]}: output and input gradient as on cpu`, async () => {
      const pad = [[0, 0], [c[3], c[3]], [c[3], c[3]], [0, 0]] as tf.backend_util.ExplicitPadding;
      const native = (pass: 'forward' | 'inputGrad') => !!nativeDepthwiseInfo(c[0], { strides: c[2], pad, filterShape: [c[1], c[1], c[0][3], 1] }, [c[1], c[1], c[0][3], 1], pass);
      assert.ok(native('forward'), 'the forward conv is native');
      assert.equal(native('inputGrad'), c[0][1] <= 2, 'the input gradient is native exactly where at most half the taps lie inside');
      const got = tf.tidy(() => depthwiseConvAndGrad(c, 10 * i + 1));
      const e = relErr((await got.data()) as Float32Array, depthwiseConvReference[i]);
      got.dispose();
      assert.ok(e < 1e-5, `relative error ${e}`);
    });
  }

  it('dropout mask: 0 or 1/(1−rate), dropping about `rate` of the elements', async () => {
    const mask = dropoutMask([1000, 100], 0.2);
    const values = (await mask.data()) as Float32Array;
    mask.dispose();
    const kept = values.filter((v) => v !== 0);
    assert.ok(kept.every((v) => Math.abs(v - 1.25) < 1e-6), 'kept values are 1/(1−rate)');
    assert.ok(Math.abs(1 - kept.length / values.length - 0.2) < 0.005, `dropped ${1 - kept.length / values.length}`);
  });

  it('dropout mask: the PCG stream of the webgpu kernel, element by element', async () => {
    const pcg = (v: number): number => {
      const state = (Math.imul(v, 747796405) + 2891336453) >>> 0;
      const word = Math.imul(((state >>> ((state >>> 28) + 4)) ^ state) >>> 0, 277803737) >>> 0;
      return ((word >>> 22) ^ word) >>> 0;
    };
    const [n, rate, seed] = [1003, 0.3, 0x9e3779b9];
    const mask = tf.engine().runKernel('SedDropoutMask', {}, { shape: [n], rate, seed } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const values = (await mask.data()) as Float32Array;
    mask.dispose();
    for (let i = 0; i < n; i++) {
      const expected = (pcg(pcg(i) ^ seed) >>> 8) / 16777216 >= rate ? 1 / (1 - rate) : 0;
      assert.ok(Math.abs(values[i] - expected) < 1e-6, `element ${i}: ${values[i]} vs ${expected}`);
    }
  });

  it('leaks no tensors over a forward + backward', () => {
    const c = CASES[3];
    const ins = inputs(c, 3);
    const step = () => {
      const stats: tf.Tensor[] = [];
      const { value, grads } = tf.valueAndGrads((y: tf.Tensor, g: tf.Tensor, b: tf.Tensor, r: tf.Tensor) =>
        tf.sum(tf.mul(op(c, [y, g, b, r], (m, v) => stats.push(m, v)), ins[4])))(ins.slice(0, 4));
      tf.dispose([value, ...grads, ...stats]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let k = 0; k < 3; k++) step();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose(ins);
  });
});
