/**
 * Inference throughput (clips/s of 10 s audio) on the active backend, model only (mel input) and end to
 * end (decode + resample + mel + model + sigmoid + median filter + event decoding), at batch 1 and 64,
 * with the ratio to the reference PyTorch's best CPU figure on this kind of machine
 * (anchors/upstream_throughput_cpu.csv). Usage: npx tsx bench/inference.bench.ts [--backend wasm] [--models a,b] [--batches 1,64]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeAudio } from '../engine/audio/index';
import { initBackend } from '../engine/backend/select';
import { decodeEvents } from '../engine/detect/events';
import { medianFilter } from '../engine/detect/medianFilter';
import { computeMel } from '../engine/frontend/mel';
import { createModel, parseModelName, type SedModel } from '../engine/models/index';
import { SHARED_DIR } from '../test/helpers/paths';
import { arg, measure, referenceCpuBest, table, writeResults } from './common';

const MODELS = arg('models', 'fmn04,fmn10,fmn10+tf:256,fmn10+hybrid:128,fmn10+gru:256,fmn04+hybrid:104').split(',');
const BATCHES = arg('batches', '1,64').split(',').map(Number);
const MIN_SECONDS = Number(arg('seconds', '4'));

async function modelOnly(model: SedModel, batch: number): Promise<number> {
  const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
  try {
    return await measure(batch, async () => {
      const out = tf.tidy(() => model.forward(mel, { training: false }).strongLogits);
      await out.data();
      out.dispose();
    }, MIN_SECONDS);
  } finally {
    mel.dispose();
  }
}

async function endToEnd(model: SedModel, batch: number, files: string[], classes: string[]): Promise<number> {
  return measure(batch, async () => {
    const waves = await Promise.all(files.slice(0, batch).map(async (f) => (await decodeAudio(f)).samples));
    const probs = tf.tidy(() => {
      const wave = tf.stack(waves.map((w) => tf.tensor1d(w.subarray(0, 160000)))) as tf.Tensor2D;
      return tf.sigmoid(model.forward(computeMel(wave), { training: false }).strongLogits);
    });
    const data = (await probs.data()) as Float32Array;
    probs.dispose();
    const C = classes.length;
    for (let b = 0; b < waves.length; b++) {
      const filtered = medianFilter(data.subarray(b * 250 * C, (b + 1) * 250 * C), 250, C, 9);
      decodeEvents(filtered, 250, classes, [0.5], { frameSeconds: 0.04, durationSeconds: 10 });
    }
  }, MIN_SECONDS);
}

async function main() {
  const backend = await initBackend(arg('backend', process.env.SED_BACKEND || 'wasm'));
  const audioDir = path.join(SHARED_DIR, 'data', 'dcase2016t2-soundscapes', 'audio', 'validation');
  const pool = fs.readdirSync(audioDir).filter((f) => f.endsWith('.flac')).sort().map((f) => path.join(audioDir, f));
  const files = Array.from({ length: Math.max(...BATCHES) }, (_, i) => pool[i % pool.length]);
  const reference = referenceCpuBest();
  const rows: Record<string, string | number>[] = [];
  for (const name of MODELS) {
    const config = parseModelName(name, 447);
    const model = createModel(config, { seed: 1 });
    const classes = Array.from({ length: config.numClasses }, (_, i) => `c${i}`);
    for (const batch of BATCHES) {
      const mo = await modelOnly(model, batch);
      const e2e = await endToEnd(model, batch, files, classes);
      const ref = reference.get(config.name);
      rows.push({ model: config.name, batch, model_only_clips_s: mo, end_to_end_clips_s: e2e, reference_best_clips_s: ref ?? '-', ratio_model_only: ref ? mo / ref : '-', ratio_end_to_end: ref ? e2e / ref : '-' });
      console.log(table(rows.slice(-1)));
    }
    model.dispose();
  }
  console.log(`\nbackend: ${backend.backend} (${backend.device}); reference: PyTorch 1.13 CPU best over threads 1–2 × batch 1/8/32 (anchors)`);
  console.log(table(rows));
  console.log(`results: ${writeResults('inference', { backend, rows })}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
