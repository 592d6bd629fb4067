/**
 * Multi-head attention pieces shared by TF, ATT (rotary, gated) and HYBRID (plain SDPA).
 * Channel split of to_qkv follows einops `b n (qkv h d)`: index = which·D + head·d + j.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter, ParamSpec } from './params';
import { dropout, linear, linearSpecs, type ForwardContext } from './layers';
import { rmsNorm, rmsNormSpecs } from './rmsNorm';
import { applyRotary, rotateHalfMatrix, rotarySpec, rotaryTables } from './rotary';
import { fusedAttention, fusedLinear, seqKernelsActive } from '../backend/webgpuSeqInference';
import { fusedTrainingOps, gateMergeFused, qkvHeadFused, softmaxDropoutFused } from '../backend/webgpuTrainingOps';
import { nativeWasmMatMul } from '../backend/wasmTraining';

/** [B,T,h·d] → [B,h,T,d]. */
export function splitHeads(x: tf.Tensor3D, heads: number): tf.Tensor4D {
  const [B, T, C] = x.shape;
  return tf.transpose(tf.reshape(x, [B, T, heads, C / heads]), [0, 2, 1, 3]);
}

/**
 * q, k, v [B,h,T,d] from x [B,T,D] and to_qkv's weight [D, 3·h·d] (engine layout). One matmul per
 * projection on column slices of the weight: keeps every tensor at rank ≤ 4 (5-D transposes and
 * slices are very slow on the wasm backend).
 */
export function projectQkv(x: tf.Tensor3D, w: tf.Tensor, heads: number): [tf.Tensor4D, tf.Tensor4D, tf.Tensor4D] {
  const [D, C3] = w.shape as [number, number];
  const C = C3 / 3;
  const part = (i: number): tf.Tensor4D => splitHeads(linear(x, tf.slice(w, [0, i * C], [D, C])), heads);
  return [part(0), part(1), part(2)];
}

/** [B,h,T,d] → [B,T,h·d]. */
export function mergeHeads(x: tf.Tensor4D): tf.Tensor3D {
  const [B, H, T, d] = x.shape;
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * d]);
}

/**
 * softmax(q kᵀ / √d) v, no mask; dropout on the probabilities in training. q, k, v [B,h,T,d] (q already
 * scaled by 1/√d when `prescaled`).
 * tfjs-wasm's own batched matmuls take a slow generic path while 2-D ones go through XNNPACK, so without the
 * engine's native matmuls (wasmMatMul.ts) each (batch, head) pair gets its own 2-D matmuls there (2–3× faster);
 * everywhere else one batched call.
 */
export function sdpa(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, dropRate: number, ctx: ForwardContext, prescaled = false): tf.Tensor4D {
  const [B, H, T, d] = q.shape;
  const qs = prescaled ? q : (tf.mul(q, 1 / Math.sqrt(d)) as tf.Tensor4D);
  const probs = (scores: tf.Tensor): tf.Tensor => ctx.training && dropRate > 0 && fusedTrainingOps()
    ? softmaxDropoutFused(scores, dropRate)
    : dropout(tf.softmax(scores, -1), dropRate, ctx);
  const attend = (qi: tf.Tensor, ki: tf.Tensor, vi: tf.Tensor): tf.Tensor => tf.matMul(probs(tf.matMul(qi, ki, false, true)), vi);
  if (tf.getBackend() !== 'wasm' || nativeWasmMatMul()) return attend(qs, k, v) as tf.Tensor4D;
  const [q2, k2, v2] = [qs, k, v].map((t) => tf.unstack(tf.reshape(t, [B * H, T, d])));
  return tf.reshape(tf.stack(q2.map((qi, i) => attend(qi, k2[i], v2[i]))), [B, H, T, d]);
}

export interface RotaryAttentionOpts {
  heads: number;
  dropout: number;
}

/** Specs of upstream `Attention` (roformer/attention.py), N(0, 0.02) linear init as `init_weights`. */
export function rotaryAttentionSpecs(prefix: string, dim: number, heads: number): ParamSpec[] {
  const d = dim / heads;
  return [
    rotarySpec(`${prefix}.pos_encoding.freqs`, d),
    ...rmsNormSpecs(`${prefix}.norm`, dim),
    ...linearSpecs(`${prefix}.to_qkv`, dim, 3 * dim, { bias: false, std: 0.02 }),
    ...linearSpecs(`${prefix}.to_gates`, dim, heads, { std: 0.02 }),
    ...linearSpecs(`${prefix}.to_out.0`, dim, dim, { bias: false, std: 0.02 }),
  ];
}

