/**
 * Depthwise convs on webgpu against the cpu backend: the gradient kernels (engine/backend/webgpuDepthwiseGrads.ts)
 * and tfjs' forward kernel as the inference depthwise program (webgpuInference.ts). Kernels 3 and 5, strides 1 and 2 (both axes and one), 'same' (asymmetric when the size is even),
 * explicit and 'valid' padding, odd spatial sizes, channel counts that are and are not multiples of 4, and
 * enough rows for several row groups per workgroup and a workgroup-reduced split sum. The programs that ran
 * are checked, so a silent fallback to tfjs' kernels fails. Runs on Mesa's software adapter without a GPU:
 * shapes stay small.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { filterGradSplits } from '../../engine/backend/webgpuDepthwiseGradPrograms';
import { countDispatches } from '../helpers/webgpuDispatches';
import { initTestWebgpu, maxRelErr } from '../helpers/webgpuCases';

type Pad = 'same' | 'valid' | [[number, number], [number, number], [number, number], [number, number]];

interface Case {
  x: [number, number, number, number];
  k: number;
  strides: [number, number];
  pad: Pad;
  /** Channel multiplier (1 unless testing the fallback). */
  mult?: number;
}

const sym = (p: number): Pad => [[0, 0], [p, p], [p, p], [0, 0]];

const CASES: Case[] = [
  { x: [2, 9, 11, 8], k: 3, strides: [1, 1], pad: 'same' },
  { x: [2, 9, 11, 6], k: 3, strides: [2, 2], pad: 'same' },
  { x: [2, 8, 14, 4], k: 3, strides: [2, 2], pad: 'same' }, // even sizes: no top/left padding
  { x: [2, 10, 13, 12], k: 5, strides: [2, 1], pad: sym(2) }, // the backbone's padding
  { x: [3, 7, 17, 5], k: 5, strides: [1, 1], pad: 'same' },
  { x: [2, 6, 9, 8], k: 3, strides: [1, 2], pad: 'valid' },
  { x: [1, 5, 7, 3], k: 5, strides: [2, 2], pad: sym(2) }, // fewer outputs than a thread's columns
  { x: [7, 1183, 3, 64], k: 3, strides: [1, 1], pad: sym(1) }, // 8281 rows: 2 row groups per workgroup, > 64 splits
];

const name = (c: Case): string => `x [${c.x}] ${c.k}×${c.k} strides ${c.strides} pad ${JSON.stringify(c.pad)}${c.mult ? ` multiplier ${c.mult}` : ''}`;

interface Result {
  y: Float32Array;
  dx: Float32Array;
  dw: Float32Array;
  forwardPrograms: string[];
  inputPrograms: string[];
  filterPrograms: string[];
}

function attrs(c: Case): Record<string, unknown> {
  return { strides: c.strides, pad: c.pad, dilations: [1, 1] };
}

/** The forward and both gradient kernels on host-seeded inputs (the same values on every backend). */
async function runCase(c: Case, i: number): Promise<Result> {
  const x = tf.randomNormal(c.x, 0, 1, 'float32', 10 * i + 1) as tf.Tensor4D;
  const w = tf.randomNormal([c.k, c.k, c.x[3], c.mult ?? 1], 0, 1, 'float32', 10 * i + 2) as tf.Tensor4D;
  const forward = countDispatches(() => tf.depthwiseConv2d(x, w, c.strides, c.pad));
  const y = forward.result;
  const dy = tf.randomNormal(y.shape, 0, 1, 'float32', 10 * i + 3);
  const input = countDispatches(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...attrs(c), inputShape: c.x }) as tf.Tensor);
  const filter = countDispatches(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x, dy }, { ...attrs(c), filterShape: w.shape }) as tf.Tensor);
  assert.deepEqual(input.result.shape, x.shape);
  assert.deepEqual(filter.result.shape, w.shape);
  const result = {
    y: (await y.data()) as Float32Array,
    dx: (await input.result.data()) as Float32Array,
    dw: (await filter.result.data()) as Float32Array,
    forwardPrograms: forward.programs,
    inputPrograms: input.programs,
    filterPrograms: filter.programs,
  };
  tf.dispose([x, w, y, dy, input.result, filter.result]);
  return result;
}

/** dx and dw of Σ(depthwiseConv2d(x, w)·u) through tfjs' registered gradient. */
async function autodiff(c: Case): Promise<Float32Array[]> {
  const x = tf.randomNormal(c.x, 0, 1, 'float32', 91) as tf.Tensor4D;
  const w = tf.randomNormal([c.k, c.k, c.x[3], 1], 0, 1, 'float32', 92) as tf.Tensor4D;
  const u = tf.randomNormal(tf.depthwiseConv2d(x, w, c.strides, c.pad).shape, 0, 1, 'float32', 93);
  const grads = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.strides, c.pad), u)))([x, w]);
  const out = await Promise.all(grads.map(async (g) => (await g.data()) as Float32Array));
  tf.dispose([x, w, u, ...grads]);
  return out;
}

