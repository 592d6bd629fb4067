/**
 * The fused inference ops (engine/backend/webgpuInference.ts) on the webgpu backend against the same ops on
 * the cpu backend, where they are the tfjs ops the backbone used before: odd channel counts (scalar and
 * vec4 paths), sizes that are not multiples of the tiles, strides 1 and 2 on each axis, kernels 3 and 5.
 * Then an fmn04 backbone forward: the same embedding, and one dispatch per conv and per SE gate. On
 * machines without a GPU this runs on Mesa's software adapter, so shapes stay small.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { pointwiseConv, seGate, spatialConv, type Activation } from '../../engine/backend/webgpuInference';
import { backboneForward, backboneLayout } from '../../engine/models/fmn';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { DerivedCache } from '../../engine/models/layers';
import { countDispatches } from '../helpers/webgpuDispatches';
import { caseResults, initTestWebgpu, itRunsInOneDispatchAsCpu, maxRelErr, rand, randUnit, type CaseResults, type OpCase } from '../helpers/webgpuCases';


function pointwiseCase(xShape: [number, number, number, number], cout: number, act: Activation, gated: boolean, residual: boolean): OpCase {
  const [B, H, W, cin] = xShape;
  return {
    name: `pointwise [${xShape}] → ${cout} ${act}${gated ? ' gated' : ''}${residual ? ' +residual' : ''}`,
    inputs: () => [rand(xShape), rand([1, 1, cin, cout], 0.5), rand([cout]), randUnit([B, cin]), rand([B, H, W, cout])],
    op: ([x, w, bias, gate, skip]) => pointwiseConv(x as tf.Tensor4D, w as tf.Tensor4D, bias as tf.Tensor1D, {
      act,
      seGate: gated ? (gate as tf.Tensor2D) : undefined,
      residual: residual ? (skip as tf.Tensor4D) : undefined,
    }),
  };
}

function spatialCase(xShape: [number, number, number, number], kernel: number, strides: [number, number], depthwise: boolean, act: Activation, cout = xShape[3]): OpCase {
  return {
    name: `${depthwise ? 'depthwise' : 'one-channel'} ${kernel}×${kernel} s(${strides}) [${xShape}] → ${cout} ${act}`,
    inputs: () => [rand(xShape), rand([kernel, kernel, depthwise ? cout : 1, depthwise ? 1 : cout], 0.5), rand([cout])],
    op: ([x, w, bias]) => spatialConv(x as tf.Tensor4D, w as tf.Tensor4D, bias as tf.Tensor1D, { strides, pad: (kernel - 1) / 2, depthwise, act }),
  };
}

function seCase(xShape: [number, number, number, number], squeeze: number): OpCase {
  const c = xShape[3];
  return {
    name: `SE gate [${xShape}] squeeze ${squeeze}`,
    inputs: () => [rand(xShape, 2), rand([c, squeeze], 0.3), rand([squeeze]), rand([squeeze, c], 0.3), rand([c])],
    op: ([x, w1, b1, w2, b2]) => seGate(x as tf.Tensor4D, w1 as tf.Tensor2D, b1 as tf.Tensor1D, w2 as tf.Tensor2D, b2 as tf.Tensor1D),
  };
}

const CASES: OpCase[] = [
  pointwiseCase([2, 5, 7, 6], 5, 'hardswish', true, true),
  pointwiseCase([3, 9, 11, 20], 70, 'relu', false, false), // 5 row tiles, 2 k steps, 2 column tiles, N % 4 ≠ 0
  pointwiseCase([2, 6, 13, 12], 24, 'linear', true, true),
  pointwiseCase([1, 4, 5, 7], 8, 'hardswish', false, false),
  pointwiseCase([2, 3, 5, 36], 40, 'hardswish', true, false),
  spatialCase([2, 9, 11, 6], 3, [1, 1], true, 'relu'),
  spatialCase([2, 9, 11, 6], 5, [2, 1], true, 'hardswish'),
  spatialCase([2, 9, 11, 8], 3, [1, 2], true, 'hardswish'),
  spatialCase([2, 9, 11, 8], 5, [2, 2], true, 'linear'),
  spatialCase([1, 6, 3, 12], 5, [1, 1], true, 'relu'),
  spatialCase([2, 13, 10, 1], 3, [2, 2], false, 'hardswish', 8),
  spatialCase([2, 13, 10, 1], 3, [1, 2], false, 'relu', 5),
  seCase([2, 5, 7, 6], 4),
  seCase([2, 16, 9, 10], 3), // scalar channels, 4 sums per thread
  seCase([3, 4, 9, 72], 24),
  seCase([2, 3, 5, 300], 80),
  seCase([1, 2, 3, 1100], 300), // more channel groups and hidden units than threads
];

/** fmn04 backbone embedding [B, T/4, E] of a small random mel (inference, BN folded into `cache`). */
function backbone(model: EngineSedModel, cache: DerivedCache): tf.Tensor {
  const mel = tf.randomNormal([2, 128, 24, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
  const out = backboneForward(model.param, 0.4, mel, { training: false, bnStats: new Map(), derived: cache });
  mel.dispose();
  return out;
}

describe('webgpu fused inference kernels (software adapter on CI)', function () {
  this.timeout(300_000);
  let reference: CaseResults;
  let referenceEmbedding: Float32Array;

  before(async function () {
    await initBackend('cpu');
    reference = await caseResults(CASES);
    const model = createModel(parseModelName('fmn04'), { seed: 3 });
    const cache = new DerivedCache();
    const emb = backbone(model, cache);
    referenceEmbedding = (await emb.data()) as Float32Array;
    tf.dispose(emb);
    cache.dispose();
    model.dispose();
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  itRunsInOneDispatchAsCpu(CASES, () => reference);

  it('runs the fmn04 backbone as one dispatch per conv and per SE gate, with the cpu embedding', async () => {
    const model = createModel(parseModelName('fmn04'), { seed: 3 });
    const cache = new DerivedCache();
    tf.dispose(backbone(model, cache)); // folds BatchNorm into the cached conv weights
    const { result, dispatches } = countDispatches(() => backbone(model, cache));
    const L = backboneLayout(0.4);
    const perBlock = L.blocks.map((b) => (b.expC !== b.inC ? 1 : 0) + 1 + (b.se ? 1 : 0) + 1);
    const expected = 1 + perBlock.reduce((a, n) => a + n, 0) + 1;
    assert.equal(dispatches, expected);
    const err = maxRelErr(await result.data(), referenceEmbedding);
    tf.dispose(result);
    cache.dispose();
    model.dispose();
    assert.ok(err < 1e-4, `embedding max |Δ| / scale = ${err}`);
  });
});
