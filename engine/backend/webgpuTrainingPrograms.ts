/**
 * WGSL programs behind the fused training BatchNorm (webgpuTraining.ts). Per-channel sums over the
 * B·H·W rows of a channels-last tensor are split: a workgroup takes CL adjacent channels (adjacent
 * threads read adjacent channels of a row, so reads coalesce) × RL row lanes over one chunk of rows, and
 * reduces its lanes in workgroup memory; a second pass combines the chunks. Moments are combined with
 * Chan's parallel formula (mean, M2) instead of Σx and Σx², which cancel when |mean| ≫ std.
 */
import type { FinishMode, SplitMode, TrainAct } from './fusedBatchNorm';
import type { MultiOutputShader } from './webgpuMultiOutput';
import type { WebgpuUtil } from './webgpuProgram';

/** Threads per workgroup of the split reductions (channel lanes × row lanes). */
const WORKGROUP = 256;

/** Channel lanes: 32 (128-byte rows) once there are enough channels to fill them. */
export const channelLanes = (channels: number): number => (channels >= 32 ? 32 : 8);

/** act(z) as a WGSL expression in `z` of type `type` (f32, or vec4<f32> for 4 channels at once). */
const actForward = (act: TrainAct, type: string): string =>
  ({ linear: 'z', relu: `max(z, ${type}(0.0))`, hardswish: `(z * clamp(z + 3.0, ${type}(0.0), ${type}(6.0))) / 6.0` })[act];

/**
 * `act(z)` and `actGrad(z, d)` = d·act′(z) with the tfjs ops' derivatives: relu′ = step(z) (0 at 0);
 * hardswish z·relu6(z+3)/6 through autodiff of those ops, the Relu6 mask being 1 on 0 < z+3 ≤ 6.
 */
function actSnippet(act: TrainAct): string {
  const grad = {
    linear: 'd',
    relu: 'select(0.0, d, z > 0.0)',
    hardswish: 'd / 6.0 * clamp(z + 3.0, 0.0, 6.0) + d / 6.0 * select(0.0, z, z + 3.0 > 0.0 && z + 3.0 <= 6.0)',
  }[act];
  return `
    fn act(z : f32) -> f32 { return ${actForward(act, 'f32')}; }
    fn actGrad(z : f32, d : f32) -> f32 { return ${grad}; }`;
}

/** x̂ of element `i` in channel `c`: batch mean and unbiased variance in, biased variance used (PyTorch). */
const NORMALISE = `
    fn invStd(c : i32) -> f32 { return inverseSqrt(bnVar[c] * uniforms.varScale + uniforms.eps); }
    fn xHat(i : i32, c : i32) -> f32 { return (y[i] - bnMean[c]) * invStd(c); }`;

/** Uniforms of every program that normalises: varScale = (N−1)/N turns the unbiased variance back. */
export const NORM_UNIFORMS = 'varScale : f32, eps : f32,';

export class ChannelSplitProgram {
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  variableNames: string[];
  uniforms = 'chunk : i32, splits : i32, ';
  private readonly cl: number;

  /** `shape`: the [B, H, W, C] input; `splits` chunks of rows. */
  constructor(private readonly mode: SplitMode, shape: number[], splits: number, private readonly act: TrainAct, util: WebgpuUtil) {
    const c = shape[3];
    this.cl = channelLanes(c);
    this.outputShape = mode === 'gradApply' ? shape : [splits, 2, c];
    this.variableNames = mode === 'moments' ? ['y'] : ['y', 'dy', 'bnMean', 'bnVar', 'gamma', 'beta', ...(mode === 'gradApply' ? ['part'] : [])];
    if (mode !== 'moments') this.uniforms += `${NORM_UNIFORMS} count : f32,`;
    this.shaderKey = `sedBnSplit_${mode}_${act}_${this.cl}`;
    this.dispatchLayout = util.flatDispatchLayout(this.outputShape);
    this.dispatch = [Math.ceil(c / this.cl) * splits, 1, 1];
  }

