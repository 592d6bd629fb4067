/**
 * Starting points for training: random init, or the weights of a checkpoint (our folder, or an
 * upstream `.pt`) for the same architecture with possibly another class count — then the two heads
 * are re-initialised — and optionally a frozen backbone.
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import type { HostTensor } from '../io/safetensors';
import { readCheckpointConfig, readCheckpointWeights, readTorchCheckpointTensors } from '../checkpoint/index';
import { createModel, parseModelName } from '../models/index';
import type { EngineSedModel } from '../models/index';
import type { SedModel } from '../models/types';
import { backboneGroup } from './optimizer';

const HEAD = /^(strong_head|weak_head)\./;

export interface InitSource {
  /** Architecture of the checkpoint. */
  model: string;
  classes: string[] | null;
  tensors: Map<string, HostTensor>;
}

/** Read an init checkpoint: our folder (or its config/weights file), or an upstream `.pt` (needs `modelName`). */
export function readInitSource(file: string, modelName?: string): InitSource {
  if (!fs.existsSync(file)) throw new Error(`--init ${file}: not found`);
  if (file.endsWith('.pt')) {
    if (!modelName) throw new Error(`--init ${file}: a .pt checkpoint needs --model to name its architecture`);
    const r = readTorchCheckpointTensors(file, modelName);
    return { model: r.config.name, classes: r.classes, tensors: r.tensors };
  }
  const config = readCheckpointConfig(file);
  return { model: config.model, classes: config.classes, tensors: readCheckpointWeights(file, config) };
}

/**
 * Build the model to train. Heads are copied only when the class lists are identical; every other
 * parameter must exist in the source with the same shape (same architecture).
 */
export function buildStartModel(modelName: string, classes: string[], seed: number, init?: InitSource): { model: EngineSedModel; copiedHeads: boolean } {
  const config = parseModelName(modelName, classes.length);
  if (!init) return { model: createModel(config, { seed }), copiedHeads: false };
  const source = parseModelName(init.model, 1).name;
  if (source !== config.name) throw new Error(`--init checkpoint is a ${source} but --model is ${config.name}; the architecture must match (only the class count may differ)`);
  const sameClasses = !!init.classes && init.classes.length === classes.length && init.classes.every((c, i) => c === classes[i]);
  const model = createModel(config, { seed });
  for (const [key, v] of model.params) {
    if (HEAD.test(key) && !sameClasses) continue;
    const t = init.tensors.get(key);
    if (!t) throw new Error(`--init checkpoint lacks parameter '${key}'`);
    if (t.shape.join(',') !== v.shape.join(',')) throw new Error(`--init checkpoint parameter '${key}' has shape [${t.shape}] but ${config.name} needs [${v.shape}]`);
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    tf.tidy(() => v.assign(tf.tensor(data, v.shape)));
  }
  return { model, copiedHeads: sameClasses };
}

/** Trainable parameter names: all of the model's, minus the weak head (no loss reaches it) and, if frozen, the backbone. */
export function trainableNames(model: SedModel, freezeBackbone: boolean): string[] {
  return model.trainable.filter((k) => !k.startsWith('weak_head.') && !(freezeBackbone && backboneGroup(k) !== null));
}