/**
 * Upstream `Attention`: n = RMSNorm(x); q,k,v from n; rotary on q,k; SDPA; per-head sigmoid gates from n;
 * merge; to_out; dropout. Returns the residual branch (the caller adds x).
 */
export function rotaryAttention(p: ParamGetter, prefix: string, x: tf.Tensor3D, o: RotaryAttentionOpts, ctx: ForwardContext): tf.Tensor3D {
  const [B, T, D] = x.shape;
  const n = rmsNorm(p, `${prefix}.norm`, x);
  // The tables depend on the (fixed) freqs and T only: cached instead of 4 dispatches per layer and step.
  const freqs = p(`${prefix}.pos_encoding.freqs`);
  const tables = (): tf.Tensor[] => Object.values(rotaryTables(freqs, T));
  const [cos, sin] = (ctx.derived ? ctx.derived.get(`${prefix}.rotary@${T}`, [freqs], tables) : tables()) as tf.Tensor2D[];
  const gateLogits = linear(n, p(`${prefix}.to_gates.weight`), p(`${prefix}.to_gates.bias`)); // [B,T,h]
  if (fusedTrainingOps()) {
    // One q/k/v projection, then heads, rotary, the 1/√d scale, gates and the head merge as fused ops (webgpu).
    const qkv = linear(n, p(`${prefix}.to_qkv.weight`));
    const [q, k, v] = [0, 1, 2].map((which) => qkvHeadFused(qkv, which, o.heads, cos, sin, which === 0 ? 1 / Math.sqrt(D / o.heads) : 1));
    return dropout(linear(gateMergeFused(sdpa(q, k, v, o.dropout, ctx, true), gateLogits), p(`${prefix}.to_out.0.weight`)), o.dropout, ctx);
  }
  const [q, k, v] = projectQkv(n, p(`${prefix}.to_qkv.weight`), o.heads);
  const rot = rotateHalfMatrix(q.shape[3]);
  const out = sdpa(applyRotary(q, cos, sin, rot), applyRotary(k, cos, sin, rot), v, o.dropout, ctx);
  const gates = tf.sigmoid(gateLogits);
  const gated = tf.mul(out, tf.reshape(tf.transpose(gates, [0, 2, 1]), [B, o.heads, T, 1])) as tf.Tensor4D;
  return dropout(linear(mergeHeads(gated), p(`${prefix}.to_out.0.weight`)), o.dropout, ctx);
}

/**
 * x + rotaryAttention(x). In inference on webgpu, three dispatches: RMSNorm + to_qkv + to_gates as one
 * GEMM (their weights joined once into the derived cache), the attention core, to_out + residual.
 */
export function residualRotaryAttention(p: ParamGetter, prefix: string, x: tf.Tensor3D, o: RotaryAttentionOpts, ctx: ForwardContext): tf.Tensor3D {
  if (ctx.training || !seqKernelsActive()) return tf.add(x, rotaryAttention(p, prefix, x, o, ctx));
  const D = x.shape[2];
  const sources = [p(`${prefix}.to_qkv.weight`), p(`${prefix}.to_gates.weight`), p(`${prefix}.to_gates.bias`)];
  const join = (): tf.Tensor[] => [tf.concat([sources[0], sources[1]], 1), tf.concat([tf.zeros([3 * D]), sources[2]])];
  const [w, bias] = ctx.derived ? ctx.derived.get(`${prefix}.to_qkv+to_gates`, sources, join) : join();
  const qkvg = fusedLinear(x, w, bias, { norm: p(`${prefix}.norm.gamma`) });
  const heads = fusedAttention(qkvg, { dim: D, heads: o.heads, freqs: p(`${prefix}.pos_encoding.freqs`), gated: true });
  return fusedLinear(heads, p(`${prefix}.to_out.0.weight`), undefined, { residual: x });
}

/** MACs of one rotary attention layer over T frames: qkv, gates, QKᵀ, AV, out projection. */
export function rotaryAttentionMacs(dim: number, heads: number, T: number): number {
  return T * dim * 3 * dim + T * dim * heads + 2 * T * T * dim + T * dim * dim;
}
