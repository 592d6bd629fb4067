/**
 * ATT: self-attention only (MODEL_SPEC §3.2).
 *   z [B,T,E] → seq_model.0 Linear → x [B,T,D] → 2 × { x += Attention(x) } → [B,T,D]
 * Same Attention as TF (rotary, sigmoid head gates, pre-RMSNorm), always 8 heads, dropout 0,
 * no feed-forward and no final norm.
 */
import { residualRotaryAttention, rotaryAttentionMacs, rotaryAttentionSpecs } from '../attention';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const HEADS = 8;

export const attModel: SeqModelDef = {
  specs(E, D) {
    const specs = projectionSpecs(E, D, 0.02);
    for (let i = 0; i < LAYERS; i++) specs.push(...rotaryAttentionSpecs(`seq_model.1.layers.${i}`, D, HEADS));
    return specs;
  },
  outDim: (D) => D,
  forward(p, E, D, z, ctx) {
    const projected = project(p, E, D, z);
    let x = projected ?? z;
    for (let i = 0; i < LAYERS; i++) x = residualRotaryAttention(p, `seq_model.1.layers.${i}`, x, { heads: HEADS, dropout: 0 }, ctx);
    return { projected, seq: x };
  },
  macs(E, D, T) {
    return projectionMacs(E, D, T) + LAYERS * rotaryAttentionMacs(D, HEADS, T);
  },
};
