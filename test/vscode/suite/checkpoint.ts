/**
 * A detection model the suite can rely on: the bundled default model when the engine lists one, else a
 * checkpoint folder with deterministic pseudo-random weights written through the engine's checkpoint
 * API (its events are meaningless, so the tests then check their form, not their labels).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AUDIOSET_STRONG_CLASSES, weightShapes, writeCheckpoint } from '../../../engine/checkpoint/index';
import type { HostTensor } from '../../../engine/io/safetensors';
import { parseModelName } from '../../../engine/models/index';
import { ListModelsRequest } from '../../../engine/protocol/protocol';
import type { SedEngine } from '../../../extension/engine';

export interface TestModel {
  model: string;
  bundled: boolean;
  numClasses: number;
  /** Validation PSDS1 recorded in the checkpoint (`metrics.psds1Macro`), when it has one. */
  validationPsds1?: number;
}

/** Below this validation PSDS1 a model's labels are not expected to be right (see the model card). */
export const USEFUL_PSDS1 = 0.3;

/** Park–Miller generator: the same weights on every run. */
function rng(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

export function writeRandomCheckpoint(dir: string, name = 'fmn04'): string {
  const classes = [...AUDIOSET_STRONG_CLASSES];
  const config = parseModelName(name, classes.length);
  const rand = rng(12345);
  const tensors = new Map<string, HostTensor>();
  for (const [key, shape] of weightShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    // BatchNorm statistics must be a valid normalisation; everything else small and centred.
    if (key.endsWith('running_var')) data.fill(1);
    else if (!key.endsWith('running_mean')) for (let i = 0; i < n; i++) data[i] = (rand() - 0.5) * 0.2;
    tensors.set(key, { dtype: 'F32', shape, data });
  }
  writeCheckpoint(dir, config.name, tensors, { classes, source: { note: 'pseudo-random weights written by the VS Code integration suite' } });
  return dir;
}

export async function testModel(engine: SedEngine, scratch: string): Promise<TestModel> {
  try {
    const { models } = await engine.request(ListModelsRequest, {});
    const bundled = models.find((m) => m.source === 'bundled');
    if (bundled) {
      const config = JSON.parse(fs.readFileSync(path.join(bundled.path, 'config.json'), 'utf8')) as { metrics?: { psds1Macro?: number } };
      return { model: bundled.id, bundled: true, numClasses: bundled.numClasses, validationPsds1: config.metrics?.psds1Macro };
    }
  } catch (err) {
    // Until the default model ships, the engine's model listing can fail; detection by path still works.
    console.log(`      listModels failed (${(err as Error).message}); using a pseudo-random checkpoint`);
  }
  return { model: writeRandomCheckpoint(path.join(scratch, 'random-fmn04')), bundled: false, numClasses: AUDIOSET_STRONG_CLASSES.length };
}
