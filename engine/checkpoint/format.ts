/**
 * Our checkpoint format (no tfjs here): a folder with
 *   model.safetensors — every parameter and buffer, F32, upstream state-dict key names;
 *   config.json       — { format: "sed-studio-checkpoint", version: 1, model, classes, frontend,
 *                         postprocessing: { thresholds, medianWindowFrames }, training?, metrics?, source?, weights }.
 * This module validates configs and checks a weights file against the shapes a config implies.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import type { HostTensor } from '../io/safetensors';

export const CHECKPOINT_FORMAT = 'sed-studio-checkpoint';
export const CHECKPOINT_VERSION = 1;
export const WEIGHTS_FILE = 'model.safetensors';
export const CONFIG_FILE = 'config.json';

/** The log-mel frontend the weights were trained with (MODEL_SPEC §1). */
export interface FrontendConfig {
  sampleRate: number;
  nMels: number;
  hop: number;
  fminHz: number;
  fmaxHz: number;
}

export const DEFAULT_FRONTEND: Readonly<FrontendConfig> = Object.freeze({ sampleRate: 16000, nMels: 128, hop: 160, fminHz: 0, fmaxHz: 7000 });

export interface PostprocessingConfig {
  /** Decision threshold per class (same order as `classes`). */
  thresholds: number[];
  /** Median filter length in frames (odd; 9 = 0.36 s, MODEL_SPEC §5). */
  medianWindowFrames: number;
}

export const DEFAULT_THRESHOLD = 0.5;
export const DEFAULT_MEDIAN_WINDOW = 9;

export interface CheckpointConfig {
  format: typeof CHECKPOINT_FORMAT;
  version: typeof CHECKPOINT_VERSION;
  /** Canonical model name (`fmn10+tf:256`); the head size is `classes.length`. */
  model: string;
  classes: string[];
  frontend: FrontendConfig;
  postprocessing: PostprocessingConfig;
  /** Free-form record of how the weights were trained (recipe, epochs, …). */
  training?: Record<string, unknown>;
  /** Free-form evaluation results (PSDS1, …). */
  metrics?: Record<string, unknown>;
  /** Where the weights came from (e.g. the imported `.pt` and its sha256). */
  source?: Record<string, unknown>;
  /** Integrity record of model.safetensors, checked on load. */
  weights: { file: typeof WEIGHTS_FILE; bytes: number; sha256: string };
}

/** What a caller supplies besides the model when saving. */
export interface CheckpointMeta {
  classes: string[];
  thresholds?: number[];
  medianWindowFrames?: number;
  frontend?: Partial<FrontendConfig>;
  training?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
  source?: Record<string, unknown>;
}