  getUserCode(): string {
    const CL = this.cl;
    const RL = WORKGROUP / CL;
    const rowLoop = (body: string): string => `
        if (c < C) {
          for (var r = r0 + rl; r < r1; r = r + ${RL}) {
            let i = r * C + c;
            ${body}
          }
        }`;
    const accumulate = {
      moments: rowLoop('let v = y[i]; n = n + 1.0; let d = v - a; a = a + d / n; b = b + d * (v - a);'),
      gradSums: rowLoop('let xh = xHat(i, c); let g = actGrad(xh * gamma[c] + beta[c], dy[i]); a = a + g; b = b + g * xh;'),
      // Σg, Σg·x̂ of the whole batch: this workgroup's row lanes sum the chunks' partials.
      gradApply: `
        if (c < C) {
          for (var s2 = rl; s2 < uniforms.splits; s2 = s2 + ${RL}) { a = a + part[s2 * 2 * C + c]; b = b + part[(s2 * 2 + 1) * C + c]; }
        }`,
    }[this.mode];
    const combine = this.mode === 'moments'
      ? `let nb = sN[o];
          if (nb > 0.0) {
            let na = sN[lane];
            let nn = na + nb;
            let d = sA[o] - sA[lane];
            sA[lane] = sA[lane] + d * nb / nn;
            sB[lane] = sB[lane] + sB[o] + d * d * na * nb / nn;
            sN[lane] = nn;
          }`
      : 'sA[lane] = sA[lane] + sA[o]; sB[lane] = sB[lane] + sB[o];';
    const finish = this.mode === 'gradApply'
      ? `let dBeta = sA[cl] / uniforms.count;
        let dGamma = sB[cl] / uniforms.count;
        ${rowLoop(`let inv = invStd(c); let xh = (y[i] - bnMean[c]) * inv; let g = actGrad(xh * gamma[c] + beta[c], dy[i]);
            setOutputAtIndex(i, (g - (xh * dGamma + dBeta)) * (gamma[c] * inv));`)}`
      : `if (rl == 0 && c < C) {
          setOutputAtIndex(s * 2 * C + c, sA[lane]);
          setOutputAtIndex((s * 2 + 1) * C + c, sB[lane]);
        }`;
    return `
      ${this.mode === 'moments' ? '' : actSnippet(this.act) + NORMALISE}
      var<workgroup> sN : array<f32, ${WORKGROUP}>;
      var<workgroup> sA : array<f32, ${WORKGROUP}>;
      var<workgroup> sB : array<f32, ${WORKGROUP}>;
      fn main(index : i32) {
        let C = uniforms.yShape[3];
        let rows = uniforms.yShape[0] * uniforms.yShape[1] * uniforms.yShape[2];
        let lane = i32(localId.x);
        let cl = lane % ${CL};
        let rl = lane / ${CL};
        let groups = (C + ${CL - 1}) / ${CL};
        let s = i32(workgroupId.x) / groups;
        let c = (i32(workgroupId.x) % groups) * ${CL} + cl;
        let r0 = s * uniforms.chunk;
        let r1 = min(rows, r0 + uniforms.chunk);
        var n = 0.0;
        var a = 0.0;
        var b = 0.0;
        ${accumulate}
        sN[lane] = n;
        sA[lane] = a;
        sB[lane] = b;
        workgroupBarrier();
        for (var stride = ${RL / 2}; stride > 0; stride = stride / 2) {
          if (rl < stride) {
            let o = lane + stride * ${CL};
            ${combine}
          }
          workgroupBarrier();
        }
        ${finish}
      }
    `;
  }
}

/**
 * One thread per channel over the chunks' partials [S, 2, C], two outputs: `moments` → the mean and the
 * unbiased variance (Chan's formula over the chunks), `sums` → Σg (dβ) and Σg·x̂ (dγ).
 */
export function splitFinishShader(which: FinishMode): MultiOutputShader {
  const body = which === 'sums'
    ? `
      var a = 0.0;
      var b = 0.0;
      for (var s = 0; s < uniforms.splits; s = s + 1) { a = a + part[s * 2 * C + index]; b = b + part[(s * 2 + 1) * C + index]; }
      first[index] = a;
      second[index] = b;`
    : `
      var n = 0.0;
      var m = 0.0;
      var m2 = 0.0;
      for (var s = 0; s < uniforms.splits; s = s + 1) {
        let nb = f32(min(uniforms.chunk, uniforms.rows - s * uniforms.chunk));
        let nn = n + nb;
        let d = part[s * 2 * C + index] - m;
        m = m + d * nb / nn;
        m2 = m2 + part[(s * 2 + 1) * C + index] + d * d * n * nb / nn;
        n = nn;
      }
      first[index] = m;
      second[index] = m2 / max(n - 1.0, 1.0);`;
  return {
    key: `sedBnFinish_${which}`,
    outputs: ['first', 'second'],
    inputs: ['part'],
    uniforms: [['channels', 'i32'], ['chunk', 'i32'], ['splits', 'i32'], ['rows', 'i32']],
    body: `
      let C = uniforms.channels;
      if (index >= C) { return; }${body}`,
  };
}

