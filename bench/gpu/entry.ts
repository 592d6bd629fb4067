/**
 * GPU benchmark + parity run for a machine reached through the device tool (see bench/gpu/remote.sh):
 * parity of every parity fixture on the active backend (webgpu), inference throughput (model only and
 * with the frontend) and training throughput (forward + backward + Adam) at batch 64, each against the
 * reference's H200 figures (anchors), with Adam alone timed too (adam_ms). Writes JSON to $OUT/gpu.json (or ./gpu.json).
 * Inference syncs on one value of each batch's output (the reference leaves its outputs on the GPU) and also reports
 * the whole output read back, and `--depth` batches queued before they are waited for (default 8; 1 leaves it out).
 * `--streams 1,2,4` measures inference of `--stream-models` with that many processes sharing the GPU (streams.ts).
 * `--loop-profile <model>` times the pieces of a real `sed train` step on cached audio (loopProfile.ts).
 * `--dispatch-cost` times the host cost of one dispatch under this process's settings (dispatchCost.ts).
 * Usage: node entry.js [--profile a,b] [--parity <dir>] [--models a,b] [--train a,b] [--batch 64] [--backend webgpu]
 *        [--streams 1,2,4 --stream-models fmn10+tf:256 --iters 20]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '../../engine/train/gradients';
import { initBackend } from '../../engine/backend/select';
import { computeMel } from '../../engine/frontend/mel';
import { readSafetensors, type HostTensor } from '../../engine/io/safetensors';
import { configFromParityMetadata, createModel, parseModelName } from '../../engine/models/index';
import { AudioCache } from '../../engine/train/cache';
import { defaultDecode } from '../../engine/train/data';
import { dispatchCost } from './dispatchCost';
import { loopProfile } from './loopProfile';
import { profileModels } from './profile';
import { multiStream, streamChild } from './streams';
import { trainingBench } from './trainingBench';
import { arg } from '../common';

/** Reference H200 figures (anchors/upstream_throughput_h200.csv, upstream_train_h200.csv), clips/s. */
const REF_INFER: Record<string, number> = { fmn04: 13950, fmn10: 6275, 'fmn10+tf:256': 5593, 'fmn10+hybrid:128': 5245, 'fmn10+bigru:256': 3644, 'fmn04+hybrid:104': NaN };
const REF_TRAIN: Record<string, number> = { 'fmn04+tf:64': 1025, 'fmn04+hybrid:104': 1013, 'fmn10+tf:256': 921 };

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) || (Number.isNaN(a[i]) ? Infinity : 0));
  return m;
}

async function parity(dir: string) {
  const rows: Record<string, unknown>[] = [];
  const front = path.join(dir, 'frontend.safetensors');
  if (fs.existsSync(front)) {
    const f = readSafetensors(front).tensors;
    const w = f.get('input.waveform')!;
    const mel = computeMel(tf.tensor2d(w.data as Float32Array, w.shape as [number, number]));
    rows.push({ fixture: 'frontend', mel: maxAbs(await mel.data(), f.get('output.mel')!.data as Float32Array) });
    mel.dispose();
  }
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.weights.safetensors')).sort()) {
    const name = file.slice(0, -'.weights.safetensors'.length);
    const weights = readSafetensors(path.join(dir, file));
    const io = readSafetensors(path.join(dir, `${name}.io.safetensors`)).tensors;
    const model = createModel(configFromParityMetadata(weights.metadata), { weights: weights.tensors });
    const m = io.get('input.mel') as HostTensor;
    const out = model.forward(tf.tensor4d(m.data as Float32Array, [m.shape[0], 128, m.shape[3], 1]), { training: false });
    const row: Record<string, unknown> = { fixture: name };
    row.embedding = maxAbs(await out.embedding.data(), io.get('output.embedding')!.data as Float32Array);
    row.strong_logits = maxAbs(await out.strongLogits.data(), io.get('output.strong_logits')!.data as Float32Array);
    row.weak_logits = maxAbs(await out.weakLogits.data(), io.get('output.weak_logits')!.data as Float32Array);
    row.within_1e3 = (row.strong_logits as number) <= 1e-3 && (row.embedding as number) <= 1e-3;
    rows.push(row);
    console.log(JSON.stringify(row));
    tf.dispose(Object.values(out));
    model.dispose();
  }
  return rows;
}

