/**
 * ONNX export of our models, block by block as engine/models computes them in inference mode
 * (`forward(mel, { training: false })`), from the upstream state dict (PyTorch layout):
 *
 *   mel [B,1,128,T] (= our [B,128,T,1], same memory order)
 *   → backbone in NCHW: Conv with BatchNorm folded into weight and bias (w·γ/√(σ²+ε), β − μ·γ/√(σ²+ε)),
 *     Relu/HardSwish, depthwise convs as grouped Conv, SE as GlobalAveragePool → 1×1 Conv → Sigmoid → Mul
 *   → [B,T/4,E] → sequence model → strong_head [B,T/4,C] and weak_head(mean_t) [B,C].
 *
 * Every sequence model maps onto standard ops: TF/ATT (rotary tables and the rotate-half permutation
 * baked as constants), BiGRU (the ONNX GRU op, bidirectional, linear_before_reset = 1 with the gates
 * reordered from PyTorch's r,z,n to ONNX's z,r,h), TCN (dilated Conv with causal padding, weight norm
 * folded), MAMBA (the one-chunk SSD form of models/seq/mamba.ts with CumSum and a causal mask) and HYBRID
 * (the minGRU linear recurrence as the same log-depth Hillis–Steele scan as models/scan.ts). The time
 * length is fixed at export (`frames`, 1000 mel frames = one 10 s chunk): the rotary tables, the causal
 * mask and the scan depth depend on it. The batch is dynamic.
 */
import type { HostTensor } from '../io/safetensors';
import { backboneLayout } from '../models/fmn';
import { mambaHeadDim, tfHeads } from '../models/names';
import { permuteHost } from '../models/params';
import type { ModelConfig } from '../models/types';
import { GraphBuilder } from './graph';

/** Bumped whenever the exported graph changes, so cached .onnx files of older exporters are not reused. */
export const EXPORTER_VERSION = 1;

export type OnnxOutput = 'strong_logits' | 'weak_logits' | 'embedding';

export interface ExportOptions {
  /** Mel frames of the input (time length), default 1000 (10 s). */
  frames?: number;
  /** Graph outputs, default strong and weak logits. */
  outputs?: OnnxOutput[];
}

const BN_EPS = 1e-3;

/** Frames after a stride-s conv with kernel k and padding (k−1)/2. */
const strided = (n: number, s: number): number => Math.floor((n - 1) / s) + 1;

/** Output frames for `frames` mel frames (stem and block 1 halve time). */
export function outputFrames(frames: number): number {
  return strided(strided(frames, 2), 2);
}

class Exporter {
  readonly g = new GraphBuilder();
  constructor(private readonly sd: Map<string, HostTensor>) {}

  t(key: string): HostTensor {
    const t = this.sd.get(key);
    if (!t) throw new Error(`ONNX export: state dict lacks '${key}'`);
    return t;
  }

  f32(key: string): Float32Array {
    const d = this.t(key).data;
    return d instanceof Float32Array ? d : Float32Array.from(d as ArrayLike<number>);
  }

  /** A state-dict tensor as an initializer of the same name and shape. */
  w(key: string): string {
    return this.g.initF(this.f32(key), this.t(key).shape, key);
  }

  /** x [..., in] @ W (PyTorch [out,in], stored transposed) + b. */
  linear(x: string, prefix: string, bias = true): string {
    const t = this.t(`${prefix}.weight`);
    const [out, inDim] = t.shape;
    const wT = this.g.initF(permuteHost(this.f32(`${prefix}.weight`), [out, inDim], [1, 0]), [inDim, out], `${prefix}.weight`);
    const y = this.g.op('MatMul', [x, wT]);
    return bias ? this.g.op('Add', [y, this.w(`${prefix}.bias`)]) : y;
  }

  // ---- backbone ----------------------------------------------------------------------------------

