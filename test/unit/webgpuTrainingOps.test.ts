/**
 * The fused sequence-model and loss training ops (engine/backend/webgpuTrainingOps.ts) on webgpu against the tfjs
 * ops the cpu backend runs (RMSNorm, GELU, rotary embedding, q/k/v heads, gated head merge, KD loss, minGRU's linear
 * scan: output and gradients within 1e-4 relative),
 * their dispatch counts, and a whole fmn04+tf:64 training step's gradients against the cpu backend (dropout masks
 * set to ones on both backends, so the two runs compute the same function).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { dropoutFused, fusedTrainingOps, gateMergeFused, qkvHeadFused, softmaxDropoutFused } from '../../engine/backend/webgpuTrainingOps';
import { mergeHeads, splitHeads } from '../../engine/models/attention';
import { createModel, parseModelName } from '../../engine/models/index';
import { dropout, gelu, linear } from '../../engine/models/layers';
import { rmsNormWith } from '../../engine/models/rmsNorm';
import { applyRotary, rotateHalfMatrix, rotaryFreqs, rotaryTables } from '../../engine/models/rotary';
import { distillationLoss } from '../../engine/train/loss';
import { linearScan } from '../../engine/models/scan';
import { countDispatches } from '../helpers/webgpuDispatches';
import { initTestWebgpu, maxRelErr } from '../helpers/webgpuCases';

const r = (shape: number[], seed: number, scale = 1): tf.Tensor => tf.randomNormal(shape, 0, scale, 'float32', seed);
const u = (shape: number[], seed: number): tf.Tensor => tf.randomUniform(shape, 0, 1, 'float32', seed);

interface GradCase {
  name: string;
  /** Inputs (differentiated) and the upstream gradient's shape. */
  inputs: () => tf.Tensor[];
  /** Constants of the op (targets, rotary tables), made before it runs. */
  constants?: () => tf.Tensor[];
  op: (xs: tf.Tensor[], constants: tf.Tensor[]) => tf.Tensor;
  /** Dispatches forward and backward of the fused op. */
  dispatches: [number, number];
}

function rotaryCase(shape: [number, number, number, number]): GradCase {
  const [, , T, d] = shape;
  return {
    name: `rotary [${shape}]`,
    inputs: () => [r(shape, 31)],
    constants: () => [...Object.values(rotaryTables(tf.tensor1d(rotaryFreqs(d)), T)), rotateHalfMatrix(d)],
    op: ([x], [cos, sin, rot]) => applyRotary(x as tf.Tensor4D, cos as tf.Tensor2D, sin as tf.Tensor2D, rot as tf.Tensor2D),
    dispatches: [1, 1],
  };
}

/** Part `which` of qkv [B,T,3D] as rotated (q, k), scaled heads: the fused op on webgpu, attention.ts' tfjs ops on cpu. */
function headCase(shape: [number, number, number], heads: number, which: number): GradCase {
  const [, T, D3] = shape;
  const D = D3 / 3;
  const d = D / heads;
  const scale = which === 0 ? 1 / Math.sqrt(d) : 1;
  return {
    name: `qkv head ${'qkv'[which]} [${shape}] ${heads} heads`,
    inputs: () => [r(shape, 61 + which)],
    constants: () => [...Object.values(rotaryTables(tf.tensor1d(rotaryFreqs(d)), T)), rotateHalfMatrix(d)],
    op: ([x], [cos, sin, rot]) => {
      if (fusedTrainingOps()) return qkvHeadFused(x as tf.Tensor3D, which, heads, cos as tf.Tensor2D, sin as tf.Tensor2D, scale);
      const h = splitHeads(tf.slice(x, [0, 0, which * D], [-1, -1, D]) as tf.Tensor3D, heads);
      return tf.mul(which < 2 ? applyRotary(h, cos as tf.Tensor2D, sin as tf.Tensor2D, rot as tf.Tensor2D) : h, scale);
    },
    dispatches: [1, 1],
  };
}

