/**
 * Model and detection requests: listModels, loadModel, detect (one file → events + a scores file +
 * exports) and scores (many files → sed_scores_eval score tables for `sed/evaluate`). Models come from
 * the model store (bundled default, pulled, user checkpoints), which caches loaded weights, so after an
 * engine restart a model is simply reloaded on the next request that names it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countParams } from '../../models/index';
import { listModels, loadModel, resolveModelDir, type ModelStoreOptions } from '../../detect/modelStore';
import { detectFile, FRAME_SECONDS } from '../../detect/pipeline';
import { writeAudacityLabels, writeDcaseTsv, writeEventsJson, writeScoresForAudio } from '../../detect/exports';
import { writeSafetensors } from '../../io/safetensors';
import { scorerForCheckpoint } from '../../onnx/select';
import {
  DetectRequest,
  ListModelsRequest,
  LoadModelRequest,
  ScoresRequest,
  type DetectParams,
  type DetectResult,
  type LoadModelParams,
  type ScoresParams,
} from '../../protocol/protocol';
import { optionalNumber, optionalNumberArray, optionalString, ParamError, requireExisting, requireString, requireStringArray } from '../errors';
import type { EngineServer } from '../server';

const AUDIO_EXTENSIONS = /\.(wav|flac|mp3|ogg|oga|opus)$/i;

/** The store wants a model spec; a bad one is a parameter error naming `model` and listing what exists. */
function load(method: string, spec: string | undefined, store: ModelStoreOptions) {
  try {
    return loadModel(spec, store);
  } catch (err) {
    const message = (err as Error).message;
    if (/^Unknown model|PyTorch checkpoint|not a checkpoint folder/.test(message) || message.includes(String(spec))) throw new ParamError(method, 'model', message);
    throw err;
  }
}

function storeOptions(server: EngineServer, extraUserDirs: string[] = []): ModelStoreOptions {
  const state = server.requireState('model store');
  return { cacheDir: state.modelsDir, userDirs: [...state.userModelDirs, ...extraUserDirs] };
}

/** Files named directly, plus the audio files of named folders (sorted, not recursive). */
function expandInputs(method: string, inputs: string[]): string[] {
  const files: string[] = [];
  inputs.forEach((input, i) => {
    const abs = requireExisting(method, `inputs[${i}]`, input, 'any');
    if (fs.statSync(abs).isDirectory()) {
      const found = fs.readdirSync(abs).filter((f) => AUDIO_EXTENSIONS.test(f)).sort().map((f) => path.join(abs, f));
      if (found.length === 0) throw new ParamError(method, `inputs[${i}]`, `is a folder without audio files (wav, flac, mp3, ogg, opus): '${abs}'`);
      files.push(...found);
    } else files.push(abs);
  });
  return files;
}

function thresholdsParam(method: string, params: object): number[] | undefined {
  const t = optionalNumberArray(method, params, 'thresholds');
  if (t && (t.length === 0 || t.some((v) => v <= 0 || v >= 1))) throw new ParamError(method, 'thresholds', `must be a non-empty list of numbers in (0, 1), got [${t.join(', ')}]`);
  return t;
}

