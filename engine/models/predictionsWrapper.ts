/**
 * The whole model (upstream `PredictionsWrapper`, MODEL_SPEC §3):
 *   mel [B,128,T,1] → backbone → z [B,T/4,E] → seq_model → h [B,T/4,F]
 *   → strong_head (Linear F→C) [B,T/4,C] (time-major; upstream returns it transposed)
 *   → weak_head (Linear F→C) on mean_t h [B,C] (unused for SED but part of the model and its counts).
 * Upstream resamples the sequence to 250 frames (adaptive average pooling above, linear interpolation
 * below); for the 10 s clips every caller feeds (1000 mel frames → 250) that is the identity, so other
 * lengths are simply processed at T/4 frames here.
 */
import * as tf from '@tensorflow/tfjs-core';
import { emaMany } from '../backend/fusedUpdates';
import type { HostTensor } from '../io/safetensors';
import type { ForwardOutputs, ModelConfig, SeqModelType, SedModel } from './types';
import { backboneForward, backboneLayout, backboneSpecs, type Taps } from './fmn';
import { hostParams, ParamStore, type ParamGetter, type ParamSpec } from './params';
import { DerivedCache, linearP, linearSpecs, type ForwardContext } from './layers';
import type { SeqModelDef } from './seq/types';
import { tfModel } from './seq/tf';
import { attModel } from './seq/att';
import { bigruModel } from './seq/bigru';
import { tcnModel } from './seq/tcn';
import { mambaModel } from './seq/mamba';
import { hybridModel } from './seq/hybrid';

export const SEQ_DEFS: Record<SeqModelType, SeqModelDef> = {
  tf: tfModel, att: attModel, bigru: bigruModel, tcn: tcnModel, mamba: mambaModel, hybrid: hybridModel,
};

export function embedDim(config: ModelConfig): number {
  return backboneLayout(config.widthMult).embedDim;
}

/** Width F of the sequence output (= E without a sequence model). */
export function featureDim(config: ModelConfig): number {
  return config.seqType ? SEQ_DEFS[config.seqType].outDim(config.seqHidden) : embedDim(config);
}

/** Every parameter/buffer spec of the model in upstream state-dict order. */
export function modelSpecs(config: ModelConfig): ParamSpec[] {
  const E = embedDim(config);
  const F = featureDim(config);
  return [
    ...backboneSpecs(config.widthMult),
    ...(config.seqType ? SEQ_DEFS[config.seqType].specs(E, config.seqHidden) : []),
    ...linearSpecs('strong_head', F, config.numClasses),
    ...linearSpecs('weak_head', F, config.numClasses),
  ];
}

export interface CreateModelOptions {
  /** Upstream state-dict tensors (PyTorch layout); loading is strict. */
  weights?: Map<string, HostTensor>;
  /** Seed of the from-scratch init (default 0). */
  seed?: number;
}

export interface ForwardOptions {
  training?: boolean;
  /** Collect backbone outputs `features.<k>` (NHWC) into this map (parity tests). */
  taps?: Taps;
}

/** SedModel plus the engine-side extras (state dict export, BN running-stat update). */
export interface EngineSedModel extends SedModel {
  forward(mel: tf.Tensor4D, opts?: ForwardOptions): ForwardOutputs;
  /** The upstream state dict in PyTorch layout (TCN aliases duplicated, `num_batches_tracked` as I64). */
  stateDict(): Map<string, HostTensor>;
  /**
   * Apply the BatchNorm running-statistics update (momentum `batchNormMomentum`, unbiased batch variance)
   * recorded by the last `forward(…, { training: true })`, as PyTorch does in train mode. Returns the number
   * of BN layers updated (0 when nothing is pending). A second training forward replaces pending statistics.
   */
  applyBatchNormUpdate(): number;
  /**
   * `num_batches_tracked` per BN prefix (live; the momentum depends on it). Checkpoints and the training
   * resume state keep it; a checkpoint written before they did loads with 0 (a run started from it
   * re-averages its running statistics over its first 100 training batches).
   */
  readonly batchNormCounters: Map<string, number>;
  /**
   * The BatchNorm batch statistics (mean, unbiased variance) recorded by the last training forward, by
   * BN prefix; the caller owns (disposes) them and nothing stays pending.
   */
  takeBatchNormStats(): Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>;
  /**
   * Makes `stats` (a replica's `takeBatchNormStats`, e.g. from a data-parallel worker thread) the pending
   * statistics for `applyBatchNormUpdate`, replacing any; the model takes ownership of the tensors.
   */
  queueBatchNormStats(stats: Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>): void;
  /**
   * Everything after the backbone: embedding [B,T,E] → sequence model and heads (embedding echoed back).
   * Used to check the sequence model in isolation and to train on cached embeddings of a frozen backbone.
   */
  forwardFromEmbedding(embedding: tf.Tensor3D, opts?: { training?: boolean }): ForwardOutputs;
  /** Parameter getter (engine layout) by upstream key. */
  param: ParamGetter;
}

const BN_MOMENTUM = 0.01;