  convBn(x: string, convKey: string, bnPrefix: string, o: { stride: [number, number]; pad: number; group: number; act: 'relu' | 'hardswish' | 'linear' }): string {
    const w = this.t(convKey);
    const [out] = w.shape;
    const gamma = this.f32(`${bnPrefix}.weight`);
    const beta = this.f32(`${bnPrefix}.bias`);
    const mean = this.f32(`${bnPrefix}.running_mean`);
    const variance = this.f32(`${bnPrefix}.running_var`);
    const src = this.f32(convKey);
    const per = src.length / out;
    const wf = new Float32Array(src.length);
    const bf = new Float32Array(out);
    for (let o2 = 0; o2 < out; o2++) {
      // Same float32 arithmetic as the tfjs fold (fmn.ts): s = γ·rsqrt(σ²+ε), w·s, β − μ·s.
      const s = Math.fround(gamma[o2] * Math.fround(1 / Math.fround(Math.sqrt(Math.fround(variance[o2] + BN_EPS)))));
      for (let i = 0; i < per; i++) wf[o2 * per + i] = Math.fround(src[o2 * per + i] * s);
      bf[o2] = Math.fround(beta[o2] - Math.fround(mean[o2] * s));
    }
    const y = this.g.op('Conv', [x, this.g.initF(wf, w.shape, `${convKey}.folded`), this.g.initF(bf, [out], `${bnPrefix}.folded_bias`)], {
      kernel_shape: w.shape.slice(2), strides: o.stride, pads: [o.pad, o.pad, o.pad, o.pad], group: o.group,
    });
    if (o.act === 'relu') return this.g.op('Relu', [y]);
    if (o.act === 'hardswish') return this.g.op('HardSwish', [y]);
    return y;
  }

  /** mel [B,1,128,T] → embedding [B,T/4,E]. */
  backbone(mel: string, widthMult: number): string {
    const P = 'model.fmn.features';
    const L = backboneLayout(widthMult);
    let x = this.convBn(mel, `${P}.0.0.weight`, `${P}.0.1`, { stride: [2, 2], pad: 1, group: 1, act: 'hardswish' });
    for (const b of L.blocks) {
      const pre = `${P}.${b.index}.block`;
      const input = x;
      let j = 0;
      let h = input;
      if (b.expC !== b.inC) h = this.convBn(h, `${pre}.${j}.0.weight`, `${pre}.${j++}.1`, { stride: [1, 1], pad: 0, group: 1, act: b.act });
      h = this.convBn(h, `${pre}.${j}.0.weight`, `${pre}.${j++}.1`, { stride: b.stride, pad: (b.kernel - 1) / 2, group: b.expC, act: b.act });
      if (b.se) {
        const se = `${pre}.${j++}.conc_se_layers.0`;
        const conv1x1 = (v: string, name: string): string => {
          const [o2, i2] = this.t(`${se}.${name}.weight`).shape;
          return this.g.op('Conv', [v, this.g.initF(this.f32(`${se}.${name}.weight`), [o2, i2, 1, 1], `${se}.${name}.weight`), this.w(`${se}.${name}.bias`)], { kernel_shape: [1, 1] });
        };
        const s = this.g.op('Sigmoid', [conv1x1(this.g.op('Relu', [conv1x1(this.g.op('GlobalAveragePool', [h]), 'fc1')]), 'fc2')]);
        h = this.g.op('Mul', [h, s]);
      }
      h = this.convBn(h, `${pre}.${j}.0.weight`, `${pre}.${j}.1`, { stride: [1, 1], pad: 0, group: 1, act: 'linear' });
      x = b.stride[0] === 1 && b.stride[1] === 1 && b.inC === b.outC ? this.g.op('Add', [h, input]) : h;
    }
    x = this.convBn(x, `${P}.16.0.weight`, `${P}.16.1`, { stride: [1, 1], pad: 0, group: 1, act: 'hardswish' });
    return this.g.op('Transpose', [this.g.op('Squeeze', [x, this.g.initI64([2])])], { perm: [0, 2, 1] });
  }

  // ---- sequence model pieces -----------------------------------------------------------------------

