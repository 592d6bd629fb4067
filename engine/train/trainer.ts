/**
 * The training loop (MODEL_SPEC §4 recipe, issue 5), used by `sed train`, the JSON-RPC server and
 * notebooks: data with cached waveforms, grouped Adam + warm-up/cosine schedule, augmentations, KD
 * from stored pseudo-labels or an online teacher, validation PSDS1 every N epochs, best and last
 * checkpoints, and an exact resume state written at every epoch end and when stopped (AbortSignal).
 *
 * Output folder: `last/` and `best/` (checkpoint folders), `resume.safetensors`, `history.json`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { fetchWeights, loadCheckpoint, saveCheckpoint } from '../checkpoint/index';
import { writeFileAtomic } from '../io/atomicWrite';
import type { EngineSedModel } from '../models/index';
import type { SedModel } from '../models/types';
import { REFERENCE_AUGMENT, type AugmentConfig } from './augment';
import { AudioCache, cacheSize } from './cache';
import { epochBatches, loadLabelledSet, type LabelledSet } from './data';
import { GradientWorkers } from './gradientWorkers';
import { buildStartModel, readInitSource, trainableNames } from './init';
import { baseLearningRates, GroupedAdam } from './optimizer';
import { loadResumeState, resumePath, saveResumeState, type EpochRecord, type LoopPosition } from './resumeState';
import { Rng } from './rng';
import { lrFactor, resolveWarmup } from './schedule';
import { assembleBatch, batchStep, GradAccumulator, optimizerStep, StopRequested, type StepContext } from './step';
import { validate, type MelFn, type ValidationResult } from './validation';

export const EVAL_BAND = Object.freeze({ fminHz: 0, fmaxHz: 7000 });

export interface TrainOptions {
  /** Architecture (`fmn04+tf:64`); default: the `init` checkpoint's. */
  model?: string;
  trainTsv: string;
  trainAudio: string;
  trainDurations?: string;
  valTsv?: string;
  valAudio?: string;
  valDurations?: string;
  outDir: string;
  epochs: number;
  batchSize?: number;
  /** Batches per optimizer step (gradient accumulation). */
  accumulate?: number;
  /**
   * Clips per forward/backward pass (a batch is processed in chunks of this size, gradients summed).
   * Default: the whole batch, except on wasm (4 GB heap) ⌊1.6/α⌋ clips (fmn04: 4, fmn10: 1).
   */
  microBatch?: number;
  /**
   * Worker threads that take a share of each batch's chunks, on the CPU backends (wasm and cpu run one
   * thread each). Default: one per further core, at most 3; 0 = this thread only.
   */
  workers?: number;
  backboneLr?: number;
  seqLr?: number;
  layerDecay?: number;
  warmupSteps?: number;
  warmupFraction?: number;
  augment?: Partial<AugmentConfig>;
  kdWeight?: number;
  /** Online teacher checkpoint (run on each augmented batch). */
  teacher?: string;
  /** Folder of stored teacher probabilities (`sed pseudo-label`). */
  pseudoLabels?: string;
  /** Start from this checkpoint (our folder or an upstream .pt); heads re-initialised if classes differ. */
  init?: string;
  freezeBackbone?: boolean;
  validateEvery?: number;
  medianWindow?: number;
  seed?: number;
  resume?: boolean;
  /** Class list (default: sorted labels of the training TSV). */
  classes?: string[];
  cacheDir?: string;
  /** Use only the first n training / validation files (quick runs). */
  limit?: number;
  valLimit?: number;
  evalBatchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: TrainProgress) => void;
  log?: (line: string) => void;
  /** Mel frontend (default engine/frontend computeMel). */
  melFn?: MelFn;
  /** Waveform decoder (default engine/audio decodeAudio). */
  decode?: (file: string) => Promise<Float32Array>;
}

export interface TrainProgress {
  phase: 'load' | 'train' | 'validate';
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  /** Fraction of the whole run done. */
  fraction: number;
  etaSeconds: number;
  loss?: number;
  lr?: number;
}

