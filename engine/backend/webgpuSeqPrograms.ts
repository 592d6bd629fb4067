/**
 * WGSL programs behind the fused sequence-model ops (webgpuSeqInference.ts): RMSNorm of rows, the
 * attention core (rotary on q and k, softmax(q·kᵀ/√d)·v per head, sigmoid head gates, or HYBRID's mix with
 * the minGRU branch) reading the fused q/k/v(/gate) projection directly, so no transposes, slices or score
 * tensors are dispatched, and the bidirectional minGRU and GRU recurrences. Shapes that change the code (head
 * size, flags) are part of `shaderKey`.
 */
import { FlatProgram, type WebgpuUtil } from './webgpuProgram';

/**
 * y[r, :] = x[r, :] / max(‖x[r, :]‖₂, 1e-12) · (γ·√D) (rmsNorm.ts) over x [R, D], one thread per row
 * (`normScale` = √D as a uniform: the exact f32 of Math.sqrt). vec4 along D when D % 4 = 0.
 */
export class RmsNormProgram extends FlatProgram {
  variableNames = ['x', 'gamma'];
  variableComponents: number[];
  outputComponent: number;
  shaderKey: string;
  uniforms = 'normScale : f32,';

  constructor(shape: [number, number], util: WebgpuUtil) {
    super(shape, [shape[0]], util);
    this.outputComponent = shape[1] % 4 === 0 ? 4 : 1;
    this.variableComponents = [this.outputComponent, this.outputComponent];
    this.shaderKey = `sedRmsNorm_${this.outputComponent}`;
  }

  getUserCode(): string {
    const c = this.outputComponent;
    const sum = c === 4 ? 'dot(ss, vec4<f32>(1.0))' : 'ss';
    return `
      fn main(index : i32) {
        if (index >= uniforms.xShape[0]) { return; }
        let DV = uniforms.xShape[1] / ${c};
        let base = index * DV;
        var ss = ${c === 4 ? 'vec4<f32>(0.0)' : '0.0'};
        for (var j = 0; j < DV; j = j + 1) {
          let v = x[base + j];
          ss = fma(v, v, ss);
        }
        let norm = max(sqrt(${sum}), 1e-12);
        for (var j = 0; j < DV; j = j + 1) {
          result[base + j] = (x[base + j] / norm) * (gamma[j] * uniforms.normScale);
        }
      }
    `;
  }
}

/** Queries per workgroup (one per thread). */
const QUERIES = 64;

/** Keys staged per step: k and v tiles (2·keys·d floats) within the 16 KiB of workgroup memory WebGPU guarantees. */
const keyTile = (headDim: number): number => Math.min(64, 2048 / headDim);

/** Head sizes the attention program covers: vec4 lanes, and q plus the accumulator kept in registers. */
export const attentionCovers = (headDim: number): boolean => headDim % 4 === 0 && headDim <= 64;

/** A WGSL f32 literal of `v` (an integral JS number would print as an i32 literal). */
const f32 = (v: number): string => (Number.isInteger(v) ? `${v}.0` : `${v}`);

/**
 * out[b, t, h·d + j] = σ(g[b, t, h]) · Σ_s softmax_s(q'_t·k'_s / √d) v[s, j] from qkv [B, T, C], whose
 * channels are q, k, v as `which·D + h·d + j` (attention.ts) and, when `gated`, the gate logits at 3D + h.
 * With `rotary`, q' and k' are q and k rotated as rotary.ts does (interleaved pairs, angle t·freqs[i]
 * computed in f32 like tfjs' outer product, WGSL cos/sin like tfjs-webgpu's kernels). One workgroup per
 * (64 queries, head, clip), a query per thread with q and its output row in registers; rotated keys and
 * values go through workgroup memory a tile at a time, with an online softmax (running max and sum).
 * With `mixed` (HYBRID), the output is instead 0.5·RMSNorm_d(rnn; γ_rnn) + 0.5·RMSNorm_d(o; γ_attn) per head
 * of o = softmax(…)·v and the minGRU branch rnn [B, T, D] (inputs `rnn`, `gammaRnn`, `gammaAttn`).
 */
