/**
 * TF: transformer blocks with rotary embeddings (MODEL_SPEC §3.1).
 *   z [B,T,E] → seq_model.0 Linear → x [B,T,D]
 *   2 × { x += Attention(x) (rotary, gated, pre-RMSNorm); x += FF(x) (RMSNorm → Linear 4D → GELU → Linear) }
 *   → RMSNorm (seq_model.1.norm) → [B,T,D]
 * Heads: 8, but 4 when D < 128 (upstream rule). Dropout 0.2 on attention probs, to_out and both FF spots.
 * Inference runs the fused ops (one webgpu dispatch each: 8 per layer pair, tfjs ops on other backends).
 */
import * as tf from '@tensorflow/tfjs-core';
import { tfHeads } from '../names';
import { dropout, gelu, linearP, linearSpecs } from '../layers';
import { rmsNorm, rmsNormSpecs } from '../rmsNorm';
import { residualRotaryAttention, rotaryAttentionMacs, rotaryAttentionSpecs } from '../attention';
import { fusedLinear, fusedRmsNorm } from '../../backend/webgpuSeqInference';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { ParamGetter } from '../params';
import type { ForwardContext } from '../layers';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const DROPOUT = 0.2;
const FF_MULT = 4;

/** x + FF(x): RMSNorm → Linear 4D → GELU → (dropout) → Linear → (dropout). */
function feedForward(p: ParamGetter, pre: string, x: tf.Tensor3D, ctx: ForwardContext): tf.Tensor3D {
  if (!ctx.training) {
    const h = fusedLinear(x, p(`${pre}.1.net.1.weight`), p(`${pre}.1.net.1.bias`), { norm: p(`${pre}.1.net.0.gamma`), act: 'gelu' });
    return fusedLinear(h, p(`${pre}.1.net.4.weight`), p(`${pre}.1.net.4.bias`), { residual: x });
  }
  const h = dropout(gelu(linearP(p, `${pre}.1.net.1`, rmsNorm(p, `${pre}.1.net.0`, x))), DROPOUT, ctx);
  return tf.add(x, dropout(linearP(p, `${pre}.1.net.4`, h), DROPOUT, ctx));
}

export const tfModel: SeqModelDef = {
  specs(E, D) {
    const specs = projectionSpecs(E, D, 0.02);
    for (let i = 0; i < LAYERS; i++) {
      const pre = `seq_model.1.layers.${i}`;
      specs.push(
        ...rotaryAttentionSpecs(`${pre}.0`, D, tfHeads(D)),
        ...rmsNormSpecs(`${pre}.1.net.0`, D),
        ...linearSpecs(`${pre}.1.net.1`, D, FF_MULT * D, { std: 0.02 }),
        ...linearSpecs(`${pre}.1.net.4`, FF_MULT * D, D, { std: 0.02 }),
      );
    }
    specs.push(...rmsNormSpecs('seq_model.1.norm', D));
    return specs;
  },
  outDim: (D) => D,
  forward(p, E, D, z, ctx) {
    const projected = project(p, E, D, z);
    let x = projected ?? z;
    for (let i = 0; i < LAYERS; i++) {
      const pre = `seq_model.1.layers.${i}`;
      x = residualRotaryAttention(p, `${pre}.0`, x, { heads: tfHeads(D), dropout: DROPOUT }, ctx);
      x = feedForward(p, pre, x, ctx);
    }
    return { projected, seq: ctx.training ? rmsNorm(p, 'seq_model.1.norm', x) : fusedRmsNorm(x, p('seq_model.1.norm.gamma')) };
  },
  macs(E, D, T) {
    return projectionMacs(E, D, T) + LAYERS * (rotaryAttentionMacs(D, tfHeads(D), T) + 2 * T * D * FF_MULT * D);
  },
};
