/**
 * The `sed` object notebook cells see: the engine's functions with the running cell's cancellation
 * signal and progress reporting wired in, tfjs itself, and `sed.show.*` helpers that display results
 * through the notebook renderers' MIME types (binary payloads go out as files, never as JSON numbers).
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { MIME, encodeEventRoll, encodeSpectrogram, melCentreFrequencies } from '../../renderers/lib/encode';
import { activeBackend } from '../backend/select';
import { listModels, loadModel, type ModelStoreOptions } from '../detect/modelStore';
import { detectFile, type DetectOptions, type DetectResult } from '../detect/pipeline';
import { writeScoresForAudio } from '../detect/exports';
import { evaluateFiles, type EvaluateFilesInput, type EvaluateOptions, type EvaluationResult } from '../eval/index';
import { melForFile, type FileMel } from '../frontend/fileMel';
import { countMacs, countParams, createModel, parseModelName, type EngineSedModel } from '../models/index';
import { train, type TrainOptions, type TrainSummary } from '../train/trainer';
import type { CellHooks } from './kernel';
import { profileModels, type ProfileOptions } from './profileModels';

/** What the API needs from the server around it. */
export interface SedApiEnv {
  storeOptions(): ModelStoreOptions;
}

/** Resolves after `ms`, or rejects when the cell is interrupted. */
function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('interrupted'));
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('interrupted'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** The engine's log-mel is (ln(power) + 4.5) / 5 (MODEL_SPEC §1); the spectrogram renderer wants dB. */
function melToDb(mel: Float32Array): Float32Array {
  const db = new Float32Array(mel.length);
  const k = 10 / Math.LN10;
  for (let i = 0; i < mel.length; i++) db[i] = k * (5 * mel[i] - 4.5);
  return db;
}

/** [frames, classes] row-major → [classes, frames] row-major (the event roll's layout). */
function classMajor(scores: Float32Array, frames: number, classes: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let f = 0; f < frames; f++) for (let c = 0; c < classes; c++) out[c * frames + f] = scores[f * classes + c];
  return out;
}

