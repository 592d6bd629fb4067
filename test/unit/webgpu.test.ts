/**
 * The webgpu backend end to end on whatever adapter Dawn finds — on CI machines without a GPU that is
 * Mesa's software OpenGL ES (llvmpipe), so this checks correctness, not speed: parity fixtures, the
 * on-device dropout mask, and a training step's gradients (custom BatchNorm backward, Sum/Mean
 * gradients, filter-gradient kernels) against the cpu backend.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { dropoutMask } from '../../engine/backend/dropoutMask';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { configFromParityMetadata, createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { bceWithLogits } from '../../engine/train/loss';
import { GroupedAdam } from '../../engine/train/optimizer';
import { train } from '../../engine/train/trainer';
import { loadCheckpoint } from '../../engine/checkpoint/index';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';
import { compare, tolerance } from '../helpers/parityTolerance';
import { initTestWebgpu } from '../helpers/webgpuCases';
import { readBack, watchUncapturedErrors, type WatchedDevice } from '../../engine/backend/gpuErrors';

const FIXTURES = path.join(SHARED_DIR, 'fixtures', 'parity');
const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Gradients of every trainable parameter of a small HYBRID model (no dropout) for one batch, as host arrays. */
async function trainingGrads(): Promise<Map<string, Float32Array>> {
  const config = parseModelName('fmn04+hybrid:16', 5);
  const model = createModel(config, { seed: 7 }) as EngineSedModel;
  const mel = tf.randomNormal([2, 128, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
  const target = tf.cast(tf.greater(tf.randomUniform([2, 16, 5], 0, 1, 'float32', 4), 0.7), 'float32');
  const vars = model.trainable.map((n) => model.params.get(n)!);
  const { value, grads } = tf.variableGrads(() => bceWithLogits(model.forward(mel, { training: true }).strongLogits, target), vars);
  const out = new Map<string, Float32Array>();
  // Parameters the strong logits do not reach (the weak head) get no gradient.
  for (const name of model.trainable) {
    const g = grads[model.params.get(name)!.name];
    if (g) out.set(name, (await g.data()) as Float32Array);
  }
  tf.dispose([value, mel, target, ...Object.values(grads)]);
  model.dispose();
  return out;
}

/** Filter gradients of a strided, padded 3×3 conv and a 5×5 depthwise conv on odd shapes. */
async function filterGrads(): Promise<Float32Array[]> {
  const x = tf.randomNormal([3, 17, 23, 6], 0, 1, 'float32', 11) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 6, 5], 0, 1, 'float32', 12) as tf.Tensor4D;
  const wd = tf.randomNormal([5, 5, 6, 1], 0, 1, 'float32', 13) as tf.Tensor4D;
  const gConv = tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.conv2d(x, f as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]))))(w);
  const gDepth = tf.grad((f: tf.Tensor) => tf.sum(tf.square(tf.depthwiseConv2d(x, f as tf.Tensor4D, [2, 1], 'same'))))(wd);
  const out = [(await gConv.data()) as Float32Array, (await gDepth.data()) as Float32Array];
  tf.dispose([x, w, wd, gConv, gDepth]);
  return out;
}

/** Parameters after three GroupedAdam steps (two LR groups, changing LR factor, one param without gradient). */
async function adamRun(): Promise<Float32Array[]> {
  const params = new Map([
    ['features.1.w', tf.variable(tf.randomNormal([7, 5], 0, 1, 'float32', 21))],
    ['head.w', tf.variable(tf.randomNormal([130], 0, 1, 'float32', 22))],
    ['unused', tf.variable(tf.randomNormal([3], 0, 1, 'float32', 23))],
  ]);
  const opt = new GroupedAdam(params, new Map([['features.1.w', 1e-2], ['head.w', 3e-2], ['unused', 1e-2]]));
  for (let step = 0; step < 3; step++) {
    const grads = new Map([
      ['features.1.w', tf.randomNormal([7, 5], 0, 1, 'float32', 30 + step)],
      ['head.w', tf.randomNormal([130], 0, 1, 'float32', 40 + step)],
    ]);
    opt.apply(grads, 1 - 0.3 * step);
    tf.dispose([...grads.values()]);
  }
  const out = await Promise.all([...params.values()].map(async (v) => (await v.data()) as Float32Array));
  opt.dispose();
  tf.dispose([...params.values()]);
  return out;
}

