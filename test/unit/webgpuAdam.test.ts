/**
 * GroupedAdam's packed webgpu path (engine/train/moments.ts PackedMoments, the multi-tensor kernel of
 * engine/backend/fusedUpdates.ts) against the cpu backend's tfjs ops: parameters and moments after several
 * steps over more parameters than a chunk holds (odd sizes, ranks 1–4, per-parameter LRs, a zero LR, a
 * parameter without gradient in one step and one never reached); the state round trip continuing
 * bit-identically; the dispatches of one step of the real fmn04+tf:64 optimizer. Runs on Mesa's software
 * adapter without a GPU.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { packedAdamSlots } from '../../engine/backend/fusedUpdates';
import { createModel, parseModelName } from '../../engine/models/index';
import { trainableNames } from '../../engine/train/init';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { countDispatches } from '../helpers/webgpuDispatches';
import { initTestWebgpu, maxRelErr } from '../helpers/webgpuCases';

/** Name, shape, base LR: 9 parameters, so several chunks (4 parameters each at 16 storage buffers, 2 at 8). */
const PARAMS: Array<[string, number[], number]> = [
  ['features.0.conv.w', [3, 3, 1, 13], 3e-3],
  ['features.0.bn.w', [13], 3e-3],
  ['features.1.dw.w', [5, 5, 1, 37], 2e-3],
  ['features.1.pw.w', [1, 1, 37, 19], 2e-3],
  ['features.2.scale', [1], 1e-2],
  ['frozen.w', [7, 3], 0],
  ['seq.w', [67, 65], 1e-3],
  ['seq.b', [65], 1e-3],
  ['head.w', [65, 3], 5e-3],
];
/** Reached by no step (no gradient ever): stays as initialised, moments zero. */
const UNREACHED = 'features.2.scale';
/** No gradient in step 2 only. */
const SKIPPED = 'seq.b';
const STEPS = 4;

type Snapshot = { params: Map<string, Float32Array>; state: Map<string, Float32Array> };

const seedOf = (k: number, step: number): number => 1 + 100 * k + step;

function makeParams(): Map<string, tf.Variable> {
  return new Map(PARAMS.map(([name, shape], k) => [name, tf.variable(tf.randomNormal(shape, 0, 1, 'float32', seedOf(k, 0)), true)]));
}

/** Step `step`'s gradients (host-drawn: the same on every backend), scale varying per parameter. */
function gradients(step: number): Map<string, tf.Tensor> {
  const grads = new Map<string, tf.Tensor>();
  PARAMS.forEach(([name, shape], k) => {
    if (name === UNREACHED || (name === SKIPPED && step === 2)) return;
    grads.set(name, tf.randomNormal(shape, 0, 10 ** (k % 3 - 1), 'float32', seedOf(k, step + 1)));
  });
  return grads;
}

function takeSteps(opt: GroupedAdam, from: number, to: number): void {
  for (let step = from; step < to; step++) {
    const grads = gradients(step);
    opt.apply(grads, 1 - 0.2 * step);
    tf.dispose([...grads.values()]);
  }
}

async function snapshot(params: Map<string, tf.Variable>, opt: GroupedAdam): Promise<Snapshot> {
  const out: Snapshot = { params: new Map(), state: new Map() };
  for (const [name, p] of params) out.params.set(name, (await p.data()) as Float32Array);
  for (const [key, t] of (await opt.state()).tensors) out.state.set(key, t.data);
  return out;
}

function newOptimizer(params: Map<string, tf.Variable>): GroupedAdam {
  return new GroupedAdam(params, new Map(PARAMS.map(([name, , lr]) => [name, lr])));
}

async function run(): Promise<Snapshot> {
  const params = makeParams();
  const opt = newOptimizer(params);
  takeSteps(opt, 0, STEPS);
  const out = await snapshot(params, opt);
  opt.dispose();
  tf.dispose([...params.values()]);
  return out;
}

describe('GroupedAdam packed moments on webgpu (software adapter on CI)', function () {
  this.timeout(300_000);
  let reference: Snapshot;

  before(async function () {
    await initBackend('cpu');
    reference = await run();
    await initTestWebgpu();
    assert.ok(packedAdamSlots() > 0, 'packed Adam kernels registered on webgpu');
    assert.ok(packedAdamSlots() < PARAMS.length, 'the parameters span several chunks');
  });

  after(async () => {
    await initBackend('wasm');
  });

  it(`${STEPS} steps: parameters and moments as on cpu`, async () => {
    const got = await run();
    for (const [name, ref] of reference.params) {
      const e = maxRelErr(got.params.get(name)!, ref);
      assert.ok(e < 1e-5, `${name}: ${e}`);
    }
    assert.deepEqual([...got.state.keys()], [...reference.state.keys()]);
    for (const [key, ref] of reference.state) {
      const e = maxRelErr(got.state.get(key)!, ref);
      assert.ok(e < 1e-5, `${key}: ${e}`);
    }
    const [, , lr] = PARAMS.find(([name]) => name === 'frozen.w')!;
    assert.equal(lr, 0);
    assert.ok(got.state.get('m.frozen.w')!.some((x) => x !== 0), 'a zero LR still updates the moments');
    assert.ok(got.state.get(`v.${UNREACHED}`)!.every((x) => x === 0), 'no gradient: moments untouched');
  });

  it('state round trip: a fresh optimizer loaded mid-run continues bit-identically', async () => {
    const params = makeParams();
    const opt = newOptimizer(params);
    takeSteps(opt, 0, 2);
    const state = await opt.state();
    const copies = new Map([...params].map(([name, p]) => [name, tf.tidy(() => tf.variable(tf.clone(p), true))]));
    const resumed = newOptimizer(copies);
    resumed.loadState(state.step, state.tensors, 'test state');
    assert.deepEqual((await resumed.state()).tensors, state.tensors);
    takeSteps(opt, 2, STEPS);
    takeSteps(resumed, 2, STEPS);
    assert.deepEqual(await snapshot(copies, resumed), await snapshot(params, opt));
    assert.throws(() => resumed.loadState(1, new Map(), 'empty.safetensors'), /empty\.safetensors: optimizer state lacks 'm\.features\.0\.conv\.w'/);
    for (const o of [opt, resumed]) o.dispose();
    tf.dispose([...params.values(), ...copies.values()]);
  });

  it('one fmn04+tf:64 step: one dispatch per chunk of parameters (was 3 per parameter)', () => {
    const model = createModel(parseModelName('fmn04+tf:64', 10), { seed: 1 });
    const names = trainableNames(model, false);
    const opt = new GroupedAdam(model.params, baseLearningRates(names, { backboneLr: 1e-3, seqLr: 1e-3, layerDecay: 0.9 }));
    const grads = new Map(names.map((name) => [name, tf.onesLike(model.params.get(name)!)]));
    const { dispatches } = countDispatches(() => opt.apply(grads, 1));
    const P = names.length;
    assert.equal(dispatches, Math.ceil(P / packedAdamSlots()), `${P} parameters, ${packedAdamSlots()} per chunk: ${dispatches} dispatches`);
    tf.dispose([...grads.values()]);
    opt.dispose();
    model.dispose();
  });
});
