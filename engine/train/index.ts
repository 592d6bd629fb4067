/** Public training API (CLI, JSON-RPC server, notebooks). */
export { train, resolveRecipe, defaultMicroBatch, EVAL_BAND, type TrainOptions, type TrainProgress, type TrainSummary } from './trainer';
export { writeTeacherPseudoLabels, type PseudoLabelOptions } from './pseudoLabelRun';
export { readPseudoLabels, writePseudoLabels, pseudoLabelPath } from './pseudoLabels';
export { loadLabelledSet, type LabelledSet, type Segment } from './data';
export { AudioCache, cacheSize, defaultCacheDir } from './cache';
export { REFERENCE_AUGMENT, NO_AUGMENT, type AugmentConfig } from './augment';
export { validate, type ValidationResult } from './validation';
export type { EpochRecord } from './resumeState';
