/** The tensors a checkpoint's weights file holds for a given model configuration. */
import { expectedParamShapes, type ModelConfig } from '../models/index';

/**
 * Keys and PyTorch shapes our weights file must hold for a model: the upstream state dict (TCN aliases
 * included) without BatchNorm `num_batches_tracked` counters, which inference never reads and which
 * files may hold or not (`checkTensorsFit`).
 */
export function weightShapes(config: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [k, s] of expectedParamShapes(config)) if (!k.endsWith('.num_batches_tracked')) out.set(k, s);
  return out;
}
