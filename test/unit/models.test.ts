/**
 * Model zoo behaviour beyond numeric parity: the name grammar, strict weight loading, state-dict
 * round trips through the layout conversions, training mode (batch-statistics BN, running-stat update,
 * dropout, gradients for every trainable parameter), the inference weight cache and the scan.
 */
import { strict as assert } from 'node:assert';
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core's main bundle registers no gradient functions; this (after the main import, so both share
// its engine and tensor class) registers them for the training-mode tests.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { initBackend } from '../../engine/backend/select';
import { configFromParityMetadata, countParams, createModel, expectedParamShapes, parseModelName, SEQ_MODELS } from '../../engine/models';
import { batchNormMomentum } from '../../engine/models/predictionsWrapper';
import { linearScan } from '../../engine/models/scan';
import { sdpa } from '../../engine/models/attention';
import type { HostTensor } from '../../engine/io/safetensors';

/** Small configs of every sequence type (any hidden size the head rules allow). */
const SMALL: Record<(typeof SEQ_MODELS)[number], string> = {
  tf: 'fmn04+tf:16', att: 'fmn04+att:16', bigru: 'fmn04+bigru:8', tcn: 'fmn04+tcn:16', mamba: 'fmn04+mamba:32', hybrid: 'fmn04+hybrid:16',
};