export class AttentionProgram {
  variableNames = ['qkv'];
  variableComponents = [4];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [1], y: [2], z: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [QUERIES, 1, 1];

  constructor(batch: number, length: number, private readonly heads: number, private readonly headDim: number, private readonly rotary: boolean, private readonly gated: boolean, private readonly mixed: boolean) {
    this.outputShape = [batch, length, heads * headDim];
    if (rotary) {
      this.variableNames.push('freqs');
      this.variableComponents.push(1);
    }
    if (mixed) {
      this.variableNames.push('rnn', 'gammaRnn', 'gammaAttn');
      this.variableComponents.push(4, 4, 4);
    }
    this.dispatch = [Math.ceil(length / QUERIES), heads, batch];
    this.shaderKey = `sedAttention_${heads}_${headDim}_${rotary}_${gated}_${mixed}`;
  }

  getUserCode(): string {
    const D4 = this.headDim / 4;
    const DV4 = this.heads * D4; // vec4s of D
    const TK = keyTile(this.headDim);
    // Lanes (x.x, x.y) and (x.z, x.w) are the pairs 2c and 2c + 1 of the head: x·cos + rotate_half(x)·sin.
    const rotate = this.rotary
      ? `
      fn rotate(x : vec4<f32>, pos : f32, c : i32) -> vec4<f32> {
        let a0 = pos * freqs[2 * c];
        let a1 = pos * freqs[2 * c + 1];
        let cs = vec4<f32>(cos(a0), cos(a0), cos(a1), cos(a1));
        let sn = vec4<f32>(sin(a0), sin(a0), sin(a1), sin(a1));
        return x * cs + vec4<f32>(-x.y, x.x, -x.w, x.z) * sn;
      }`
      : '';
    const rot = (v: string, pos: string): string => (this.rotary ? `rotate(${v}, ${pos}, c)` : v);
    const gate = this.gated ? ` / (1.0 + exp(-qkv[row * C4 + ${3 * DV4} + h / 4][h % 4]))` : '';
    return `
      ${rotate}
      var<workgroup> ks : array<array<vec4<f32>, ${D4}>, ${TK}>;
      var<workgroup> vs : array<array<vec4<f32>, ${D4}>, ${TK}>;

      fn main() {
        let T = uniforms.qkvShape[1];
        let C4 = uniforms.qkvShape[2] / 4;
        let b = i32(workgroupId.z);
        let h = i32(workgroupId.y);
        let t = i32(workgroupId.x) * ${QUERIES} + i32(localIndex);
        let row = b * T + t;
        let scale = ${1 / Math.sqrt(this.headDim)};
        var q : array<vec4<f32>, ${D4}>;
        var acc : array<vec4<f32>, ${D4}>;
        if (t < T) {
          for (var c = 0; c < ${D4}; c = c + 1) {
            q[c] = ${rot(`qkv[row * C4 + h * ${D4} + c]`, 'f32(t)')} * scale;
          }
        }
        var m = -3.0e38;
        var l = 0.0;
        for (var s0 = 0; s0 < T; s0 = s0 + ${TK}) {
          for (var e = i32(localIndex); e < ${TK * D4}; e = e + ${QUERIES}) {
            let j = e / ${D4};
            let c = e % ${D4};
            let s = s0 + j;
            var kv = vec4<f32>(0.0);
            var vv = vec4<f32>(0.0);
            if (s < T) {
              let base = (b * T + s) * C4 + h * ${D4} + c;
              kv = ${rot(`qkv[base + ${DV4}]`, 'f32(s)')};
              vv = qkv[base + ${2 * DV4}];
            }
            ks[j][c] = kv;
            vs[j][c] = vv;
          }
          workgroupBarrier();
          if (t < T) {
            let n = min(${TK}, T - s0);
            for (var j = 0; j < n; j = j + 1) {
              var sv = vec4<f32>(0.0);
              for (var c = 0; c < ${D4}; c = c + 1) { sv = fma(q[c], ks[j][c], sv); }
              let score = dot(sv, vec4<f32>(1.0));
              if (score > m) {
                let shrink = exp(m - score);
                l = l * shrink;
                for (var c = 0; c < ${D4}; c = c + 1) { acc[c] = acc[c] * shrink; }
                m = score;
              }
              let p = exp(score - m);
              l = l + p;
              for (var c = 0; c < ${D4}; c = c + 1) { acc[c] = fma(vec4<f32>(p), vs[j][c], acc[c]); }
            }
          }
          workgroupBarrier();
        }
        if (t < T) {
          ${this.mixed ? this.mix() : `let g = (1.0 / l)${gate};
          for (var c = 0; c < ${D4}; c = c + 1) {
            result[row * ${DV4} + h * ${D4} + c] = acc[c] * g;
          }`}
        }
      }
    `;
  }

