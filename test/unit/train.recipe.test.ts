/**
 * Training recipe pieces (engine/train): schedule, layer-wise LRs, Adam against PyTorch's update rule,
 * BCE / KD loss formulas, frame targets, augmentation draws, RNG, waveform cache.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { drawMixup, jitteredBand, mixBatch, mixTargets, REFERENCE_AUGMENT, rollTargets, shiftMel, waveMix } from '../../engine/train/augment';
import { AudioCache } from '../../engine/train/cache';
import { classList, frameTargets, readStrongLabels } from '../../engine/train/labels';
import { bceWithLogits, distillationLoss } from '../../engine/train/loss';
import { backboneGroup, baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { readPseudoLabels, writePseudoLabels } from '../../engine/train/pseudoLabels';
import { Rng } from '../../engine/train/rng';
import { lrFactor, resolveWarmup } from '../../engine/train/schedule';

const close = (a: number, b: number, tol = 1e-6, msg = '') => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${msg} ${a} vs ${b}`);

describe('train recipe', () => {
  let previous: string;
  before(async () => {
    previous = tf.getBackend();
    await tf.setBackend('cpu');
  });
  after(async () => {
    // Leave the backend as found: other spec files in the same mocha process train on wasm.
    if (previous) await tf.setBackend(previous);
  });

  it('warm-up/cosine schedule matches transformers.get_cosine_schedule_with_warmup', () => {
    const s = { totalSteps: 100, warmupSteps: 10 };
    close(lrFactor(0, s), 0);
    close(lrFactor(5, s), 0.5);
    close(lrFactor(10, s), 1);
    close(lrFactor(55, s), 0.5);
    close(lrFactor(100, s), 0);
    close(lrFactor(32, s), 0.5 * (1 + Math.cos((Math.PI * 22) / 90)));
    assert.equal(resolveWarmup(590, { fraction: 0.1 }), 59);
    assert.equal(resolveWarmup(590, { steps: 7, fraction: 0.1 }), 7);
    assert.throws(() => resolveWarmup(10, { fraction: 1.5 }), /fraction/);
  });

  it('layer-wise LR decay: features.16 gets the backbone LR, each earlier group ×0.9; the rest the seq LR', () => {
    const names = ['model.fmn.features.0.0.weight', 'model.fmn.features.4.block.1.0.weight', 'model.fmn.features.16.1.bias', 'seq_model.0.weight', 'strong_head.weight'];
    assert.equal(backboneGroup(names[1]), 4);
    assert.equal(backboneGroup('strong_head.weight'), null);
    const lr = baseLearningRates(names, { backboneLr: 3e-3, seqLr: 1.5e-3, layerDecay: 0.9 });
    close(lr.get(names[2])!, 3e-3);
    close(lr.get(names[1])!, 3e-3 * 0.9 ** 12);
    close(lr.get(names[0])!, 3e-3 * 0.9 ** 16);
    close(lr.get(names[3])!, 1.5e-3);
    close(lr.get(names[4])!, 1.5e-3);
  });

  it('grouped Adam follows PyTorch Adam per parameter, skips parameters without gradient, and round-trips its state', async () => {
    const a = tf.variable(tf.tensor1d([1, -2, 3]), true, 'adam_test_a');
    const b = tf.variable(tf.tensor1d([0.5]), true, 'adam_test_b');
    const params = new Map([['features.3.w', a], ['head.w', b]]);
    const opt = new GroupedAdam(params, new Map([['features.3.w', 0.1], ['head.w', 0.01]]));
    const g1 = [0.5, -1, 2];
    const g2 = [0.1, 0.2, -0.3];
    // Reference: PyTorch Adam, lr·f, β (0.9, 0.999), ε 1e-8.
    const ref = [1, -2, 3];
    const m = [0, 0, 0];
    const v = [0, 0, 0];
    [[g1, 1], [g2, 0.5]].forEach(([g, f], step) => {
      const t = step + 1;
      for (let i = 0; i < 3; i++) {
        const gi = (g as number[])[i];
        m[i] = 0.9 * m[i] + 0.1 * gi;
        v[i] = 0.999 * v[i] + 0.001 * gi * gi;
        const denom = Math.sqrt(v[i]) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        ref[i] -= ((0.1 * (f as number)) / (1 - 0.9 ** t)) * (m[i] / denom);
      }
    });
    opt.apply(new Map([['features.3.w', tf.tensor1d(g1)]]), 1);
    opt.apply(new Map([['features.3.w', tf.tensor1d(g2)]]), 0.5);
    const got = a.dataSync();
    ref.forEach((r, i) => close(got[i], r, 1e-5, `param ${i}`));
    close(b.dataSync()[0], 0.5, 0, 'untouched parameter');
    assert.equal(opt.step, 2);
    const state = await opt.state();
    const opt2 = new GroupedAdam(params, new Map([['features.3.w', 0.1], ['head.w', 0.01]]));
    opt2.loadState(state.step, state.tensors, 'test state');
    const s2 = await opt2.state();
    assert.equal(s2.step, 2);
    assert.deepEqual([...s2.tensors.get('m.features.3.w')!.data], [...state.tensors.get('m.features.3.w')!.data]);
    assert.throws(() => opt2.loadState(1, new Map(), 'empty.safetensors'), /empty\.safetensors: optimizer state lacks 'm\.features\.3\.w'/);
    opt.dispose();
    opt2.dispose();
    a.dispose();
    b.dispose();
  });

  it('BCE-with-logits and the KD mix match their formulas', () => {
    const logits = [2.5, -1, 0, 30, -30];
    const hard = [1, 0, 1, 0, 1];
    const soft = [0.8, 0.1, 0.5, 0.3, 0.9];
    const bce = (x: number[], y: number[]) => x.reduce((s, xi, i) => s + (Math.max(xi, 0) - xi * y[i] + Math.log1p(Math.exp(-Math.abs(xi)))), 0) / x.length;
    const t = (d: number[]) => tf.tensor3d(d, [1, 5, 1]);
    close(bceWithLogits(t(logits), t(hard)).dataSync()[0], bce(logits, hard), 1e-5);
    close(distillationLoss(t(logits), t(hard), t(soft), 0.9).dataSync()[0], 0.9 * bce(logits, soft) + 0.1 * bce(logits, hard), 1e-5);
    close(distillationLoss(t(logits), t(hard), null, 0.9).dataSync()[0], bce(logits, hard), 1e-5);
    assert.throws(() => distillationLoss(t(logits), t(hard), t(soft), 1.5), /KD weight/);
  });

  it('frame targets at 40 ms: onset floored, offset ceiled, per segment', () => {
    const classes = ['a', 'b'];
    const t = frameTargets([{ onset: 0.05, offset: 0.13, label: 'b' }, { onset: 9.99, offset: 12, label: 'a' }], classes);
    const active = (k: number) => [...Array(250).keys()].filter((f) => t[f * 2 + k] === 1);
    assert.deepEqual(active(1), [1, 2, 3]);
    assert.deepEqual(active(0), [249]);
    const seg2 = frameTargets([{ onset: 9.99, offset: 12, label: 'a' }], classes, 10);
    assert.deepEqual([...Array(250).keys()].filter((f) => seg2[f * 2] === 1), [...Array(50).keys()]);
  });

  it('reads the DCASE TSV, derives the class list and rejects unknown labels', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-labels-'));
    const file = path.join(dir, 'l.tsv');
    fs.writeFileSync(file, 'filename\tonset\toffset\tevent_label\nx.wav\t1\t2\tdog\nx.wav\t3\t4\tcat\ny.wav\t\t\t\n');
    const labels = readStrongLabels(file);
    assert.deepEqual([...labels.keys()], ['x.wav', 'y.wav']);
    assert.deepEqual(labels.get('y.wav'), []);
    assert.deepEqual(classList([labels]), ['cat', 'dog']);
    assert.throws(() => classList([labels], ['cat']), /'dog' are not in the class list/);
    fs.writeFileSync(file, 'x.wav\t2\t1\tdog\n');
    assert.throws(() => readStrongLabels(file), /l\.tsv:1: expected/);
  });

  it('augmentations: wave-mix keeps λ ≥ 0.5 and zero mean, shift rolls mel and targets alike, mixup mixes and clips', () => {
    const rng = new Rng(3);
    const wave = Float32Array.from({ length: 64 }, (_, i) => 1 + Math.sin(i));
    const other = Float32Array.from({ length: 64 }, (_, i) => Math.cos(i * 0.3));
    const ex = { wave, targets: Float32Array.from([1, 0]), teacher: Float32Array.from([0.8, 0.2]) };
    const o = { wave: other, targets: Float32Array.from([0, 1]), teacher: Float32Array.from([0.1, 0.6]) };
    let mixed = 0;
    for (let k = 0; k < 200; k++) {
      const r = waveMix(ex, () => o, REFERENCE_AUGMENT, rng);
      if (r === ex) continue;
      mixed++;
      const lam = r.targets[0];
      assert.ok(lam >= 0.5 && lam <= 1, `λ = ${lam}`);
      close(r.targets[1], 1 - lam, 1e-6);
      close(r.teacher![0], 0.8 * lam + 0.1 * (1 - lam), 1e-6);
      close(r.wave.reduce((s, x) => s + x, 0) / r.wave.length, 0, 1e-5, 'mean');
    }
    assert.ok(mixed > 70 && mixed < 130, `mixed ${mixed}/200 at p 0.5`);
    const band = jitteredBand({ fminHz: 0, fmaxHz: 7000 }, REFERENCE_AUGMENT, rng);
    assert.ok(band.fminHz >= 0 && band.fminHz <= 9 && band.fmaxHz > 6000 && band.fmaxHz <= 8000);
    // Roll: torch.roll semantics out[t] = x[t − s].
    const targets = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]); // 4 frames × 2 classes
    assert.deepEqual([...rollTargets(targets, 4, 2, 1)], [0, 0, 1, 0, 0, 0, 0, 0]);
    assert.deepEqual([...rollTargets(targets, 4, 2, -1)], [0, 0, 0, 0, 0, 0, 1, 0]);
    const mel = tf.tensor4d([0, 1, 2, 3, 10, 11, 12, 13], [2, 1, 4, 1]);
    assert.deepEqual([...shiftMel(mel, [1, -1]).dataSync()], [3, 0, 1, 2, 11, 12, 13, 10]);
    // Every mel bin rolls alike; shifts wrap modulo the frame count.
    const mel2 = tf.tensor4d([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], [2, 2, 3, 1]);
    assert.deepEqual([...shiftMel(mel2, [4, -2]).dataSync()], [2, 0, 1, 5, 3, 4, 8, 6, 7, 11, 9, 10]);
    const draw = { perm: [1, 0], lambdas: [0.75, 0.6] };
    assert.deepEqual([...mixBatch(tf.tensor2d([0, 4, 8, 12], [2, 2]), draw).dataSync()].map((x) => +x.toFixed(5)), [2, 6, 4.8, 8.8]);
    assert.deepEqual([...mixTargets(tf.tensor2d([1, 0, 1, 1], [2, 2]), draw).dataSync()].map((x) => +x.toFixed(5)), [1, 0.25, 1, 0.6]);
    let hits = 0;
    for (let k = 0; k < 300; k++) {
      const d = drawMixup(4, REFERENCE_AUGMENT, rng);
      if (!d) continue;
      hits++;
      assert.deepEqual([...d.perm].sort(), [0, 1, 2, 3]);
      for (const l of d.lambdas) assert.ok(l >= 0.5 && l <= 1);
    }
    assert.ok(hits > 60 && hits < 120, `mixup in ${hits}/300 batches at p 0.3`);
  });

  it('the RNG is reproducible from its saved state', () => {
    const a = new Rng(42);
    a.next();
    a.beta(2, 2);
    const saved = a.state;
    const seqA = [a.next(), a.beta(0.2, 0.2), a.int(0, 10), a.normal()];
    const b = new Rng(1);
    b.state = saved;
    assert.deepEqual([b.next(), b.beta(0.2, 0.2), b.int(0, 10), b.normal()], seqA);
    const draws = Array.from({ length: 4000 }, () => a.beta(2, 2));
    close(draws.reduce((s, x) => s + x, 0) / draws.length, 0.5, 0.03, 'Beta(2,2) mean');
  });

  it('waveform cache: lossless int16 for 16-bit audio, hit on the second read, keyed by content', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-cache-'));
    const audio = path.join(dir, 'a.wav');
    fs.writeFileSync(audio, 'pretend audio bytes');
    const samples = Float32Array.from({ length: 1000 }, (_, i) => Math.fround(Math.round(Math.sin(i) * 20000) / 32767));
    let decodes = 0;
    const decode = async () => {
      decodes++;
      return samples;
    };
    const cache = new AudioCache(path.join(dir, 'cache'));
    await cache.waveform(audio, decode);
    const again = await cache.waveform(audio, decode);
    assert.equal(decodes, 1);
    assert.deepEqual([...again], [...samples]);
    const [entry] = fs.readdirSync(path.join(dir, 'cache')).flatMap((d) => fs.readdirSync(path.join(dir, 'cache', d)).map((f) => path.join(dir, 'cache', d, f)));
    assert.ok(fs.statSync(entry).size < 1000 * 4, 'stored as int16');
    const copy = path.join(dir, 'copy.wav');
    fs.copyFileSync(audio, copy);
    await cache.waveform(copy, decode);
    assert.equal(decodes, 1, 'same content, other name: cache hit');
    fs.writeFileSync(audio, 'edited audio bytes');
    await new AudioCache(path.join(dir, 'cache')).waveform(audio, decode);
    assert.equal(decodes, 2, 'edited file: cache miss');
  });

  it('pseudo-label files are matched to the student classes by name', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-pl-'));
    writePseudoLabels(dir, 'x.flac', Float32Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]), 2, ['a', 'b', 'c'], { model: 'test' });
    assert.deepEqual([...readPseudoLabels(dir, 'x.flac', ['c', 'a']).probs].map((x) => +x.toFixed(3)), [0.3, 0.1, 0.6, 0.4]);
    assert.throws(() => readPseudoLabels(dir, 'x.flac', ['d']), /no output for 'd'/);
    assert.throws(() => readPseudoLabels(dir, 'y.flac', ['a']), /y\.flac\.safetensors not found/);
  });
});

describe('validation PSDS1 with overlapping same-class labels', () => {
  it('merges connected GT events instead of failing (validation_0025 has two overlapping drawer events)', async () => {
    const { psds1Of } = await import('../../engine/train/validation');
    const frames = 250;
    const timestamps = Float64Array.from({ length: frames + 1 }, (_, i) => i * 0.04);
    const scores = new Float64Array(frames * 2);
    for (let t = 17; t < 56; t++) scores[t * 2] = 0.9; // drawer active 0.68–2.24 s
    const set = {
      classes: ['drawer', 'knock'],
      segments: [],
      labels: new Map([['clip.wav', [
        { onset: 0.699, offset: 2.009, label: 'drawer' },
        { onset: 1.355, offset: 2.235, label: 'drawer' },
        { onset: 5, offset: 6, label: 'knock' },
      ]]]),
      durations: new Map([['clip.wav', 10]]),
      audioDir: '/nonexistent',
    };
    const r = psds1Of({ classes: ['drawer', 'knock'], files: new Map([['clip', { timestamps, scores }]]) }, set);
    assert.ok(r.perClass.drawer > 0.5, `drawer PSDS ${r.perClass.drawer}`);
    assert.equal(r.perClass.knock, 0);
  });
});
