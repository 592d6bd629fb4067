/**
 * TF: transformer blocks with rotary embeddings (MODEL_SPEC §3.1).
 *   z [B,T,E] → seq_model.0 Linear → x [B,T,D]
 *   2 × { x += Attention(x) (rotary, gated, pre-RMSNorm); x += FF(x) (RMSNorm → Linear 4D → GELU → Linear) }
 *   → RMSNorm (seq_model.1.norm) → [B,T,D]
 * Heads: 8, but 4 when D < 128 (upstream rule). Dropout 0.2 on attention probs, to_out and both FF spots.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tfHeads } from '../names';
import { dropout, gelu, linearP, linearSpecs } from '../layers';
import { rmsNorm, rmsNormSpecs } from '../rmsNorm';
import { rotaryAttention, rotaryAttentionMacs, rotaryAttentionSpecs } from '../attention';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const DROPOUT = 0.2;
const FF_MULT = 4;

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
      x = tf.add(x, rotaryAttention(p, `${pre}.0`, x, { heads: tfHeads(D), dropout: DROPOUT }, ctx));
      const h = dropout(gelu(linearP(p, `${pre}.1.net.1`, rmsNorm(p, `${pre}.1.net.0`, x))), DROPOUT, ctx);
      x = tf.add(x, dropout(linearP(p, `${pre}.1.net.4`, h), DROPOUT, ctx));
    }
    return { projected, seq: rmsNorm(p, 'seq_model.1.norm', x) };
  },
  macs(E, D, T) {
    return projectionMacs(E, D, T) + LAYERS * (rotaryAttentionMacs(D, tfHeads(D), T) + 2 * T * D * FF_MULT * D);
  },
};
