/**
 * MAMBA (MODEL_SPEC §3.5): seq_model.0 Linear(E→D) → seq_model.1 LayerNorm →
 * 2 × { x += LayerNorm(Mamba2(x)) } (keys seq_model.2.layers.i.0 = Mamba2, .1 = LayerNorm).
 *
 * Mamba2 (mamba_ssm, d_state N = 64, d_conv 3, expand 2 → d_inner = 2D, headdim P = 32 if D == 128
 * else 64, H = 2D/P heads, ngroups 1, rmsnorm False, no in/out proj bias), unidirectional:
 *   in_proj: x [B,T,D] → z [B,T,2D] ‖ xBC [B,T,2D+2N] ‖ dt [B,T,H]
 *   xBC ← SiLU(causal depthwise conv k=3 (left context only) + bias); split x [B,T,H,P], B [B,T,N], C [B,T,N]
 *   dt ← softplus(dt + dt_bias);  A = −exp(A_log) [H]
 *   S_t = exp(dt_t A)·S_{t−1} + dt_t · x_t ⊗ B_t;  y_t = S_t C_t + D_h x_t;  y ← y · SiLU(z);  out_proj
 * The recurrence is evaluated in the SSD (state-space duality) matmul form as one chunk over all T
 * frames (upstream's chunk size is 256 ≥ 250):
 *   L[h,t,s] = exp(Σ_{s<i≤t} dt_i A_h) for s ≤ t else 0;  y = (L ⊙ C Bᵀ) (x·dt) + D x.
 */
import * as tf from '@tensorflow/tfjs-core';
import { mambaHeadDim } from '../names';
import type { ParamGetter, ParamSpec } from '../params';
import { torchDefaultBound, type Rng } from '../init';
import { layerNorm, layerNormSpecs, linear, linearSpecs, silu, type ForwardContext } from '../layers';
import { project, projectionMacs, projectionSpecs } from './projection';
import type { SeqModelDef } from './types';

const LAYERS = 2;
const D_STATE = 64;
const D_CONV = 3;

interface Dims { inner: number; heads: number; headDim: number; convCh: number; projOut: number }

function dims(D: number): Dims {
  const inner = 2 * D;
  const headDim = mambaHeadDim(D);
  const heads = inner / headDim;
  const convCh = inner + 2 * D_STATE;
  return { inner, heads, headDim, convCh, projOut: 2 * inner + 2 * D_STATE + heads };
}

/** mamba_ssm dt init: dt = exp(U(ln 1e-3, ln 1e-1)) floored at 1e-4, stored as softplus⁻¹(dt). */
function dtBiasInit(rng: Rng, n: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const dt = Math.max(Math.exp(rng.next() * (Math.log(0.1) - Math.log(0.001)) + Math.log(0.001)), 1e-4);
    out[i] = dt + Math.log(-Math.expm1(-dt));
  }
  return out;
}

function mambaSpecs(pre: string, D: number): ParamSpec[] {
  const m = dims(D);
  const convBound = torchDefaultBound(D_CONV);
  return [
    { key: `${pre}.dt_bias`, shape: [m.heads], layout: 'plain', role: 'param', init: { kind: 'custom', fill: dtBiasInit } },
    { key: `${pre}.A_log`, shape: [m.heads], layout: 'plain', role: 'param',
      init: { kind: 'custom', fill: (rng, n) => Float32Array.from({ length: n }, () => Math.log(1 + 15 * rng.next())) } },
    { key: `${pre}.D`, shape: [m.heads], layout: 'plain', role: 'param', init: { kind: 'const', value: 1 } },
    ...linearSpecs(`${pre}.in_proj`, D, m.projOut, { bias: false }),
    { key: `${pre}.conv1d.weight`, shape: [m.convCh, 1, D_CONV], layout: 'conv1d', role: 'param', init: { kind: 'uniform', bound: convBound } },
    { key: `${pre}.conv1d.bias`, shape: [m.convCh], layout: 'plain', role: 'param', init: { kind: 'uniform', bound: convBound } },
    ...linearSpecs(`${pre}.out_proj`, m.inner, D, { bias: false }),
  ];
}

const causalMasks = new Map<string, tf.Tensor2D>();

/**
 * Lower-triangular (s ≤ t) boolean mask [T,T], cached per length and backend (kept alive across tidies;
 * per backend so a process that switches backends never reads one back from another device).
 */
