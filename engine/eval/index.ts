/**
 * Evaluation entry point: PSDS1, PSDS2 (or any parameters), intersection-based and collar-based F1 on one
 * set of scores, returned in the key layout of the PSDS fixtures' expected.json, so tools can read it.
 * Used by `sed eval`, the JSON-RPC server and notebooks.
 */
import { readDurationsTsv, readGroundTruthTsv } from '../detect/groundTruth';
import { readScoresFolder } from '../detect/scoresTsv';
import { collarF1, COLLAR_F1_DEFAULTS, intersectionF1, INTERSECTION_F1_DEFAULTS, type CollarF1Params, type F1Result, type IntersectionF1Params } from './f1';
import { IntersectionSweep } from './intersection';
import { computePsds, PSDS1, PSDS2, type PsdsParams, type PsdsResult } from './psds';
import { mergeConnectedEvents, prepareEvaluation, selectClasses, type Durations, type GroundTruth, type PreparedEval, type ScoreSet } from './scores';

export * from './scores';
export * from './psds';
export * from './f1';
export { classRoc, psdRoc, psdsFromRoc, type ClassRoc, type PsdRoc } from './psdRoc';
export { IntersectionSweep, type LevelStats, type IntersectionCriteria } from './intersection';
export { collarMatches, type CollarParams } from './collar';
export { makeRounder, roundHalfEven } from './round';

export interface EvaluateOptions {
  /** PSDS1 parameters (false: skip). Default: the PSDS1 preset. */
  psds1?: Partial<PsdsParams> | false;
  /** PSDS2 parameters (false: skip). Default: the PSDS2 preset. */
  psds2?: Partial<PsdsParams> | false;
  intersectionF1?: Partial<IntersectionF1Params> | false;
  collarF1?: Partial<CollarF1Params> | false;
  /** Drop score columns of classes without GT events (EfficientSED's practice) instead of failing. */
  dropClassesWithoutGroundTruth?: boolean;
  /** Merge overlapping/touching same-class GT events instead of failing. */
  mergeConnectedEvents?: boolean;
}

export interface PsdsJson {
  params: {
    dtc_threshold: number; gtc_threshold: number; cttc_threshold: number | null; alpha_ct: number; alpha_st: number;
    max_efpr: number; unit_of_time: string; time_decimals: number;
  };
  psds: number;
  per_class_psds: Record<string, number>;
  macro_psds_alpha_st0: number;
  psd_roc: { efpr: number[]; etpr: number[] };
  per_class_roc: Record<string, { efpr: number[]; tpr: number[]; thresholds: Array<number | 'Infinity'> }>;
}

export interface F1Json extends F1Result {
  params: Record<string, number | Record<string, number>>;
}

export interface EvaluationResult {
  event_classes: string[];
  audio_ids: string[];
  dataset_duration_s: number;
  /** 'table': from the durations table; 'score_tables': the score tables' spans (no durations given) */
  durations_source: 'table' | 'score_tables';
  dropped_classes: string[];
  n_ref: Record<string, number>;
  t_ref_s: Record<string, number>;
  psds1?: PsdsJson;
  psds2?: PsdsJson;
  intersection_f1?: F1Json;
  collar_f1?: F1Json;
}

export function psdsToJson(r: PsdsResult): PsdsJson {
  const p = r.params;
  const perClassRoc: PsdsJson['per_class_roc'] = {};
  for (const [name, roc] of Object.entries(r.perClassRoc)) {
    perClassRoc[name] = {
      efpr: Array.from(roc.efpr),
      tpr: Array.from(roc.tpr),
      thresholds: Array.from(roc.thresholds, (t) => (t === Infinity ? 'Infinity' as const : t)),
    };
  }
  return {
    params: {
      dtc_threshold: p.dtc, gtc_threshold: p.gtc, cttc_threshold: p.cttc, alpha_ct: p.alphaCt, alpha_st: p.alphaSt,
      max_efpr: p.maxEfpr, unit_of_time: p.unitOfTime, time_decimals: p.timeDecimals,
    },
    psds: r.psds,
    per_class_psds: r.perClassPsds,
    macro_psds_alpha_st0: r.macroPsdsAlphaSt0,
    psd_roc: { efpr: Array.from(r.psdRoc.efpr), etpr: Array.from(r.psdRoc.etpr) },
    per_class_roc: perClassRoc,
  };
}