export interface TrainSummary {
  outDir: string;
  lastCheckpoint: string;
  bestCheckpoint?: string;
  epochsDone: number;
  steps: number;
  stopped: boolean;
  history: EpochRecord[];
  best?: { epoch: number; psds1Macro: number };
  classes: string[];
  cacheBytes: number;
  /** Mean seconds per training epoch in this run (excluding validation). */
  secondsPerEpoch?: number;
  /** Worker threads that shared the forward/backward passes (0: this thread alone). */
  workerThreads: number;
}

/** Resolved recipe with defaults (also recorded in the checkpoints). */
export function resolveRecipe(o: TrainOptions) {
  const r = {
    batchSize: o.batchSize ?? 32,
    accumulate: o.accumulate ?? 1,
    backboneLr: o.backboneLr ?? 3e-3,
    seqLr: o.seqLr ?? 1.5e-3,
    layerDecay: o.layerDecay ?? 0.9,
    kdWeight: o.kdWeight ?? 0.9,
    validateEvery: o.validateEvery ?? 5,
    medianWindow: o.medianWindow ?? 9,
    seed: o.seed ?? 0,
    augment: { ...REFERENCE_AUGMENT, ...o.augment },
    freezeBackbone: !!o.freezeBackbone,
  };
  const check = (ok: boolean, msg: string) => {
    if (!ok) throw new Error(msg);
  };
  check(Number.isInteger(o.epochs) && o.epochs >= 1, `--epochs must be a positive integer, got ${o.epochs}`);
  check(Number.isInteger(r.batchSize) && r.batchSize >= 1, `--batch must be a positive integer, got ${r.batchSize}`);
  check(Number.isInteger(r.accumulate) && r.accumulate >= 1, `--accumulate must be a positive integer, got ${r.accumulate}`);
  check(r.backboneLr > 0 && r.seqLr > 0, '--lr and --seq-lr must be > 0');
  check(r.layerDecay > 0 && r.layerDecay <= 1, `--layer-decay must be in (0, 1], got ${r.layerDecay}`);
  check(Number.isInteger(r.validateEvery) && r.validateEvery >= 1, `--validate-every must be a positive integer`);
  check(Number.isInteger(r.medianWindow) && r.medianWindow >= 1 && r.medianWindow % 2 === 1, `--median-window must be an odd positive integer, got ${r.medianWindow}`);
  check(!(o.teacher && o.pseudoLabels), 'give either --teacher (online) or --pseudo-labels (stored), not both');
  check(!!o.valTsv === !!o.valAudio, '--val-tsv and --val-audio go together');
  return r;
}

/**
 * Clips per forward/backward pass on wasm: ⌊1.6/α⌋ (fmn04: 4, a 1.5 GB heap). The 4 GB heap would hold
 * ~10 fmn04 clips of 10 s, but larger chunks run slower (8 clips: 1.3–1.6× the epoch time, measured).
 */
export function defaultMicroBatch(widthMult: number, batchSize: number): number {
  if (tf.getBackend() !== 'wasm') return batchSize;
  return Math.max(1, Math.min(batchSize, Math.floor(1.6 / widthMult + 1e-9)));
}

/** Data-parallel workers on the CPU backends when a batch has several chunks (see TrainOptions.workers). */
function startWorkers(requested: number | undefined, model: EngineSedModel, names: string[], kdWeight: number, severalChunks: boolean): GradientWorkers | undefined {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') {
    if (requested) throw new Error(`--workers: worker threads share work on the wasm and cpu backends only (active: ${backend})`);
    return undefined;
  }
  const count = requested ?? Math.min(3, os.availableParallelism() - 1);
  if (!Number.isInteger(count) || count < 0) throw new Error(`--workers must be a non-negative integer, got ${requested}`);
  return severalChunks ? GradientWorkers.start(count, backend, model, names, kdWeight) : undefined;
}

function epochOrder(seed: number, epoch: number, n: number): number[] {
  return new Rng((seed * 1000003 + epoch * 7919 + 17) >>> 0).permutation(n);
}

async function defaultMel(): Promise<MelFn> {
  const { computeMel } = await import('../frontend/mel');
  return (waves, band) => computeMel(waves, band) as tf.Tensor4D;
}