/** act(x̂·γ + β) (+ residual `res`), one thread per element. */
export function applyBody(residual: boolean): string {
  return `
      let c = index % uniforms.yShape[3];
      let value = act(xHat(index, c) * gamma[c] + beta[c])${residual ? ' + res[index]' : ''};`;
}

/**
 * `applyBody` over vec4s of 4 adjacent channels (C divisible by 4; the statistics and γ, β read as vec4s
 * too): the apply is bound by memory bandwidth, which vec4 loads and stores use better.
 */
export function applyBody4(act: TrainAct, residual: boolean): string {
  return `
      let c = index % (uniforms.yShape[3] / 4);
      let z = (y[index] - bnMean[c]) * inverseSqrt(bnVar[c] * uniforms.varScale + uniforms.eps) * gamma[c] + beta[c];
      let value = ${actForward(act, 'vec4<f32>')}${residual ? ' + res[index]' : ''};`;
}

export const applyPrelude = (act: TrainAct): string => actSnippet(act) + NORMALISE;

/**
 * Squeeze-excitation backward, one workgroup per clip b, given x [B,H,W,C] and the upstream gradient dy of
 * x·gate: recomputes s = mean_{h,w} x, h = relu(s·w1 + b1), g = sigmoid(h·w2 + b2), then dG = Σ_{h,w} dy·x,
 * da2 = dG·g(1−g), dh = da2·w2ᵀ ⊙ (h > 0), ds = dh·w1ᵀ (the tfjs gradients of those ops). Output row b
 * packs [s | g | da2 | ds | h | dh] (4C + 2S), what the dx and weight-gradient kernels read.
 */
export class SeBackwardProgram {
  variableNames = ['x', 'dy', 'w1', 'b1', 'w2', 'b2'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0, 1] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WORKGROUP, 1, 1];
  private readonly lanes: number;

  constructor(batch: number, private readonly channels: number, private readonly squeeze: number) {
    this.lanes = Math.max(1, Math.floor(WORKGROUP / channels));
    this.outputShape = [batch, 4 * channels + 2 * squeeze];
    this.dispatch = [batch, 1, 1];
    this.shaderKey = `sedSeBackward_${channels}_${squeeze}`;
  }

  getUserCode(): string {
    const C = this.channels;
    const S = this.squeeze;
    const L = this.lanes;
    const P = 4 * C + 2 * S;
    return `
      var<workgroup> sx : array<f32, ${C * L}>;
      var<workgroup> sd : array<f32, ${C * L}>;
      var<workgroup> hid : array<f32, ${S}>;
      var<workgroup> dhid : array<f32, ${S}>;
      fn main(index : i32) {
        let b = i32(workgroupId.x);
        let t = i32(localIndex);
        let HW = uniforms.xShape[1] * uniforms.xShape[2];
        let base = b * HW * ${C};
        for (var e = t; e < ${C * L}; e = e + ${WORKGROUP}) {
          let c = e % ${C};
          var a = 0.0;
          var d = 0.0;
          for (var p = e / ${C}; p < HW; p = p + ${L}) {
            let v = x[base + p * ${C} + c];
            a = a + v;
            d = d + dy[base + p * ${C} + c] * v;
          }
          sx[e] = a;
          sd[e] = d;
        }
        workgroupBarrier();
        for (var c = t; c < ${C}; c = c + ${WORKGROUP}) {
          var a = sx[c];
          var d = sd[c];
          for (var l = 1; l < ${L}; l = l + 1) { a = a + sx[l * ${C} + c]; d = d + sd[l * ${C} + c]; }
          sx[c] = a / f32(HW);
          sd[c] = d;
        }
        workgroupBarrier();
        for (var j = t; j < ${S}; j = j + ${WORKGROUP}) {
          var z = b1[j];
          for (var c = 0; c < ${C}; c = c + 1) { z = z + sx[c] * w1[c * ${S} + j]; }
          hid[j] = max(z, 0.0);
        }
        workgroupBarrier();
        for (var c = t; c < ${C}; c = c + ${WORKGROUP}) {
          var z = b2[c];
          for (var j = 0; j < ${S}; j = j + 1) { z = z + hid[j] * w2[j * ${C} + c]; }
          let g = 1.0 / (1.0 + exp(-z));
          let da2 = sd[c] * g * (1.0 - g);
          sd[c] = da2;
          setOutputAtIndex(b * ${P} + c, sx[c]);
          setOutputAtIndex(b * ${P} + ${C} + c, g);
          setOutputAtIndex(b * ${P} + ${2 * C} + c, da2);
        }
        workgroupBarrier();
        for (var j = t; j < ${S}; j = j + ${WORKGROUP}) {
          var z = 0.0;
          for (var c = 0; c < ${C}; c = c + 1) { z = z + sd[c] * w2[j * ${C} + c]; }
          let dh = select(0.0, z, hid[j] > 0.0);
          dhid[j] = dh;
          setOutputAtIndex(b * ${P} + ${4 * C} + j, hid[j]);
          setOutputAtIndex(b * ${P} + ${4 * C + S} + j, dh);
        }
        workgroupBarrier();
        for (var c = t; c < ${C}; c = c + ${WORKGROUP}) {
          var z = 0.0;
          for (var j = 0; j < ${S}; j = j + 1) { z = z + dhid[j] * w1[c * ${S} + j]; }
          setOutputAtIndex(b * ${P} + ${3 * C} + c, z);
        }
      }
    `;
  }
}