  /** Upstream RMSNorm over the last axis: x / max(‖x‖, 1e-12) · √dim · γ. */
  rmsNorm(x: string, prefix: string, dim: number): string {
    const norm = this.g.op('Max', [this.g.op('Sqrt', [this.g.op('ReduceSumSquare', [x], { axes: [-1], keepdims: 1 })]), this.g.scalar(1e-12)]);
    const gamma = this.f32(`${prefix}.gamma`).map((v) => Math.fround(v * Math.fround(Math.sqrt(dim))));
    return this.g.op('Mul', [this.g.op('Div', [x, norm]), this.g.initF(gamma, [dim], `${prefix}.gamma_scaled`)]);
  }

  gelu(x: string): string {
    const erf = this.g.op('Erf', [this.g.op('Mul', [x, this.g.scalar(Math.SQRT1_2)])]);
    return this.g.op('Mul', [this.g.op('Mul', [x, this.g.scalar(0.5)]), this.g.op('Add', [erf, this.g.scalar(1)])]);
  }

  silu(x: string): string {
    return this.g.op('Mul', [x, this.g.op('Sigmoid', [x])]);
  }

  /** [B,T,h·d] → [B,h,T,d]. */
  splitHeads(x: string, heads: number): string {
    return this.g.op('Transpose', [this.g.op('Reshape', [x, this.g.initI64([0, 0, heads, -1])])], { perm: [0, 2, 1, 3] });
  }

  /** [B,h,T,d] → [B,T,h·d]. */
  mergeHeads(x: string): string {
    return this.g.op('Reshape', [this.g.op('Transpose', [x], { perm: [0, 2, 1, 3] }), this.g.initI64([0, 0, -1])]);
  }

  /** q, k, v [B,h,T,d] from to_qkv (no bias), split as einops `(qkv h d)`. */
  qkv(n: string, key: string, heads: number): [string, string, string] {
    const t = this.t(key);
    const [C3, D] = t.shape;
    const C = C3 / 3;
    const wT = permuteHost(this.f32(key), [C3, D], [1, 0]); // [D, 3C]
    const parts = [0, 1, 2].map((i) => {
      const part = new Float32Array(D * C);
      for (let r = 0; r < D; r++) part.set(wT.subarray(r * C3 + i * C, r * C3 + (i + 1) * C), r * C);
      return this.splitHeads(this.g.op('MatMul', [n, this.g.initF(part, [D, C], `${key}.${'qkv'[i]}`)]), heads);
    });
    return parts as [string, string, string];
  }

  sdpa(q: string, k: string, v: string, headDim: number): string {
    const qs = this.g.op('Mul', [q, this.g.scalar(1 / Math.sqrt(headDim))]);
    const scores = this.g.op('MatMul', [qs, this.g.op('Transpose', [k], { perm: [0, 1, 3, 2] })]);
    return this.g.op('MatMul', [this.g.op('Softmax', [scores], { axis: -1 }), v]);
  }