/** Accepts the checkpoint folder or a path to one of its two files. */
export function checkpointDir(p: string): string {
  const base = path.basename(p);
  if ((base === CONFIG_FILE || base === WEIGHTS_FILE) && fs.existsSync(p) && fs.statSync(p).isFile()) return path.dirname(p);
  return p;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates a parsed config.json. `file` names it in errors. The model name itself is checked by the
 * caller (it needs the model registry).
 */
export function validateConfig(raw: unknown, file: string): CheckpointConfig {
  const bad = (msg: string): never => {
    throw new Error(`${file}: ${msg}`);
  };
  if (!isObject(raw)) return bad('not a JSON object');
  if (raw.format !== CHECKPOINT_FORMAT) return bad(`not a SED Studio checkpoint config (format is ${JSON.stringify(raw.format)}, expected "${CHECKPOINT_FORMAT}")`);
  if (raw.version !== CHECKPOINT_VERSION) return bad(`unsupported checkpoint version ${JSON.stringify(raw.version)} (this engine reads version ${CHECKPOINT_VERSION})`);
  if (typeof raw.model !== 'string' || !raw.model) return bad('"model" must be a model name such as "fmn10+tf:256"');
  const classes = raw.classes;
  if (!Array.isArray(classes) || classes.length === 0 || !classes.every((c) => typeof c === 'string')) return bad('"classes" must be a non-empty list of names');
  if (new Set(classes).size !== classes.length) return bad('"classes" contains duplicate names');
  const fe = raw.frontend;
  if (!isObject(fe)) return bad('"frontend" is missing');
  for (const k of Object.keys(DEFAULT_FRONTEND) as Array<keyof FrontendConfig>) {
    if (typeof fe[k] !== 'number' || !Number.isFinite(fe[k])) bad(`"frontend.${k}" must be a number`);
  }
  const pp = raw.postprocessing;
  if (!isObject(pp)) return bad('"postprocessing" is missing');
  const th = pp.thresholds;
  if (!Array.isArray(th) || th.length !== classes.length) return bad(`"postprocessing.thresholds" must list one threshold per class (${classes.length})`);
  th.forEach((t, i) => {
    if (typeof t !== 'number' || !(t >= 0 && t <= 1)) bad(`"postprocessing.thresholds[${i}]" (class '${classes[i]}') must be a number in [0, 1], got ${JSON.stringify(t)}`);
  });
  const mw = pp.medianWindowFrames;
  if (typeof mw !== 'number' || !Number.isInteger(mw) || mw < 1) return bad('"postprocessing.medianWindowFrames" must be a positive integer');
  const w = raw.weights;
  if (!isObject(w) || w.file !== WEIGHTS_FILE || typeof w.bytes !== 'number' || typeof w.sha256 !== 'string') {
    return bad(`"weights" must record { file: "${WEIGHTS_FILE}", bytes, sha256 }`);
  }
  for (const k of ['training', 'metrics', 'source'] as const) {
    if (raw[k] !== undefined && !isObject(raw[k])) bad(`"${k}" must be an object`);
  }
  return raw as unknown as CheckpointConfig;
}

/** Builds a config from the caller's metadata (the weights record is filled in when written). */
export function buildConfig(modelName: string, meta: CheckpointMeta): Omit<CheckpointConfig, 'weights'> {
  const n = meta.classes.length;
  const thresholds = meta.thresholds ?? new Array<number>(n).fill(DEFAULT_THRESHOLD);
  const config: Omit<CheckpointConfig, 'weights'> = {
    format: CHECKPOINT_FORMAT,
    version: CHECKPOINT_VERSION,
    model: modelName,
    classes: [...meta.classes],
    frontend: { ...DEFAULT_FRONTEND, ...meta.frontend },
    postprocessing: { thresholds: [...thresholds], medianWindowFrames: meta.medianWindowFrames ?? DEFAULT_MEDIAN_WINDOW },
  };
  if (meta.training) config.training = meta.training;
  if (meta.metrics) config.metrics = meta.metrics;
  if (meta.source) config.source = meta.source;
  return config;
}

const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/**
 * Checks that `tensors` holds exactly the expected keys with the expected shapes, in a float dtype, plus
 * optionally BatchNorm `<bn>.num_batches_tracked` counters (integer scalars, for a BN of the model: training
 * needs them, `batchNormMomentum`). The error names `file`, the first mismatching key and both shapes.
 */
export function checkTensorsFit(tensors: Map<string, HostTensor>, expected: Map<string, number[]>, file: string, what: string): void {
  for (const [key, shape] of expected) {
    const t = tensors.get(key);
    if (!t) throw new Error(`${file}: missing tensor '${key}' (${what} expects shape ${fmt(shape)})`);
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`${file}: tensor '${key}' has shape ${fmt(t.shape)} but ${what} expects ${fmt(shape)}`);
    }
    if (!(t.data instanceof Float32Array)) throw new Error(`${file}: tensor '${key}' has dtype ${t.dtype}; expected a float type (F32)`);
  }
  for (const [key, t] of tensors) {
    if (expected.has(key)) continue;
    if (key.endsWith(COUNTER) && expected.has(key.slice(0, -COUNTER.length) + '.running_mean')) {
      if (t.data.length !== 1 || !(t.data instanceof BigInt64Array || t.data instanceof Int32Array)) {
        throw new Error(`${file}: BatchNorm counter '${key}' must be one integer (I64), got ${t.dtype} ${fmt(t.shape)}`);
      }
      continue;
    }
    throw new Error(`${file}: unexpected tensor '${key}' (shape ${fmt(t.shape)}) not part of ${what}`);
  }
}

const COUNTER = '.num_batches_tracked';