async function timeIt(step: () => Promise<void>, repeats = 10): Promise<number[]> {
  await step();
  await step();
  const ms: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = performance.now();
    await step();
    ms.push(performance.now() - t0);
  }
  return ms.sort((a, b) => a - b);
}

/**
 * Wait for `y` on the GPU and read back one value of it: how a throughput loop that synchronises with the
 * device sees a batch (the reference's figures are model only, its outputs left on the GPU).
 */
async function synchronise(y: tf.Tensor): Promise<void> {
  const one = tf.slice(y, new Array(y.rank).fill(0), new Array(y.rank).fill(1));
  await one.data();
  tf.dispose([one, y]);
}

/** Whole strong logits read back to the host ([64, 250, 447] float32 = 28.6 MB per batch of 64). */
async function readBack(y: tf.Tensor): Promise<void> {
  await y.data();
  y.dispose();
}

/** Median clips/s of `batches` batches per timed run (issued back to back, each one finished by `finish`). */
async function clipsPerSecond(forward: () => tf.Tensor, finish: (y: tf.Tensor) => Promise<void>, batch: number, batches = 1): Promise<number> {
  const ms = await timeIt(async () => {
    await Promise.all(Array.from({ length: batches }, forward).map(finish));
  }, batches > 1 ? 5 : 10);
  return (batch * batches) / (ms[Math.floor(ms.length / 2)] / 1000);
}

/**
 * Inference clips/s of each model at `batch`: model only (mel input) with the output left on the GPU
 * (one value read back per batch: the reference's method), the same with the whole logits read back,
 * with the frontend (waveform input), and with `depth` batches queued before they are waited for.
 */
async function inference(models: string[], batch: number, depth: number) {
  const rows: Record<string, unknown>[] = [];
  for (const name of models) {
    const config = parseModelName(name, 447);
    const model = createModel(config, { seed: 1 });
    const mel = tf.randomNormal([batch, 128, 1000, 1]) as tf.Tensor4D;
    const wave = tf.randomNormal([batch, 160000], 0, 0.1) as tf.Tensor2D;
    const forward = (input: () => tf.Tensor4D) => () => tf.tidy(() => model.forward(input(), { training: false }).strongLogits);
    const modelOnly = await clipsPerSecond(forward(() => mel), synchronise, batch);
    const ref = REF_INFER[config.name] ?? NaN;
    const row = {
      model: config.name,
      batch,
      model_only_clips_s: modelOnly,
      read_back_clips_s: await clipsPerSecond(forward(() => mel), readBack, batch),
      with_frontend_clips_s: await clipsPerSecond(forward(() => computeMel(wave)), synchronise, batch),
      [`queued${depth}_clips_s`]: depth > 1 ? await clipsPerSecond(forward(() => mel), synchronise, batch, depth) : null,
      reference_h200: REF_INFER[config.name] ?? null,
      ratio: modelOnly / ref,
    };
    console.log(JSON.stringify(row));
    rows.push(row);
    tf.dispose([mel, wave]);
    model.dispose();
  }
  return rows;
}

/** Training clips/s of each model at `batch`: the median of `steps` timed steps (forward + backward + Adam). */
async function training(models: string[], batch: number, steps: number) {
  const rows: Record<string, unknown>[] = [];
  for (const name of models) {
    const b = trainingBench(name, batch);
    const ms = await timeIt(async () => {
      const loss = b.step();
      await loss.data();
      loss.dispose();
    }, steps);
    const clips = batch / (ms[Math.floor(ms.length / 2)] / 1000);
    const adamMs = await timeIt(() => b.adam(), 5);
    const row = { model: b.name, batch, train_clips_s: clips, adam_ms: adamMs[Math.floor(adamMs.length / 2)], reference_h200: REF_TRAIN[b.name] ?? null, ratio: clips / (REF_TRAIN[b.name] ?? NaN), tensors: tf.memory().numTensors };
    console.log(JSON.stringify(row));
    rows.push(row);
    b.dispose();
  }
  return rows;
}