/** Train; resolves when done or stopped (signal), after saving. */
export async function train(o: TrainOptions): Promise<TrainSummary> {
  const recipe = resolveRecipe(o);
  const log = o.log ?? (() => undefined);
  const cache = new AudioCache(o.cacheDir);
  const melOf = o.melFn ?? (await defaultMel());
  fs.mkdirSync(o.outDir, { recursive: true });
  if (!o.resume && fs.existsSync(resumePath(o.outDir))) {
    throw new Error(`${o.outDir} already holds a training run (${path.basename(resumePath(o.outDir))}); pass --resume to continue it or choose another --out`);
  }

  const report = (p: Omit<TrainProgress, 'epochs'>) => o.onProgress?.({ ...p, epochs: o.epochs });
  const trainSet = await loadLabelledSet({
    labelsTsv: o.trainTsv, audioDir: o.trainAudio, durationsTsv: o.trainDurations, classes: o.classes, cache, decode: o.decode,
    pseudoLabelsDir: o.pseudoLabels, limit: o.limit,
    onFile: (d, n) => report({ phase: 'load', epoch: 0, batch: d, batches: n, fraction: 0, etaSeconds: NaN }),
  });
  const classes = trainSet.classes;
  let valSet: LabelledSet | undefined;
  if (o.valTsv && o.valAudio) {
    valSet = await loadLabelledSet({ labelsTsv: o.valTsv, audioDir: o.valAudio, durationsTsv: o.valDurations, classes, cache, decode: o.decode, limit: o.valLimit });
  }

  const init = o.init ? readInitSource(o.init, o.model) : undefined;
  const modelName = o.model ?? init?.model;
  if (!modelName) throw new Error('--model is required (or --init with a checkpoint to take the architecture from)');
  const { model, copiedHeads } = buildStartModel(modelName, classes, recipe.seed, init);
  if (init) log(`initialised from ${o.init}${copiedHeads ? '' : ' (heads re-initialised for ' + classes.length + ' classes)'}`);

  let teacher: SedModel | undefined;
  let teacherCols: tf.Tensor1D | undefined;
  if (o.teacher) {
    const t = loadCheckpoint(o.teacher);
    const missing = classes.filter((c) => !t.classes.includes(c));
    if (missing.length) throw new Error(`--teacher ${o.teacher}: has no output for ${missing.join(', ')}`);
    teacher = t.model;
    teacherCols = tf.tensor1d(classes.map((c) => t.classes.indexOf(c)), 'int32');
  }

  const names = trainableNames(model, recipe.freezeBackbone);
  const optimizer = new GroupedAdam(model.params, baseLearningRates(names, recipe));
  const batchesPerEpoch = Math.ceil(trainSet.segments.length / recipe.batchSize);
  const stepsPerEpoch = Math.ceil(batchesPerEpoch / recipe.accumulate);
  const totalSteps = stepsPerEpoch * o.epochs;
  const warmupSteps = resolveWarmup(totalSteps, { steps: o.warmupSteps, fraction: o.warmupFraction });
  const schedule = { totalSteps, warmupSteps };
  const fingerprint: Record<string, unknown> = {
    model: model.config.name, classes, epochs: o.epochs, batchSize: recipe.batchSize, accumulate: recipe.accumulate,
    segments: trainSet.segments.length, backboneLr: recipe.backboneLr, seqLr: recipe.seqLr, layerDecay: recipe.layerDecay,
    warmupSteps, seed: recipe.seed, kdWeight: recipe.kdWeight, kd: o.teacher ? 'online' : o.pseudoLabels ? 'stored' : 'none',
    freezeBackbone: recipe.freezeBackbone, augment: recipe.augment,
  };

  const aug = new Rng(recipe.seed ^ 0x5eed);
  let pos: LoopPosition = { epoch: 0, batchInEpoch: 0, optimizerStep: 0, rngState: aug.state, lossSum: 0, lossCount: 0, bestScore: null, bestEpoch: null, history: [], fingerprint };
  if (o.resume) {
    pos = loadResumeState(o.outDir, model, optimizer, fingerprint);
    aug.state = pos.rngState;
    log(`resumed ${o.outDir}: epoch ${pos.epoch + 1}, batch ${pos.batchInEpoch}/${batchesPerEpoch}, optimizer step ${optimizer.step}`);
  }

  const microBatch = o.microBatch ?? defaultMicroBatch(model.config.widthMult, recipe.batchSize);
  if (!Number.isInteger(microBatch) || microBatch < 1) throw new Error(`--micro-batch must be a positive integer, got ${microBatch}`);
  const ctx: StepContext = {
    model, classes: classes.length, names, optimizer, melOf, melOnWorkers: !o.melFn, kdWeight: recipe.kdWeight, microBatch,
    teacherProbs: teacher ? (mel) => tf.tidy(() => tf.gather(tf.sigmoid(teacher!.forward(mel, { training: false }).strongLogits), teacherCols!, 2) as tf.Tensor3D) : undefined,
  };
  ctx.workers = startWorkers(o.workers, model, names, recipe.kdWeight, microBatch < recipe.batchSize);
  if (ctx.workers) log(`forward/backward shared with ${ctx.workers.count} worker thread${ctx.workers.count > 1 ? 's' : ''}`);
  const acc = new GradAccumulator();
  const meta = (metrics?: Record<string, unknown>) => ({
    classes,
    medianWindowFrames: recipe.medianWindow,
    training: { recipe: { ...recipe, epochs: o.epochs, warmupSteps, totalSteps }, data: o.trainTsv, epochsDone: pos.epoch, optimizerStep: optimizer.step, init: o.init ?? null, teacher: o.teacher ?? o.pseudoLabels ?? null },
    metrics,
  });
  const lastDir = path.join(o.outDir, 'last');
  const bestDir = path.join(o.outDir, 'best');
  const saveAll = async () => {
    await saveResumeState(o.outDir, model, optimizer, { ...pos, optimizerStep: optimizer.step });
    await fetchWeights(model);
    saveCheckpoint(lastDir, model, meta(pos.history.length ? { ...pos.history[pos.history.length - 1] } : undefined));
    writeFileAtomic(path.join(o.outDir, 'history.json'), JSON.stringify({ model: model.config.name, classes, recipe: fingerprint, history: pos.history, best: pos.bestEpoch === null ? null : { epoch: pos.bestEpoch, psds1Macro: pos.bestScore } }, null, 1) + '\n');
  };

  const batchTimes: number[] = [];
  const epochSeconds: number[] = [];
  let stopped = false;
  const remainingBatches = () => (o.epochs - pos.epoch) * batchesPerEpoch - pos.batchInEpoch;
  const eta = () => {
    const mean = batchTimes.length ? batchTimes.reduce((a, b) => a + b, 0) / batchTimes.length : NaN;
    return (mean * remainingBatches()) / 1000;
  };

  try {
    while (pos.epoch < o.epochs && !stopped) {
      const epochStart = Date.now();
      const order = epochOrder(recipe.seed, pos.epoch, trainSet.segments.length);
      const batches = epochBatches(order, recipe.batchSize);
      // Position at the last optimizer-step boundary: what a stop mid-accumulation falls back to.
      let boundary = { batch: pos.batchInEpoch, rng: aug.state, lossSum: pos.lossSum, lossCount: pos.lossCount };
      for (let bi = pos.batchInEpoch; bi < batches.length; bi++) {
        await new Promise<void>((resolve) => setImmediate(resolve)); // let cancel requests / signals in
        if (o.signal?.aborted) {
          stopped = true;
          break;
        }
        const t0 = Date.now();
        const hb = assembleBatch(trainSet.segments, batches[bi], recipe.augment, aug, EVAL_BAND, !!o.pseudoLabels);
        let loss: number;
        try {
          loss = await batchStep(ctx, hb, acc, o.signal);
        } catch (err) {
          if (!(err instanceof StopRequested)) throw err;
          stopped = true;
          break;
        }
        pos.lossSum += loss * hb.size;
        pos.lossCount += hb.size;
        const lastOfEpoch = bi === batches.length - 1;
        const factor = lrFactor(optimizer.step, schedule);
        if (acc.batches === recipe.accumulate || lastOfEpoch) {
          optimizerStep(ctx, acc, factor);
          boundary = { batch: bi + 1, rng: aug.state, lossSum: pos.lossSum, lossCount: pos.lossCount };
        }
        batchTimes.push(Date.now() - t0);
        pos.batchInEpoch = bi + 1;
        report({ phase: 'train', epoch: pos.epoch + 1, batch: bi + 1, batches: batches.length, loss, lr: recipe.backboneLr * factor, fraction: 1 - remainingBatches() / (o.epochs * batchesPerEpoch), etaSeconds: eta() });
      }
      if (stopped) {
        acc.reset();
        pos = { ...pos, batchInEpoch: boundary.batch, rngState: boundary.rng, lossSum: boundary.lossSum, lossCount: boundary.lossCount };
        aug.state = boundary.rng;
        break;
      }
      const seconds = (Date.now() - epochStart) / 1000;
      epochSeconds.push(seconds);
      const record: EpochRecord = { epoch: pos.epoch + 1, trainLoss: pos.lossSum / Math.max(1, pos.lossCount), lr: recipe.backboneLr * lrFactor(Math.max(0, optimizer.step - 1), schedule), seconds };
      const isLast = pos.epoch + 1 === o.epochs;
      let val: ValidationResult | undefined;
      if (valSet && ((pos.epoch + 1) % recipe.validateEvery === 0 || isLast)) {
        report({ phase: 'validate', epoch: pos.epoch + 1, batch: 0, batches: valSet.segments.length, fraction: 1 - remainingBatches() / (o.epochs * batchesPerEpoch), etaSeconds: eta() });
        val = await validate(model, valSet, melOf, EVAL_BAND, cache, { batchSize: o.evalBatchSize ?? microBatch, medianWindow: recipe.medianWindow });
        record.psds1 = val.psds1Macro;
        record.perClassPsds = val.perClass;
      }
      pos.history.push(record);
      pos = { ...pos, epoch: pos.epoch + 1, batchInEpoch: 0, rngState: aug.state, lossSum: 0, lossCount: 0 };
      log(`epoch ${record.epoch}/${o.epochs}: train loss ${record.trainLoss.toFixed(4)}, lr ${record.lr.toExponential(2)}, ${seconds.toFixed(1)} s${val ? `, val PSDS1 ${val.psds1Macro.toFixed(4)} (α_st=1: ${val.psds1.toFixed(4)})` : ''}`);
      if (val && (pos.bestScore === null || val.psds1Macro > pos.bestScore)) {
        pos.bestScore = val.psds1Macro;
        pos.bestEpoch = record.epoch;
        await fetchWeights(model);
        saveCheckpoint(bestDir, model, meta({ psds1Macro: val.psds1Macro, psds1: val.psds1, perClassPsds: val.perClass, epoch: record.epoch }));
      }
      await saveAll();
    }
    if (stopped) {
      await saveAll();
      log(`stopped: saved ${lastDir} and the resume state (epoch ${pos.epoch + 1}, batch ${pos.batchInEpoch})`);
    }
  } finally {
    await ctx.workers?.dispose();
    acc.reset();
    optimizer.dispose();
    model.dispose();
    teacher?.dispose();
    teacherCols?.dispose();
  }
  return {
    outDir: o.outDir,
    lastCheckpoint: lastDir,
    bestCheckpoint: pos.bestEpoch !== null ? bestDir : undefined,
    epochsDone: pos.epoch,
    steps: optimizer.step,
    stopped,
    history: pos.history,
    best: pos.bestEpoch !== null ? { epoch: pos.bestEpoch, psds1Macro: pos.bestScore! } : undefined,
    classes,
    cacheBytes: cacheSize(cache.dir),
    secondsPerEpoch: epochSeconds.length ? epochSeconds.reduce((a, b) => a + b, 0) / epochSeconds.length : undefined,
    workerThreads: ctx.workers?.count ?? 0,
  };
}
