/**
 * Small building blocks shared by the backbone and the sequence models (tfjs-core ops only, all
 * differentiable and available on the wasm backend).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from './params';
import { torchDefaultBound } from './init';
import { dropoutMask } from '../backend/dropoutMask';
import { dropoutFused, fusedTrainingOps, geluFused, linearBiasFused } from '../backend/webgpuTrainingOps';

/** Per-forward context: training flag, dropout, and BatchNorm batch statistics for the running-stat update. */
export interface ForwardContext {
  training: boolean;
  /** BN name prefix → batch mean / unbiased variance (recorded in training mode only). */
  bnStats: Map<string, { mean: tf.Tensor1D; variance: tf.Tensor1D }>;
  /** Inference-time derived weights (BN folded into convs), owned by the model; absent = compute per call. */
  derived?: DerivedCache;
}

/**
 * Tensors derived from parameters (e.g. conv weights with BatchNorm folded in), kept across forward calls
 * and recomputed when any source variable was reassigned: `Variable.assign` (optimizers, checkpoint loads)
 * gives the variable a new `dataId`, which is what the entries are keyed on. Stable derived tensors also
 * let the wasm backend reuse its packed XNNPACK operators.
 */
export class DerivedCache {
  private entries = new Map<string, { deps: unknown[]; values: tf.Tensor[] }>();

  get(key: string, sources: tf.Tensor[], compute: () => tf.Tensor[]): tf.Tensor[] {
    const deps = sources.map((t) => t.dataId);
    const hit = this.entries.get(key);
    if (hit && hit.deps.length === deps.length && hit.deps.every((d, i) => d === deps[i])) return hit.values;
    if (hit) for (const v of hit.values) v.dispose();
    const values = tf.tidy(() => compute().map((t) => tf.keep(t)));
    this.entries.set(key, { deps, values });
    return values;
  }

  dispose(): void {
    for (const e of this.entries.values()) for (const v of e.values) v.dispose();
    this.entries.clear();
  }
}

/**
 * Run one stage (a block or layer) in its own tidy so its internals are freed as soon as it ends; in
 * inference also free `prev` (the previous stage's output) unless it is in `keep`. Whole-model tidies
 * would otherwise hold every activation until the end (GBs at batch 32–64 on wasm's 4 GB heap). Training
 * keeps `prev`: the gradient tape may still need it.
 */
export function stage<T extends tf.Tensor>(ctx: ForwardContext, prev: tf.Tensor, keep: ReadonlyArray<tf.Tensor | undefined>, f: () => T): T {
  const next = tf.tidy(f);
  if (!ctx.training && next !== prev && !keep.includes(prev)) prev.dispose();
  return next;
}

export function dropout<T extends tf.Tensor>(x: T, rate: number, ctx: ForwardContext): T {
  if (!ctx.training || rate === 0) return x;
  return fusedTrainingOps() ? dropoutFused(x, rate) : (tf.mul(x, dropoutMask(x.shape, rate)) as T);
}

/** x [..., in] @ W [in, out] (+ b): flattened to 2-D so one (fused) matmul does it. */
export function linear<T extends tf.Tensor>(x: T, w: tf.Tensor, b?: tf.Tensor): T {
  const inDim = x.shape[x.rank - 1] as number;
  const outDim = w.shape[1] as number;
  const a = tf.reshape(x, [-1, inDim]) as tf.Tensor2D;
  const y = b && fusedTrainingOps() ? linearBiasFused(a, w as tf.Tensor2D, b as tf.Tensor1D) : tf.fused.matMul({ a, b: w as tf.Tensor2D, bias: b });
  return tf.reshape(y, [...x.shape.slice(0, -1), outDim]) as T;
}

/** Linear layer by state-dict prefix (`<prefix>.weight` [in,out] engine layout, optional `<prefix>.bias`). */
export function linearP<T extends tf.Tensor>(p: ParamGetter, prefix: string, x: T, bias = true): T {
  return linear(x, p(`${prefix}.weight`), bias ? p(`${prefix}.bias`) : undefined);
}

/** Specs of an nn.Linear (PyTorch default init unless `std` asks for N(0, std) with zero bias). */
export function linearSpecs(prefix: string, inDim: number, outDim: number, opts: { bias?: boolean; std?: number } = {}): ParamSpec[] {
  const bound = torchDefaultBound(inDim);
  const w: ParamSpec = {
    key: `${prefix}.weight`, shape: [outDim, inDim], layout: 'linear', role: 'param',
    init: opts.std !== undefined ? { kind: 'normal', std: opts.std } : { kind: 'uniform', bound },
  };
  if (opts.bias === false) return [w];
  return [w, {
    key: `${prefix}.bias`, shape: [outDim], layout: 'plain', role: 'param',
    init: opts.std !== undefined ? { kind: 'const', value: 0 } : { kind: 'uniform', bound },
  }];
}

export function hardswish<T extends tf.Tensor>(x: T): T {
  return tf.div(tf.mul(x, tf.relu6(tf.add(x, 3))), 6) as T;
}

/** GELU, exact erf form (PyTorch nn.GELU default). */
export function gelu<T extends tf.Tensor>(x: T): T {
  if (fusedTrainingOps()) return geluFused(x);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) as T;
}

export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}

/** nn.LayerNorm over the last axis (eps 1e-5, affine). */
export function layerNorm<T extends tf.Tensor>(p: ParamGetter, prefix: string, x: T, eps = 1e-5): T {
  const { mean, variance } = tf.moments(x, -1, true);
  const y = tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps)));
  return tf.add(tf.mul(y, p(`${prefix}.weight`)), p(`${prefix}.bias`)) as T;
}

export function layerNormSpecs(prefix: string, dim: number): ParamSpec[] {
  return [
    { key: `${prefix}.weight`, shape: [dim], layout: 'plain', role: 'param', init: { kind: 'const', value: 1 } },
    { key: `${prefix}.bias`, shape: [dim], layout: 'plain', role: 'param', init: { kind: 'const', value: 0 } },
  ];
}