  /** HYBRID's output: both branches RMS-normalised over the head (rmsNorm.ts), averaged. */
  private mix(): string {
    const D4 = this.headDim / 4;
    const at = `row * ${this.heads * D4} + h * ${D4} + c`;
    const gain = (gamma: string): string => `(${gamma}[c] * ${f32(Math.sqrt(this.headDim))})`;
    return `
          var so = vec4<f32>(0.0);
          var sr = vec4<f32>(0.0);
          for (var c = 0; c < ${D4}; c = c + 1) {
            acc[c] = acc[c] * (1.0 / l);
            so = fma(acc[c], acc[c], so);
            let r = rnn[${at}];
            sr = fma(r, r, sr);
          }
          let no = max(sqrt(dot(so, vec4<f32>(1.0))), 1e-12);
          let nr = max(sqrt(dot(sr, vec4<f32>(1.0))), 1e-12);
          for (var c = 0; c < ${D4}; c = c + 1) {
            result[${at}] = (rnn[${at}] / nr) * ${gain('gammaRnn')} * 0.5 + (acc[c] / no) * ${gain('gammaAttn')} * 0.5;
          }`;
  }
}

/**
 * Both minGRU directions of HYBRID (hybrid.ts) from the input projections, the last 4D channels of
 * hg [B, T, C]: forward ĥ ‖ g, then backward ĥ ‖ g (of the un-flipped input: a row-wise projection
 * commutes with the time flip). h_t = σ(−g_t)·h_{t∓1} + σ(g_t)·g̃(ĥ_t), h = 0 before the first step,
 * g̃(x) = x + 0.5 if x ≥ 0 else σ(x); the backward direction runs from t = T−1 down. Output [B, T, 2D] =
 * forward ‖ backward. One thread per (clip, direction, 4 channels) walks the T steps.
 */
export class MinGruScanProgram extends FlatProgram {
  variableNames = ['hg'];
  variableComponents = [4];
  outputComponent = 4;
  shaderKey = 'sedMinGruScan';

  constructor(batch: number, length: number, dim: number, util: WebgpuUtil) {
    super([batch, length, 2 * dim], [batch * 2 * (dim / 4)], util);
  }

  getUserCode(): string {
    return `
      fn sigmoid4(x : vec4<f32>) -> vec4<f32> { return 1.0 / (1.0 + exp(-x)); }

      fn main(index : i32) {
        let T = uniforms.hgShape[1];
        let C4 = uniforms.hgShape[2] / 4;
        let D4 = uniforms.outShape[2] / 8;
        if (index >= uniforms.hgShape[0] * 2 * D4) { return; }
        let c = index % D4;
        let dir = (index / D4) % 2;
        let b = index / (2 * D4);
        let col = C4 - 4 * D4 + dir * 2 * D4 + c;
        var h = vec4<f32>(0.0);
        for (var i = 0; i < T; i = i + 1) {
          let t = select(i, T - 1 - i, dir == 1);
          let hid = hg[(b * T + t) * C4 + col];
          let g = hg[(b * T + t) * C4 + col + D4];
          let candidate = select(sigmoid4(hid), hid + 0.5, hid >= vec4<f32>(0.0));
          h = sigmoid4(-g) * h + sigmoid4(g) * candidate;
          result[(b * T + t) * 2 * D4 + dir * D4 + c] = h;
        }
      }
    `;
  }
}

/** Threads of the BiGRU scan: a vec4 of gate columns each (3D/4), whole warps, at most WebGPU's default 256. */
const gruThreads = (dim: number): number => Math.min(256, Math.ceil((3 * dim) / 4 / 32) * 32);

