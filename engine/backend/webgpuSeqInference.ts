/**
 * Fused inference ops of the sequence models, like webgpuInference.ts for the backbone: on webgpu each op
 * is one dispatch (a TF layer as tfjs ops is ~60, most of them transposes, slices and elementwise ops
 * whose cost on an H200 is the host's ~100+ µs per dispatch); other backends run the tfjs ops the models
 * use, so their results do not change. No gradients: the models call these in inference only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { gelu, linear } from '../models/layers';
import { rmsNormWith } from '../models/rmsNorm';
import { applyRotary, rotateHalfMatrix, rotaryTables } from '../models/rotary';
import { biGruScan, biMinGruScan } from '../models/scan';
import { POINTWISE } from './webgpuInference';
import { fused, run, runProgram, webgpuKernelGroup } from './webgpuProgram';
import { AttentionProgram, BiGruScanProgram, MinGruScanProgram, RmsNormProgram, attentionCovers, biGruCovers } from './webgpuSeqPrograms';

const RMS_NORM = 'SedRmsNorm';
const ATTENTION = 'SedAttention';
const MIN_GRU = 'SedMinGruScan';
const BI_GRU = 'SedBiGruScan';

/** Register the webgpu kernels (call once the webgpu backend is initialised; same opt-out as webgpuInference.ts). */
export const registerWebgpuSeqKernels = webgpuKernelGroup('SED_WEBGPU_UNFUSED_INFERENCE', (util) => ({
  [RMS_NORM]: ({ inputs, backend }) => {
    const { x, gamma } = inputs;
    const [R, D] = x!.shape as [number, number];
    return runProgram(backend, new RmsNormProgram([R, D], util), [x!, gamma!], [{ type: 'float32', data: [Math.sqrt(D)] }]);
  },
  [ATTENTION]: ({ inputs, backend, attrs }) => {
    const { qkv, freqs, rnn, gammaRnn, gammaAttn } = inputs;
    const { heads, headDim, gated } = attrs as unknown as { heads: number; headDim: number; gated: boolean };
    const [B, T] = qkv!.shape;
    const program = new AttentionProgram(B, T, heads, headDim, !!freqs, gated, !!rnn);
    const optional = freqs ? [freqs] : rnn ? [rnn, gammaRnn!, gammaAttn!] : [];
    return runProgram(backend, program, [qkv!, ...optional], []);
  },
  [MIN_GRU]: ({ inputs, backend, attrs }) => {
    const { hg } = inputs;
    const { dim } = attrs as unknown as { dim: number };
    const [B, T] = hg!.shape;
    return runProgram(backend, new MinGruScanProgram(B, T, dim, util), [hg!], []);
  },
  [BI_GRU]: ({ inputs, backend }) => {
    const { gi, whh, bhn } = inputs;
    const [B, T] = gi!.shape;
    return runProgram(backend, new BiGruScanProgram(B, T, whh!.shape[0]), [gi!, whh!, bhn!], []);
  },
}));

/** Whether the fused sequence kernels run on the active backend (webgpu, unless opted out). */
export const seqKernelsActive = (): boolean => fused(ATTENTION);

export interface FusedLinearOptions {
  /** [K]: RMSNorm gain; the rows of x are RMS-normalised (rmsNorm.ts) first. */
  norm?: tf.Tensor;
  act?: 'linear' | 'gelu';
  /** [B,T,N]: added last (a residual connection). */
  residual?: tf.Tensor3D;
}

/** residual + act(RMSNorm(x) @ w + bias) for x [B,T,K], w [K,N] (engine layout): one GEMM dispatch on webgpu. */
export function fusedLinear(x: tf.Tensor3D, w: tf.Tensor, bias: tf.Tensor | undefined, o: FusedLinearOptions = {}): tf.Tensor3D {
  const act = o.act ?? 'linear';
  if (fused(POINTWISE)) {
    // A linear layer over [B,T,K] is the 1×1 conv over [B,1,T,K].
    const [B, T, K] = x.shape;
    const N = w.shape[1] as number;
    const inputs: tf.NamedTensorMap = { x: tf.reshape(x, [B, 1, T, K]), w: tf.reshape(w, [1, 1, K, N]) };
    if (bias) inputs.bias = bias;
    if (o.residual) inputs.residual = tf.reshape(o.residual, [B, 1, T, N]);
    if (o.norm) inputs.gamma = o.norm;
    return tf.reshape(run(POINTWISE, inputs, { act }), [B, T, N]);
  }
  const y = linear(o.norm ? rmsNormWith(x, o.norm) : x, w, bias);
  const activated = act === 'gelu' ? gelu(y) : y;
  return o.residual ? tf.add(o.residual, activated) : activated;
}

/** RMSNorm of the last axis (rmsNorm.ts) with gain `gamma`: one dispatch on webgpu. */
export function fusedRmsNorm(x: tf.Tensor3D, gamma: tf.Tensor): tf.Tensor3D {
  if (!fused(RMS_NORM)) return rmsNormWith(x, gamma);
  const [B, T, D] = x.shape;
  return tf.reshape(run(RMS_NORM, { x: tf.reshape(x, [B * T, D]), gamma }), [B, T, D]);
}