  /** Upstream `Attention` (rotary, sigmoid head gates, pre-RMSNorm): the residual branch. */
  rotaryAttention(x: string, prefix: string, D: number, heads: number, T: number): string {
    const d = D / heads;
    const n = this.rmsNorm(x, `${prefix}.norm`, D);
    const [q, k, v] = this.qkv(n, `${prefix}.to_qkv.weight`, heads);
    const freqs = this.f32(`${prefix}.pos_encoding.freqs`);
    const cos = new Float32Array(T * d);
    const sin = new Float32Array(T * d);
    for (let t = 0; t < T; t++) {
      for (let j = 0; j < d; j++) {
        const a = Math.fround(t * freqs[j >> 1]); // float32 angle, as tf.outerProduct computes it
        cos[t * d + j] = Math.cos(a);
        sin[t * d + j] = Math.sin(a);
      }
    }
    const rot = new Float32Array(d * d);
    for (let i = 0; i < d; i += 2) {
      rot[(i + 1) * d + i] = -1;
      rot[i * d + i + 1] = 1;
    }
    const cosN = this.g.initF(cos, [T, d], `${prefix}.rotary_cos`);
    const sinN = this.g.initF(sin, [T, d], `${prefix}.rotary_sin`);
    const rotN = this.g.initF(rot, [d, d], `${prefix}.rotate_half`);
    const rotary = (u: string): string => this.g.op('Add', [this.g.op('Mul', [u, cosN]), this.g.op('Mul', [this.g.op('MatMul', [u, rotN]), sinN])]);
    const out = this.sdpa(rotary(q), rotary(k), v, d);
    const gates = this.g.op('Sigmoid', [this.linear(n, `${prefix}.to_gates`)]); // [B,T,h]
    const gated = this.g.op('Mul', [out, this.g.op('Unsqueeze', [this.g.op('Transpose', [gates], { perm: [0, 2, 1] }), this.g.initI64([3])])]);
    return this.linear(this.mergeHeads(gated), `${prefix}.to_out.0`, false);
  }

  project(z: string, E: number, D: number): string {
    return E === D ? z : this.linear(z, 'seq_model.0');
  }

  // ---- sequence models ---------------------------------------------------------------------------

  tf(z: string, E: number, D: number, T: number): string {
    let x = this.project(z, E, D);
    for (let i = 0; i < 2; i++) {
      const pre = `seq_model.1.layers.${i}`;
      x = this.g.op('Add', [x, this.rotaryAttention(x, `${pre}.0`, D, tfHeads(D), T)]);
      const h = this.gelu(this.linear(this.rmsNorm(x, `${pre}.1.net.0`, D), `${pre}.1.net.1`));
      x = this.g.op('Add', [x, this.linear(h, `${pre}.1.net.4`)]);
    }
    return this.rmsNorm(x, 'seq_model.1.norm', D);
  }

  att(z: string, E: number, D: number, T: number): string {
    let x = this.project(z, E, D);
    for (let i = 0; i < 2; i++) x = this.g.op('Add', [x, this.rotaryAttention(x, `seq_model.1.layers.${i}`, D, 8, T)]);
    return x;
  }

  /** torch.nn.GRU(E, D, 2 layers, bidirectional) → [B,T,2D]. */
  bigru(z: string, D: number): string {
    const pre = 'seq_model.0.gru';
    // PyTorch gate blocks r,z,n → ONNX z,r,h.
    const reorder = (src: Float32Array, cols: number): Float32Array => {
      const out = new Float32Array(src.length);
      const block = D * cols;
      out.set(src.subarray(block, 2 * block), 0);
      out.set(src.subarray(0, block), block);
      out.set(src.subarray(2 * block, 3 * block), 2 * block);
      return out;
    };
    let x = this.g.op('Transpose', [z], { perm: [1, 0, 2] }); // [T,B,E]
    for (let l = 0; l < 2; l++) {
      const inDim = this.t(`${pre}.weight_ih_l${l}`).shape[1];
      const W = new Float32Array(2 * 3 * D * inDim);
      const R = new Float32Array(2 * 3 * D * D);
      const Bias = new Float32Array(2 * 6 * D);
      ['', '_reverse'].forEach((dir, k) => {
        W.set(reorder(this.f32(`${pre}.weight_ih_l${l}${dir}`), inDim), k * 3 * D * inDim);
        R.set(reorder(this.f32(`${pre}.weight_hh_l${l}${dir}`), D), k * 3 * D * D);
        Bias.set(reorder(this.f32(`${pre}.bias_ih_l${l}${dir}`), 1), k * 6 * D);
        Bias.set(reorder(this.f32(`${pre}.bias_hh_l${l}${dir}`), 1), k * 6 * D + 3 * D);
      });
      const [y] = this.g.opN('GRU', [
        x, this.g.initF(W, [2, 3 * D, inDim], `${pre}.W_l${l}`), this.g.initF(R, [2, 3 * D, D], `${pre}.R_l${l}`), this.g.initF(Bias, [2, 6 * D], `${pre}.B_l${l}`),
      ], 1, { hidden_size: D, direction: 'bidirectional', linear_before_reset: 1 });
      // Y [T,2,B,D] → [T,B,2D] (forward then backward, as PyTorch concatenates them).
      x = this.g.op('Reshape', [this.g.op('Transpose', [y], { perm: [0, 2, 1, 3] }), this.g.initI64([0, 0, -1])]);
    }
    return this.g.op('Transpose', [x], { perm: [1, 0, 2] });
  }