/** Decode one shard of the files listed in `--files` into the training cache (run n shards in parallel). */
async function fillCache(dir: string): Promise<void> {
  const files = fs.readFileSync(arg('files', ''), 'utf8').split('\n').filter(Boolean);
  const shard = Number(arg('shard', '0'));
  const shards = Number(arg('shards', '1'));
  const cache = new AudioCache(dir);
  for (let i = shard; i < files.length; i += shards) await cache.waveform(files[i], defaultDecode);
}

async function main() {
  const cacheDir = arg('fill-cache', '');
  if (cacheDir) return fillCache(cacheDir);
  const child = arg('stream-child', '');
  if (child) return streamChild(child, Number(arg('batch', '64')), Number(arg('iters', '20')), arg('backend', 'webgpu'));
  const active = await initBackend(arg('backend', 'webgpu'));
  // Storage buffers per shader set how many parameters one multi-tensor Adam dispatch updates.
  const limits = (tf.backend() as unknown as { device?: GPUDevice }).device?.limits;
  const backend = { ...active, storageBuffersPerShader: limits?.maxStorageBuffersPerShaderStage };
  console.log(JSON.stringify(backend));
  const submitBatch = arg('submit-batch', '');
  if (submitBatch) tf.env().set('WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE', Number(submitBatch));
  const batch = Number(arg('batch', '64'));
  const result: Record<string, unknown> = { date: new Date().toISOString(), backend };
  if (process.argv.includes('--dispatch-cost')) {
    result.dispatchCost = await dispatchCost();
    console.log(JSON.stringify(result.dispatchCost));
  }
  const profile = arg('profile', '').split(',').filter(Boolean);
  if (profile.length) result.profile = await profileModels(profile, batch);
  const loopModel = arg('loop-profile', '');
  if (loopModel) {
    const row = await loopProfile({ model: loopModel, trainTsv: arg('train-tsv', ''), audioDir: arg('audio', ''), cacheDir: arg('cache', ''), batch: Number(arg('batch', '32')), batches: Number(arg('batches', '12')) });
    console.log(JSON.stringify(row));
    result.loopProfile = row;
  }
  const streams = arg('streams', '').split(',').filter(Boolean).map(Number);
  if (streams.length) {
    result.streams = [];
    for (const name of arg('stream-models', 'fmn10+tf:256').split(',')) {
      for (const n of streams) {
        const row = await multiStream(name, n, batch, Number(arg('iters', '20')), arg('backend', 'webgpu'));
        console.log(JSON.stringify(row));
        (result.streams as unknown[]).push(row);
      }
    }
  }
  const parityDir = arg('parity', '');
  if (parityDir) result.parity = await parity(parityDir);
  const models = arg('models', 'fmn04,fmn10,fmn10+tf:256,fmn10+hybrid:128,fmn10+gru:256,fmn04+hybrid:104').split(',').filter(Boolean);
  const depth = Number(arg('depth', '8'));
  result.inference = await inference(models, batch, depth);
  if (arg('batch1', '')) result.inference1 = await inference(models, 1, depth);
  const trainModels = arg('train', 'fmn04+tf:64,fmn04+hybrid:104,fmn10+tf:256').split(',').filter(Boolean);
  result.training = await training(trainModels, batch, Number(arg('steps', '5')));
  const out = path.join(process.env.OUT || '.', arg('result', 'gpu.json'));
  fs.writeFileSync(out, JSON.stringify(result, null, 2));
  console.log(`wrote ${out}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
