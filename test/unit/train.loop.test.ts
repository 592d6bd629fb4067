/**
 * The training loop on the wasm backend with a few clips of the shared dcase2016t2 train split:
 * loss goes down, tensor count is stable per step, a stop (AbortSignal) saves an exact resume state
 * and the resumed run ends bit-identical to an uninterrupted one, and a SIGKILLed `sed train` leaves a
 * loadable last checkpoint that `--resume` continues.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { loadCheckpoint } from '../../engine/checkpoint/index';
import { readSafetensors } from '../../engine/io/safetensors';
import { createModel, parseModelName } from '../../engine/models/index';
import { NO_AUGMENT } from '../../engine/train/augment';
import { AudioCache } from '../../engine/train/cache';
import { loadLabelledSet } from '../../engine/train/data';
import { trainableNames } from '../../engine/train/init';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { resumePath } from '../../engine/train/resumeState';
import { Rng } from '../../engine/train/rng';
import { assembleBatch, batchStep, GradAccumulator, optimizerStep } from '../../engine/train/step';
import { train, type TrainOptions, type TrainProgress } from '../../engine/train/trainer';
import { computeMel } from '../../engine/frontend/mel';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-train-'));
const CACHE = path.join(TMP, 'cache');

function baseOptions(out: string): TrainOptions {
  return {
    model: 'fmn04',
    trainTsv: path.join(DATA, 'metadata', 'train.tsv'),
    trainAudio: path.join(DATA, 'audio', 'train'),
    outDir: out,
    epochs: 2,
    batchSize: 2,
    limit: 4,
    seed: 7,
    cacheDir: CACHE,
    backboneLr: 3e-3,
    seqLr: 3e-3,
  };
}

function weights(dir: string): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of readSafetensors(path.join(dir, 'model.safetensors')).tensors) if (t.data instanceof Float32Array) out.set(k, t.data);
  return out;
}

describe('training loop (wasm, dcase2016t2 subset)', function () {
  this.timeout(900000);
  before(async () => {
    await initBackend('wasm');
    // initBackend is idempotent on its own record; another spec may have switched tf to cpu since.
    await tf.setBackend('wasm');
  });

  it('loss decreases on two clips and the tensor count is the same after every step', async () => {
    const set = await loadLabelledSet({ labelsTsv: path.join(DATA, 'metadata', 'train.tsv'), audioDir: path.join(DATA, 'audio', 'train'), limit: 2, cache: new AudioCache(CACHE) });
    const model = createModel(parseModelName('fmn04', set.classes.length), { seed: 3 });
    const names = trainableNames(model, false);
    const optimizer = new GroupedAdam(model.params, baseLearningRates(names, { backboneLr: 1e-2, seqLr: 1e-2, layerDecay: 0.9 }));
    const ctx = { model, classes: set.classes.length, names, optimizer, melOf: computeMel, kdWeight: 0.9, microBatch: 1 };
    const acc = new GradAccumulator();
    const rng = new Rng(1);
    const losses: number[] = [];
    const counts: number[] = [];
    for (let s = 0; s < 6; s++) {
      const b = assembleBatch(set.segments, [0, 1], NO_AUGMENT, rng, { fminHz: 0, fmaxHz: 7000 }, false);
      losses.push(await batchStep(ctx, b, acc));
      optimizerStep(ctx, acc, 1);
      counts.push(tf.memory().numTensors);
    }
    optimizer.dispose();
    model.dispose();
    assert.ok(losses[5] < 0.8 * losses[0], `loss ${losses.map((l) => l.toFixed(4)).join(' → ')}`);
    // The first step creates the frontend's cached constants; from then on nothing may accumulate.
    assert.deepEqual(counts.slice(1), new Array(5).fill(counts[1]), `tensor counts ${counts.join(', ')}`);
  });

  it('a stopped run saves an exact resume state; resuming ends bit-identical to an uninterrupted run', async () => {
    const outA = path.join(TMP, 'uninterrupted');
    const a = await train(baseOptions(outA));
    assert.equal(a.stopped, false);
    assert.equal(a.steps, 4);
    assert.equal(a.history.length, 2);

    const outB = path.join(TMP, 'interrupted');
    const controller = new AbortController();
    const stopAt = (p: TrainProgress) => {
      if (p.phase === 'train' && p.epoch === 2 && p.batch === 1) controller.abort();
    };
    // Aborted from a timer-free callback: the trainer must notice it between batches.
    const b1 = await train({ ...baseOptions(outB), signal: controller.signal, onProgress: stopAt });
    assert.equal(b1.stopped, true);
    assert.equal(b1.steps, 3);
    const pos = JSON.parse(readSafetensors(resumePath(outB)).metadata.position);
    assert.deepEqual([pos.epoch, pos.batchInEpoch, pos.optimizerStep], [1, 1, 3], JSON.stringify({ ...pos, history: undefined, fingerprint: undefined }));
    const last = loadCheckpoint(path.join(outB, 'last'));
    assert.equal(last.meta.model, 'fmn04');
    last.model.dispose();
    await assert.rejects(train(baseOptions(outB)), /already holds a training run.*--resume/);
    await assert.rejects(train({ ...baseOptions(outB), batchSize: 4, resume: true }), /batchSize = 2, this run has 4/);

    const b2 = await train({ ...baseOptions(outB), resume: true });
    assert.equal(b2.stopped, false);
    assert.equal(b2.steps, 4);
    assert.deepEqual(b2.history.map((h) => h.trainLoss), a.history.map((h) => h.trainLoss));
    const wa = weights(path.join(outA, 'last'));
    const wb = weights(path.join(outB, 'last'));
    let maxDiff = 0;
    for (const [k, v] of wa) {
      const u = wb.get(k)!;
      for (let i = 0; i < v.length; i++) maxDiff = Math.max(maxDiff, Math.abs(v[i] - u[i]));
    }
    assert.equal(maxDiff, 0, 'resumed weights differ from the uninterrupted run');
  });

  it('a cancel arriving through the event loop (JSON-RPC, Ctrl-C) stops at the next batch', async () => {
    const controller = new AbortController();
    let scheduled = false;
    const r = await train({
      ...baseOptions(path.join(TMP, 'cancelled')),
      microBatch: 1,
      signal: controller.signal,
      onProgress: (p) => {
        // Fires only if the trainer yields to the event loop between batches.
        if (p.phase === 'train' && !scheduled) {
          scheduled = true;
          setImmediate(() => controller.abort());
        }
      },
    });
    assert.equal(r.stopped, true);
    assert.equal(r.steps, 1);
  });

  it('after SIGKILL mid-epoch, last/ loads and --resume continues from the last epoch end', async () => {
    const out = path.join(TMP, 'killed');
    const args = ['tsx', 'engine/main.ts', 'train', '-m', 'fmn04', '--train-tsv', path.join(DATA, 'metadata', 'train.tsv'), '--audio', path.join(DATA, 'audio', 'train'),
      '--limit', '4', '--batch', '2', '--epochs', '2', '--seed', '7', '--lr', '3e-3', '--seq-lr', '3e-3', '--cache', CACHE, '--out', out, '--no-progress'];
    const child = spawn('npx', args, { cwd: REPO_ROOT, env: { ...process.env, SED_BACKEND: 'wasm' }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // Kill as soon as the first epoch's state is on disk (the second epoch is then running).
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/epoch 1\/2: train loss/.test(stderr) && fs.existsSync(path.join(out, 'history.json'))) {
          clearInterval(timer);
          process.kill(-child.pid!, 'SIGKILL');
          resolve();
        }
        if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`sed train exited before epoch 2: ${stderr}`));
        }
      }, 50);
    });
    await exited;
    const last = loadCheckpoint(path.join(out, 'last'));
    last.model.dispose();
    const pos = JSON.parse(readSafetensors(resumePath(out)).metadata.position);
    assert.deepEqual([pos.epoch, pos.batchInEpoch], [1, 0]);
    const r = await train({ ...baseOptions(out), resume: true });
    assert.equal(r.steps, 4);
    assert.equal(r.history.length, 2);
  });
  it('SIGTERM (kill, timeout, service managers) stops like Ctrl-C: saves last/ and the resume state, exit 130', async () => {
    const out = path.join(TMP, 'terminated');
    const args = [path.join(REPO_ROOT, 'bin', 'sed.js'), '--backend', 'wasm', 'train', '-m', 'fmn04', '--train-tsv', path.join(DATA, 'metadata', 'train.tsv'), '--audio', path.join(DATA, 'audio', 'train'),
      '--limit', '4', '--batch', '2', '--epochs', '2', '--seed', '7', '--lr', '3e-3', '--seq-lr', '3e-3', '--cache', CACHE, '--out', out, '--no-progress'];
    const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        if (/epoch 1\/2: train loss/.test(stderr)) {
          clearInterval(timer);
          child.kill('SIGTERM');
          resolve();
        }
        if (child.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`sed train exited before epoch 2: ${stderr}`));
        }
      }, 50);
    });
    assert.equal(await exited, 130, stderr);
    assert.match(stderr, /stopped: saved .*last and the resume state/);
    loadCheckpoint(path.join(out, 'last')).model.dispose();
    const r = await train({ ...baseOptions(out), resume: true });
    assert.equal(r.steps, 4);
    assert.equal(r.history.length, 2);
  });
});