/** Gated head merge: the fused op on webgpu, attention.ts' tfjs ops on cpu. */
const gateMergeCase = (B: number, H: number, T: number, d: number): GradCase => ({
  name: `gated head merge [${B},${H},${T},${d}]`,
  inputs: () => [r([B, H, T, d], 71), r([B, T, H], 72, 2)],
  op: ([o, g]) => fusedTrainingOps()
    ? gateMergeFused(o as tf.Tensor4D, g as tf.Tensor3D)
    : mergeHeads(tf.mul(o, tf.reshape(tf.transpose(tf.sigmoid(g), [0, 2, 1]), [B, H, T, 1])) as tf.Tensor4D),
  dispatches: [1, 2],
});

const KD_SHAPE = [3, 17, 11];
const targets = (): tf.Tensor[] => [tf.cast(tf.greater(u(KD_SHAPE, 42), 0.8), 'float32'), u(KD_SHAPE, 43)];

const CASES: GradCase[] = [
  { name: 'rmsNorm [2,37,64]', inputs: () => [r([2, 37, 64], 1, 3), tf.add(r([64], 2, 0.3), 1)], op: ([x, g]) => rmsNormWith(x, g), dispatches: [1, 3] },
  { name: 'rmsNorm [3,5,13]', inputs: () => [r([3, 5, 13], 3, 0.01), r([13], 4)], op: ([x, g]) => rmsNormWith(x, g), dispatches: [1, 3] },
  { name: 'rmsNorm [1,33000,5] (rows past one dispatch dimension)', inputs: () => [r([1, 33000, 5], 7), r([5], 8)], op: ([x, g]) => rmsNormWith(x, g), dispatches: [1, 3] },
  { name: 'gelu [4,33,29]', inputs: () => [r([4, 33, 29], 5, 2)], op: ([x]) => gelu(x), dispatches: [1, 1] },
  rotaryCase([2, 4, 25, 16]),
  rotaryCase([1, 3, 7, 6]),
  headCase([2, 9, 48], 4, 0),
  headCase([2, 9, 48], 4, 1),
  headCase([1, 7, 36], 2, 2),
  gateMergeCase(2, 4, 9, 16),
  gateMergeCase(1, 3, 5, 6),
  {
    name: 'softmax (dropout rate 0) [2,3,37,300]',
    inputs: () => [r([2, 3, 37, 300], 85, 3)],
    op: ([s]) => (fusedTrainingOps() ? softmaxDropoutFused(s, 0) : tf.softmax(s)),
    dispatches: [1, 1],
  },
  {
    name: 'softmax (dropout rate 0) [33000,3] (rows past one dispatch dimension)',
    inputs: () => [r([33000, 3], 86, 3)],
    op: ([s]) => (fusedTrainingOps() ? softmaxDropoutFused(s, 0) : tf.softmax(s)),
    dispatches: [1, 1],
  },
  {
    name: 'linear + bias [37,24] → 19',
    inputs: () => [r([37, 24], 81), r([24, 19], 82, 0.3), r([19], 83)],
    op: ([x, w, b]) => linear(x, w, b),
    dispatches: [1, 3],
  },
  // minGRU's scan: gates a in (0, 1), the last case nearly saturated (a → 1: the state carries over the clip).
  { name: 'linear scan [3,37,13]', inputs: () => [u([3, 37, 13], 87), r([3, 37, 13], 88)], op: ([a, b]) => linearScan(a as tf.Tensor3D, b as tf.Tensor3D), dispatches: [1, 1] },
  { name: 'linear scan [2,250,70], a near 1', inputs: () => [tf.sub(1, tf.mul(u([2, 250, 70], 89), 0.01)), tf.mul(u([2, 250, 70], 90), 0.01)], op: ([a, b]) => linearScan(a as tf.Tensor3D, b as tf.Tensor3D), dispatches: [1, 1] },
  { name: 'KD loss, teacher', inputs: () => [r(KD_SHAPE, 41, 4)], constants: targets, op: ([x], [hard, soft]) => distillationLoss(x, hard, soft, 0.9), dispatches: [2, 1] },
  { name: 'KD loss, hard labels only', inputs: () => [r(KD_SHAPE, 44, 4)], constants: targets, op: ([x], [hard]) => distillationLoss(x, hard, null, 0.9), dispatches: [2, 1] },
];

