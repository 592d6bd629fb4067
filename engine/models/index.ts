/** Public API of the model zoo (see types.ts for the contract). */
export * from './types';
export { parseModelName, configFromParityMetadata, makeConfig, canonicalName, VALID_NAMES_HELP } from './names';
export { createModel, modelSpecs, embedDim, featureDim } from './predictionsWrapper';
export type { EngineSedModel, CreateModelOptions, ForwardOptions } from './predictionsWrapper';
export { expectedParamShapes, countParams, countMacs } from './complexity';
export { backboneLayout } from './fmn';
export { profileModels, measureThroughput, PAPER_CONFIGS, toCsv, tableRows } from './profile';
export type { ProfileRow, ProfileOptions, ThroughputOptions, ThroughputResult } from './profile';