describe('webgpu backend (software adapter on CI)', function () {
  this.timeout(300_000);
  let reference: Map<string, Float32Array>;
  let referenceFilterGrads: Float32Array[];
  let referenceAdam: Float32Array[];

  before(async function () {
    await initBackend('cpu');
    reference = await trainingGrads();
    referenceFilterGrads = await filterGrads();
    referenceAdam = await adamRun();
    await initTestWebgpu();
  });

  after(async () => {
    await initBackend('wasm');
  });

  for (const fixture of ['fmn04_tf64', 'fmn04_gru64']) {
    it(`runs the ${fixture} parity fixture within the fixture tolerance (fused inference kernels)`, async () => {
      const weights = readSafetensors(path.join(FIXTURES, `${fixture}.weights.safetensors`));
      const io = readSafetensors(path.join(FIXTURES, `${fixture}.io.safetensors`)).tensors;
      const config = configFromParityMetadata(weights.metadata);
      const model = createModel(config, { weights: weights.tensors });
      const m = io.get('input.mel') as HostTensor;
      const out = model.forward(tf.tensor4d(m.data as Float32Array, [m.shape[0], 128, m.shape[3], 1]), { training: false });
      for (const [key, ours] of [['embedding', out.embedding], ['strong_logits', out.strongLogits]] as const) {
        const r = compare(await ours.data(), io.get(`output.${key}`)!, tolerance(config));
        assert.ok(r.excess <= 0, `${key}: max |Δ| ${r.maxAbs}`);
      }
      tf.dispose(Object.values(out));
      model.dispose();
    });
  }

  it('draws dropout masks on the device: values 0 or 1/(1−rate), drop fraction ≈ rate, new draws each call', async () => {
    assert.ok(tf.getKernel('SedDropoutMask', 'webgpu'), 'the webgpu mask kernel is registered');
    const a = await dropoutMask([64, 1000], 0.2).data();
    const b = await dropoutMask([64, 1000], 0.2).data();
    const dropped = a.filter((v) => v === 0).length / a.length;
    assert.ok(a.every((v) => v === 0 || Math.abs(v - 1.25) < 1e-6));
    assert.ok(Math.abs(dropped - 0.2) < 0.01, `dropped ${dropped}`);
    assert.ok(maxAbs(a, b) > 0, 'two draws differ');
  });

  it('computes conv and depthwise filter gradients (strided, padded, odd sizes) as the cpu backend', async () => {
    const grads = await filterGrads();
    grads.forEach((g, i) => {
      const scale = Math.max(...Array.from(referenceFilterGrads[i], Math.abs));
      assert.ok(maxAbs(g, referenceFilterGrads[i]) / scale < 1e-5, `${i}: ${maxAbs(g, referenceFilterGrads[i])}`);
    });
  });

  it('takes the same Adam steps as the cpu backend (fused update kernels)', async () => {
    assert.ok(tf.getKernel('SedAdamStep', 'webgpu') && tf.getKernel('SedEma', 'webgpu'), 'fused kernels registered');
    const after = await adamRun();
    after.forEach((p, i) => assert.ok(maxAbs(p, referenceAdam[i]) < 1e-5, `param ${i}: ${maxAbs(p, referenceAdam[i])}`));
  });

  it('computes the same training gradients as the cpu backend', async () => {
    const grads = await trainingGrads();
    assert.equal(grads.size, reference.size);
    for (const [name, g] of grads) {
      const ref = reference.get(name)!;
      const scale = Math.max(1e-3, ...Array.from(ref, Math.abs));
      assert.ok(maxAbs(g, ref) / scale < 2e-3, `${name}: max |Δ| ${maxAbs(g, ref)} (scale ${scale})`);
    }
  });

  it('trains with `train()` through validation and both checkpoints (no synchronous read-back on webgpu)', async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-webgpu-train-'));
    const result = await train({
      model: 'fmn04',
      trainTsv: path.join(DATA, 'metadata', 'train.tsv'),
      trainAudio: path.join(DATA, 'audio', 'train'),
      valTsv: path.join(DATA, 'metadata', 'validation.tsv'),
      valAudio: path.join(DATA, 'audio', 'validation'),
      outDir: out,
      epochs: 1,
      batchSize: 2,
      limit: 2,
      valLimit: 2,
      seed: 7,
      cacheDir: path.join(out, 'cache'),
      backboneLr: 1e-3,
      seqLr: 1e-3,
    });
    assert.ok(result, 'train() returned');
    for (const dir of ['last', 'best']) {
      const ckpt = loadCheckpoint(path.join(out, dir));
      assert.equal(ckpt.model.config.name, 'fmn04');
      ckpt.model.dispose();
    }
    fs.rmSync(out, { recursive: true, force: true });
  });
  it('sed detect on webgpu shares many files over worker threads, each with its own device', () => {
    const samples = path.join(SHARED_DIR, 'data', 'dcase2016t2-samples');
    const files = [path.join(samples, 'cough006.wav'), path.join(samples, 'knock001.wav')];
    const detect = (backend: string, ...options: string[]) => spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sed.js'), '--backend', backend, 'detect', ...options, ...files], { encoding: 'utf8', env: { ...process.env } });
    const r = detect('webgpu');
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /on webgpu, 2 worker threads/);
    // The same events as the bundled model gives on wasm through tfjs (onsets/offsets to the 40 ms frame).
    const reference = detect('wasm', '--runtime', 'tfjs');
    assert.equal(reference.status, 0, reference.stderr);
    const events = (out: string) => out.trim().split('\n').slice(1).map((l) => l.split('\t')).map(([f, on, off, label]) => `${f} ${Math.round(Number(on) / 0.04)} ${Math.round(Number(off) / 0.04)} ${label}`).sort();
    assert.ok(events(reference.stdout).length > 0, 'the bundled model found no event in either clip');
    assert.deepEqual(events(r.stdout), events(reference.stdout));
  });

  it('fails the next read-back with the cause after an uncaptured GPU error (no silent garbage)', async () => {
    const device = (tf.backend() as unknown as { device: WatchedDevice & { createBuffer(d: object): unknown; queue: { onSubmittedWorkDone(): Promise<void> } } }).device;
    const x = tf.tensor1d([1, 2, 3]);
    assert.deepEqual([...(await readBack(tf.mul(x, 2), 'before'))], [2, 4, 6]);
    device.createBuffer({ size: 4, usage: 0 }); // no usage flags: a validation error nobody captures
    await device.queue.onSubmittedWorkDone();
    await assert.rejects(readBack(tf.mul(x, 2), 'detection'), /^Error: detection: the GPU reported an error, so its results are invalid \(GPUValidationError: /);
    watchUncapturedErrors(device); // a clean slate for the suites after this one
    x.dispose();
  });
});
