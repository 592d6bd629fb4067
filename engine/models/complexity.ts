/**
 * Parameter and MAC counts without building tensors.
 *
 * Params (paper convention, MODEL_SPEC §8): every parameter of the upstream PredictionsWrapper —
 * backbone, sequence model, strong head and the unused weak head, rotary `freqs` included; BatchNorm
 * running statistics and `num_batches_tracked` excluded; TCN's duplicated weight-norm keys counted once.
 *
 * MACs, one 10 s clip (mel 128 × 1000 → 250 frames), our convention (matches the `our_MMACs` column of
 * anchors/upstream_params_macs.csv, not DeepSpeed's): convolutions (out positions × in/groups × kernel,
 * as PyTorch computes them, i.e. TCN/Mamba causal convs over their padded length), linear layers
 * (per frame; SE layers once per clip), attention QKᵀ and AV (T²·D each), GRU 3·(in·h + h·h) per step
 * per direction, Mamba SSM 2·T·d_inner·d_state, and the strong head. Excluded: the mel frontend, the
 * weak head, biases, normalisation and elementwise ops (activations, gates, scans).
 */
import type { ModelConfig } from './types';
import { backboneMacs } from './fmn';
import { countSpecParams, stateDictShapes } from './params';
import { embedDim, featureDim, modelSpecs, SEQ_DEFS } from './predictionsWrapper';

/** State-dict key → PyTorch shape for every entry of the upstream state dict (aliases and BN counters included). */
export function expectedParamShapes(config: ModelConfig): Map<string, number[]> {
  return stateDictShapes(modelSpecs(config));
}

export function countParams(config: ModelConfig): number {
  return countSpecParams(modelSpecs(config));
}

/** MACs for a clip of `melFrames` mel frames (default 1000 = 10 s); see the file comment. */
export function countMacs(config: ModelConfig, melFrames = 1000): number {
  const T = Math.floor((Math.floor((melFrames - 1) / 2) + 1 - 1) / 2) + 1; // stem and block 1 halve time
  const E = embedDim(config);
  const seq = config.seqType ? SEQ_DEFS[config.seqType].macs(E, config.seqHidden, T) : 0;
  return backboneMacs(config.widthMult, 128, melFrames) + seq + T * featureDim(config) * config.numClasses;
}