  tcn(z: string, E: number, D: number): string {
    let x = this.g.op('Transpose', [this.project(z, E, D)], { perm: [0, 2, 1] }); // [B,D,T]
    for (let i = 0; i < 2; i++) {
      const input = x;
      let y = x;
      for (let j = 0; j < 5; j++) {
        const d = 2 ** j;
        const b = `seq_model.1.layers.${i}.network.${j}`;
        const conv = (u: string, pre: string): string => {
          const v = this.f32(`${pre}.weight_v`);
          const g = this.f32(`${pre}.weight_g`);
          const per = v.length / D;
          const w = new Float32Array(v.length);
          for (let o = 0; o < D; o++) {
            let s = 0;
            for (let k = 0; k < per; k++) s += v[o * per + k] ** 2;
            const scale = g[o] / Math.sqrt(s);
            for (let k = 0; k < per; k++) w[o * per + k] = v[o * per + k] * scale;
          }
          return this.g.op('Conv', [u, this.g.initF(w, [D, D, 3], `${pre}.weight`), this.w(`${pre}.bias`)], { kernel_shape: [3], dilations: [d], pads: [2 * d, 0] });
        };
        const h = this.g.op('Relu', [conv(y, `${b}.conv1`)]);
        const out = this.g.op('Relu', [conv(h, `${b}.conv2`)]);
        y = this.g.op('Relu', [this.g.op('Add', [out, y])]);
      }
      x = this.g.op('Add', [input, y]);
    }
    return this.g.op('Transpose', [x], { perm: [0, 2, 1] });
  }

  layerNorm(x: string, prefix: string): string {
    return this.g.op('LayerNormalization', [x, this.w(`${prefix}.weight`), this.w(`${prefix}.bias`)], { axis: -1, epsilon: { f: 1e-5 } });
  }

