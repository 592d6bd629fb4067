/**
 * The gradient kernels registered on wasm (engine/backend/wasmKernels.ts) against the cpu backend's
 * own kernels, on random shapes with the strides/paddings/kernel sizes the fmn backbones use.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';
import { initBackend } from '../../engine/backend/select';
import { dropoutMask } from '../../engine/backend/dropoutMask';
import { compactTranspose, WASM_GRADIENT_KERNELS } from '../../engine/backend/wasmKernels';

type Pad = 'same' | 'valid' | number | tf.backend_util.ExplicitPadding;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

function randomData(shape: number[], seed: number): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = r();
  return out;
}

/** Run `fn` on `backend` with fresh tensors built from host data; returns host data. */
async function on(backend: string, fn: () => tf.Tensor): Promise<Float32Array> {
  await tf.setBackend(backend);
  const t = tf.tidy(fn);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function assertClose(actual: Float32Array, expected: Float32Array, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let maxAbs = 0;
  let maxRef = 0;
  for (let i = 0; i < actual.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(actual[i] - expected[i]));
    maxRef = Math.max(maxRef, Math.abs(expected[i]));
  }
  assert.ok(maxRef > 0, `${label}: reference is all zeros`);
  assert.ok(maxAbs / maxRef <= 2e-5, `${label}: max abs error ${maxAbs} vs max |ref| ${maxRef} (rel ${maxAbs / maxRef})`);
}

interface Case {
  n: number; h: number; w: number; cin: number; cout: number; k: number; stride: [number, number]; pad: Pad;
}

const PYTORCH_PAD = (k: number): tf.backend_util.ExplicitPadding => [[0, 0], [(k - 1) >> 1, (k - 1) >> 1], [(k - 1) >> 1, (k - 1) >> 1], [0, 0]];

const CASES: Case[] = [
  { n: 2, h: 16, w: 20, cin: 3, cout: 5, k: 3, stride: [2, 2], pad: 'same' },
  { n: 2, h: 17, w: 12, cin: 4, cout: 6, k: 3, stride: [2, 1], pad: PYTORCH_PAD(3) },
  { n: 1, h: 12, w: 15, cin: 5, cout: 4, k: 5, stride: [1, 1], pad: 'same' },
  { n: 2, h: 16, w: 10, cin: 6, cout: 3, k: 5, stride: [2, 1], pad: PYTORCH_PAD(5) },
  { n: 3, h: 9, w: 11, cin: 8, cout: 7, k: 1, stride: [1, 1], pad: 'valid' },
  { n: 2, h: 10, w: 9, cin: 3, cout: 2, k: 3, stride: [2, 2], pad: 'valid' },
  { n: 2, h: 32, w: 40, cin: 1, cout: 8, k: 3, stride: [2, 2], pad: PYTORCH_PAD(3) },
  { n: 2, h: 13, w: 17, cin: 5, cout: 4, k: 3, stride: [1, 2], pad: PYTORCH_PAD(3) },
  { n: 3, h: 11, w: 9, cin: 6, cout: 5, k: 3, stride: [1, 1], pad: PYTORCH_PAD(3) },
  { n: 2, h: 15, w: 13, cin: 7, cout: 3, k: 5, stride: [2, 2], pad: PYTORCH_PAD(5) },
  { n: 2, h: 9, w: 14, cin: 4, cout: 6, k: 5, stride: [1, 2], pad: PYTORCH_PAD(5) },
  { n: 2, h: 7, w: 13, cin: 3, cout: 10, k: 1, stride: [1, 1], pad: 'valid' },
  // Few frequency rows (the late fmn blocks): whole filter rows fall in the padding.
  { n: 2, h: 2, w: 11, cin: 6, cout: 3, k: 5, stride: [1, 1], pad: PYTORCH_PAD(5) },
  { n: 2, h: 2, w: 9, cin: 4, cout: 3, k: 5, stride: [2, 1], pad: PYTORCH_PAD(5) },
  { n: 3, h: 1, w: 7, cin: 5, cout: 2, k: 3, stride: [1, 1], pad: PYTORCH_PAD(3) },
  { n: 2, h: 3, w: 8, cin: 3, cout: 4, k: 3, stride: [2, 2], pad: 'same' },
];