const AUTODIFF_CASE: Case = { x: [2, 11, 9, 8], k: 5, strides: [2, 1], pad: sym(2) };
const FALLBACK_CASE: Case = { x: [2, 7, 9, 4], k: 3, strides: [1, 1], pad: 'same', mult: 2 };

describe('webgpu depthwise convs (training)', function () {
  this.timeout(300_000);
  const reference: Result[] = [];
  let referenceAutodiff: Float32Array[];
  let referenceFallback: Result;

  before(async function () {
    await initBackend('cpu');
    for (const [i, c] of CASES.entries()) reference.push(await runCase(c, i));
    referenceAutodiff = await autodiff(AUTODIFF_CASE);
    referenceFallback = await runCase(FALLBACK_CASE, 99);
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const [i, c] of CASES.entries()) {
    it(`${name(c)}: y, dx and dw as the cpu backend, in our programs`, async () => {
      const r = await runCase(c, i);
      const ref = reference[i];
      const y = maxRelErr(r.y, ref.y);
      assert.ok(y < 1e-5, `y: max |Δ| / max(1, max |ref|) = ${y}`);
      assert.deepEqual(r.forwardPrograms, ['SpatialConvProgram']);
      const dx = maxRelErr(r.dx, ref.dx);
      const dw = maxRelErr(r.dw, ref.dw);
      assert.ok(dx < 1e-5, `dx: max |Δ| / max(1, max |ref|) = ${dx}`);
      assert.ok(dw < 1e-5, `dw: max |Δ| / max(1, max |ref|) = ${dw}`);
      assert.deepEqual(r.inputPrograms, ['DepthwiseInputGradProgram']);
      const [N, H, W, C] = c.x;
      const out = (n: number, s: number): number => (c.pad === 'valid' ? Math.floor((n - c.k) / s) + 1 : c.pad === 'same' ? Math.ceil(n / s) : Math.floor((n + c.pad[1][0] * 2 - c.k) / s) + 1);
      const splits = filterGradSplits(C, C % 4 === 0 ? 4 : 1, N * out(H, c.strides[0]), out(W, c.strides[1])).splits;
      assert.equal(r.filterPrograms[0], 'DepthwiseFilterGradProgram');
      assert.equal(r.filterPrograms.length, splits > 1 ? 2 : 1, `${splits} splits: ${r.filterPrograms}`);
    });
  }

  it('gives tfjs\' depthwiseConv2d gradient (dx, dw) as the cpu backend', async () => {
    const [dx, dw] = await autodiff(AUTODIFF_CASE);
    assert.ok(maxRelErr(dx, referenceAutodiff[0]) < 1e-5, `dx ${maxRelErr(dx, referenceAutodiff[0])}`);
    assert.ok(maxRelErr(dw, referenceAutodiff[1]) < 1e-5, `dw ${maxRelErr(dw, referenceAutodiff[1])}`);
  });

  it('leaves channel multipliers ≠ 1 to tfjs\' kernels (as the cpu backend)', async () => {
    const r = await runCase(FALLBACK_CASE, 99);
    for (const k of ['y', 'dx', 'dw'] as const) assert.ok(maxRelErr(r[k], referenceFallback[k]) < 1e-5, `${k}: ${maxRelErr(r[k], referenceFallback[k])}`);
    assert.deepEqual([r.forwardPrograms, r.inputPrograms, r.filterPrograms], [['DepthwiseConv2DProgram'], ['DepthwiseConv2DDerInputProgram'], ['DepthwiseConv2DDerFilterProgram']]);
  });

  it('refuses dilations (tfjs\' webgpu kernels would ignore them)', () => {
    const dy = tf.zeros([1, 5, 5, 4]);
    const w = tf.zeros([3, 3, 4, 1]);
    const a = { strides: [1, 1], pad: 'same', dilations: [2, 2] };
    assert.throws(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput', { dy, filter: w }, { ...a, inputShape: [1, 5, 5, 4] }), /DepthwiseConv2dNativeBackpropInput on webgpu: dilations 2,2 are not supported/);
    assert.throws(() => tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter', { x: dy, dy }, { ...a, filterShape: [3, 3, 4, 1] }), /DepthwiseConv2dNativeBackpropFilter on webgpu: dilations 2,2 are not supported/);
    tf.dispose([dy, w]);
  });

  it('splits the backbone\'s filter gradients at batch 64 into ~1,000–2,000 workgroups', () => {
    // [channels, N·OH, OW] of fmn10's depthwise convs' dy (and the narrowest fmn04 one).
    for (const [C, rows, cols] of [[64, 64 * 32, 250], [16, 64 * 64, 500], [120, 64 * 16, 250], [672, 64 * 2, 250], [960, 64, 250], [8, 64 * 64, 500]]) {
      const s = filterGradSplits(C, 4, rows, cols);
      const workgroups = s.channelBlocks * s.splits;
      assert.ok(workgroups >= 1000 && workgroups <= 2100, `C ${C}: ${workgroups} workgroups`);
      assert.ok(s.lanes <= 16 && s.lanes * s.channelBlocks >= C / 4, `C ${C}: ${s.lanes} lanes × ${s.channelBlocks}`);
    }
  });
});
