/**
 * `sed/train` and `sed/pseudoLabel`. Training runs the trainer as a job. Cancellation reaches the trainer as its AbortSignal: it stops at
 * the next batch, saves `last/` and the resume state, and the request resolves with `cancelled: true`
 * (the checkpoint is the result), so a client can resume later with `options.resume`.
 */
import * as path from 'node:path';
import { writeTeacherPseudoLabels } from '../../train/pseudoLabelRun';
import { train, type TrainOptions } from '../../train/trainer';
import { PseudoLabelRequest, TrainRequest, type PseudoLabelParams, type TrainParams, type TrainResult } from '../../protocol/protocol';
import { optionalNumber, optionalString, ParamError, requireExisting, requireString, requireStringArray } from '../errors';
import type { EngineServer } from '../server';

/** Options a client may pass through; the function-valued ones are the server's to set. */
const PASSTHROUGH = [
  'batchSize', 'accumulate', 'microBatch', 'workers', 'backboneLr', 'seqLr', 'layerDecay', 'warmupSteps', 'warmupFraction', 'augment', 'kdWeight', 'teacher',
  'pseudoLabels', 'init', 'freezeBackbone', 'valTsv', 'valAudio', 'valDurations', 'trainDurations', 'validateEvery', 'medianWindow',
  'seed', 'resume', 'classes', 'cacheDir', 'limit', 'valLimit', 'evalBatchSize',
];

export function register(server: EngineServer): void {
  const m = TrainRequest.method;
  server.heavy(TrainRequest, 'train', (params: TrainParams) => {
    const model = optionalString(m, params, 'model');
    const outDir = path.resolve(requireString(m, params, 'outDir'));
    const trainTsv = requireExisting(m, 'trainTsv', requireString(m, params, 'trainTsv'));
    const trainAudio = requireExisting(m, 'trainAudio', requireString(m, params, 'trainAudio'), 'dir');
    const epochs = optionalNumber(m, params, 'epochs', { min: 1, max: 100000, integer: true });
    if (epochs === undefined) throw new ParamError(m, 'epochs', 'is required (a positive integer)');
    const options = params.options ?? {};
    if (typeof options !== 'object' || Array.isArray(options)) throw new ParamError(m, 'options', 'must be an object of trainer options');
    const unknown = Object.keys(options).filter((k) => !PASSTHROUGH.includes(k));
    if (unknown.length) throw new ParamError(m, 'options', `has unknown key(s) ${unknown.join(', ')}; valid keys: ${PASSTHROUGH.join(', ')}`);
    return {
      title: `train ${model ?? 'model'} → ${path.basename(outDir)} (${epochs} epochs)`,
      run: async (job): Promise<TrainResult> => {
        const summary = await train({
          ...(options as Partial<TrainOptions>),
          model,
          outDir,
          trainTsv,
          trainAudio,
          epochs,
          signal: job.signal,
          log: (line) => server.log('info', `[train] ${line}`),
          onProgress: (p) => {
            const message =
              p.phase === 'load' ? `loading audio ${p.batch}/${p.batches}`
              : p.phase === 'validate' ? `validating (epoch ${p.epoch}/${p.epochs})`
              : `epoch ${p.epoch}/${p.epochs} batch ${p.batch}/${p.batches}${p.loss !== undefined ? ` loss ${p.loss.toFixed(4)}` : ''}`;
            job.progress(Math.round(p.fraction * 1000), 1000, message);
          },
        });
        return {
          outDir: summary.outDir,
          checkpoint: summary.lastCheckpoint,
          bestCheckpoint: summary.bestCheckpoint,
          best: summary.best,
          epochs: summary.epochsDone,
          steps: summary.steps,
          cancelled: summary.stopped,
          classes: summary.classes,
          secondsPerEpoch: summary.secondsPerEpoch,
          historyFile: path.join(summary.outDir, 'history.json'),
        };
      },
    };
  });
}

/** `sed/pseudoLabel`: a teacher's (or an ensemble's mean) frame-wise probabilities per audio file, for KD training. */
export function registerPseudoLabel(server: EngineServer): void {
  const m = PseudoLabelRequest.method;
  server.heavy(PseudoLabelRequest, 'pseudoLabel', (params: PseudoLabelParams) => {
    const given = params.teacher;
    const teachers = Array.isArray(given)
      ? requireStringArray(m, params, 'teacher', { nonEmpty: true }).map((t, i) => requireExisting(m, `teacher[${i}]`, t, 'dir'))
      : [requireExisting(m, 'teacher', requireString(m, params, 'teacher'), 'dir')];
    const inputs = requireStringArray(m, params, 'inputs', { nonEmpty: true }).map((p, i) => requireExisting(m, `inputs[${i}]`, p, 'any'));
    const outDir = path.resolve(requireString(m, params, 'outDir'));
    const batchSize = optionalNumber(m, params, 'batchSize', { min: 1, max: 256, integer: true });
    return {
      title: `pseudo-labels from ${teachers.map((t) => path.basename(t)).join(' + ')} → ${path.basename(outDir)}`,
      run: (job) =>
        writeTeacherPseudoLabels({ teacher: teachers, inputs, outDir, batchSize, signal: job.signal, onProgress: (done, total, file) => job.progress(done, total, path.basename(file)) }),
    };
  });
}