/**
 * Momentum of a BatchNorm running-statistics update, `tracked` updates in (this one included): 1/tracked
 * for the first 1/BN_MOMENTUM updates (the running value is the plain mean of every batch so far), then
 * PyTorch's fixed 0.01. With 0.01 from the start, the initial running_var of 1 keeps a weight of 0.99ⁿ:
 * 0.006 after 513 steps (27 epochs of 600 clips at batch 32), while our depthwise layers' output variance is
 * ~2e-3, so their running variances came out 1.2–3.5× too large and eval-mode outputs collapsed
 * (bench/RESULTS.md). Checkpoints that already tracked ≥ 100 batches (imported ones) update exactly as PyTorch.
 */
export function batchNormMomentum(tracked: number): number {
  return Math.max(BN_MOMENTUM, 1 / Math.max(1, tracked));
}

class Model implements EngineSedModel {
  readonly config: ModelConfig;
  readonly params: Map<string, tf.Variable>;
  readonly trainable: string[];
  private readonly store: ParamStore;
  private pending = new Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>();
  private readonly derived = new DerivedCache();

  constructor(config: ModelConfig, opts: CreateModelOptions) {
    this.config = config;
    const specs = modelSpecs(config);
    this.store = new ParamStore(specs, hostParams(specs, opts.weights, opts.seed ?? 0), opts.weights);
    this.params = this.store.vars;
    this.trainable = this.store.trainableNames();
  }

  param: ParamGetter = (key) => this.store.get(key);

  get batchNormCounters(): Map<string, number> {
    return this.store.counters;
  }

  forward(mel: tf.Tensor4D, opts: ForwardOptions = {}): ForwardOutputs {
    if (mel.rank !== 4 || mel.shape[1] !== 128 || mel.shape[3] !== 1) {
      throw new Error(`model ${this.config.name}: mel input must be [B,128,T,1], got [${mel.shape}]`);
    }
    const ctx: ForwardContext = { training: !!opts.training, bnStats: new Map(), derived: this.derived };
    const embedding = backboneForward(this.store.get, this.config.widthMult, mel, ctx, opts.taps);
    const out = this.head(embedding, ctx);
    if (ctx.training) {
      this.disposePending();
      this.pending = ctx.bnStats;
    }
    return out;
  }

  forwardFromEmbedding(embedding: tf.Tensor3D, opts: { training?: boolean } = {}): ForwardOutputs {
    const E = embedDim(this.config);
    if (embedding.rank !== 3 || embedding.shape[2] !== E) {
      throw new Error(`model ${this.config.name}: embedding must be [B,T,${E}], got [${embedding.shape}]`);
    }
    return this.head(embedding, { training: !!opts.training, bnStats: new Map() });
  }

  private head(embedding: tf.Tensor3D, ctx: ForwardContext): ForwardOutputs {
    const p = this.store.get;
    let projected: tf.Tensor3D | undefined;
    let seq: tf.Tensor3D | undefined;
    if (this.config.seqType) {
      ({ projected, seq } = SEQ_DEFS[this.config.seqType].forward(p, embedDim(this.config), this.config.seqHidden, embedding, ctx));
    }
    const h = seq ?? embedding;
    const strongLogits = linearP(p, 'strong_head', h);
    const weakLogits = linearP(p, 'weak_head', tf.mean(h, 1) as tf.Tensor2D);
    return { embedding, projected, seq, strongLogits, weakLogits };
  }

  applyBatchNormUpdate(): number {
    const n = this.pending.size;
    const updates: Array<{ x: tf.Variable; y: tf.Tensor; beta: number }> = [];
    for (const [prefix, { mean, variance }] of this.pending) {
      const counter = `${prefix}.num_batches_tracked`;
      const tracked = (this.store.counters.get(counter) ?? 0) + 1;
      const beta = 1 - batchNormMomentum(tracked);
      updates.push({ x: this.params.get(`${prefix}.running_mean`)!, y: mean, beta });
      updates.push({ x: this.params.get(`${prefix}.running_var`)!, y: variance, beta });
      this.store.counters.set(counter, tracked);
    }
    // Inside tidy so the new values' handles are released; the variables keep their buffers.
    tf.tidy(() => emaMany(updates).forEach((value, i) => updates[i].x.assign(value)));
    this.disposePending();
    return n;
  }

  takeBatchNormStats(): Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }> {
    const stats = this.pending;
    this.pending = new Map();
    return stats;
  }

  queueBatchNormStats(stats: Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>): void {
    this.disposePending();
    this.pending = stats;
  }

  private disposePending(): void {
    for (const { mean, variance } of this.pending.values()) {
      mean.dispose();
      variance.dispose();
    }
    this.pending = new Map();
  }

  stateDict(): Map<string, HostTensor> {
    return this.store.stateDict();
  }

  dispose(): void {
    this.disposePending();
    this.derived.dispose();
    this.store.dispose();
  }
}

/** Build a model: upstream init (seeded) without weights, strict load with weights. */
export function createModel(config: ModelConfig, opts: CreateModelOptions = {}): EngineSedModel {
  return new Model(config, opts);
}