/** Durations from the score tables' spans (last minus first timestamp), when no durations table exists. */
export function durationsFromScores(scores: ScoreSet): Durations {
  const out: Durations = new Map();
  for (const [id, t] of scores.files) out.set(id, t.timestamps[t.timestamps.length - 1] - t.timestamps[0]);
  return out;
}

/** Evaluate in-memory scores. Without durations, the score tables' spans are used (reported in the result). */
export function evaluate(scores: ScoreSet, groundTruth: GroundTruth, durations: Durations | null, options: EvaluateOptions = {}): EvaluationResult {
  const gt = options.mergeConnectedEvents ? mergeConnectedEvents(groundTruth) : groundTruth;
  let dropped: string[] = [];
  if (options.dropClassesWithoutGroundTruth) {
    const present = new Set<string>();
    for (const evs of gt.values()) for (const e of evs) present.add(e.label);
    dropped = scores.classes.filter((c) => !present.has(c));
    if (dropped.length) scores = selectClasses(scores, scores.classes.filter((c) => present.has(c)));
  }
  const prep: PreparedEval = prepareEvaluation(scores, gt, durations ?? durationsFromScores(scores));
  const result: EvaluationResult = {
    event_classes: prep.classes,
    audio_ids: prep.audioIds,
    dataset_duration_s: prep.datasetDuration,
    durations_source: durations ? 'table' : 'score_tables',
    dropped_classes: dropped,
    n_ref: Object.fromEntries(prep.classes.map((c, i) => [c, prep.nRef[i]])),
    t_ref_s: Object.fromEntries(prep.classes.map((c, i) => [c, prep.tRef[i]])),
  };
  const sweep = options.psds1 === false && options.psds2 === false ? null : new IntersectionSweep(prep);
  if (options.psds1 !== false) result.psds1 = psdsToJson(computePsds(prep, { ...PSDS1, ...(options.psds1 ?? {}) }, sweep!));
  if (options.psds2 !== false) result.psds2 = psdsToJson(computePsds(prep, { ...PSDS2, ...(options.psds2 ?? {}) }, sweep!));
  if (options.intersectionF1 !== false) {
    const p = { ...INTERSECTION_F1_DEFAULTS, ...(options.intersectionF1 ?? {}) };
    result.intersection_f1 = {
      params: { threshold: p.threshold, dtc_threshold: p.dtc, gtc_threshold: p.gtc, time_decimals: p.timeDecimals, beta: 1 },
      ...intersectionF1(prep, p),
    };
  }
  if (options.collarF1 !== false) {
    const p = { ...COLLAR_F1_DEFAULTS, ...(options.collarF1 ?? {}) };
    result.collar_f1 = {
      params: {
        threshold: p.threshold, onset_collar: p.onsetCollar, offset_collar: p.offsetCollar,
        offset_collar_rate: p.offsetCollarRate, time_decimals: p.timeDecimals, beta: 1,
      },
      ...collarF1(prep, p),
    };
  }
  return result;
}

export interface EvaluateFilesInput {
  /** folder of `<audio_id>.tsv` score files */
  scoresDir: string;
  groundTruthTsv: string;
  /** durations TSV; omitted: the score tables' spans */
  durationsTsv?: string;
}

/** Read score TSVs, GT and durations tables from disk and evaluate them. */
export function evaluateFiles(input: EvaluateFilesInput, options: EvaluateOptions = {}): EvaluationResult {
  const scores = readScoresFolder(input.scoresDir);
  const gt = readGroundTruthTsv(input.groundTruthTsv);
  const durations = input.durationsTsv ? readDurationsTsv(input.durationsTsv) : null;
  return evaluate(scores, gt, durations, options);
}
