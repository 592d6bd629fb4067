/**
 * Imports upstream EfficientSED release checkpoints (`.pt`, torch.save zip) as models or host tensors:
 * restricted unpickling (./torchPickle), key mapping (./keyMap), class names (./classes) and a strict
 * check against the shapes the named model implies, so a wrong `--model` fails with the first
 * mismatching key and both shapes.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { HostTensor } from '../io/safetensors';
import { createModel, parseModelName, type EngineSedModel, type ModelConfig } from '../models/index';
import { resolveClasses } from './classes';
import { checkTensorsFit } from './format';
import { weightShapes } from './shapes';
import { alignToExpected, mapUpstreamKeys } from './keyMap';
import { parseTorchStateDict } from './torchArchive';

export interface TorchImportOptions {
  /** Class names in head order; default: AudioSet-Strong for 447 outputs, else placeholders. */
  classes?: string[];
}

export interface TorchTensorsResult {
  config: ModelConfig;
  /** Parameters in our naming, in the model's key order, checked against the model's shapes. */
  tensors: Map<string, HostTensor>;
  classes: string[];
  /** Placeholder class names were generated (no list given for a non-447 head). */
  warning?: string;
  /** Provenance for the checkpoint's config.json. */
  source: { file: string; sha256: string; format: 'torch.save'; tensors: number };
}

export interface TorchImportResult extends Omit<TorchTensorsResult, 'tensors'> {
  model: EngineSedModel;
}

/** The head size stored in a mapped state dict. */
function headSize(tensors: Map<string, HostTensor>, file: string): number {
  for (const key of ['strong_head.weight', 'weak_head.weight']) {
    const t = tensors.get(key);
    if (t && t.shape.length === 2) return t.shape[0];
  }
  throw new Error(`${file}: no 'strong_head.weight' or 'weak_head.weight' found, so the class count is unknown (is this an EfficientSED checkpoint?)`);
}

/**
 * Reads a `.pt` and returns the tensors `modelName` needs (without creating tfjs variables).
 * Errors name the file; a model-name mismatch names the first mismatching key and both shapes.
 */
export function readTorchCheckpointTensors(file: string, modelName: string, opts: TorchImportOptions = {}): TorchTensorsResult {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const { tensors: raw } = parseTorchStateDict(buf, file);
  const mapped = mapUpstreamKeys(raw, file);
  const numClasses = headSize(mapped, file);
  const config = parseModelName(modelName, numClasses);
  const expected = weightShapes(config);
  const aligned = alignToExpected(mapped, expected.keys(), file);
  checkTensorsFit(aligned, expected, file, `model ${config.name} with ${numClasses} classes`);
  const tensors = new Map<string, HostTensor>();
  for (const key of expected.keys()) tensors.set(key, aligned.get(key) as HostTensor);
  const { classes, warning } = resolveClasses(numClasses, opts.classes, file);
  return {
    config,
    tensors,
    classes,
    warning,
    source: { file: path.basename(file), sha256: crypto.createHash('sha256').update(buf).digest('hex'), format: 'torch.save', tensors: raw.size },
  };
}

/** Imports a `.pt` as a model on the active tfjs backend. */
export function importTorchCheckpoint(file: string, modelName: string, opts: TorchImportOptions = {}): TorchImportResult {
  const { tensors, ...rest } = readTorchCheckpointTensors(file, modelName, opts);
  return { ...rest, model: createModel(rest.config, { weights: tensors }) };
}
