/**
 * Starting points for training: random init, or the weights of a checkpoint (our folder, or an
 * upstream `.pt`) for the same architecture with possibly another class count — then the two heads
 * are re-initialised — and optionally a frozen backbone.
 */
import * as fs from 'node:fs';
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
 * Build the model to train. Checkpoints hold the upstream (PyTorch) layout, so the weights are merged
 * in that layout — the checkpoint's tensors, plus a seeded fresh init's heads when the class lists
 * differ — and the model is built from them. Every non-head tensor must exist in the source with the
 * same shape (same architecture); BatchNorm `num_batches_tracked` counters may be absent.
 */
export function buildStartModel(modelName: string, classes: string[], seed: number, init?: InitSource): { model: EngineSedModel; copiedHeads: boolean } {
  const config = parseModelName(modelName, classes.length);
  if (!init) return { model: createModel(config, { seed }), copiedHeads: false };
  const source = parseModelName(init.model, 1).name;
  if (source !== config.name) throw new Error(`--init checkpoint is a ${source} but --model is ${config.name}; the architecture must match (only the class count may differ)`);
  const sameClasses = !!init.classes && init.classes.length === classes.length && init.classes.every((c, i) => c === classes[i]);
  const fresh = createModel(config, { seed });
  const weights = fresh.stateDict();
  fresh.dispose();
  for (const [key, t] of weights) {
    if (HEAD.test(key) && !sameClasses) continue;
    const src = init.tensors.get(key);
    if (!src) {
      if (key.endsWith('num_batches_tracked')) continue;
      throw new Error(`--init checkpoint lacks parameter '${key}'`);
    }
    if (src.shape.join(',') !== t.shape.join(',')) throw new Error(`--init checkpoint parameter '${key}' has shape [${src.shape}] but ${config.name} needs [${t.shape}]`);
    weights.set(key, src);
  }
  return { model: createModel(config, { weights }), copiedHeads: sameClasses };
}

/** Trainable parameter names: all of the model's, minus the weak head (no loss reaches it) and, if frozen, the backbone. */
export function trainableNames(model: SedModel, freezeBackbone: boolean): string[] {
  return model.trainable.filter((k) => !k.startsWith('weak_head.') && !(freezeBackbone && backboneGroup(k) !== null));
}
