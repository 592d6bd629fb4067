/**
 * Data-parallel training on the CPU backends (engine/train/gradientWorkers.ts): a batch whose later
 * micro-batches (and mel spectrograms) run on a worker thread gives the same mel, gradient, loss and BatchNorm
 * running statistics as one thread; a worker that fails fails the step with its reason; `train()` uses the
 * workers and reports them.
 */
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../engine/backend/select';
import { computeMel } from '../../engine/frontend/mel';
import { createModel, parseModelName, type EngineSedModel } from '../../engine/models/index';
import { NO_AUGMENT } from '../../engine/train/augment';
import { AudioCache } from '../../engine/train/cache';
import { loadLabelledSet, type LabelledSet } from '../../engine/train/data';
import { GradientWorkers, splitChunks } from '../../engine/train/gradientWorkers';
import { trainableNames } from '../../engine/train/init';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { Rng } from '../../engine/train/rng';
import { assembleBatch, batchMel, batchStep, GradAccumulator, type StepContext } from '../../engine/train/step';
import { train } from '../../engine/train/trainer';
import { workerEntry } from '../../engine/workerEntry';
import { REPO_ROOT, SHARED_DIR } from '../helpers/paths';

const DATA = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes');
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), 'sed-workers-'));
const CACHE = path.join(TMP, 'cache');

