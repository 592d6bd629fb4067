/**
 * HYBRID (MODEL_SPEC §3.6): seq_model.0 Linear(E→D), then HybridWrapper (keys seq_model.1.*):
 *   2 × { x += Hybrid(RMSNorm_{layers.i.0}(x));  x += FF(RMSNorm_{layers.i.2}(x)) }  → RMSNorm (norm)
 *   FF (layers.i.3): Linear(D→4D)+bias → GELU → Linear(4D→D)+bias, no dropout.
 * Hybrid block (layers.i.1) on n [B,T,D], 8 heads of d = D/8:
 *   attention: to_qkv → SDPA (no positional encoding, no gates)                      [B,h,T,d]
 *   minGRU ×2 (forward, and backward on the time-flipped input): to_hidden_and_gate → ĥ ‖ g;
 *     z = σ(g), c = g̃(ĥ) (x+0.5 if x ≥ 0 else σ(x)); h_t = (1−z_t) h_{t−1} + z_t c_t, h₀ = 0
 *     → rnn.to_out(concat[fwd, bwd]) → heads                                         [B,h,T,d]
 *   out = to_out(merge(0.5·RMSNorm_d(rnn; rnn_out_norm) + 0.5·RMSNorm_d(attn; attn_out_norm)))
 * The recurrence is a parallel scan (scan.ts) with both directions stacked on the batch axis.
 * Inference on webgpu runs the fused ops (webgpuSeqInference.ts): 7 dispatches per layer.
 * (Upstream asserts D ≥ 128; we build any D divisible by 8, as the fixtures and `fmn04+hybrid:104` need.)
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ParamGetter } from '../params';
import { gelu, linear, linearP, linearSpecs, type ForwardContext } from '../layers';
import { rmsNorm, rmsNormSpecs } from '../rmsNorm';
import { mergeHeads, projectQkv, sdpa, splitHeads } from '../attention';
import { biMinGruScan } from '../scan';
import { fusedAttention, fusedLinear, fusedMinGru, fusedRmsNorm, seqKernelsActive } from '../../backend/webgpuSeqInference';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const HEADS = 8;
const FF_MULT = 4;

/** Bidirectional minGRU, n [B,T,D] → [B,T,D] (before rnn.to_out). */
function biMinGru(p: ParamGetter, pre: string, n: tf.Tensor3D): tf.Tensor3D {
  const fwd = linear(n, p(`${pre}.forward_minGRU.to_hidden_and_gate.weight`));
  const bwd = linear(tf.reverse(n, 1), p(`${pre}.backward_minGRU.to_hidden_and_gate.weight`));
  return linear(biMinGruScan(fwd, bwd), p(`${pre}.to_out.weight`));
}

function hybridBlock(p: ParamGetter, pre: string, n: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  const rnn = splitHeads(biMinGru(p, `${pre}.rnn`, n), HEADS);
  const [q, k, v] = projectQkv(n, p(`${pre}.to_qkv.weight`), HEADS);
  const attn = sdpa(q, k, v, 0, ctx);
  const mixed: tf.Tensor4D = tf.add(tf.mul(rmsNorm(p, `${pre}.rnn_out_norm`, rnn), 0.5), tf.mul(rmsNorm(p, `${pre}.attn_out_norm`, attn), 0.5));
  return linear(mergeHeads(mixed), p(`${pre}.to_out.weight`));
}

/**
 * x + Hybrid(RMSNorm(x)) as fused ops: one GEMM for RMSNorm + to_qkv + both minGRU input projections
 * (weights joined once into the derived cache), the minGRU scan, rnn.to_out, attention with the branch
 * mix, to_out + residual.
 */