function mel(batch: number, frames = 64, seed = 1): tf.Tensor4D {
  return tf.randomNormal([batch, 128, frames, 1], 0, 1, 'float32', seed) as tf.Tensor4D;
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('model names', () => {
  it('parses the grammar case-insensitively into canonical names', () => {
    assert.equal(parseModelName('fmn10').name, 'fmn10');
    assert.equal(parseModelName('FMN10+TF:256').name, 'fmn10+tf:256');
    assert.equal(parseModelName('fmn10+BiGRU:128').name, 'fmn10+bigru:128');
    assert.equal(parseModelName('fmn10+gru:128').name, 'fmn10+bigru:128');
    assert.equal(parseModelName('fmn10+attn:64').name, 'fmn10+att:64');
    assert.equal(parseModelName('fmn04+hybrid-104').name, 'fmn04+hybrid:104', 'release-style dash');
    const c = parseModelName('fmn15+mamba:256', 10);
    assert.deepEqual(c, { name: 'fmn15+mamba:256', widthMult: 1.5, seqType: 'mamba', seqHidden: 256, numClasses: 10 });
    assert.deepEqual(parseModelName('fmn04'), { name: 'fmn04', widthMult: 0.4, seqType: null, seqHidden: 0, numClasses: 447 });
  });

  it('rejects unknown names, listing what is valid', () => {
    assert.throws(() => parseModelName('resnet50'), /Unknown model name 'resnet50'.*fmn04\|fmn06\|fmn10\|fmn20\|fmn30.*tf\|att\|bigru\|tcn\|mamba\|hybrid/);
    assert.throws(() => parseModelName('fmn10+lstm:128'), /Unknown sequence model 'lstm'.*valid names/);
    assert.throws(() => parseModelName('fmn10+tf'), /needs a hidden size/);
    assert.throws(() => parseModelName('fmn10+tf:102'), /divisible by 4/);
    assert.throws(() => parseModelName('fmn10+tf:130'), /divisible by 8/);
    assert.throws(() => parseModelName('fmn10+hybrid:100'), /divisible by 8/);
    assert.throws(() => parseModelName('fmn10', 0), /class count/);
  });

  it('maps fixture metadata (upstream spellings) to configs', () => {
    assert.equal(configFromParityMetadata({ width_mult: '0.4', seq_model_type: 'None', seq_model_dim: '256', n_classes: '10' }).name, 'fmn04');
    assert.equal(configFromParityMetadata({ width_mult: '1.0', seq_model_type: 'attn', seq_model_dim: '128', n_classes: '447' }).name, 'fmn10+att:128');
    assert.equal(configFromParityMetadata({ width_mult: '0.4', seq_model_type: 'gru', seq_model_dim: '64', n_classes: '10' }).seqType, 'bigru');
    assert.throws(() => configFromParityMetadata({ width_mult: '1', seq_model_type: 'lstm', seq_model_dim: '1', n_classes: '1' }), /lstm.*valid: None, tf, attn, gru/);
  });
});

describe('models on the cpu backend', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend('cpu');
  });

  it('strict loading names the first mismatching key and both shapes', () => {
    const config = parseModelName('fmn04+tf:16', 5);
    const src = createModel(config, { seed: 1 });
    const sd = src.stateDict();
    src.dispose();
    const missing = new Map(sd);
    missing.delete('seq_model.0.bias');
    assert.throws(() => createModel(config, { weights: missing }), /missing key 'seq_model\.0\.bias' \(expected shape \[16\]\)/);
    const wrong = new Map(sd);
    wrong.set('strong_head.weight', { dtype: 'F32', shape: [7, 16], data: new Float32Array(7 * 16) });
    assert.throws(() => createModel(config, { weights: wrong }), /'strong_head\.weight' has shape \[7,16\] but the model expects \[5,16\]/);
    const extra = new Map(sd);
    extra.set('seq_model.9.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    assert.throws(() => createModel(config, { weights: extra }), /unexpected key 'seq_model\.9\.weight'/);
    const noCounters = new Map([...sd].filter(([k]) => !k.endsWith('num_batches_tracked')));
    createModel(config, { weights: noCounters }).dispose(); // num_batches_tracked is optional
  });

  for (const seq of SEQ_MODELS) {
    it(`${SMALL[seq]}: shapes, state-dict round trip, deterministic inference`, () => {
      const config = parseModelName(SMALL[seq], 7);
      const a = createModel(config, { seed: 3 });
      const sd = a.stateDict();
      assert.deepEqual([...sd.keys()].sort(), [...expectedParamShapes(config).keys()].sort());
      for (const [k, shape] of expectedParamShapes(config)) assert.deepEqual(sd.get(k)!.shape, shape, k);
      const b = createModel(config, { weights: sd });
      const sd2 = b.stateDict();
      for (const [k, t] of sd) assert.deepEqual(sd2.get(k)!.data, t.data, `${k} survives the layout round trip`);
      tf.tidy(() => {
        const x = mel(2);
        const oa = a.forward(x);
        const ob = b.forward(x);
        const F = seq === 'bigru' ? 16 : config.seqHidden;
        assert.deepEqual(oa.embedding.shape, [2, 16, 384]);
        assert.deepEqual(oa.seq!.shape, [2, 16, F]);
        assert.deepEqual(oa.strongLogits.shape, [2, 16, 7]);
        assert.deepEqual(oa.weakLogits.shape, [2, 7]);
        assert.equal(oa.projected === undefined, seq === 'bigru');
        assert.equal(maxAbsDiff(oa.strongLogits, ob.strongLogits), 0);
        assert.equal(maxAbsDiff(a.forward(x).strongLogits, oa.strongLogits), 0, 'inference is deterministic');
        assert.ok(Number.isFinite(tf.sum(oa.strongLogits).dataSync()[0]));
      });
      a.dispose();
      b.dispose();
    });

    it(`${SMALL[seq]}: gradients reach every trainable parameter in training mode`, () => {
      const config = parseModelName(SMALL[seq], 3);
      const model = createModel(config, { seed: 5 });
      const x = mel(2, 32);
      const vars = model.trainable.map((k) => model.params.get(k)!);
      const { value, grads } = tf.variableGrads(() => {
        const out = model.forward(x, { training: true });
        return tf.add(tf.mean(tf.square(out.strongLogits)), tf.mean(tf.square(out.weakLogits))) as tf.Scalar;
      }, vars);
      assert.ok(Number.isFinite(value.dataSync()[0]));
      const names = new Map(model.trainable.map((k) => [model.params.get(k)!.name, k]));
      const zero: string[] = [];
      for (const [name, g] of Object.entries(grads)) {
        const norm = tf.tidy(() => tf.sum(tf.abs(g)).dataSync()[0]);
        assert.ok(Number.isFinite(norm), `${names.get(name)} gradient is finite`);
        if (norm === 0) zero.push(names.get(name)!);
      }
      assert.equal(Object.keys(grads).length, model.trainable.length);
      // Every trainable parameter influences the loss, so none may get an all-zero gradient.
      assert.deepEqual(zero, []);
      tf.dispose([value, ...Object.values(grads), x]);
      model.applyBatchNormUpdate();
      model.dispose();
    });
  }

  it('trainable excludes BN running stats and rotary freqs; params counts them per the paper', () => {
    const config = parseModelName('fmn04+tf:16', 7);
    const model = createModel(config);
    assert.ok(!model.trainable.some((k) => /running_|num_batches|freqs/.test(k)));
    assert.ok(model.params.has('model.fmn.features.0.1.running_mean'));
    const counted = [...model.params].filter(([k]) => !/running_/.test(k)).reduce((a, [, v]) => a + v.size, 0);
    assert.equal(counted, countParams(config));
    model.dispose();
  });

  it('training mode uses batch statistics; running stats average the first 100 batches, then move by momentum 0.01', () => {
    assert.deepEqual([1, 2, 50, 100, 101, 5000].map(batchNormMomentum), [1, 0.5, 0.02, 0.01, 0.01, 0.01]);
    const model = createModel(parseModelName('fmn04', 4), { seed: 2 });
    const rm = model.params.get('model.fmn.features.0.1.running_mean')!;
    const rv = model.params.get('model.fmn.features.0.1.running_var')!;
    const w = model.params.get('model.fmn.features.0.0.weight')!;
    // Stem conv output statistics of a batch, computed independently (unbiased variance, as PyTorch tracks).
    const stemStats = (x: tf.Tensor4D) => {
      const y = tf.conv2d(x, w as tf.Tensor4D, [2, 2], [[0, 0], [1, 1], [1, 1], [0, 0]]);
      const { mean, variance } = tf.moments(y, [0, 1, 2]);
      const n = y.shape[0] * y.shape[1] * y.shape[2];
      return { m: mean.dataSync(), v: variance.dataSync().map((v) => (v * n) / (n - 1)) };
    };
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      for (let c = 0; c < a.length; c++) assert.ok(Math.abs(a[c] - b[c]) < 1e-5 * Math.max(1, Math.abs(b[c])), `channel ${c}: ${a[c]} vs ${b[c]}`);
    };
    const x = mel(3, 32);
    const evalOut = model.forward(x).strongLogits;
    const trainOut = model.forward(x, { training: true }).strongLogits;
    assert.ok(maxAbsDiff(evalOut, trainOut) > 1e-3, 'batch statistics differ from the running ones');
    assert.equal(model.applyBatchNormUpdate(), 46, 'one update per BatchNorm (stem, 44 in the blocks, features.16)');
    // First update: the initial running values (0, 1) are dropped, not kept with weight 0.99.
    const s1 = stemStats(x);
    close(rm.dataSync(), s1.m);
    close(rv.dataSync(), s1.v);
    assert.equal(model.applyBatchNormUpdate(), 0, 'nothing pending after the update');
    const x2 = mel(3, 32, 5);
    model.forward(x2, { training: true });
    model.applyBatchNormUpdate();
    const s2 = stemStats(x2);
    close(rm.dataSync(), s1.m.map((m, c) => (m + s2.m[c]) / 2));
    close(rv.dataSync(), s1.v.map((v, c) => (v + s2.v[c]) / 2));
    const counter = model.stateDict().get('model.fmn.features.0.1.num_batches_tracked')!;
    assert.equal(counter.dtype, 'I64');
    assert.equal(Number((counter.data as BigInt64Array)[0]), 2);
    // The folded inference weights follow the changed running statistics.
    const evalAfter = model.forward(x).strongLogits;
    assert.ok(maxAbsDiff(evalOut, evalAfter) > 0, 'inference cache was invalidated');
    const fresh = createModel(model.config, { weights: model.stateDict() });
    assert.ok(maxAbsDiff(fresh.forward(x).strongLogits, evalAfter) < 1e-5);
    fresh.dispose();
    // A checkpoint that tracked many batches (e.g. an imported upstream one) updates exactly as PyTorch.
    const weights = model.stateDict();
    for (const [k, t] of weights) if (k.endsWith('num_batches_tracked')) weights.set(k, { ...t, data: BigInt64Array.of(1000n) });
    const trained = createModel(model.config, { weights });
    const trm = trained.params.get('model.fmn.features.0.1.running_mean')!;
    const trv = trained.params.get('model.fmn.features.0.1.running_var')!;
    const before = { m: trm.dataSync().slice(), v: trv.dataSync().slice() };
    trained.forward(x, { training: true });
    trained.applyBatchNormUpdate();
    close(trm.dataSync(), before.m.map((m, c) => 0.99 * m + 0.01 * s1.m[c]));
    close(trv.dataSync(), before.v.map((v, c) => 0.99 * v + 0.01 * s1.v[c]));
    trained.dispose();
    model.dispose();
  });

  it('dropout is active in training mode only (TF)', () => {
    const model = createModel(parseModelName('fmn04+tf:16', 3), { seed: 4 });
    const x = mel(1, 32);
    // Identical batch statistics, so any difference comes from dropout.
    const t1 = model.forward(x, { training: true }).seq!;
    const t2 = model.forward(x, { training: true }).seq!;
    assert.ok(maxAbsDiff(t1, t2) > 1e-4);
    model.applyBatchNormUpdate();
    model.dispose();
  });

  it('from-scratch init follows the upstream distributions', () => {
    const model = createModel(parseModelName('fmn10+tf:256', 447), { seed: 9 });
    const std = (k: string): number => tf.tidy(() => tf.sqrt(tf.moments(model.params.get(k)!).variance).dataSync()[0]);
    // kaiming normal fan_out: features.16 conv [960,160,1,1] → √(2/960)
    assert.ok(Math.abs(std('model.fmn.features.16.0.weight') / Math.sqrt(2 / 960) - 1) < 0.02);
    assert.ok(Math.abs(std('seq_model.1.layers.0.0.to_qkv.weight') / 0.02 - 1) < 0.02);
    assert.ok(Math.abs(std('model.fmn.features.4.block.2.conc_se_layers.0.fc1.weight') / 0.01 - 1) < 0.1);
    const gamma = model.params.get('model.fmn.features.16.1.weight')!.dataSync();
    assert.ok(gamma.every((g) => g === 1));
    const freqs = model.params.get('seq_model.1.layers.0.0.pos_encoding.freqs')!.dataSync();
    assert.equal(freqs.length, 16);
    assert.ok(Math.abs(freqs[1] - 1 / Math.pow(10000, 2 / 32)) < 1e-7);
    model.dispose();
  });

  it('linearScan equals the sequential recurrence, saturated gates included', () => {
    const [B, T, D] = [2, 37, 3];
    const gate = tf.randomUniform([B, T, D], -40, 40, 'float32', 7);
    const a = tf.sigmoid(tf.neg(gate)) as tf.Tensor3D;
    const b = tf.mul(tf.sigmoid(gate), tf.randomUniform([B, T, D], 0, 2, 'float32', 8)) as tf.Tensor3D;
    const h = linearScan(a, b).arraySync();
    const A = a.arraySync();
    const Bv = b.arraySync();
    for (let i = 0; i < B; i++) {
      for (let d = 0; d < D; d++) {
        let s = 0;
        for (let t = 0; t < T; t++) {
          s = A[i][t][d] * s + Bv[i][t][d];
          assert.ok(Math.abs(h[i][t][d] - s) <= 1e-5 * Math.max(1, Math.abs(s)), `t=${t}: ${h[i][t][d]} vs ${s}`);
        }
      }
    }
  });
});

