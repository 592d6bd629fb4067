/**
 * The fused sequence-model and loss training ops (engine/backend/webgpuTrainingOps.ts) on webgpu against the tfjs
 * ops the cpu backend runs (RMSNorm, GELU, rotary embedding, KD loss: output and gradients within 1e-4 relative),
 * their dispatch counts, and a whole fmn04+tf:64 training step's gradients against the cpu backend (dropout masks
 * set to ones on both backends, so the two runs compute the same function).
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { fusedTrainingOps } from '../../engine/backend/webgpuTrainingOps';
import { createModel, parseModelName } from '../../engine/models/index';
import { gelu } from '../../engine/models/layers';
import { rmsNormWith } from '../../engine/models/rmsNorm';
import { applyRotary, rotateHalfMatrix, rotaryFreqs, rotaryTables } from '../../engine/models/rotary';
import { distillationLoss } from '../../engine/train/loss';
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

const KD_SHAPE = [3, 17, 11];
const targets = (): tf.Tensor[] => [tf.cast(tf.greater(u(KD_SHAPE, 42), 0.8), 'float32'), u(KD_SHAPE, 43)];

const CASES: GradCase[] = [
  { name: 'rmsNorm [2,37,64]', inputs: () => [r([2, 37, 64], 1, 3), tf.add(r([64], 2, 0.3), 1)], op: ([x, g]) => rmsNormWith(x, g), dispatches: [1, 3] },
  { name: 'rmsNorm [3,5,13]', inputs: () => [r([3, 5, 13], 3, 0.01), r([13], 4)], op: ([x, g]) => rmsNormWith(x, g), dispatches: [1, 3] },
  { name: 'gelu [4,33,29]', inputs: () => [r([4, 33, 29], 5, 2)], op: ([x]) => gelu(x), dispatches: [1, 1] },
  rotaryCase([2, 4, 25, 16]),
  rotaryCase([1, 3, 7, 6]),
  { name: 'KD loss, teacher', inputs: () => [r(KD_SHAPE, 41, 4)], constants: targets, op: ([x], [hard, soft]) => distillationLoss(x, hard, soft, 0.9), dispatches: [1, 1] },
  { name: 'KD loss, hard labels only', inputs: () => [r(KD_SHAPE, 44, 4)], constants: targets, op: ([x], [hard]) => distillationLoss(x, hard, null, 0.9), dispatches: [1, 1] },
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

/** Run `f` with dropout masks of ones on the active backend (restoring its kernel after). */
async function withoutDropout<T>(f: () => Promise<T>): Promise<T> {
  const backend = tf.getBackend();
  const original = tf.getKernel('SedDropoutMask', backend);
  if (original) tf.unregisterKernel('SedDropoutMask', backend);
  tf.registerKernel({
    kernelName: 'SedDropoutMask',
    backendName: backend,
    kernelFunc: ({ backend: b, attrs }) => {
      const shape = (attrs as unknown as { shape: number[] }).shape;
      return (b as unknown as { makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo }).makeTensorInfo(shape, 'float32', new Float32Array(tf.util.sizeFromShape(shape)).fill(1));
    },
  });
  try {
    return await f();
  } finally {
    tf.unregisterKernel('SedDropoutMask', backend);
    if (original) tf.registerKernel(original);
  }
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