  mamba2(u: string, pre: string, D: number, T: number): string {
    const N = 64;
    const inner = 2 * D;
    const P = mambaHeadDim(D);
    const H = inner / P;
    const convCh = inner + 2 * N;
    const [z, xBCraw, dtRaw] = this.g.opN('Split', [this.linear(u, `${pre}.in_proj`, false), this.g.initI64([inner, convCh, H])], 3, { axis: 2 });
    const convW = this.t(`${pre}.conv1d.weight`); // [C,1,3]
    const conv = this.g.op('Conv', [this.g.op('Transpose', [xBCraw], { perm: [0, 2, 1] }), this.w(`${pre}.conv1d.weight`), this.w(`${pre}.conv1d.bias`)], {
      kernel_shape: [convW.shape[2]], group: convCh, pads: [convW.shape[2] - 1, 0],
    });
    const xBC = this.silu(this.g.op('Transpose', [conv], { perm: [0, 2, 1] }));
    const [xs, Bm, Cm] = this.g.opN('Split', [xBC, this.g.initI64([inner, N, N])], 3, { axis: 2 });
    const x4 = this.g.op('Reshape', [xs, this.g.initI64([0, 0, H, P])]); // [B,T,H,P]
    const dt = this.g.op('Softplus', [this.g.op('Add', [dtRaw, this.w(`${pre}.dt_bias`)])]); // [B,T,H]
    const A = this.f32(`${pre}.A_log`).map((v) => -Math.exp(v));
    const Acum = this.g.op('CumSum', [this.g.op('Transpose', [this.g.op('Mul', [dt, this.g.initF(A, [H], `${pre}.A`)])], { perm: [0, 2, 1] }), this.g.initI64([2])]); // [B,H,T]
    const seg = this.g.op('Sub', [this.g.op('Unsqueeze', [Acum, this.g.initI64([3])]), this.g.op('Unsqueeze', [Acum, this.g.initI64([2])])]); // [B,H,T,T]
    const mask = new Uint8Array(T * T);
    for (let t = 0; t < T; t++) for (let s = 0; s <= t; s++) mask[t * T + s] = 1;
    const L = this.g.op('Exp', [this.g.op('Where', [this.g.initBool(mask, [T, T]), seg, this.g.scalar(-Infinity)])]);
    const CB = this.g.op('Unsqueeze', [this.g.op('MatMul', [Cm, this.g.op('Transpose', [Bm], { perm: [0, 2, 1] })]), this.g.initI64([1])]); // [B,1,T,T]
    const xdt = this.g.op('Transpose', [this.g.op('Mul', [x4, this.g.op('Unsqueeze', [dt, this.g.initI64([3])])])], { perm: [0, 2, 1, 3] }); // [B,H,T,P]
    const y = this.g.op('Transpose', [this.g.op('MatMul', [this.g.op('Mul', [L, CB]), xdt])], { perm: [0, 2, 1, 3] }); // [B,T,H,P]
    const yD = this.g.op('Reshape', [this.g.op('Add', [y, this.g.op('Mul', [x4, this.g.initF(this.f32(`${pre}.D`), [H, 1], `${pre}.D_col`)])]), this.g.initI64([0, 0, -1])]);
    return this.linear(this.g.op('Mul', [yD, this.silu(z)]), `${pre}.out_proj`, false);
  }

  mamba(z: string, E: number, D: number, T: number): string {
    let x = this.layerNorm(this.project(z, E, D), 'seq_model.1');
    for (let i = 0; i < 2; i++) {
      const pre = `seq_model.2.layers.${i}`;
      x = this.g.op('Add', [x, this.layerNorm(this.mamba2(x, `${pre}.0`, D, T), `${pre}.1`)]);
    }
    return x;
  }

  /** Time reversal of [B,T,…] (Slice with step −1). */
  reverseTime(x: string): string {
    return this.g.op('Slice', [x, this.g.initI64([-1]), this.g.initI64([-(2n ** 63n) + 1n]), this.g.initI64([1]), this.g.initI64([-1])]);
  }

  /** h_t = a_t·h_{t−1} + b_t along axis 1 of [B,T,D], Hillis–Steele (models/scan.ts). */
  linearScan(a: string, b: string, T: number): string {
    const shift = (v: string, s: number, fill: number): string =>
      this.g.op('Pad', [this.g.op('Slice', [v, this.g.initI64([0]), this.g.initI64([T - s]), this.g.initI64([1])]), this.g.initI64([0, s, 0, 0, 0, 0]), this.g.scalar(fill)]);
    let A = a;
    let H = b;
    for (let s = 1; s < T; s *= 2) {
      H = this.g.op('Add', [H, this.g.op('Mul', [A, shift(H, s, 0)])]);
      if (2 * s < T) A = this.g.op('Mul', [A, shift(A, s, 1)]);
    }
    return H;
  }

  biMinGru(n: string, pre: string, D: number, T: number): string {
    const fwd = this.linear(n, `${pre}.forward_minGRU.to_hidden_and_gate`, false);
    const bwd = this.linear(this.reverseTime(n), `${pre}.backward_minGRU.to_hidden_and_gate`, false);
    const [hidden, gate] = this.g.opN('Split', [this.g.op('Concat', [fwd, bwd], { axis: 0 }), this.g.initI64([D, D])], 2, { axis: 2 }); // [2B,T,D] each
    const candidate = this.g.op('Where', [
      this.g.op('GreaterOrEqual', [hidden, this.g.scalar(0)]), this.g.op('Add', [hidden, this.g.scalar(0.5)]), this.g.op('Sigmoid', [hidden]),
    ]);
    const h = this.linearScan(this.g.op('Sigmoid', [this.g.op('Neg', [gate])]), this.g.op('Mul', [this.g.op('Sigmoid', [gate]), candidate]), T);
    const [hf, hb] = this.g.opN('Split', [h], 2, { axis: 0 });
    return this.linear(this.g.op('Concat', [hf, this.reverseTime(hb)], { axis: 2 }), `${pre}.to_out`, false);
  }

