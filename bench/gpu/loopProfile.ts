/**
 * Where a real training step's time goes (issue 5/9): the model-only training benchmark reached 500 clips/s
 * for fmn04+tf:64 on the H200, while `sed train` with the same model ran a 600-clip epoch in 10–14 s
 * (~50 clips/s). This times the trainer's own pieces on cached training audio, each phase followed by a
 * read-back so its GPU work is inside its own bracket, then the unsynchronised step as `train()` runs it.
 * Usage: node entry.js --loop-profile fmn04+tf:64 --train-tsv t.tsv --audio dir --cache dir [--batch 32] [--batches 12]
 */
import * as tf from '@tensorflow/tfjs-core';
import { AudioCache } from '../../engine/train/cache';
import { loadLabelledSet } from '../../engine/train/data';
import { buildStartModel, trainableNames } from '../../engine/train/init';
import { baseLearningRates, GroupedAdam } from '../../engine/train/optimizer';
import { Rng } from '../../engine/train/rng';
import { REFERENCE_AUGMENT } from '../../engine/train/augment';
import { assembleBatch, batchMel, batchStep, GradAccumulator, optimizerStep, prepareInputs, type StepContext } from '../../engine/train/step';
import { chunkGradients } from '../../engine/train/chunkGradients';
import { computeMel } from '../../engine/frontend/mel';
import { EVAL_BAND } from '../../engine/train/trainer';
import { median } from '../common';

export interface LoopProfileOptions {
  model: string;
  trainTsv: string;
  audioDir: string;
  cacheDir: string;
  batch: number;
  batches: number;
}

const sync = async (t: tf.Tensor) => {
  const s = tf.sum(t);
  await s.data();
  s.dispose();
};

export async function loopProfile(o: LoopProfileOptions): Promise<Record<string, number | string>> {
  const set = await loadLabelledSet({ labelsTsv: o.trainTsv, audioDir: o.audioDir, cache: new AudioCache(o.cacheDir), limit: o.batch * o.batches });
  const { model } = buildStartModel(o.model, set.classes, 0);
  const names = trainableNames(model, false);
  const optimizer = new GroupedAdam(model.params, baseLearningRates(names, { backboneLr: 3e-3, seqLr: 1.5e-3, layerDecay: 0.9 }));
  const ctx: StepContext = { model, classes: set.classes.length, names, optimizer, melOf: (w, band) => computeMel(w, band) as tf.Tensor4D, kdWeight: 0.9, microBatch: o.batch };
  const aug = { ...REFERENCE_AUGMENT, waveMixP: 0, freqJitter: false }; // the reference recipe's flags (bench/gpu/train-default.sh)
  const rng = new Rng(1);
  const acc = new GradAccumulator();
  const vars = names.map((n) => model.params.get(n)!);
  const phases: Record<string, number[]> = { assemble: [], inputs: [], forwardBackward: [], batchNormUpdate: [], optimizer: [], lossReadBack: [], syncedTotal: [], trainerStep: [] };
  const idx = (b: number) => Array.from({ length: o.batch }, (_, k) => (b * o.batch + k) % set.segments.length);
  for (let round = 0; round < 2; round++) {
    for (let b = 0; b < o.batches; b++) {
      const t0 = performance.now();
      const hb = assembleBatch(set.segments, idx(b), aug, rng, EVAL_BAND, false);
      const t1 = performance.now();
      const inputs = prepareInputs(ctx, hb, await batchMel(ctx, hb));
      await sync(inputs.mel);
      const t2 = performance.now();
      const loss = tf.tidy(() => {
        const { loss, grads } = chunkGradients(model, names, inputs.mel, inputs.hard, null, 0.9);
        acc.add(grads, 1);
        return loss;
      });
      await sync(loss);
      const t3 = performance.now();
      tf.tidy(() => model.applyBatchNormUpdate());
      await sync(vars[0]);
      const t4 = performance.now();
      optimizerStep(ctx, acc, 1);
      await sync(vars[vars.length - 1]);
      const t5 = performance.now();
      await loss.data();
      const t6 = performance.now();
      loss.dispose();
      inputs.dispose();
      if (round === 1) {
        const add = (k: string, ms: number) => phases[k].push(ms);
        add('assemble', t1 - t0);
        add('inputs', t2 - t1);
        add('forwardBackward', t3 - t2);
        add('batchNormUpdate', t4 - t3);
        add('optimizer', t5 - t4);
        add('lossReadBack', t6 - t5);
        add('syncedTotal', t6 - t0);
      }
    }
  }
  for (let b = 0; b < o.batches; b++) {
    const t0 = performance.now();
    const hb = assembleBatch(set.segments, idx(b), aug, rng, EVAL_BAND, false);
    await batchStep(ctx, hb, acc);
    optimizerStep(ctx, acc, 1);
    phases.trainerStep.push(performance.now() - t0);
  }
  optimizer.dispose();
  model.dispose();
  const row: Record<string, number | string> = { model: o.model, batch: o.batch, backend: tf.getBackend() };
  for (const [k, v] of Object.entries(phases)) row[`${k}_ms`] = Math.round(median(v) * 10) / 10;
  row.trainer_clips_s = Math.round(o.batch / (median(phases.trainerStep) / 1000));
  return row;
}