/** Hidden sizes the BiGRU scan covers: vec4 lanes, and h plus the gate products (4D floats) in 16 KiB. */
export const biGruCovers = (dim: number): boolean => dim % 4 === 0 && dim <= 1024;

/**
 * Both directions of a BiGRU layer (bigru.ts) from gi [B, T, 6D], the input projections of the un-flipped
 * input with b_ih and b_hr, b_hz (forward r, z, n, then backward r, z, n), the hidden weights whh [D, 6D]
 * (engine layout, forward then backward) and b_hn [2D]: r = σ(gi_r + h·W_hr), z = σ(gi_z + h·W_hz),
 * n = tanh(gi_n + r·(h·W_hn + b_hn)), h ← n + z·(h − n), h = 0 before the first step; the backward direction
 * runs from t = T−1 down. Output [B, T, 2D] = forward ‖ backward. One workgroup per (direction, clip) walks
 * the T steps with h in workgroup memory: per step its threads first compute h·W_hh, a vec4 of columns
 * each (neighbouring threads read neighbouring columns of W_hh), then the new h, a vec4 of units each;
 * threads loop when D needs more than the workgroup has. tanh as tfjs-webgpu's (no overflow to NaN).
 */
export class BiGruScanProgram {
  variableNames = ['gi', 'whh', 'bhn'];
  variableComponents = [4, 4, 4];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [2], y: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];

  constructor(batch: number, length: number, private readonly dim: number) {
    this.outputShape = [batch, length, 2 * dim];
    this.workgroupSize = [gruThreads(dim), 1, 1];
    this.dispatch = [2, batch, 1];
    this.shaderKey = `sedBiGruScan_${dim}`;
  }

  getUserCode(): string {
    const D4 = this.dim / 4;
    const threads = this.workgroupSize[0];
    return `
      var<workgroup> h : array<vec4<f32>, ${D4}>;
      var<workgroup> gh : array<vec4<f32>, ${3 * D4}>;

      fn sigmoid4(x : vec4<f32>) -> vec4<f32> { return 1.0 / (1.0 + exp(-x)); }
      fn tanh4(x : vec4<f32>) -> vec4<f32> {
        let e2x = exp(-2.0 * abs(x));
        return sign(x) * (1.0 - e2x) / (1.0 + e2x);
      }

      fn main() {
        let T = uniforms.giShape[1];
        let dir = i32(workgroupId.x);
        let b = i32(workgroupId.y);
        let lane = i32(localIndex);
        for (var j = lane; j < ${D4}; j = j + ${threads}) { h[j] = vec4<f32>(0.0); }
        workgroupBarrier();
        for (var i = 0; i < T; i = i + 1) {
          let t = select(i, T - 1 - i, dir == 1);
          for (var c = lane; c < ${3 * D4}; c = c + ${threads}) {
            var acc = vec4<f32>(0.0);
            var w = dir * ${3 * D4} + c;
            for (var k = 0; k < ${D4}; k = k + 1) {
              let hk = h[k];
              acc = fma(vec4<f32>(hk.x), whh[w], acc);
              acc = fma(vec4<f32>(hk.y), whh[w + ${6 * D4}], acc);
              acc = fma(vec4<f32>(hk.z), whh[w + ${12 * D4}], acc);
              acc = fma(vec4<f32>(hk.w), whh[w + ${18 * D4}], acc);
              w = w + ${24 * D4};
            }
            gh[c] = acc;
          }
          workgroupBarrier();
          let row = (b * T + t) * ${6 * D4} + dir * ${3 * D4};
          for (var j = lane; j < ${D4}; j = j + ${threads}) {
            let r = sigmoid4(gi[row + j] + gh[j]);
            let z = sigmoid4(gi[row + ${D4} + j] + gh[${D4} + j]);
            let n = tanh4(gi[row + ${2 * D4} + j] + r * (gh[${2 * D4} + j] + bhn[dir * ${D4} + j]));
            let hj = n + z * (h[j] - n);
            h[j] = hj;
            result[(b * T + t) * ${2 * D4} + dir * ${D4} + j] = hj;
          }
          workgroupBarrier();
        }
      }
    `;
  }
}