export function createSedApi(cell: () => CellHooks, env: SedApiEnv): Record<string, unknown> {
  const signal = () => cell().signal;
  const show = {
    /** Event roll of a `sed.detect` result (optionally with its spectrogram from `sed.mel`). */
    events(r: DetectResult, opts: { threshold?: number; title?: string; mel?: FileMel; groundTruth?: [number, number, string][] } = {}): void {
      const bytes = encodeEventRoll({
        probs: classMajor(r.scores, r.frames, r.classes.length),
        classes: r.classes,
        frames: r.frames,
        hop_s: r.frameSeconds,
        threshold: opts.threshold ?? Math.max(...r.thresholds),
        title: opts.title ?? path.basename(r.file),
        source: r.file,
        ground_truth: opts.groundTruth,
        spectrogram: opts.mel ? { db: melToDb(opts.mel.data), bins: 128, frames: opts.mel.frames, header: { kind: 'mel', freqs_hz: melCentreFrequencies(), hop_s: 0.01 } } : undefined,
      });
      cell().display(MIME.eventRoll, bytes);
    },
    /** Spectrogram of a `sed.mel` result. */
    spectrogram(m: FileMel, opts: { title?: string } = {}): void {
      const bytes = encodeSpectrogram({ db: melToDb(m.data), bins: 128, frames: m.frames, header: { kind: 'mel', freqs_hz: melCentreFrequencies(), hop_s: 0.01, title: opts.title ?? path.basename(m.info.file), source: m.info.file } });
      cell().display(MIME.spectrogram, bytes);
    },
    /** PSD-ROC curves of `sed.evaluate` results: one run, or several named ones to compare. */
    psdRoc(runs: EvaluationResult | Record<string, EvaluationResult>): void {
      const list = 'psds1' in runs || 'event_classes' in runs ? [['run', runs as EvaluationResult] as const] : Object.entries(runs as Record<string, EvaluationResult>);
      cell().display(MIME.psdRoc, { runs: list.map(([name, r]) => ({ name, psds1: r.psds1 })) });
    },
    /** Trade-off chart of profile/sweep rows (add `psds1` per row to plot PSDS1). */
    tradeoff(rows: Array<{ name?: string; model?: string; params: number; macs: number; psds1?: number; ms?: number }>, opts: { x?: string; y?: string; title?: string } = {}): void {
      const out = rows.map((r) => {
        const model = r.model ?? r.name ?? '?';
        return { model, seq: model.includes('+') ? model.split('+')[1].split(':')[0].toUpperCase() : 'none', params: r.params, macs: r.macs, ...(r.psds1 !== undefined ? { psds1: r.psds1 } : {}), ...(r.ms ? { throughput: 1000 / r.ms } : {}) };
      });
      cell().display(MIME.tradeoff, { title: opts.title, x: opts.x ?? 'macs', y: opts.y ?? (out.every((r) => r.psds1 !== undefined) ? 'psds1' : 'params'), rows: out });
    },
    /** Training curves of a training summary (or its history rows). */
    trainingCurves(history: TrainSummary | TrainSummary['history'], opts: { title?: string; totalEpochs?: number } = {}): void {
      const rows = Array.isArray(history) ? history : history.history;
      cell().display(MIME.trainingCurves, { title: opts.title, total_epochs: opts.totalEpochs, rows: rows.map((h) => ({ epoch: h.epoch, loss: h.trainLoss, lr: h.lr, ...(h.psds1 !== undefined ? { val_psds1: h.psds1 } : {}) })) });
    },
  };

  return {
    /** tfjs-core (ops, tidy, memory). */
    tf,
    /** The active backend (name, device, versions). */
    get backend() {
      return activeBackend();
    },
    /** The running cell's cancellation signal: pass it to long loops and engine calls. */
    get signal() {
      return signal();
    },
    /** Throws when the cell was interrupted (for hand-written loops). */
    checkInterrupted(): void {
      if (signal().aborted) throw new Error('interrupted');
    },
    /** Report progress of the running cell (shown by the notebook as the cell's progress). */
    progress(done: number, total?: number, message?: string): void {
      cell().progress(done, total, message);
    },
    /** Show `data` with a MIME type (renderer types, text/html, …); typed arrays / ArrayBuffers are binary. */
    display(mime: string, data: unknown): void {
      cell().display(mime, data);
    },
    /** Tensor and process memory counters. */
    memory() {
      const m = tf.memory();
      return { numTensors: m.numTensors, numBytes: m.numBytes, rss: process.memoryUsage().rss };
    },
    /** Wait, interruptibly. */
    sleep(ms: number): Promise<void> {
      return abortableSleep(ms, signal());
    },
    /** Architectures: parse names, build models (seeded init), count parameters and MACs. */
    models: {
      parse: parseModelName,
      create(name: string, opts: { numClasses?: number; seed?: number } = {}): EngineSedModel {
        let model!: EngineSedModel;
        // Construction makes intermediate tensors besides the variables: only the variables stay.
        tf.tidy(() => {
          model = createModel(parseModelName(name, opts.numClasses), { seed: opts.seed ?? 0 });
        });
        return model;
      },
      params: (name: string, numClasses?: number) => countParams(parseModelName(name, numClasses)),
      macs: (name: string, seconds = 10) => countMacs(parseModelName(name), Math.round(seconds * 100)),
    },
    /** Checkpoints: bundled default, pulled and user models. */
    listModels: () => listModels(env.storeOptions()),
    /** Load (cached) a checkpoint: { model, classes, meta }. */
    loadModel: (spec?: string) => loadModel(spec, env.storeOptions()),
    /** Detect events in a file: { events, scores [frames, classes], classes, thresholds, … }. */
    detect(file: string, opts: Omit<DetectOptions, 'signal' | 'onProgress'> & { model?: string } = {}): Promise<DetectResult> {
      const ckpt = loadModel(opts.model, env.storeOptions());
      return detectFile(file, ckpt, { ...opts, signal: signal(), onProgress: (d, n) => cell().progress(d, n, `${path.basename(file)}: chunk ${d}/${n}`) });
    },
    /** Score files into sed_scores_eval tables in `outDir` (input of `sed.evaluate`). */
    async scores(files: string[], opts: { model?: string; outDir: string; medianWindow?: number }): Promise<string[]> {
      const ckpt = loadModel(opts.model, env.storeOptions());
      const written: string[] = [];
      for (const [i, file] of files.entries()) {
        const r = await detectFile(file, ckpt, { medianWindow: opts.medianWindow ?? 1, thresholds: [0.5], signal: signal() });
        written.push(writeScoresForAudio(opts.outDir, file, r.classes, r.scores, r.frames, r.frameSeconds));
        cell().progress(i + 1, files.length, path.basename(file));
      }
      return written;
    },
    /** Log-mel of a whole file (the model's frontend): { data [128, frames], frames, info }. */
    mel: (file: string) => melForFile(file),
    /** PSDS1/PSDS2/F1 from score tables on disk. */
    evaluate: (input: EvaluateFilesInput, options?: EvaluateOptions): EvaluationResult => evaluateFiles(input, options),
    /** Params/MACs (and forward timing with `{ time: true }`) of architectures. */
    profile: (names: string[], opts: Omit<ProfileOptions, 'signal' | 'onProgress'> = {}) =>
      profileModels(names.map((n) => parseModelName(n)), { ...opts, signal: signal(), onProgress: (d, n, name) => cell().progress(d, n, name) }),
    /**
     * Train (see engine/train TrainOptions). Interrupting the cell stops at the next batch and saves;
     * with `{ live: true }` the training curves are drawn and updated after every epoch.
     */
    async train(opts: Omit<TrainOptions, 'signal' | 'onProgress'> & { live?: boolean }): Promise<TrainSummary> {
      const { live, ...o } = opts;
      const rows: Array<Record<string, number>> = [];
      return train({
        ...o,
        signal: signal(),
        log: o.log ?? ((line) => cell().display('text/plain', line)),
        onProgress: (p) => {
          const msg = p.phase === 'train' ? `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}` : `${p.phase} ${p.batch}/${p.batches}`;
          cell().progress(Math.round(p.fraction * 1000), 1000, msg);
          if (live && p.phase === 'train' && p.batch === p.batches && p.loss !== undefined) {
            rows.push({ epoch: p.epoch, loss: p.loss, ...(p.lr !== undefined ? { lr: p.lr } : {}) });
            // The notebook replaces a streamed chart of the same MIME type, so the chart grows in place.
            cell().display(MIME.trainingCurves, { title: `training ${o.model ?? ''}`.trim(), total_epochs: p.epochs, rows });
          }
        },
      });
    },
    show,
  };
}