export function register(server: EngineServer): void {
  server.light(ListModelsRequest, (params) => {
    const extra = params.userDirs === undefined ? [] : requireStringArray(ListModelsRequest.method, params, 'userDirs').map((d) => path.resolve(d));
    const models = listModels(storeOptions(server, extra)).map((e) => ({ id: e.id, name: e.model, source: e.source, path: e.dir, numClasses: e.numClasses }));
    return { models };
  });

  server.heavy(LoadModelRequest, 'loadModel', (params: LoadModelParams) => {
    const m = LoadModelRequest.method;
    const spec = optionalString(m, params, 'model');
    return {
      title: `load ${spec ?? 'default model'}`,
      run: async () => {
        const ckpt = load(m, spec, storeOptions(server));
        return {
          path: ckptDir(spec, server),
          name: ckpt.meta.model,
          numParams: countParams(ckpt.model.config),
          numClasses: ckpt.classes.length,
          classes: ckpt.classes,
          thresholds: ckpt.meta.postprocessing.thresholds,
          medianWindow: ckpt.meta.postprocessing.medianWindowFrames,
        };
      },
    };
  });

  server.heavy(DetectRequest, 'detect', (params: DetectParams) => {
    const m = DetectRequest.method;
    const file = requireExisting(m, 'file', requireString(m, params, 'file'));
    const spec = optionalString(m, params, 'model');
    const thresholds = thresholdsParam(m, params);
    const medianWindow = optionalNumber(m, params, 'medianWindow', { min: 1, max: 1001, integer: true });
    const classes = params.classes === undefined ? undefined : requireStringArray(m, params, 'classes');
    const scoresOut = optionalString(m, params, 'scoresOut');
    const exports = params.exports ?? {};
    if (typeof exports !== 'object' || Array.isArray(exports)) throw new ParamError(m, 'exports', 'must be an object { tsv?, audacity?, json? } of output paths');
    for (const key of Object.keys(exports)) {
      if (!['tsv', 'audacity', 'json'].includes(key)) throw new ParamError(m, `exports.${key}`, 'is not an export format; valid: tsv, audacity, json');
      optionalString(m, exports, key);
    }
    return {
      title: `detect ${path.basename(file)} with ${spec ?? 'the default model'}`,
      run: async (job): Promise<DetectResult> => {
        const t0 = Date.now();
        const ckpt = load(m, spec, storeOptions(server));
        const scorer = await scorerForCheckpoint(ckptDir(spec, server), server.requireState(m).backend.backend);
        let r;
        try {
          r = await detectFile(file, ckpt, { thresholds, medianWindow, classes, signal: job.signal, scorer, onProgress: (done, total) => job.progress(done, total, `chunk ${done}/${total}`) });
        } catch (err) {
          if (/Unknown class/.test((err as Error).message)) throw new ParamError(m, 'classes', (err as Error).message);
          throw err;
        }
        const scoresFile = scoresOut ? path.resolve(scoresOut) : server.resultPath(`scores-${path.basename(file)}`, '.safetensors');
        writeSafetensors(scoresFile, new Map([['scores', { shape: [r.frames, r.classes.length], data: r.scores }]]), {
          classes: JSON.stringify(r.classes),
          frameSeconds: String(r.frameSeconds),
          file,
        });
        const exported: string[] = [];
        const fileEvents = [{ filename: path.basename(file), events: r.events }];
        // A DCASE table / label track holds one operating point: the highest threshold (fewest false alarms).
        const operating = Math.max(...r.thresholds);
        if (exports.tsv) {
          writeDcaseTsv(path.resolve(exports.tsv), fileEvents, { threshold: operating });
          exported.push(path.resolve(exports.tsv));
        }
        if (exports.audacity) {
          writeAudacityLabels(path.resolve(exports.audacity), r.events, { threshold: operating });
          exported.push(path.resolve(exports.audacity));
        }
        if (exports.json) {
          writeEventsJson(path.resolve(exports.json), fileEvents, { model: ckpt.meta.model, thresholds: r.thresholds, durationSeconds: r.durationSeconds });
          exported.push(path.resolve(exports.json));
        }
        return {
          file,
          model: ckptDir(spec, server),
          modelName: ckpt.meta.model,
          duration: r.durationSeconds,
          classes: r.classes,
          thresholds: r.thresholds,
          events: r.events.map((e) => ({ label: e.label, onset: e.onset, offset: e.offset, maxScore: e.maxScore, meanScore: e.meanScore, threshold: e.threshold })),
          scoresFile,
          frames: r.frames,
          frameSeconds: r.frameSeconds,
          exported,
          seconds: (Date.now() - t0) / 1000,
        };
      },
    };
  });

  server.heavy(ScoresRequest, 'scores', (params: ScoresParams) => {
    const m = ScoresRequest.method;
    const files = expandInputs(m, requireStringArray(m, params, 'inputs', { nonEmpty: true }));
    const spec = optionalString(m, params, 'model');
    const medianWindow = optionalNumber(m, params, 'medianWindow', { min: 1, max: 1001, integer: true }) ?? 1;
    const outDir = path.resolve(requireString(m, params, 'outDir'));
    return {
      title: `scores of ${files.length} file(s) with ${spec ?? 'the default model'}`,
      run: async (job) => {
        const ckpt = load(m, spec, storeOptions(server));
        const scorer = await scorerForCheckpoint(ckptDir(spec, server), server.requireState(m).backend.backend);
        fs.mkdirSync(outDir, { recursive: true });
        const written: string[] = [];
        for (const [i, file] of files.entries()) {
          if (job.signal.aborted) throw new Error(`${m}: cancelled`);
          const r = await detectFile(file, ckpt, { medianWindow, thresholds: [0.5], signal: job.signal, scorer });
          written.push(writeScoresForAudio(outDir, file, r.classes, r.scores, r.frames, r.frameSeconds));
          job.progress(i + 1, files.length, path.basename(file));
        }
        return { outDir, files: written, classes: ckpt.classes, frameSeconds: FRAME_SECONDS };
      },
    };
  });
}

/** The checkpoint folder a spec resolves to (for results; the store has already validated it). */
function ckptDir(spec: string | undefined, server: EngineServer): string {
  return path.resolve(resolveModelDir(spec, storeOptions(server)));
}