describe('data-parallel training on worker threads (wasm)', function () {
  this.timeout(600000);
  let set: LabelledSet;

  before(async () => {
    if (!workerEntry()) spawnSync(process.execPath, ['esbuild.config.mjs'], { cwd: REPO_ROOT, stdio: 'inherit' });
    await initBackend('wasm');
    await tf.setBackend('wasm');
    set = await loadLabelledSet({ labelsTsv: path.join(DATA, 'metadata', 'train.tsv'), audioDir: path.join(DATA, 'audio', 'train'), cache: new AudioCache(CACHE), limit: 6 });
  });

  it('splits chunks into contiguous, nearly equal shares, the first share the smallest', () => {
    const ranges = Array.from({ length: 5 }, (_, i) => ({ start: 2 * i, n: 2 }));
    assert.deepEqual(splitChunks(ranges, 2).map((s) => s.map((r) => r.start)), [[0, 2], [4, 6, 8]]);
    assert.deepEqual(splitChunks(ranges, 3).map((s) => s.length), [1, 2, 2]);
    assert.deepEqual(splitChunks(ranges.slice(0, 1), 2), [[], ranges.slice(0, 1)]);
  });

  // fmn04 has no dropout, so both runs see the same function of the weights.
  const context = (model: EngineSedModel, workers?: GradientWorkers, melOnWorkers = false): StepContext => {
    const names = trainableNames(model, false);
    return {
      model, classes: set.classes.length, names, kdWeight: 0.9, microBatch: 2, workers, melOnWorkers,
      optimizer: new GroupedAdam(model.params, baseLearningRates(names, { backboneLr: 1e-3, seqLr: 1e-3, layerDecay: 0.9 })),
      melOf: (w, band) => computeMel(w, band) as tf.Tensor4D,
    };
  };
  const step = async (model: EngineSedModel, workers?: GradientWorkers, melOnWorkers = false) => {
    const ctx = context(model, workers, melOnWorkers);
    const acc = new GradAccumulator();
    const hb = assembleBatch(set.segments, [0, 1, 2, 3, 4, 5], { ...NO_AUGMENT }, new Rng(5), { fminHz: 0, fmaxHz: 7000 }, false);
    const loss = await batchStep(ctx, hb, acc);
    const grads = new Map([...acc.mean()].map(([k, g]) => [k, g.dataSync() as Float32Array]));
    const running = new Map([...model.params].filter(([k]) => /running_(mean|var)$/.test(k)).map(([k, v]) => [k, v.dataSync() as Float32Array]));
    const counters = [...model.batchNormCounters.values()];
    acc.reset();
    ctx.optimizer.dispose();
    return { loss, grads, running, counters };
  };

  it('gives the gradient, loss and BatchNorm running statistics of one thread', async () => {
    const config = parseModelName('fmn04', set.classes.length);
    const alone = createModel(config, { seed: 3 }) as EngineSedModel;
    const shared = createModel(config, { seed: 3 }) as EngineSedModel;
    const workers = GradientWorkers.start(1, 'wasm', shared, trainableNames(shared, false), 0.9)!;
    try {
      const a = await step(alone);
      const b = await step(shared, workers, true);
      assert.ok(Math.abs(a.loss - b.loss) < 1e-6 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
      assert.equal(a.grads.size, b.grads.size);
      for (const [k, g] of a.grads) {
        const h = b.grads.get(k)!;
        const scale = Math.max(...g.map(Math.abs), 1e-12);
        const diff = Math.max(...g.map((v, i) => Math.abs(v - h[i])));
        assert.ok(diff <= 1e-4 * scale, `${k}: gradients differ by ${diff} (max |g| ${scale})`);
      }
      for (const [k, r] of a.running) {
        const s = b.running.get(k)!;
        assert.ok(r.every((v, i) => Math.abs(v - s[i]) <= 1e-5 * Math.max(1, Math.abs(v))), `${k} running statistic differs`);
      }
      assert.deepEqual(b.counters, a.counters);
      assert.ok(a.counters.every((n) => n === 3), 'three chunks of 2 clips: three BatchNorm updates');
    } finally {
      await workers.dispose();
      alone.dispose();
      shared.dispose();
    }
  });

  it('a worker computes its share of the mel spectrograms (with the batch\'s band) as this thread would', async () => {
    const model = createModel(parseModelName('fmn04', set.classes.length), { seed: 3 }) as EngineSedModel;
    const workers = GradientWorkers.start(1, 'wasm', model, trainableNames(model, false), 0.9)!;
    try {
      const hb = assembleBatch(set.segments, [0, 1, 2, 3, 4], { ...NO_AUGMENT }, new Rng(5), { fminHz: 30, fmaxHz: 6500 }, false);
      const alone = await batchMel(context(model), hb);
      const shared = await batchMel(context(model, workers, true), hb);
      assert.deepEqual(shared.shape, alone.shape);
      const [a, b] = [alone.dataSync() as Float32Array, shared.dataSync() as Float32Array];
      const diff = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      assert.ok(diff <= 1e-6, `mel differs by ${diff}`);
      const one = assembleBatch(set.segments, [2], { ...NO_AUGMENT }, new Rng(5), { fminHz: 30, fmaxHz: 6500 }, false);
      const oneShared = await batchMel(context(model, workers, true), one); // one clip, two threads: computed here
      assert.deepEqual(oneShared.shape, [1, ...alone.shape.slice(1)]);
      const rowOf2 = a.subarray(2 * oneShared.size, 3 * oneShared.size);
      assert.ok((oneShared.dataSync() as Float32Array).every((v, i) => Math.abs(v - rowOf2[i]) <= 1e-6), 'a one-clip batch: the mel of that clip');
      oneShared.dispose();
      const other = await batchMel(context(model), { ...hb, band: { fminHz: 0, fmaxHz: 8000 } });
      assert.ok(other.dataSync().some((v, i) => Math.abs(v - a[i]) > 1e-3), 'the band changes the mel (so the check above sees it)');
      tf.dispose([alone, shared, other]);
    } finally {
      await workers.dispose();
      model.dispose();
    }
  });

  it('a worker that cannot start fails the step with its reason; a stopped pool refuses work', async () => {
    const model = createModel(parseModelName('fmn04', set.classes.length), { seed: 3 }) as EngineSedModel;
    const broken = GradientWorkers.start(1, 'no-such-backend', model, trainableNames(model, false), 0.9)!;
    const stopped = GradientWorkers.start(1, 'wasm', model, trainableNames(model, false), 0.9)!;
    await stopped.dispose();
    try {
      await assert.rejects(step(model, broken), /training worker thread 1: .*no-such-backend/);
      await assert.rejects(step(model, broken, true), /training worker thread 1: .*no-such-backend/);
      await assert.rejects(step(model, stopped), /training worker threads were stopped/);
    } finally {
      await broken.dispose();
      model.dispose();
    }
  });

  it('train() shares the batches with a worker and reports it; bad counts are refused', async () => {
    const opts = {
      model: 'fmn04', trainTsv: path.join(DATA, 'metadata', 'train.tsv'), trainAudio: path.join(DATA, 'audio', 'train'),
      epochs: 1, batchSize: 4, microBatch: 2, limit: 4, cacheDir: CACHE, augment: NO_AUGMENT,
    };
    const r = await train({ ...opts, outDir: path.join(TMP, 'run'), workers: 1 });
    assert.equal(r.workerThreads, 1);
    assert.ok(Number.isFinite(r.history[0].trainLoss));
    assert.equal((await train({ ...opts, outDir: path.join(TMP, 'alone'), workers: 0 })).workerThreads, 0);
    await assert.rejects(train({ ...opts, outDir: path.join(TMP, 'bad'), workers: -1 }), /--workers must be a non-negative integer, got -1/);
  });
});