function describeCase(c: Case): string {
  return `x[${c.n},${c.h},${c.w},${c.cin}] k${c.k} stride ${c.stride} pad ${JSON.stringify(c.pad)}`;
}

describe('wasm gradient kernels (vs cpu backend)', function () {
  this.timeout(120000);
  before(async () => {
    await initBackend('wasm');
  });
  after(async () => {
    await tf.setBackend('wasm');
  });

  it('are registered on wasm', () => {
    for (const name of ['Conv2DBackpropFilter', 'DepthwiseConv2dNativeBackpropFilter', 'DepthwiseConv2dNativeBackpropInput']) {
      assert.ok(WASM_GRADIENT_KERNELS.includes(name), name);
      assert.ok(tf.getKernel(name, 'wasm'), `${name} not registered`);
    }
  });

  for (const [idx, c] of CASES.entries()) {
    it(`Conv2DBackpropFilter ${describeCase(c)}`, async () => {
      const filterShape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
      const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
      const outShape = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.stride, 1, c.pad).outShape;
      const x = randomData(xShape, 11 + idx);
      const dy = randomData(outShape, 23 + idx);
      const attrs = { strides: c.stride, pad: c.pad, dataFormat: 'NHWC', filterShape } as unknown as tf.NamedAttrMap;
      const run = () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, outShape as [number, number, number, number]) }, attrs) as tf.Tensor;
      assertClose(await on('wasm', run), await on('cpu', run), 'filter grad');
    });

    it(`DepthwiseConv2dNative backprop filter+input ${describeCase(c)}`, async () => {
      const filterShape: [number, number, number, number] = [c.k, c.k, c.cin, 1];
      const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
      const outShape = tf.backend_util.computeConv2DInfo(xShape, filterShape, c.stride, 1, c.pad, undefined, true).outShape as [number, number, number, number];
      const x = randomData(xShape, 31 + idx);
      const f = randomData(filterShape, 37 + idx);
      const dy = randomData(outShape, 41 + idx);
      const attrs = { strides: c.stride, pad: c.pad, dilations: [1, 1] } as unknown as tf.NamedAttrMap;
      const runFilter = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: tf.tensor4d(x, xShape), dy: tf.tensor4d(dy, outShape) }, { ...attrs, filterShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      const runInput = () => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy: tf.tensor4d(dy, outShape), filter: tf.tensor4d(f, filterShape) }, { ...attrs, inputShape: xShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      assertClose(await on('wasm', runFilter), await on('cpu', runFilter), 'depthwise filter grad');
      assertClose(await on('wasm', runInput), await on('cpu', runInput), 'depthwise input grad');
    });
  }

  it('compactTranspose equals tf.transpose for high-rank, size-1 and no-op permutations', async () => {
    const shapes: Array<[number[], number[]]> = [
      [[2, 3, 2, 5, 2, 4], [2, 4, 1, 3, 0, 5]],
      [[2, 3, 2, 5, 2, 4], [2, 4, 0, 1, 3, 5]],
      [[3, 1, 4, 2, 5], [4, 3, 0, 2, 1]],
      [[2, 1, 3, 1, 4], [2, 4, 0, 1, 3]],
      [[4, 5], [1, 0]],
      [[2, 3, 1, 4], [0, 2, 1, 3]],
    ];
    for (const [shape, perm] of shapes) {
      const data = randomData(shape, shape.length);
      const expected = await on('cpu', () => tf.transpose(tf.tensor(data, shape), perm));
      const actual = await on('wasm', () => compactTranspose(tf.tensor(data, shape), perm));
      assert.deepEqual([...actual], [...expected], `shape [${shape}] perm [${perm}]`);
    }
  });

  it('faster paths: BatchMatMul/_FusedMatMul with transposed operands and 1×1 Conv2DBackpropInput match cpu', async () => {
    const a = randomData([3, 20, 7], 1);
    const b = randomData([3, 9, 20], 2);
    const bias = randomData([9], 3);
    const cases: Array<[string, () => tf.Tensor]> = [
      ['matMul tA tB', () => tf.matMul(tf.tensor3d(a, [3, 20, 7]), tf.tensor3d(b, [3, 9, 20]), true, true)],
      ['matMul tA', () => tf.matMul(tf.tensor3d(a, [3, 20, 7]), tf.tensor3d(a, [3, 20, 7]), true, false)],
      ['matMul tB 2-D', () => tf.matMul(tf.tensor2d(b.subarray(0, 180), [9, 20]), tf.tensor2d(b.subarray(180, 360), [9, 20]), false, true)],
      ['fused matMul tB + bias + relu', () => tf.fused.matMul({ a: tf.tensor2d(a.subarray(0, 140), [7, 20]), b: tf.tensor2d(b.subarray(0, 180), [9, 20]), transposeB: true, bias: tf.tensor1d(bias), activation: 'relu' })],
    ];
    for (const [label, run] of cases) assertClose(await on('wasm', run), await on('cpu', run), label);
    for (const [k, stride] of [[1, 1], [3, 1], [1, 2]] as const) {
      const xShape: [number, number, number, number] = [2, 8, 10, 6];
      const filterShape: [number, number, number, number] = [k, k, 6, 5];
      const pad = k === 1 ? 'valid' : 'same';
      const outShape = tf.backend_util.computeConv2DInfo(xShape, filterShape, stride, 1, pad).outShape as [number, number, number, number];
      const dy = randomData(outShape, 4 + k);
      const f = randomData(filterShape, 5 + k);
      const run = () => tf.engine().runKernel('Conv2DBackpropInput', { dy: tf.tensor4d(dy, outShape), filter: tf.tensor4d(f, filterShape) }, { strides: stride, pad, dataFormat: 'NHWC', inputShape: xShape } as unknown as tf.NamedAttrMap) as tf.Tensor;
      assertClose(await on('wasm', run), await on('cpu', run), `Conv2DBackpropInput k${k} stride ${stride}`);
    }
  });

  it('Sum and Mean over leading, middle and all axes (keepDims or not) match cpu', async () => {
    const shape = [3, 5, 7, 6];
    const x = randomData(shape, 9);
    const cases: Array<[number[], boolean]> = [[[0, 1, 2], false], [[1, 2], true], [[1, 2], false], [[0], false], [[0, 1, 2, 3], false], [[3], true], [[2, 1], false], [[0, 2], false]];
    for (const [axes, keepDims] of cases) {
      for (const op of ['sum', 'mean'] as const) {
        const run = () => tf[op](tf.tensor(x, shape), axes, keepDims);
        assertClose(await on('wasm', run), await on('cpu', run), `${op} axes [${axes}] keepDims ${keepDims}`);
        await tf.setBackend('wasm');
        const wasmShape = tf.tidy(run).shape;
        await tf.setBackend('cpu');
        assert.deepEqual(wasmShape, tf.tidy(run).shape, `${op} axes [${axes}] keepDims ${keepDims}: shape`);
      }
    }
  });

  it('binary ops with a per-channel vector (either side, any C, rows not divisible) match cpu, shapes included', async () => {
    const cases: Array<[number[], number[]]> = [[[4, 6, 5, 8], [8]], [[2, 32, 24], [1, 1, 24]], [[64, 24], [1, 24]], [[7, 5], [5]], [[45, 3], [3]], [[16, 300], [300]], [[5, 3], [1, 1, 3]]];
    for (const [shape, vecShape] of cases) {
      const big = randomData(shape, shape.length + shape[0]);
      const vec = randomData(vecShape, 3).map((v) => v + 1);
      for (const op of ['mul', 'add', 'sub', 'div'] as const) {
        for (const [label, run] of [
          [`${op} [${shape}] ∘ [${vecShape}]`, () => tf[op](tf.tensor(big, shape), tf.tensor(vec, vecShape))],
          [`${op} [${vecShape}] ∘ [${shape}]`, () => tf[op](tf.tensor(vec, vecShape), tf.tensor(big, shape))],
        ] as Array<[string, () => tf.Tensor]>) {
          assertClose(await on('wasm', run), await on('cpu', run), label);
          await tf.setBackend('wasm');
          const wasmShape = tf.tidy(run).shape;
          await tf.setBackend('cpu');
          assert.deepEqual(wasmShape, tf.tidy(run).shape, `${label}: shape`);
        }
      }
    }
  });

  it('dropout masks are drawn on the heap with the webgpu kernel\'s PCG hash: 0 or 1/(1−rate), rate of zeros, new per call', async () => {
    await tf.setBackend('wasm');
    const pcg = (v: bigint) => {
      const state = (v * 747796405n + 2891336453n) % 2n ** 32n;
      const word = (((state >> ((state >> 28n) + 4n)) ^ state) * 277803737n) % 2n ** 32n;
      return (word >> 22n) ^ word;
    };
    const seed = 0x9e3779b9n;
    const fixed = tf.engine().runKernel('SedDropoutMask', {}, { shape: [3, 5], rate: 0.5, seed: Number(seed) } as unknown as tf.NamedAttrMap) as tf.Tensor;
    const expected = Array.from({ length: 15 }, (_, i) => (Number(pcg(pcg(BigInt(i)) ^ seed) >> 8n) / 2 ** 24 >= 0.5 ? 2 : 0));
    assert.deepEqual(Array.from(await fixed.data()), expected);
    const a = await dropoutMask([64, 1000], 0.2).data();
    const b = await dropoutMask([64, 1000], 0.2).data();
    assert.ok(a.every((v) => v === 0 || Math.abs(v - 1.25) < 1e-6));
    const zeros = a.filter((v) => v === 0).length / a.length;
    assert.ok(Math.abs(zeros - 0.2) < 0.01, `drop fraction ${zeros}`);
    assert.ok(a.some((v, i) => v !== b[i]), 'two masks are identical');
  });

  it('gradients of a conv → depthwise → conv chain through tf.grads match cpu and leak no tensors', async () => {
    const xShape: [number, number, number, number] = [2, 16, 12, 1];
    const x = randomData(xShape, 5);
    const w1 = randomData([3, 3, 1, 4], 6);
    const w2 = randomData([5, 5, 4, 1], 7);
    const w3 = randomData([1, 1, 4, 3], 8);
    const run = () => {
      const params = [tf.tensor4d(w1, [3, 3, 1, 4]), tf.tensor4d(w2, [5, 5, 4, 1]), tf.tensor4d(w3, [1, 1, 4, 3])];
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) => {
        let h = tf.conv2d(tf.tensor4d(x, xShape), a as tf.Tensor4D, [2, 2], PYTORCH_PAD(3));
        h = tf.relu(h);
        h = tf.depthwiseConv2d(h as tf.Tensor4D, b as tf.Tensor4D, [2, 1], PYTORCH_PAD(5));
        h = tf.conv2d(h as tf.Tensor4D, c as tf.Tensor4D, 1, 'valid');
        return tf.sum(tf.square(h));
      };
      const g = tf.grads(f)(params);
      return tf.concat(g.map((t) => tf.reshape(t, [-1])));
    };
    const expected = await on('cpu', run);
    await tf.setBackend('wasm');
    const before = tf.memory().numTensors;
    const actual = await on('wasm', run);
    assert.equal(tf.memory().numTensors, before, 'tensor count changed across a gradient step');
    assertClose(actual, expected, 'chain grads');
  });
});
