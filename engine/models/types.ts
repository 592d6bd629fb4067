/**
 * The model contract shared by inference, training, profiling, checkpoints and the server.
 *
 * Tensor layouts (tfjs is channels-last):
 * - mel input: [B, 128, T, 1] — freq × time × 1 channel (upstream [B,1,128,T] transposed), T = 1000 per 10 s.
 * - embedding: [B, 250, E]; seq output: [B, 250, F]; strong logits: [B, 250, C] (time-major);
 *   weak logits: [B, C].
 * Parameters are keyed by the upstream `PredictionsWrapper.state_dict()` names
 * (`model.fmn.features.4.block.1.0.weight`, `seq_model.1.layers.0.0.to_qkv.weight`, `strong_head.weight`, …).
 * Checkpoints and `createModel({ weights })` use PyTorch's layout (conv [out,in,kh,kw], linear [out,in]);
 * the variables in `SedModel.params` hold the tfjs layout, converted once at load (conv [kh,kw,in,out],
 * depthwise [kh,kw,exp,1], linear [in,out], conv1d [k,in,out], TCN weight_g [out]).
 * `EngineSedModel.stateDict()` (engine/models/predictionsWrapper.ts) converts back to PyTorch layout.
 */
import type * as tf from '@tensorflow/tfjs-core';

export const BACKBONES = ['fmn04', 'fmn06', 'fmn10', 'fmn20', 'fmn30'] as const;
export const SEQ_MODELS = ['tf', 'att', 'bigru', 'tcn', 'mamba', 'hybrid'] as const;
export type SeqModelType = (typeof SEQ_MODELS)[number];

export interface ModelConfig {
  /** Canonical name, e.g. `fmn10+tf:256`, `fmn04`. */
  name: string;
  /** Backbone width multiplier α (fmn10 → 1.0). */
  widthMult: number;
  /** Sequence model type, or null for the backbone alone. */
  seqType: SeqModelType | null;
  /** Sequence model hidden size D (0 when seqType is null). */
  seqHidden: number;
  numClasses: number;
}

export interface ForwardOutputs {
  embedding: tf.Tensor3D;
  /** Output of W_d (absent for no-seq / BiGRU / E == D). */
  projected?: tf.Tensor3D;
  /** Output of the sequence model (absent without one). */
  seq?: tf.Tensor3D;
  strongLogits: tf.Tensor3D;
  weakLogits: tf.Tensor2D;
}

export interface SedModel {
  config: ModelConfig;
  /** All parameters and buffers (BN running stats included), keyed by upstream state-dict names. */
  params: Map<string, tf.Variable>;
  /** Names in `params` that are trainable (excludes BN running stats and rotary `freqs`). */
  trainable: string[];
  /** mel [B,128,T,1] → outputs. `training` enables dropout and batch-statistics BN. */
  forward(mel: tf.Tensor4D, opts?: { training?: boolean }): ForwardOutputs;
  dispose(): void;
}