/** Output and the gradients of Σ op(xs)·up (up seeded, drawn before the op). */
async function runCase(c: GradCase): Promise<Float32Array[]> {
  const xs = c.inputs();
  const consts = c.constants?.() ?? [];
  const out = c.op(xs, consts);
  const up = r(out.shape, 99);
  const grads = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(c.op(args, consts), up)))(xs);
  const result = await Promise.all([out, ...grads].map(async (t) => (await t.data()) as Float32Array));
  tf.dispose([...xs, ...consts, out, up, ...grads]);
  return result;
}

const MODEL = 'fmn04+tf:64';
const CHECKED = ['model.fmn.features.0.0.weight', 'model.fmn.features.4.block.1.0.weight', 'model.fmn.features.4.block.3.0.weight', 'model.fmn.features.16.1.bias', 'seq_model.1.layers.0.0.to_qkv.weight', 'seq_model.1.layers.1.0.norm.gamma', 'seq_model.1.layers.1.1.net.0.gamma', 'seq_model.1.layers.1.1.net.1.weight', 'seq_model.1.norm.gamma', 'strong_head.weight'];

/** Gradients of CHECKED parameters after one KD training step of a seeded fmn04+tf:64 on 2 clips of 128 frames. */
async function modelGrads(): Promise<Map<string, Float32Array>> {
  const model = createModel(parseModelName(MODEL, 11), { seed: 3 });
  const mel = r([2, 128, 128, 1], 51) as tf.Tensor4D;
  const hard = tf.cast(tf.greater(u([2, 32, 11], 52), 0.8), 'float32');
  const soft = u([2, 32, 11], 53);
  const vars = CHECKED.map((n) => model.params.get(n)!);
  const { value, grads } = tf.variableGrads(() => distillationLoss(model.forward(mel, { training: true }).strongLogits, hard, soft, 0.9), vars);
  const out = new Map<string, Float32Array>();
  for (const [i, n] of CHECKED.entries()) out.set(n, (await grads[vars[i].name].data()) as Float32Array);
  tf.dispose([value, mel, hard, soft, ...Object.values(grads)]);
  model.takeBatchNormStats().forEach(({ mean, variance }) => tf.dispose([mean, variance]));
  model.dispose();
  return out;
}

type Backend = { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo; incRef(id: tf.DataId): void };

/** Replace kernel `name` of the active backend by `wrap(original)` while `f` runs. */
async function withKernel<T>(name: string, wrap: (original?: tf.KernelFunc) => tf.KernelFunc, f: () => Promise<T>): Promise<T> {
  const backendName = tf.getBackend();
  const original = tf.getKernel(name, backendName);
  if (original) tf.unregisterKernel(name, backendName);
  tf.registerKernel({ kernelName: name, backendName, kernelFunc: wrap(original?.kernelFunc) });
  try {
    return await f();
  } finally {
    tf.unregisterKernel(name, backendName);
    if (original) tf.registerKernel(original);
  }
}

/** Run `f` with dropout as the identity on the active backend: masks of ones, the fused ops at rate 0. */
async function withoutDropout<T>(f: () => Promise<T>): Promise<T> {
  const ones: tf.KernelFunc = ({ backend, attrs }) => {
    const shape = (attrs as unknown as { shape: number[] }).shape;
    return (backend as unknown as Backend).makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape)).fill(1));
  };
  const masks = () => withKernel('SedDropoutMask', () => ones, f);
  if (!fusedTrainingOps()) return masks();
  const fusedSoftmax = () => withKernel('SedSoftmaxDropout', (original) => (args) => original!({ ...args, attrs: { ...args.attrs, rate: 0 } }), masks);
  return withKernel('SedTrainElementwise', (original) => (args) => {
    if ((args.attrs as unknown as { which: string }).which !== 'dropout') return original!(args);
    const x = args.inputs.x!;
    (args.backend as unknown as Backend).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }, fusedSoftmax);
}

