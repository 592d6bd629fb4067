/** `sed/evaluate`: PSDS1/PSDS2 and F1 from score tables on disk; the full result (curves) goes to a JSON file. */
import * as path from 'node:path';
import { evaluateFiles, type EvaluateOptions } from '../../eval/index';
import { writeFileAtomic } from '../../io/atomicWrite';
import { EvaluateRequest, type EvaluateParams, type EvaluateResult } from '../../protocol/protocol';
import { optionalString, ParamError, requireExisting, requireString } from '../errors';
import type { EngineServer } from '../server';

const OPTION_KEYS = ['psds1', 'psds2', 'intersectionF1', 'collarF1', 'dropClassesWithoutGroundTruth', 'mergeConnectedEvents'];

export function register(server: EngineServer): void {
  const m = EvaluateRequest.method;
  server.heavy(EvaluateRequest, 'evaluate', (params: EvaluateParams) => {
    const scoresDir = requireExisting(m, 'scoresDir', requireString(m, params, 'scoresDir'), 'dir');
    const groundTruthTsv = requireExisting(m, 'groundTruth', requireString(m, params, 'groundTruth'));
    const durations = optionalString(m, params, 'durations');
    const durationsTsv = durations ? requireExisting(m, 'durations', durations) : undefined;
    const options = params.options ?? {};
    if (typeof options !== 'object' || Array.isArray(options)) throw new ParamError(m, 'options', 'must be an object');
    const unknown = Object.keys(options).filter((k) => !OPTION_KEYS.includes(k));
    if (unknown.length) throw new ParamError(m, 'options', `has unknown key(s) ${unknown.join(', ')}; valid keys: ${OPTION_KEYS.join(', ')}`);
    const out = optionalString(m, params, 'out');
    return {
      title: `evaluate ${path.basename(scoresDir)} against ${path.basename(groundTruthTsv)}`,
      run: async (job): Promise<EvaluateResult> => {
        job.progress(0, 1, 'reading score tables');
        // The evaluator is synchronous; let the queue's notifications go out first.
        await new Promise((r) => setImmediate(r));
        const r = evaluateFiles({ scoresDir, groundTruthTsv, durationsTsv }, options as EvaluateOptions);
        const file = out ? path.resolve(out) : server.resultPath(`evaluation-${path.basename(scoresDir)}`, '.json');
        writeFileAtomic(file, JSON.stringify(r, null, 1));
        job.progress(1, 1, 'done');
        return {
          psds1: r.psds1?.psds,
          psds2: r.psds2?.psds,
          intersectionF1: r.intersection_f1?.macro.f,
          collarF1: r.collar_f1?.macro.f,
          perClassPsds1: r.psds1?.per_class_psds,
          classes: r.event_classes,
          droppedClasses: r.dropped_classes,
          audioFiles: r.audio_ids.length,
          datasetDurationSeconds: r.dataset_duration_s,
          file,
        };
      },
    };
  });
}