function causalMask(T: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${T}`;
  let m = causalMasks.get(key);
  if (!m || m.isDisposed) {
    const data = new Uint8Array(T * T);
    for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) data[t * T + s] = 1;
    m = tf.keep(tf.tensor2d(data, [T, T], 'bool'));
    causalMasks.set(key, m);
  }
  return m;
}

function mamba2(p: ParamGetter, pre: string, u: tf.Tensor3D, D: number): tf.Tensor3D {
  const [B, T] = u.shape;
  const m = dims(D);
  const zxbcdt = linear(u, p(`${pre}.in_proj.weight`));
  const z = tf.slice(zxbcdt, [0, 0, 0], [B, T, m.inner]);
  const xBCraw = tf.slice(zxbcdt, [0, 0, m.inner], [B, T, m.convCh]);
  const dtRaw = tf.slice(zxbcdt, [0, 0, m.inner + m.convCh], [B, T, m.heads]);
  // Causal depthwise conv: y_t = w₀ x_{t−2} + w₁ x_{t−1} + w₂ x_t + b (weight [k,1,C] engine layout).
  const w = tf.reshape(p(`${pre}.conv1d.weight`), [D_CONV, m.convCh]);
  const xp = tf.pad(xBCraw, [[0, 0], [D_CONV - 1, 0], [0, 0]]);
  let conv: tf.Tensor3D = tf.add(tf.mul(tf.slice(xp, [0, 0, 0], [B, T, m.convCh]), tf.slice(w, [0, 0], [1, m.convCh])), p(`${pre}.conv1d.bias`));
  for (let j = 1; j < D_CONV; j++) conv = tf.add(conv, tf.mul(tf.slice(xp, [0, j, 0], [B, T, m.convCh]), tf.slice(w, [j, 0], [1, m.convCh])));
  const xBC = silu(conv);
  const x = tf.reshape(tf.slice(xBC, [0, 0, 0], [B, T, m.inner]), [B, T, m.heads, m.headDim]);
  const Bm = tf.slice(xBC, [0, 0, m.inner], [B, T, D_STATE]);
  const Cm = tf.slice(xBC, [0, 0, m.inner + D_STATE], [B, T, D_STATE]);
  const dt = tf.softplus(tf.add(dtRaw, p(`${pre}.dt_bias`))); // [B,T,H]
  const A = tf.neg(tf.exp(p(`${pre}.A_log`))); // [H]
  const Acum = tf.cumsum(tf.transpose(tf.mul(dt, A), [0, 2, 1]), 2); // [B,H,T]
  const seg = tf.sub(tf.reshape(Acum, [B, m.heads, T, 1]), tf.reshape(Acum, [B, m.heads, 1, T])); // [B,H,T(t),T(s)]
  const L = tf.exp(tf.where(causalMask(T), seg, tf.scalar(-Infinity)));
  const CB = tf.reshape(tf.matMul(Cm, Bm, false, true), [B, 1, T, T]);
  const xdt = tf.transpose(tf.mul(x, tf.reshape(dt, [B, T, m.heads, 1])), [0, 2, 1, 3]); // [B,H,T,P]
  const y = tf.transpose(tf.matMul(tf.mul(L, CB), xdt), [0, 2, 1, 3]); // [B,T,H,P]
  const yD = tf.reshape(tf.add(y, tf.mul(x, tf.reshape(p(`${pre}.D`), [m.heads, 1]))), [B, T, m.inner]);
  return linear(tf.mul(yD, silu(z)), p(`${pre}.out_proj.weight`));
}

export const mambaModel: SeqModelDef = {
  specs(E, D) {
    const specs = [...projectionSpecs(E, D), ...layerNormSpecs('seq_model.1', D)];
    for (let i = 0; i < LAYERS; i++) {
      specs.push(...mambaSpecs(`seq_model.2.layers.${i}.0`, D), ...layerNormSpecs(`seq_model.2.layers.${i}.1`, D));
    }
    return specs;
  },
  outDim: (D) => D,
  forward(p, E, D, z, _ctx: ForwardContext) {
    const projected = project(p, E, D, z);
    let x = layerNorm(p, 'seq_model.1', projected ?? z);
    for (let i = 0; i < LAYERS; i++) {
      const pre = `seq_model.2.layers.${i}`;
      x = tf.add(x, layerNorm(p, `${pre}.1`, mamba2(p, `${pre}.0`, x, D)));
    }
    return { projected, seq: x };
  },
  macs(E, D, T) {
    const m = dims(D);
    // in_proj, depthwise conv (PyTorch computes T + d_conv − 1 frames), SSM 2·T·d_inner·d_state, out_proj.
    const perLayer = T * D * m.projOut + (T + D_CONV - 1) * m.convCh * D_CONV + 2 * T * m.inner * D_STATE + T * m.inner * D;
    return projectionMacs(E, D, T) + LAYERS * perLayer;
  },
};