describe('weights from other tensor types', () => {
  it('accepts num_batches_tracked stored as [1] (as in the fixtures) or []', async () => {
    await initBackend('cpu');
    const config = parseModelName('fmn04', 2);
    const sd = createModel(config).stateDict();
    const k = 'model.fmn.features.0.1.num_batches_tracked';
    sd.set(k, { dtype: 'I64', shape: [1], data: BigInt64Array.of(12345n) } as HostTensor);
    const m = createModel(config, { weights: sd });
    assert.equal(Number((m.stateDict().get(k)!.data as BigInt64Array)[0]), 12345);
    m.dispose();
  });
});

describe('attention on wasm', () => {
  it('the per-head 2-D path equals the batched formula, and differentiates', async () => {
    await initBackend('wasm');
    const [q, k, v] = [11, 12, 13].map((s) => tf.randomNormal([2, 3, 20, 8], 0, 1, 'float32', s) as tf.Tensor4D);
    const ctx = { training: false, bnStats: new Map() };
    const ours = sdpa(q, k, v, 0, ctx);
    const ref = tf.matMul(tf.softmax(tf.matMul(tf.mul(q, 1 / Math.sqrt(8)), k, false, true)), v);
    assert.ok(maxAbsDiff(ours, ref) < 1e-5);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.square(sdpa(x as tf.Tensor4D, k, v, 0, ctx))))(q);
    const gRef = tf.grad((x: tf.Tensor) => tf.sum(tf.square(tf.matMul(tf.softmax(tf.matMul(tf.mul(x, 1 / Math.sqrt(8)), k, false, true)), v))))(q);
    assert.ok(maxAbsDiff(g, gRef) < 1e-4);
  });
});
