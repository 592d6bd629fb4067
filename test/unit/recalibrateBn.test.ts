/**
 * BatchNorm recalibration ("precise BN"): running statistics become the batch statistics of clean
 * training-mode passes, so eval-mode outputs match training-mode ones on that data; `sed recalibrate-bn`
 * writes a loadable checkpoint recording what it did.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { loadCheckpoint, saveCheckpoint } from '../../engine/checkpoint/index';
import { computeMel } from '../../engine/frontend/mel';
import { createModel, parseModelName } from '../../engine/models/index';
import { recalibrateBatchNorm } from '../../engine/train/recalibrateBn';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');

function waves(n: number, seed: number): Float32Array[] {
  return Array.from({ length: n }, (_, i) => tf.tidy(() => tf.mul(tf.randomNormal([16000], 0, 1, 'float32', seed + i), 0.1 * (i + 1)).dataSync() as Float32Array));
}

describe('BatchNorm recalibration', function () {
  this.timeout(300_000);
  before(async () => {
    await initBackend('wasm');
    await tf.setBackend('wasm');
  });

  it('sets running statistics to the batch statistics (one batch), bringing eval outputs to training outputs', async () => {
    const model = createModel(parseModelName('fmn04', 3), { seed: 5 });
    const clips = waves(4, 1);
    const mel = computeMel(tf.tensor2d(Float32Array.from(clips.flatMap((w) => Array.from(w))), [4, 16000]));
    const before = tf.tidy(() => tf.max(tf.abs(tf.sub(model.forward(mel, { training: false }).strongLogits, model.forward(mel, { training: true }).strongLogits))).dataSync()[0]);
    model.takeBatchNormStats().forEach((s) => tf.dispose([s.mean, s.variance]));
    assert.equal(await recalibrateBatchNorm(model, clips, { batchSize: 4, melOf: computeMel }), 1);
    // Independent check of the first BN: the stem conv's output moments (unbiased variance).
    const y = tf.conv2d(mel, model.param('model.fmn.features.0.0.weight') as tf.Tensor4D, 2, [[0, 0], [1, 1], [1, 1], [0, 0]]);
    const { mean, variance } = tf.moments(y, [0, 1, 2]);
    const n = y.shape[0] * y.shape[1] * y.shape[2];
    const d = (a: tf.Tensor, b: tf.Tensor) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    assert.ok(d(model.params.get('model.fmn.features.0.1.running_mean')!, mean) < 1e-5);
    assert.ok(d(model.params.get('model.fmn.features.0.1.running_var')!, tf.mul(variance, n / (n - 1))) < 1e-4);
    const after = tf.tidy(() => tf.max(tf.abs(tf.sub(model.forward(mel, { training: false }).strongLogits, model.forward(mel, { training: true }).strongLogits))).dataSync()[0]);
    model.takeBatchNormStats().forEach((s) => tf.dispose([s.mean, s.variance]));
    assert.ok(before > 1e-2, `untrained running stats differ from the batch's (${before})`);
    // Not exact: running variances are unbiased (PyTorch's convention), training normalises with the biased
    // ones, and on these short clips the deepest layers see only ~100 positions per channel.
    assert.ok(after < before / 4, `eval vs train logits: ${before} before, ${after} after recalibration`);
    model.dispose();
  });

  it('averages over batches', async () => {
    const model = createModel(parseModelName('fmn04', 3), { seed: 6 });
    const clips = waves(4, 10);
    const perBatch: tf.Tensor[] = [];
    for (const part of [clips.slice(0, 2), clips.slice(2)]) {
      model.forward(computeMel(tf.tensor2d(Float32Array.from(part.flatMap((w) => Array.from(w))), [2, 16000])), { training: true });
      const s = model.takeBatchNormStats().get('model.fmn.features.0.1')!;
      perBatch.push(s.mean);
    }
    await recalibrateBatchNorm(model, clips, { batchSize: 2, melOf: computeMel });
    const expected = tf.div(tf.add(perBatch[0], perBatch[1]), 2);
    assert.ok(tf.max(tf.abs(tf.sub(model.params.get('model.fmn.features.0.1.running_mean')!, expected))).dataSync()[0] < 1e-5);
    model.dispose();
  });

  it('`sed recalibrate-bn` writes a loadable checkpoint that records the recalibration', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-recal-'));
    const classes = ['clearthroat', 'cough', 'doorslam', 'drawer', 'keyboard', 'keysDrop', 'knock', 'laughter', 'pageturn', 'phone', 'speech'];
    const model = createModel(parseModelName('fmn04', classes.length), { seed: 2 });
    saveCheckpoint(path.join(dir, 'in'), model, { classes });
    const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sed.js'), 'recalibrate-bn', '--backend', 'wasm', '-m', path.join(dir, 'in'),
      '--train-tsv', path.join(DATA, 'metadata', 'train.tsv'), '--audio', path.join(DATA, 'audio', 'train'), '--limit', '3', '--batch', '2', '-o', path.join(dir, 'out'), '--no-progress', '--cache', path.join(dir, 'cache')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const out = loadCheckpoint(path.join(dir, 'out'));
    assert.deepEqual((out.meta.training as Record<string, unknown>).batchNormRecalibration, { clips: 3, batches: 2, batchSize: 2 });
    const changed = tf.max(tf.abs(tf.sub(out.model.params.get('model.fmn.features.0.1.running_var')!, model.params.get('model.fmn.features.0.1.running_var')!))).dataSync()[0];
    assert.ok(changed > 1e-3, 'running variance replaced');
    const bad = spawnSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'sed.js'), 'recalibrate-bn', '-m', path.join(dir, 'in'), '--train-tsv', path.join(DATA, 'metadata', 'train.tsv'), '--audio', path.join(DATA, 'audio', 'train'), '--batch', '1', '-o', path.join(dir, 'x')], { encoding: 'utf8' });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /--batch: '1' must be an integer ≥ 2/);
    out.model.dispose();
    model.dispose();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