/** Whether SeBackwardProgram's workgroup memory fits the 16 KiB WebGPU guarantees. */
export const seBackwardFits = (channels: number, squeeze: number): boolean =>
  (2 * channels * Math.max(1, Math.floor(WORKGROUP / channels)) + 2 * squeeze) * 4 <= 16384;

/** Column offsets of the packed rows [B, 4C + 2S] (SeBackwardProgram): s, g, da2, ds, h, dh. */
const seColumns = (C: number, S: number) => ({ P: 4 * C + 2 * S, s: 0, g: C, da2: 2 * C, ds: 3 * C, h: 4 * C, dh: 4 * C + S });

/** dx [B,H,W,C] = dy·g + ds/(H·W) from the packed rows (`pack`), one thread per element. */
export function seDxBody(C: number, S: number): string {
  const col = seColumns(C, S);
  return `
      let c = index % ${C};
      let b = index / (uniforms.dyShape[1] * uniforms.dyShape[2] * ${C});
      let value = dy[index] * pack[b * ${col.P} + ${col.g} + c] + pack[b * ${col.P} + ${col.ds} + c] / f32(uniforms.dyShape[1] * uniforms.dyShape[2]);`;
}

/**
 * The four parameter gradients from the packed rows in one pass, thread i writing dW1[i] = Σ_b s⊗dh and
 * dW2[i] = Σ_b h⊗da2 (both C·S elements), and db1[i] = Σ_b dh (i < S), db2[i] = Σ_b da2 (i < C).
 */
export function seParamGradShader(C: number, S: number): MultiOutputShader {
  const col = seColumns(C, S);
  const sum = (out: string, expr: string): string => `
      var ${out}Sum = 0.0;
      for (var b = 0; b < uniforms.batch; b = b + 1) { let row = b * ${col.P}; ${out}Sum = ${out}Sum + ${expr}; }
      ${out}[index] = ${out}Sum;`;
  return {
    key: `sedSeParamGrads_${C}_${S}`,
    outputs: ['w1', 'b1', 'w2', 'b2'],
    inputs: ['pack'],
    uniforms: [['batch', 'i32']],
    body: `
      if (index >= ${C * S}) { return; }
      ${sum('w1', `pack[row + ${col.s} + index / ${S}] * pack[row + ${col.dh} + index % ${S}]`)}
      ${sum('w2', `pack[row + ${col.h} + index / ${C}] * pack[row + ${col.da2} + index % ${C}]`)}
      if (index < ${S}) {${sum('b1', `pack[row + ${col.dh} + index]`)}
      }
      if (index < ${C}) {${sum('b2', `pack[row + ${col.da2} + index]`)}
      }`,
  };
}
