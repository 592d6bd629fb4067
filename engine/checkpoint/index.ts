/**
 * Checkpoint API: save/load our checkpoint folders (format in ./format.ts) and build models from them.
 *
 * Saving is atomic at the folder level: both files are written (fsynced) into a temporary sibling
 * folder which then replaces the target, so a crash leaves either the old checkpoint or the new one,
 * never new weights beside an old config. config.json also records the weights' size and sha256, so a
 * mismatched pair is detected on load.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkGpuHealth } from '../backend/gpuErrors';
import { writeFileAtomic } from '../io/atomicWrite';
import { readSafetensors, serializeSafetensors, type HostTensor } from '../io/safetensors';
import { createModel, parseModelName } from '../models/index';
import { weightShapes } from './shapes';
import type { EngineSedModel, ModelConfig } from '../models/index';
import {
  buildConfig,
  checkpointDir,
  checkTensorsFit,
  CONFIG_FILE,
  validateConfig,
  WEIGHTS_FILE,
  type CheckpointConfig,
  type CheckpointMeta,
} from './format';

export * from './format';
export { weightShapes } from './shapes';
export { AUDIOSET_STRONG_CLASSES, readClassesFile, resolveClasses } from './classes';
export { importTorchCheckpoint, readTorchCheckpointTensors, type TorchImportResult, type TorchImportOptions } from './torchImport';

export interface LoadedCheckpoint {
  model: EngineSedModel;
  classes: string[];
  meta: CheckpointConfig;
}

/** The model configuration a checkpoint config describes (head size = number of classes). */
export function modelConfigOf(config: Pick<CheckpointConfig, 'model' | 'classes'>, file: string): ModelConfig {
  try {
    return parseModelName(config.model, config.classes.length);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Reads and validates `<dir>/config.json` (also accepts the path of config.json or model.safetensors). */
export function readCheckpointConfig(dirOrFile: string): CheckpointConfig {
  const dir = checkpointDir(dirOrFile);
  const file = path.join(dir, CONFIG_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new Error(code === 'ENOENT' ? `${dir}: not a checkpoint folder (no ${CONFIG_FILE})` : `${file}: cannot read (${code ?? (err as Error).message})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const config = validateConfig(raw, file);
  modelConfigOf(config, file);
  return config;
}

function sha256(data: Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/**
 * Reads `<dir>/model.safetensors` and checks it against the config: recorded size and sha256, then
 * exactly the parameter keys and shapes the config's model implies.
 */
export function readCheckpointWeights(dirOrFile: string, config = readCheckpointConfig(dirOrFile)): Map<string, HostTensor> {
  const dir = checkpointDir(dirOrFile);
  const file = path.join(dir, WEIGHTS_FILE);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (buf.length !== config.weights.bytes) {
    throw new Error(`${file}: ${buf.length} bytes but ${CONFIG_FILE} records ${config.weights.bytes} (incomplete copy, or weights and config from different checkpoints)`);
  }
  if (sha256(buf) !== config.weights.sha256) {
    throw new Error(`${file}: sha256 differs from the one recorded in ${CONFIG_FILE} (corrupt, or weights and config from different checkpoints)`);
  }
  const { tensors } = readSafetensors(file);
  const mc = modelConfigOf(config, path.join(dir, CONFIG_FILE));
  checkTensorsFit(tensors, weightShapes(mc), file, `${CONFIG_FILE} (model ${config.model}, ${config.classes.length} classes)`);
  return tensors;
}

/** Loads a checkpoint folder into a model on the active tfjs backend. */
export function loadCheckpoint(dirOrFile: string): LoadedCheckpoint {
  const meta = readCheckpointConfig(dirOrFile);
  const weights = readCheckpointWeights(dirOrFile, meta);
  const model = createModel(modelConfigOf(meta, path.join(checkpointDir(dirOrFile), CONFIG_FILE)), { weights });
  return { model, classes: [...meta.classes], meta };
}

/**
 * The model's weights as host tensors (PyTorch layout, upstream names), with the BN counters as I64
 * scalars: a run started from the checkpoint (`--init`) continues their running statistics as PyTorch
 * would, instead of re-averaging them over its first 100 batches.
 */
export function modelTensors(model: EngineSedModel): Map<string, HostTensor> {
  return model.stateDict();
}

/**
 * Writes host tensors (PyTorch layout, our key names) as a checkpoint folder, after checking they are
 * exactly what `modelName` with `meta.classes.length` classes needs. Used by `saveCheckpoint` and by
 * the `.pt` converter, which has host tensors and no tfjs model.
 */
export function writeCheckpoint(dir: string, modelName: string, tensors: Map<string, HostTensor>, meta: CheckpointMeta): CheckpointConfig {
  const base = buildConfig(modelName, meta);
  const mc = modelConfigOf(base, dir);
  checkTensorsFit(tensors, weightShapes(mc), `${dir}: model to save`, `model ${modelName} with ${meta.classes.length} classes`);
  const weightsBytes = serializeSafetensors(tensors, { format: 'pt', model: modelName });
  const config: CheckpointConfig = { ...base, weights: { file: WEIGHTS_FILE, bytes: weightsBytes.length, sha256: sha256(weightsBytes) } };
  validateConfig(config, path.join(dir, CONFIG_FILE));

  const target = path.resolve(dir);
  const stamp = `${process.pid}.${Date.now()}`;
  const tmp = `${target}.${stamp}.tmp`;
  fs.mkdirSync(path.dirname(target), { recursive: true });
  try {
    writeFileAtomic(path.join(tmp, WEIGHTS_FILE), weightsBytes);
    writeFileAtomic(path.join(tmp, CONFIG_FILE), JSON.stringify(config, null, 1) + '\n');
    replaceFolder(tmp, target, stamp);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return config;
}

/**
 * Puts the finished folder `tmp` at `target`. Any other files the user keeps in an existing target
 * folder (logs, notes) are copied into the new folder first so they survive the swap (copied, not
 * moved, so a failure before the swap leaves the old folder untouched).
 */
function replaceFolder(tmp: string, target: string, stamp: string): void {
  if (!fs.existsSync(target)) {
    fs.renameSync(tmp, target);
    return;
  }
  if (!fs.statSync(target).isDirectory()) throw new Error(`${target}: exists and is not a folder`);
  for (const entry of fs.readdirSync(target)) {
    if (entry !== WEIGHTS_FILE && entry !== CONFIG_FILE) fs.cpSync(path.join(target, entry), path.join(tmp, entry), { recursive: true });
  }
  const old = `${target}.${stamp}.old`;
  fs.renameSync(target, old);
  fs.renameSync(tmp, target);
  fs.rmSync(old, { recursive: true, force: true });
}

/**
 * Reads every weight back to the host ahead of a save. Backends without synchronous read-back (webgpu in
 * Node: tfjs-webgpu's `dataSync` needs OffscreenCanvas) keep the values then, so `saveCheckpoint` works.
 */
export async function fetchWeights(model: EngineSedModel): Promise<void> {
  await Promise.all([...model.params.values()].map((v) => v.data()));
  checkGpuHealth('saving a checkpoint');
}

/** Saves a model as a checkpoint folder `<dir>/{model.safetensors, config.json}` (on webgpu, after `fetchWeights`). */
export function saveCheckpoint(dir: string, model: EngineSedModel, meta: CheckpointMeta): CheckpointConfig {
  if (meta.classes.length !== model.config.numClasses) {
    throw new Error(`${dir}: ${meta.classes.length} class names given for a model with ${model.config.numClasses} outputs`);
  }
  return writeCheckpoint(dir, model.config.name, modelTensors(model), meta);
}