export interface FusedAttentionOptions {
  /** Model width D: q, k, v are channels [0, D), [D, 2D), [2D, 3D) of qkv. */
  dim: number;
  heads: number;
  /** Rotary `freqs` [d/2] (rotary.ts) applied to q and k. */
  freqs?: tf.Tensor;
  /** Per-head sigmoid gates: their logits are channels 3D + h of qkv. */
  gated: boolean;
  /** HYBRID: output 0.5·RMSNorm_d(rnn; rnnGamma) + 0.5·RMSNorm_d(attention; attnGamma) per head. */
  mix?: { rnn: tf.Tensor3D; rnnGamma: tf.Tensor; attnGamma: tf.Tensor };
}

/**
 * Multi-head attention from a fused projection qkv [B,T,C ≥ 3D] (q, k, v channels as attention.ts splits
 * to_qkv): σ(gate) · softmax(q'·k'ᵀ/√d)·v with q', k' rotary-rotated (or HYBRID's mix), heads merged →
 * [B,T,D]. One dispatch on webgpu for head sizes the kernel covers.
 */
export function fusedAttention(qkv: tf.Tensor3D, o: FusedAttentionOptions): tf.Tensor3D {
  const [B, T, C] = qkv.shape;
  const D = o.dim;
  const d = D / o.heads;
  if (fused(ATTENTION) && attentionCovers(d) && C % 4 === 0 && !(o.freqs && o.mix)) {
    const inputs: tf.NamedTensorMap = { qkv };
    if (o.freqs) inputs.freqs = o.freqs;
    if (o.mix) Object.assign(inputs, { rnn: o.mix.rnn, gammaRnn: o.mix.rnnGamma, gammaAttn: o.mix.attnGamma });
    return run(ATTENTION, inputs, { heads: o.heads, headDim: d, gated: o.gated });
  }
  const part = (i: number): tf.Tensor4D => tf.transpose(tf.reshape(tf.slice(qkv, [0, 0, i * D], [B, T, D]), [B, T, o.heads, d]), [0, 2, 1, 3]);
  let [q, k] = [part(0), part(1)];
  if (o.freqs) {
    const { cos, sin } = rotaryTables(o.freqs, T);
    const rot = rotateHalfMatrix(d);
    [q, k] = [applyRotary(q, cos, sin, rot), applyRotary(k, cos, sin, rot)];
  }
  let out = tf.matMul(tf.softmax(tf.matMul(tf.mul(q, 1 / Math.sqrt(d)), k, false, true), -1), part(2)) as tf.Tensor4D;
  if (o.gated) {
    const gates = tf.sigmoid(tf.slice(qkv, [0, 0, 3 * D], [B, T, o.heads]));
    out = tf.mul(out, tf.reshape(tf.transpose(gates, [0, 2, 1]), [B, o.heads, T, 1]));
  }
  if (o.mix) {
    const rnn = tf.transpose(tf.reshape(o.mix.rnn, [B, T, o.heads, d]), [0, 2, 1, 3]);
    out = tf.add(tf.mul(rmsNormWith(rnn, o.mix.rnnGamma), 0.5), tf.mul(rmsNormWith(out, o.mix.attnGamma), 0.5));
  }
  return tf.reshape(tf.transpose(out, [0, 2, 1, 3]), [B, T, D]);
}

/**
 * HYBRID's bidirectional minGRU (scan.ts `biMinGruScan`) from hg [B,T,C], whose last 4D channels are the
 * forward then the backward ĥ ‖ g projections of the un-flipped input → forward ‖ backward [B,T,2D].
 * One dispatch on webgpu.
 */
export function fusedMinGru(hg: tf.Tensor3D, dim: number): tf.Tensor3D {
  if (fused(MIN_GRU) && dim % 4 === 0 && hg.shape[2] % 4 === 0) return run(MIN_GRU, { hg }, { dim });
  const [B, T, C] = hg.shape;
  const part = (offset: number): tf.Tensor3D => tf.slice(hg, [0, 0, offset], [B, T, 2 * dim]);
  return biMinGruScan(part(C - 4 * dim), tf.reverse(part(C - 2 * dim), 1));
}

/**
 * Both directions of a BiGRU layer (scan.ts `biGruScan`) from gi [B,T,6D], the input projections of the
 * un-flipped input with b_ih and b_hr, b_hz (forward r, z, n, then backward r, z, n), the hidden weights
 * whh [D,6D] (engine layout, forward then backward) and b_hn [2D] → forward ‖ backward [B,T,2D].
 * One dispatch on webgpu (instead of ~15 per time step) for hidden sizes the kernel covers.
 */
export function fusedBiGru(gi: tf.Tensor3D, whh: tf.Tensor, bhn: tf.Tensor): tf.Tensor3D {
  const D = whh.shape[0] as number;
  if (fused(BI_GRU) && biGruCovers(D)) return run(BI_GRU, { gi, whh, bhn });
  const [B, T] = gi.shape;
  const part = (d: number): tf.Tensor3D => tf.slice(gi, [0, 0, 3 * d * D], [B, T, 3 * D]);
  const weight = (d: number): tf.Tensor => tf.slice(whh, [0, 3 * d * D], [D, 3 * D]);
  const bias = (d: number): tf.Tensor => tf.slice(bhn, [d * D], [D]);
  return biGruScan(part(0), tf.reverse(part(1), 1), [weight(0), weight(1)], [bias(0), bias(1)]);
}