  hybrid(z: string, E: number, D: number, T: number): string {
    const heads = 8;
    const d = D / heads;
    let x = this.project(z, E, D);
    for (let i = 0; i < 2; i++) {
      const pre = `seq_model.1.layers.${i}`;
      const n = this.rmsNorm(x, `${pre}.0`, D);
      const rnn = this.splitHeads(this.biMinGru(n, `${pre}.1.rnn`, D, T), heads);
      const [q, k, v] = this.qkv(n, `${pre}.1.to_qkv.weight`, heads);
      const attn = this.sdpa(q, k, v, d);
      const mixed = this.g.op('Add', [
        this.g.op('Mul', [this.rmsNorm(rnn, `${pre}.1.rnn_out_norm`, d), this.g.scalar(0.5)]),
        this.g.op('Mul', [this.rmsNorm(attn, `${pre}.1.attn_out_norm`, d), this.g.scalar(0.5)]),
      ]);
      x = this.g.op('Add', [x, this.linear(this.mergeHeads(mixed), `${pre}.1.to_out`, false)]);
      const ff = this.linear(this.gelu(this.linear(this.rmsNorm(x, `${pre}.2`, D), `${pre}.3.0`)), `${pre}.3.2`);
      x = this.g.op('Add', [x, ff]);
    }
    return this.rmsNorm(x, 'seq_model.1.norm', D);
  }
}

/**
 * The ONNX model (serialised ModelProto) of `config` with the upstream state dict `stateDict`
 * (PyTorch layout, as `EngineSedModel.stateDict()` or a checkpoint's safetensors give it).
 * Input `mel` [batch,1,128,frames]; outputs as `opts.outputs` ([batch,T,C] strong, [batch,C] weak,
 * [batch,T,E] embedding; T = frames/4).
 */
export function exportOnnx(config: ModelConfig, stateDict: Map<string, HostTensor>, opts: ExportOptions = {}): Uint8Array {
  const frames = opts.frames ?? 1000;
  const outputs = opts.outputs ?? ['strong_logits', 'weak_logits'];
  const T = outputFrames(frames);
  const ex = new Exporter(stateDict);
  const g = ex.g;
  const mel = g.input('mel', ['batch', 1, 128, frames]);
  const E = backboneLayout(config.widthMult).embedDim;
  const emb = ex.backbone(mel, config.widthMult);
  const D = config.seqHidden;
  let h = emb;
  switch (config.seqType) {
    case null: break;
    case 'tf': h = ex.tf(emb, E, D, T); break;
    case 'att': h = ex.att(emb, E, D, T); break;
    case 'bigru': h = ex.bigru(emb, D); break;
    case 'tcn': h = ex.tcn(emb, E, D); break;
    case 'mamba': h = ex.mamba(emb, E, D, T); break;
    case 'hybrid': h = ex.hybrid(emb, E, D, T); break;
  }
  const C = config.numClasses;
  for (const o of outputs) {
    if (o === 'strong_logits') g.output(ex.linear(h, 'strong_head'), o, ['batch', T, C]);
    if (o === 'weak_logits') g.output(ex.linear(g.op('ReduceMean', [h], { axes: [1], keepdims: 0 }), 'weak_head'), o, ['batch', C]);
    if (o === 'embedding') g.output(emb, o, ['batch', T, E]);
  }
  return g.encode(`${config.name} (${C} classes), ${frames} mel frames, exporter v${EXPORTER_VERSION}`);
}