describe('fused sequence-model and loss training ops on webgpu (software adapter on CI)', function () {
  this.timeout(600_000);
  const reference = new Map<string, Float32Array[]>();
  let referenceModel: Map<string, Float32Array>;

  before(async function () {
    await initBackend('cpu');
    for (const c of CASES) reference.set(c.name, await runCase(c));
    referenceModel = await withoutDropout(modelGrads);
    await initTestWebgpu();
    assert.ok(fusedTrainingOps(), 'fused ops registered on webgpu');
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const c of CASES) {
    it(`${c.name}: output and gradients as on cpu, ${c.dispatches[0]} dispatch(es) forward and ${c.dispatches[1]} backward`, async () => {
      const got = await runCase(c);
      got.forEach((g, k) => {
        const e = maxRelErr(g, reference.get(c.name)![k]);
        assert.ok(e < 1e-4, `${k === 0 ? 'output' : `gradient ${k}`}: ${e}`);
      });
      const xs = c.inputs();
      const consts = c.constants?.() ?? [];
      const fwd = countDispatches(() => c.op(xs, consts));
      const both = countDispatches(() => tf.grads((...args: tf.Tensor[]) => c.op(args, consts))(xs));
      tf.dispose([...xs, ...consts, fwd.result, ...both.result]);
      assert.deepEqual([fwd.dispatches, both.dispatches - fwd.dispatches], c.dispatches);
    });
  }

  it('dropout: 0 or x/(1−rate) at the rate, the gradient through the same mask, one dispatch each way', async () => {
    const x = tf.add(u([64, 500], 91), 0.5);
    const up = r([64, 500], 92);
    const fwd = countDispatches(() => dropout(x, 0.2, { training: true, bnStats: new Map() }));
    let out: tf.Tensor | undefined;
    const both = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul((out = tf.keep(dropoutFused(t, 0.2))), up)))(x));
    const loss = countDispatches(() => tf.grad((t: tf.Tensor) => tf.sum(tf.mul(t, up)))(x));
    assert.deepEqual([fwd.dispatches, both.dispatches - loss.dispatches], [1, 2]);
    const [xs, ys, g, ups] = await Promise.all([x, out!, both.result, up].map(async (t) => (await t.data()) as Float32Array));
    let dropped = 0;
    for (let i = 0; i < xs.length; i++) {
      const keep = ys[i] === 0 ? 0 : 1 / 0.8;
      if (!keep) dropped++;
      assert.ok(Math.abs(ys[i] - xs[i] * keep) < 1e-5 && Math.abs(g[i] - ups[i] * keep) < 1e-5, `element ${i}`);
    }
    assert.ok(Math.abs(dropped / xs.length - 0.2) < 0.01, `dropped ${dropped / xs.length}`);
    tf.dispose([x, up, out!, fwd.result, both.result, loss.result]);
  });

  it('softmax + dropout: the mask at the rate, the gradient through the same mask (tfjs ops with that mask)', async () => {
    const s = r([2, 4, 50, 50], 95, 2);
    const up = r([2, 4, 50, 50], 96);
    let out: tf.Tensor | undefined;
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul((out = tf.keep(softmaxDropoutFused(t, 0.2))), up)))(s);
    const mask = tf.tidy(() => tf.mul(tf.greater(out!, 0), 1 / 0.8));
    const ref = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(tf.mul(tf.softmax(t), mask), up)))(s);
    const expected = tf.mul(tf.softmax(s), mask);
    const dropped = 1 - ((await tf.mean(tf.greater(mask, 0)).data())[0]);
    assert.ok(Math.abs(dropped - 0.2) < 0.02, `dropped ${dropped}`);
    assert.ok(maxRelErr(await out!.data(), await expected.data()) < 1e-5);
    assert.ok(maxRelErr(await g.data(), await ref.data()) < 1e-4);
    tf.dispose([s, up, out!, g, mask, ref, expected]);
  });

  it(`${MODEL}: a training step's parameter gradients as on cpu (backbone, attention, norms, head)`, async () => {
    const got = await withoutDropout(modelGrads);
    for (const [name, g] of got) {
      const ref = referenceModel.get(name)!;
      const scale = Math.max(1e-3, ...Array.from(ref, Math.abs));
      let m = 0;
      for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(g[i] - ref[i]));
      assert.ok(m / scale < 2e-3, `${name}: max |Δ| ${m} (scale ${scale})`);
    }
  });
});