function hybridBlockFused(p: ParamGetter, pre: string, x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  const D = x.shape[2];
  const b = `${pre}.1`;
  const sources = [
    p(`${b}.to_qkv.weight`),
    p(`${b}.rnn.forward_minGRU.to_hidden_and_gate.weight`),
    p(`${b}.rnn.backward_minGRU.to_hidden_and_gate.weight`),
  ];
  const join = (): tf.Tensor[] => [tf.concat(sources, 1)];
  const [w] = ctx.derived ? ctx.derived.get(`${b}.to_qkv+minGRU`, sources, join) : join();
  const projected = fusedLinear(x, w, undefined, { norm: p(`${pre}.0.gamma`) }); // [B,T,7D]
  const rnn = fusedLinear(fusedMinGru(projected, D), p(`${b}.rnn.to_out.weight`), undefined);
  const mix = { rnn, rnnGamma: p(`${b}.rnn_out_norm.gamma`), attnGamma: p(`${b}.attn_out_norm.gamma`) };
  const mixed = fusedAttention(projected, { dim: D, heads: HEADS, gated: false, mix });
  return fusedLinear(mixed, p(`${b}.to_out.weight`), undefined, { residual: x });
}

export const hybridModel: SeqModelDef = {
  specs(E, D) {
    const specs = projectionSpecs(E, D);
    for (let i = 0; i < LAYERS; i++) {
      const pre = `seq_model.1.layers.${i}`;
      specs.push(
        ...rmsNormSpecs(`${pre}.0`, D),
        ...linearSpecs(`${pre}.1.to_qkv`, D, 3 * D, { bias: false }),
        ...linearSpecs(`${pre}.1.rnn.forward_minGRU.to_hidden_and_gate`, D, 2 * D, { bias: false }),
        ...linearSpecs(`${pre}.1.rnn.backward_minGRU.to_hidden_and_gate`, D, 2 * D, { bias: false }),
        ...linearSpecs(`${pre}.1.rnn.to_out`, 2 * D, D, { bias: false }),
        ...rmsNormSpecs(`${pre}.1.rnn_out_norm`, D / HEADS),
        ...rmsNormSpecs(`${pre}.1.attn_out_norm`, D / HEADS),
        ...linearSpecs(`${pre}.1.to_out`, D, D, { bias: false }),
        ...rmsNormSpecs(`${pre}.2`, D),
        ...linearSpecs(`${pre}.3.0`, D, FF_MULT * D),
        ...linearSpecs(`${pre}.3.2`, FF_MULT * D, D),
      );
    }
    specs.push(...rmsNormSpecs('seq_model.1.norm', D));
    return specs;
  },
  outDim: (D) => D,
  forward(p, E, D, z, ctx) {
    const projected = project(p, E, D, z);
    let x = projected ?? z;
    const fused = !ctx.training && seqKernelsActive();
    for (let i = 0; i < LAYERS; i++) {
      const pre = `seq_model.1.layers.${i}`;
      if (fused) {
        x = hybridBlockFused(p, pre, x, ctx);
        const h = fusedLinear(x, p(`${pre}.3.0.weight`), p(`${pre}.3.0.bias`), { norm: p(`${pre}.2.gamma`), act: 'gelu' });
        x = fusedLinear(h, p(`${pre}.3.2.weight`), p(`${pre}.3.2.bias`), { residual: x });
        continue;
      }
      x = tf.add(x, hybridBlock(p, `${pre}.1`, rmsNorm(p, `${pre}.0`, x), ctx));
      x = tf.add(x, linearP(p, `${pre}.3.2`, gelu(linearP(p, `${pre}.3.0`, rmsNorm(p, `${pre}.2`, x)))));
    }
    return { projected, seq: fused ? fusedRmsNorm(x, p('seq_model.1.norm.gamma')) : rmsNorm(p, 'seq_model.1.norm', x) };
  },
  macs(E, D, T) {
    // qkv, QKᵀ + AV, two minGRU input projections, rnn.to_out, to_out, FF.
    const perLayer = T * D * 3 * D + 2 * T * T * D + 2 * T * D * 2 * D + T * 2 * D * D + T * D * D + 2 * T * D * FF_MULT * D;
    return projectionMacs(E, D, T) + LAYERS * perLayer;
  },
};
